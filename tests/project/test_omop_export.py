"""The OMOP source_to_concept_map export: real concept ids from an Athena vocabulary, source codes
that fit OMOP's 50 characters, and a one-line refusal for vocabularies whose ids are not OMOP's."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from termlinker.api import (DataDirs, OmopVocabularyError, Project, TermLinkerError, VocabularyStore,
                            export_project)
from termlinker.cli import main
from termlinker.project.exports import OMOP_COLUMNS, OMOP_SOURCE_CODE_CHARS

from ..vocab.test_athena import write_athena
from .conftest import FIXED, result

LONG = "severe throbbing headache on the left side that wakes the patient at night, with nausea"
LONG_TOO = LONG.replace("nausea", "vomiting")  # the same first 80 characters
FORMULA = "=cmd|' /C calc'!A0"


@pytest.fixture
def dirs(tmp_path: Path) -> DataDirs:
    dirs = DataDirs(tmp_path / "home").ensure()
    VocabularyStore(dirs).import_file(write_athena(tmp_path / "athena"), "omop")
    return dirs


def _athena_project(path: Path, vocabulary: str = "omop") -> Path:
    with Project.create(path, vocabulary, clock=lambda: FIXED) as p:
        p.add_terms([("headache", 3), ("sugar diabetes", 1), (LONG, 1), (LONG_TOO, 1), ("insomnia?", 1),
                     (FORMULA, 1)])
        p.store_results([result("headache", ("378253", "Headache", 0.97)),
                         result("sugar diabetes", ("201826", "Type 2 diabetes mellitus", 0.8),
                                ("45552385", "Type 2 diabetes mellitus without complications", 0.7)),
                         result(LONG, ("378253", "Headache", 0.6)),
                         result(LONG_TOO, ("378253", "Headache", 0.6)),
                         result("insomnia?", ("436962", "Insomnia", 0.5)), result(FORMULA)])
        p.decide("headache", "approved")
        p.decide("sugar diabetes", "approved", concept_id="45552385")
        p.decide(LONG, "approved")
        p.decide(LONG_TOO, "approved")
    return path


def _rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_an_athena_project_exports_real_concept_ids(dirs, tmp_path):
    proj = _athena_project(tmp_path / "p.tlproj")
    out = tmp_path / "stcm.csv"
    with Project.open(proj) as p:
        assert export_project(p, out, "omop", dirs, approved_only=False) == 6
    rows = {r["source_code_description"]: r for r in _rows(out)}
    assert list(next(iter(rows.values()))) == list(OMOP_COLUMNS)
    assert (rows["headache"]["target_concept_id"], rows["headache"]["target_vocabulary_id"]) == ("378253", "SNOMED")
    diabetes = rows["sugar diabetes"]
    assert (diabetes["target_concept_id"], diabetes["target_vocabulary_id"]) == ("45552385", "ICD10CM")
    # Not approved: OMOP's concept 0, "No matching concept", of vocabulary "None".
    assert (rows["insomnia?"]["target_concept_id"], rows["insomnia?"]["target_vocabulary_id"]) == ("0", "None")


def test_columns_dates_and_the_vocabulary_ids_given(dirs, tmp_path):
    proj = _athena_project(tmp_path / "p.tlproj")
    out = tmp_path / "stcm.csv"
    with Project.open(proj, clock=lambda: FIXED) as p:  # rows never decided start on the export's day
        export_project(p, out, "omop", dirs, approved_only=False, source_vocabulary_id="CLINIC",
                       target_vocabulary_id="MINE")
    assert out.read_text(encoding="utf-8").splitlines()[0] == ",".join(OMOP_COLUMNS)
    rows = _rows(out)
    assert {r["source_vocabulary_id"] for r in rows} == {"CLINIC"} and {r["source_concept_id"] for r in rows} == {"0"}
    assert {r["target_vocabulary_id"] for r in rows if r["target_concept_id"] != "0"} == {"MINE"}
    assert {r["target_vocabulary_id"] for r in rows if r["target_concept_id"] == "0"} == {"None"}
    assert {(r["valid_start_date"], r["valid_end_date"], r["invalid_reason"]) for r in rows} == {
        ("2024-03-05", "2099-12-31", "")}
    hostile = next(r for r in rows if r["target_concept_id"] == "0" and "calc" in r["source_code"])
    assert hostile["source_code"] == hostile["source_code_description"] == "'" + FORMULA  # never a formula


def test_source_codes_fit_fifty_characters_and_stay_distinct_and_stable(dirs, tmp_path):
    proj = _athena_project(tmp_path / "p.tlproj")
    out = tmp_path / "stcm.csv"
    with Project.open(proj) as p:
        export_project(p, out, "omop", dirs)
        first = _rows(out)
        export_project(p, out, "omop", dirs)
        assert _rows(out) == first, "the same term gets the same code every time"
    assert all(len(r["source_code"]) <= OMOP_SOURCE_CODE_CHARS == 50 for r in first)
    by_term = {r["source_code_description"]: r["source_code"] for r in first}
    assert by_term["headache"] == "headache"  # short terms are their own code
    long_code, other = by_term[LONG], by_term[LONG_TOO]
    assert long_code != other and long_code[:30] == LONG[:30] and len(long_code) == 50
    assert by_term[LONG] and LONG in by_term  # the whole term is the description (up to OMOP's 255)


def test_the_cli_exports_an_athena_project(dirs, tmp_path, capsys):
    proj = _athena_project(tmp_path / "p.tlproj")
    out = tmp_path / "stcm.csv"
    rc = main(["--home", str(dirs.root), "-q", "project", "export", str(proj), "--format", "omop", "-o", str(out)])
    assert rc == 0, capsys.readouterr().err
    assert {r["target_concept_id"] for r in _rows(out)} == {"378253", "45552385"}


def test_the_projects_own_export_finds_the_vocabulary_in_the_default_data_folder(dirs, tmp_path, monkeypatch):
    monkeypatch.setenv("TERMLINKER_HOME", str(dirs.root))
    proj = _athena_project(tmp_path / "p.tlproj")
    with Project.open(proj) as p:
        p.export(tmp_path / "stcm.csv", "omop")
    assert {r["target_concept_id"] for r in _rows(tmp_path / "stcm.csv")} == {"378253", "45552385"}


def test_a_project_over_the_download_folder_itself_exports_too(tmp_path):
    folder = write_athena(tmp_path / "athena")
    proj = _athena_project(tmp_path / "p.tlproj", vocabulary=str(folder))
    with Project.open(proj) as p:
        export_project(p, tmp_path / "stcm.csv", "omop", DataDirs(tmp_path / "empty"))
    assert "378253" in {r["target_concept_id"] for r in _rows(tmp_path / "stcm.csv")}


@pytest.mark.parametrize("vocabulary", ["hpo", "icd10cm", "tiny"])
def test_other_vocabularies_are_refused_in_one_line(vocabulary, tmp_path, capsys, tiny_vocab_path, monkeypatch):
    home = DataDirs(tmp_path / "home").ensure()
    monkeypatch.setenv("TERMLINKER_HOME", str(home.root))  # where the project's own export looks
    VocabularyStore(home).import_file(tiny_vocab_path, "tiny")
    proj = tmp_path / "p.tlproj"
    with Project.create(proj, vocabulary) as p:
        p.add_terms({"headache": 1})
        p.store_results([result("headache", ("HP:0002315", "Headache", 0.9))])
        p.decide("headache", "approved")
    out = tmp_path / "stcm.csv"
    rc = main(["--home", str(home.root), "-q", "project", "export", str(proj), "--format", "omop", "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1, err
    assert "Athena" in err and "vocab import" in err and vocabulary in err
    assert not out.exists()
    with Project.open(proj) as p, pytest.raises(OmopVocabularyError, match="Athena") as caught:
        export_project(p, out, "omop", home)
    assert isinstance(caught.value, TermLinkerError) and not out.exists()
    with Project.open(proj) as p, pytest.raises(OmopVocabularyError):
        p.export(out, "omop")  # the desktop's call
    with Project.open(proj) as p:
        assert p.export(tmp_path / "map.json", "fhir") == 1  # the other formats are unchanged


def test_a_mapping_to_a_concept_the_vocabulary_lost_is_refused_without_a_file(tmp_path):
    dirs = DataDirs(tmp_path / "home").ensure()
    VocabularyStore(dirs).import_file(write_athena(tmp_path / "athena"), "omop", vocabulary_ids=["SNOMED"])
    proj = _athena_project(tmp_path / "p.tlproj")  # "sugar diabetes" is mapped to an ICD10CM concept
    out = tmp_path / "stcm.csv"
    with Project.open(proj) as p, pytest.raises(OmopVocabularyError, match="45552385.*no OMOP concept of"):
        export_project(p, out, "omop", dirs)
    assert not out.exists()
