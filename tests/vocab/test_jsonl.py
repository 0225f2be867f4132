"""JSON Lines vocabularies (scispaCy's format) and the store's own header line."""

from __future__ import annotations

import json

import pytest

from termlinker.errors import VocabularyError
from termlinker.vocab.jsonl import HEADER_KEY, load_jsonl, read_jsonl_header, save_jsonl
from termlinker.vocab.model import Concept, Vocabulary, VocabularyInfo

from .conftest import WriteFile


def _lines(*records: object) -> str:
    return "\n".join(json.dumps(r, ensure_ascii=False) if not isinstance(r, str) else r for r in records) + "\n"


def test_loads_ids_names_aliases_types_and_definitions(write: WriteFile) -> None:
    path = write("kb.jsonl", _lines(
        {"concept_id": "C1", "canonical_name": "Fever", "aliases": ["Pyrexia", "High temperature"],
         "types": ["T184"], "definition": "Raised body temperature."},
        {"concept_id": "C2", "canonical_name": "Cough"},
    ))
    vocab = load_jsonl(path)
    assert vocab.info.name == "kb"
    assert [c.concept_id for c in vocab] == ["C1", "C2"]
    assert vocab.get("C1") == Concept(
        "C1", "Fever", ("Pyrexia", "High temperature"), ("T184",), "Raised body temperature."
    )
    assert vocab.names == ["Fever", "Pyrexia", "High temperature", "Cough"]


def test_blank_lines_are_skipped(write: WriteFile) -> None:
    path = write("kb.jsonl", "\n" + _lines({"concept_id": "C1", "canonical_name": "Fever"}) + "\n   \n")
    assert len(load_jsonl(path)) == 1


def test_name_argument_overrides_file_name(write: WriteFile) -> None:
    path = write("kb.jsonl", _lines({"concept_id": "C1", "canonical_name": "Fever"}))
    assert load_jsonl(path, "mine").info.name == "mine"


def test_bad_json_names_file_and_line(write: WriteFile) -> None:
    path = write("kb.jsonl", _lines({"concept_id": "C1", "canonical_name": "Fever"}, "", '{"concept_id": "C2",'))
    with pytest.raises(VocabularyError, match=r"kb\.jsonl, line 3: not valid JSON"):
        load_jsonl(path)


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ({"canonical_name": "Fever"}, "missing 'concept_id'"),
        ({"concept_id": "C1"}, "missing 'canonical_name'"),
        ({"concept_id": 1, "canonical_name": "Fever"}, "'concept_id' must be a string"),
        ({"concept_id": "C1", "canonical_name": " "}, "'canonical_name' is empty"),
        ({"concept_id": "C1", "canonical_name": "Fever", "aliases": "Pyrexia"}, "'aliases' must be a list of strings"),
        ({"concept_id": "C1", "canonical_name": "Fever", "types": [1]}, "'types' must be a list of strings"),
        ({"concept_id": "C1", "canonical_name": "Fever", "definition": 3}, "'definition' must be a string"),
        (["C1", "Fever"], "expected a JSON object"),
    ],
)
def test_malformed_record_names_file_and_line(write: WriteFile, record: object, problem: str) -> None:
    path = write("kb.jsonl", _lines({"concept_id": "C0", "canonical_name": "Ok"}, record))
    with pytest.raises(VocabularyError) as err:
        load_jsonl(path)
    assert f"{path}, line 2" in str(err.value)
    assert problem in str(err.value)


def test_duplicate_id_names_both_lines(write: WriteFile) -> None:
    path = write("kb.jsonl", _lines(
        {"concept_id": "C1", "canonical_name": "Fever"},
        {"concept_id": "C2", "canonical_name": "Cough"},
        {"concept_id": "C1", "canonical_name": "Pyrexia"},
    ))
    with pytest.raises(VocabularyError, match=r"kb\.jsonl, line 3: concept id 'C1' was already defined on line 1"):
        load_jsonl(path)


def test_file_with_only_blank_lines_has_no_concepts(write: WriteFile) -> None:
    path = write("kb.jsonl", "\n\n")
    with pytest.raises(VocabularyError, match="has no concepts"):
        load_jsonl(path)


def test_non_utf8_jsonl_says_to_save_as_utf8(write: WriteFile) -> None:
    path = write("kb.jsonl", _lines({"concept_id": "A00", "canonical_name": "霍乱"}), encoding="gb18030")
    with pytest.raises(VocabularyError, match=r"line 1: not UTF-8"):
        load_jsonl(path)


def test_save_then_load_round_trips_concepts_and_info(tmp_path) -> None:
    info = VocabularyInfo("mine", version="v6.01", source="hospital", citation="Cite me.", language="zh")
    vocab = Vocabulary(info, [Concept("A00", "霍乱", ("cholera",), ("T1",), "def"), Concept("A01", "伤寒")])
    path = tmp_path / "out" / "mine.jsonl"
    save_jsonl(vocab, path, extra={"imported_from": "x.tsv"})

    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert first[HEADER_KEY]["name"] == "mine"
    assert "霍乱" in path.read_text(encoding="utf-8")  # readable, not \u escapes
    loaded = load_jsonl(path)
    assert loaded.info == info
    assert loaded.concepts == vocab.concepts
    assert read_jsonl_header(path) == {
        "name": "mine", "version": "v6.01", "source": "hospital", "citation": "Cite me.", "language": "zh",
        "concepts": 2, "names": 3, "imported_from": "x.tsv",
    }


def test_header_line_anywhere_but_first_is_an_error(write: WriteFile) -> None:
    path = write("kb.jsonl", _lines({"concept_id": "C1", "canonical_name": "Fever"}, {HEADER_KEY: {"name": "x"}}))
    with pytest.raises(VocabularyError, match=r"line 2: .*only be the first line"):
        load_jsonl(path)


def test_scispacy_file_without_header_has_no_header(write: WriteFile) -> None:
    path = write("kb.jsonl", _lines({"concept_id": "C1", "canonical_name": "Fever"}))
    assert read_jsonl_header(path) is None
