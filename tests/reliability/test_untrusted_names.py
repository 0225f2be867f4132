"""Names that become paths (vocabularies, rankers, re-rankers, trained models, prompts) stay inside
their folder, even when they arrive inside a file somebody else made; and a damaged re-ranker
registry is one line of error, never a KeyError."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from termlinker.distill.wizard_api import discard
from termlinker.errors import InputError, ModelError
from termlinker.paths import DataDirs, is_safe_name, safe_name
from termlinker.rerank.feature_ranker import saved_ranker_path
from termlinker.rerank.prompt import load_template
from termlinker.rerank.registry import RerankerRegistry

PATH_NAME = "../rerankers/registry"


@pytest.fixture
def hostile_vocab(tmp_path: Path, tiny_vocab_path: Path) -> Path:
    """The tiny vocabulary behind a header whose name climbs out of models/rankers."""
    path = tmp_path / "evil.jsonl"
    header = json.dumps({"_termlinker_vocabulary": {"name": PATH_NAME}})
    path.write_text(header + "\n" + tiny_vocab_path.read_text(encoding="utf-8"), encoding="utf-8")
    return path


@pytest.fixture
def gold(tmp_path: Path) -> Path:
    """Enough labelled terms for `ranker train` (it needs 20)."""
    path = tmp_path / "gold.tsv"
    path.write_text("".join(f"headache {i}\tT:001\nleg pain {i}\tT:003\n" for i in range(12)), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["hpo", "icd10-beijing", "中文诊断", "smollm2-ft-2024-05-01", "v1.2", "a" * 64])
def test_ordinary_names_are_safe(name: str) -> None:
    assert is_safe_name(name) and safe_name(name) == name


@pytest.mark.parametrize("name", ["../x", "..", ".", ".hidden", "a/b", "a\\b", "/abs", "a..b", "x.", "con",
                                  "NUL.txt", "lpt1", "a b", "a\x00b", "-flag", "_private", "", "a" * 65])
def test_names_that_could_leave_their_folder_are_refused(name: str) -> None:
    assert not is_safe_name(name)
    with pytest.raises(InputError, match="cannot be used as a"):
        safe_name(name, "ranker name")


def test_a_vocabulary_header_naming_a_path_is_refused_and_the_registry_is_untouched(
        cli, home, tmp_path, hostile_vocab, gold) -> None:
    model = tmp_path / "mine.gguf"
    model.write_bytes(b"GGUF not a real model")
    assert cli("models", "register", "mine", str(model)).code == 0
    registry = home.models / "rerankers" / "registry.json"
    before = registry.read_bytes()

    result = cli("ranker", "train", "--vocab", str(hostile_vocab), "--pairs", str(gold))

    assert PATH_NAME in result.error and "cannot be used as a name" in result.error
    assert registry.read_bytes() == before
    assert not (home.models / "rankers").exists()
    assert "mine" in cli("models", "list").out


def test_the_same_file_imports_under_a_name_the_user_gives(cli, home, hostile_vocab) -> None:
    """Only a header name that is used is checked: ``--name`` replaces it."""
    assert cli("vocab", "import", str(hostile_vocab), "--name", "tiny").code == 0
    assert (home.vocabularies / "tiny.jsonl").is_file()


def test_a_saved_ranker_cannot_be_named_outside_the_rankers_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        saved_ranker_path(DataDirs(tmp_path), PATH_NAME)
    assert saved_ranker_path(DataDirs(tmp_path), "hpo") == tmp_path / "models" / "rankers" / "hpo.json"


def test_a_re_ranker_cannot_be_registered_under_a_path(cli, home, tmp_path) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    assert "cannot be used as a re-ranker name" in cli("models", "register", "../../evil", str(model)).error
    assert not (home.models / "rerankers" / "registry.json").exists()


def test_discarding_a_model_by_a_path_name_deletes_nothing(home) -> None:
    keep = home.models / "keep.txt"
    keep.write_text("still here", encoding="utf-8")
    with pytest.raises(InputError):
        discard(home, "../..")
    with pytest.raises(InputError):
        discard(home, "new-model", encoder_name="../../..")
    assert keep.read_text(encoding="utf-8") == "still here" and home.vocabularies.is_dir()


def test_a_prompt_version_names_a_file_in_the_package_only() -> None:
    assert load_template("pointwise-v1").version == "pointwise-v1"
    with pytest.raises(ModelError, match="No prompt template"):
        load_template("../prompts/pointwise-v1")  # the file exists there, but a version is not a path


DAMAGED_REGISTRIES = {
    "a ranker written over it": '{"format": "termlinker-feature-ranker", "version": 1}',
    "not an object": "[]",
    "not JSON": "{not json",
    "active is not a name": '{"active": 3, "history": [], "models": {}}',
    "a model without its fields": '{"active": null, "history": [], "models": {"x": {"name": "x"}}}',
    "a model that is not an object": '{"active": null, "history": [], "models": {"x": 1}}',
    "nested too deep": "[" * 100_000 + "]" * 100_000,
}


@pytest.mark.parametrize("content", DAMAGED_REGISTRIES.values(), ids=DAMAGED_REGISTRIES.keys())
def test_models_list_reports_a_damaged_registry_in_one_line(cli, home, content: str) -> None:
    registry = home.models / "rerankers" / "registry.json"
    registry.parent.mkdir(parents=True, exist_ok=True)
    registry.write_text(content, encoding="utf-8")
    assert "re-ranker registry" in cli("models", "list").error
    with pytest.raises(ModelError):
        RerankerRegistry(home).active_name()


def test_link_with_a_damaged_registry_links_without_re_ranking(cli, home, tmp_path, tiny_vocab_path) -> None:
    registry = home.models / "rerankers" / "registry.json"
    registry.parent.mkdir(parents=True, exist_ok=True)
    registry.write_text(DAMAGED_REGISTRIES["a ranker written over it"], encoding="utf-8")
    terms = tmp_path / "terms.txt"
    terms.write_text("headache\n", encoding="utf-8")

    result = cli("link", str(terms), "--vocab", str(tiny_vocab_path), "--rerank", "--format", "jsonl")

    assert result.code == 0, result
    assert json.loads(result.out)["reranked"] is False
    assert "re-ranking is off" in result.err and "KeyError" not in result.err


def test_an_encoder_name_that_would_leave_the_encoders_folder_is_refused(home):
    from termlinker.errors import ModelError
    from termlinker.models import open_encoder

    with pytest.raises(ModelError, match="No encoder folder at ../../models"):
        open_encoder(home, "../../models")


def test_ranker_train_refuses_an_unusable_name_before_building_any_index(cli, home, tmp_path, tiny_vocab_path,
                                                                         gold) -> None:
    vocab = tmp_path / "my vocab (2).jsonl"  # a file's stem becomes its name, and this one cannot name a file
    vocab.write_text(tiny_vocab_path.read_text(encoding="utf-8"), encoding="utf-8")
    result = cli("ranker", "train", "--vocab", str(vocab), "--pairs", str(gold))
    assert "cannot be used as a" in result.error
    assert list(home.indexes.iterdir()) == []
