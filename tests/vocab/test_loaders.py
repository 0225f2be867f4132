"""load_vocabulary_file: one entry point that picks the loader by extension."""

from __future__ import annotations

import json

import pytest

from termlinker.errors import VocabularyError
from termlinker.vocab.loaders import load_vocabulary_file

from .conftest import WriteFile


@pytest.mark.parametrize("suffix", [".tsv", ".tab", ".csv", ".txt", ".TSV"])
def test_tables_by_extension(write: WriteFile, suffix: str) -> None:
    sep = "," if suffix == ".csv" else "\t"
    vocab = load_vocabulary_file(write(f"v{suffix}", f"D1{sep}Fever\n"))
    assert vocab.get("D1").canonical_name == "Fever"


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_json_lines_by_extension(write: WriteFile, suffix: str) -> None:
    path = write(f"v{suffix}", json.dumps({"concept_id": "D1", "canonical_name": "Fever"}) + "\n")
    assert "D1" in load_vocabulary_file(path, "named")
    assert load_vocabulary_file(path, "named").info.name == "named"


def test_obo_by_extension(write: WriteFile) -> None:
    assert "X:1" in load_vocabulary_file(write("v.obo", "[Term]\nid: X:1\nname: One\n"))


def test_json_array_gets_a_hint_to_use_json_lines(write: WriteFile) -> None:
    path = write("v.json", '[\n{"concept_id": "D1", "canonical_name": "Fever"}\n]\n')
    with pytest.raises(VocabularyError, match="one JSON object per line"):
        load_vocabulary_file(path)


def test_unknown_extension_lists_supported_formats(write: WriteFile) -> None:
    path = write("v.xlsx", "whatever")
    with pytest.raises(VocabularyError, match=r"Supported: JSON Lines .*\.tsv.*\.obo"):
        load_vocabulary_file(path)


def test_missing_file_is_a_vocabulary_error(tmp_path) -> None:
    with pytest.raises(VocabularyError, match="does not exist"):
        load_vocabulary_file(tmp_path / "nope.tsv")


def test_folder_is_a_vocabulary_error(tmp_path) -> None:
    (tmp_path / "dir.tsv").mkdir()
    with pytest.raises(VocabularyError, match="is a folder"):
        load_vocabulary_file(tmp_path / "dir.tsv")


@pytest.mark.parametrize("name", ["empty.tsv", "empty.csv", "empty.jsonl", "empty.obo"])
def test_empty_file_has_no_concepts(write: WriteFile, name: str) -> None:
    path = write(name, "")
    with pytest.raises(VocabularyError, match=r"empty\.\w+ has no concepts"):
        load_vocabulary_file(path)
