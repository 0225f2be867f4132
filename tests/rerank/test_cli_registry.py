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


def test_a_model_activated_for_chinese_serves_chinese_vocabularies_and_english_keeps_the_default(home, tmp_path,
                                                                                                 capsys):
    from termlinker.linker import Linker, LinkerConfig
    from termlinker.vocab.model import Concept, Vocabulary, VocabularyInfo

    model = tmp_path / "zh.gguf"
    shutil.copy(builtin_models()[DEFAULT_RERANKER].path, model)
    base = ["--home", str(home.root), "-q", "models"]
    assert main([*base, "register", "zh-diagnoses", str(model), "--base-model", "SmolLM2-135M-Instruct"]) == 0
    assert main([*base, "activate", "zh-diagnoses", "--language", "zh"]) == 0
    assert main([*base, "list"]) == 0
    listing = capsys.readouterr().out
    assert "re-ranker zh-diagnoses [zh]" in listing and f"* re-ranker {DEFAULT_RERANKER}" in listing

    concepts = [Concept("R51", "头痛"), Concept("J18", "肺炎")]
    chinese = Linker(LinkerConfig(rerank=True, encoder="minilm"), dirs=home,
                     vocabulary=Vocabulary(VocabularyInfo("zh-small", language="zh"), concepts))
    english = Linker(LinkerConfig(rerank=True), dirs=home,
                     vocabulary=Vocabulary(VocabularyInfo("en-small", language="en"),
                                           [Concept("R51", "Headache"), Concept("J18", "Pneumonia")]))
    assert chinese.reranker.model.name == "zh-diagnoses"
    assert english.reranker.model.name == DEFAULT_RERANKER

    assert main([*base, "rollback", "--language", "zh"]) == 0
    assert "for 'zh' vocabularies: " + DEFAULT_RERANKER in capsys.readouterr().out
