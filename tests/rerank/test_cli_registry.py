"""Re-ranker models can be registered, activated and rolled back from the command line."""

from __future__ import annotations

import shutil

import pytest

from termlinker.cli import main
from termlinker.errors import ModelError
from termlinker.rerank.registry import DEFAULT_RERANKER, RerankerRegistry, builtin_models


def test_register_activate_rollback(home, tmp_path, capsys):
    model = tmp_path / "mine.gguf"
    shutil.copy(builtin_models()[DEFAULT_RERANKER].path, model)
    base = ["--home", str(home.root), "-q", "models"]
    assert main([*base, "register", "mine", str(model), "--base-model", "SmolLM2-135M-Instruct", "--activate"]) == 0
    assert RerankerRegistry(home).active_name() == "mine"
    assert main([*base, "rollback"]) == 0
    assert RerankerRegistry(home).active_name() == DEFAULT_RERANKER
    assert main([*base, "activate", "mine"]) == 0
    assert main([*base, "list"]) == 0
    assert "* re-ranker mine" in capsys.readouterr().out


def test_a_changed_file_is_refused_after_registration(home, tmp_path, capsys):
    model = tmp_path / "mine.gguf"
    shutil.copy(builtin_models()[DEFAULT_RERANKER].path, model)
    base = ["--home", str(home.root), "-q", "models"]
    assert main([*base, "register", "mine", str(model), "--activate"]) == 0
    with open(model, "r+b") as fh:
        fh.seek(5000)
        fh.write(bytes([0, 1, 2]))
    with pytest.raises(ModelError, match="checksum"):
        RerankerRegistry(home).resolve()


def test_activating_an_unknown_model_is_a_user_error(home, capsys):
    assert main(["--home", str(home.root), "-q", "models", "activate", "nope"]) == 2
    assert "No re-ranker named 'nope'" in capsys.readouterr().err
