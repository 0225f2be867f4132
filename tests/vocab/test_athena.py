"""OHDSI Athena downloads (tab-separated CONCEPT.csv, CONCEPT_SYNONYM.csv) become vocabularies whose
concept ids are OMOP concept_ids; the files are streamed, keeping only the concepts asked for."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from termlinker.cli import main
from termlinker.errors import VocabularyError
from termlinker.paths import DataDirs
from termlinker.vocab.athena import OMOP_KIND, load_athena, omop_fields
from termlinker.vocab.jsonl import read_jsonl_header
from termlinker.vocab.loaders import load_vocabulary_file
from termlinker.vocab.store import VocabularyStore

CONCEPT_HEADER = ("concept_id", "concept_name", "domain_id", "vocabulary_id", "concept_class_id",
                  "standard_concept", "concept_code", "valid_start_date", "valid_end_date", "invalid_reason")
SYNONYM_HEADER = ("concept_id", "concept_synonym_name", "language_concept_id")

CONCEPTS = [
    ("378253", "Headache", "Condition", "SNOMED", "Clinical Finding", "S", "25064002", "19700101", "20991231", ""),
    ("201826", "Type 2 diabetes mellitus", "Condition", "SNOMED", "Clinical Finding", "S", "44054006",
     "19700101", "20991231", ""),
    ("436962", "Insomnia", "Condition", "SNOMED", "Clinical Finding", "S", "193462001", "19700101", "20991231", ""),
    ("4001", "Old \"quoted\" headache", "Condition", "SNOMED", "Clinical Finding", "", "1234", "19700101",
     "20180131", "D"),
    ("45552385", "Type 2 diabetes mellitus without complications", "Condition", "ICD10CM", "5-char billing code",
     "", "E11.9", "20070101", "20991231", ""),
    ("1124300", "Headache, unspecified", "Condition", "ICD10CM", "5-char billing code", "", "R51.9",
     "20201001", "20991231", ""),
    ("8507", "MALE", "Gender", "Gender", "Gender", "S", "M", "19700101", "20991231", ""),
]
SYNONYMS = [
    ("378253", "Cephalgia", "4180186"),
    ("378253", "Headache", "4180186"),  # the name again: not a second name
    ("201826", "T2DM - Type 2 diabetes mellitus", "4180186"),
    ("201826", "2型糖尿病", "4182948"),
    ("999999", "a synonym of a concept not kept", "4180186"),
]


def write_athena(folder: Path, concepts=CONCEPTS, synonyms=SYNONYMS, *, vocabulary: bool = True) -> Path:
    """An Athena download folder in the real layout: tab-separated, a header row, no quoting."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["\t".join(CONCEPT_HEADER), *("\t".join(row) for row in concepts)]
    (folder / "CONCEPT.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if synonyms is not None:
        lines = ["\t".join(SYNONYM_HEADER), *("\t".join(row) for row in synonyms)]
        (folder / "CONCEPT_SYNONYM.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if vocabulary:
        (folder / "VOCABULARY.csv").write_text(
            "vocabulary_id\tvocabulary_name\tvocabulary_reference\tvocabulary_version\tvocabulary_concept_id\n"
            "SNOMED\tSystematic Nomenclature of Medicine\thttp://snomed.org\tSnomed Release 20240301\t44819097\n"
            "ICD10CM\tICD-10-CM\thttp://cdc.gov\tICD10CM FY2024 code descriptions\t44819098\n",
            encoding="utf-8")
    return folder


@pytest.fixture
def athena(tmp_path: Path) -> Path:
    return write_athena(tmp_path / "athena")


def test_a_download_folder_loads_with_omop_ids_and_fields(athena):
    vocab = load_athena(athena, "omop")
    assert vocab.info.kind == OMOP_KIND and vocab.info.name == "omop"
    # Deprecated concepts (invalid_reason D or U) are no mapping targets: left out.
    assert [c.concept_id for c in vocab] == ["378253", "201826", "436962", "45552385", "1124300", "8507"]
    headache = vocab.get("378253")
    assert headache.canonical_name == "Headache" and headache.aliases == ("Cephalgia",)
    assert omop_fields(headache) == {"vocabulary_id": "SNOMED", "domain_id": "Condition",
                                     "concept_class_id": "Clinical Finding", "standard_concept": "S",
                                     "concept_code": "25064002"}
    assert vocab.get("201826").aliases == ("T2DM - Type 2 diabetes mellitus", "2型糖尿病")
    assert omop_fields(vocab.get("45552385"))["standard_concept"] == ""  # non-standard: no flag
    assert "SNOMED Snomed Release 20240301" in vocab.info.version


def test_vocabulary_ids_filter_the_concepts(athena):
    vocab = load_athena(athena, "snomed", vocabulary_ids=["snomed"])  # matched without regard to case
    assert [c.concept_id for c in vocab] == ["378253", "201826", "436962"]
    assert "ICD10CM" not in vocab.info.version
    both = load_athena(athena, "two", vocabulary_ids=["SNOMED", "ICD10CM"])
    assert len(both) == 5


def test_an_unknown_vocabulary_id_names_the_ones_there(athena):
    with pytest.raises(VocabularyError, match=r"LOINC.*Gender, ICD10CM, SNOMED|LOINC.*ICD10CM.*SNOMED"):
        load_athena(athena, "x", vocabulary_ids=["LOINC"])


def test_synonyms_are_optional_and_a_missing_column_is_named(tmp_path):
    vocab = load_athena(write_athena(tmp_path / "a", synonyms=None, vocabulary=False), "a")
    assert vocab.get("378253").aliases == () and vocab.info.version == ""
    bad = tmp_path / "b"
    bad.mkdir()
    (bad / "CONCEPT.csv").write_text("concept_id\tconcept_name\n1\tX\n", encoding="utf-8")
    with pytest.raises(VocabularyError, match="vocabulary_id"):
        load_athena(bad, "b")


def test_a_bad_row_is_named_by_line(tmp_path):
    rows = [*CONCEPTS[:2], ("HP:1", "Not an OMOP id", "Condition", "SNOMED", "x", "S", "1", "1", "2", "")]
    with pytest.raises(VocabularyError, match=r"CONCEPT.csv, line 4.*HP:1"):
        load_athena(write_athena(tmp_path / "a", rows), "a")


def test_the_loaders_take_the_folder_or_its_concept_file(athena):
    assert len(load_vocabulary_file(athena, "a")) == 6
    assert len(load_vocabulary_file(athena / "CONCEPT.csv", "a", vocabulary_ids=["SNOMED"])) == 3
    with pytest.raises(VocabularyError, match="Athena"):
        load_vocabulary_file(athena.parent, "a")  # a folder without CONCEPT.csv


def test_the_store_keeps_an_import_as_an_omop_vocabulary(athena, tmp_path):
    store = VocabularyStore(DataDirs(tmp_path / "data"))
    vocab = store.import_file(athena, "snomed", vocabulary_ids=["SNOMED"])
    assert len(vocab) == 3
    header = read_jsonl_header(store.folder / "snomed.jsonl")
    assert header["kind"] == OMOP_KIND
    again = store.get("snomed")
    assert again.info.kind == OMOP_KIND and omop_fields(again.get("201826"))["concept_code"] == "44054006"
    assert store.kind("snomed") == OMOP_KIND and store.kind("hpo") == "" and store.kind(str(athena)) == OMOP_KIND


def test_a_plain_file_takes_no_vocabulary_id(tmp_path, tiny_vocab_path):
    with pytest.raises(VocabularyError, match="Athena"):
        load_vocabulary_file(tiny_vocab_path, "t", vocabulary_ids=["SNOMED"])


def test_cli_imports_a_download_folder(athena, tmp_path, capsys):
    home = tmp_path / "home"
    rc = main(["--home", str(home), "vocab", "import", str(athena), "--name", "snomed",
               "--vocabulary-id", "SNOMED", "--vocabulary-id", "Gender"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "imported snomed: 4 concepts" in out and "OMOP" in out
    rc = main(["--home", str(home), "vocab", "info", "snomed"])
    assert rc == 0 and f"kind: {OMOP_KIND}" in capsys.readouterr().out


def test_cli_refuses_a_vocabulary_id_for_a_plain_file(tmp_path, capsys, tiny_vocab_path):
    rc = main(["--home", str(tmp_path / "home"), "vocab", "import", str(tiny_vocab_path), "--name", "t",
               "--vocabulary-id", "SNOMED"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "Athena" in err


def test_concept_file_is_streamed_keeping_only_the_concepts_asked_for(tmp_path):
    """A large CONCEPT.csv of other vocabularies costs no memory: rows not kept are not held."""
    folder = tmp_path / "big"
    folder.mkdir()
    with open(folder / "CONCEPT.csv", "w", encoding="utf-8") as fh:
        fh.write("\t".join(CONCEPT_HEADER) + "\n")
        for i in range(100_000):
            fh.write(f"{10_000_000 + i}\tSome drug concept number {i} 10 MG Oral Tablet\tDrug\tRxNorm\t"
                     f"Clinical Drug\tS\t{i}\t19700101\t20991231\t\n")
        for row in CONCEPTS[:3]:
            fh.write("\t".join(row) + "\n")
    size = (folder / "CONCEPT.csv").stat().st_size
    tracemalloc.start()
    try:
        vocab = load_athena(folder, "snomed", vocabulary_ids=["SNOMED"])
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(vocab) == 3
    assert size > 8_000_000 and peak < 2_000_000, (size, peak)

