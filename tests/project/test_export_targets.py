"""Every export carries each target with its predicate: CSV and JSON as words, FHIR R4 as equivalence,
OMOP as "Maps to" rows for exact and broader targets only (the rest said, not dropped silently)."""

from __future__ import annotations

import csv
import json

import pytest

from termlinker.api import Project, export_project
from termlinker.cli import main

from .test_exports import _check_r4
from .test_omop_export import _athena_project, _rows, dirs  # noqa: F401 (fixture)


def _mapped(project):
    project.decide("legs hurt", "approved", predicate="broad", reviewer="ann")
    project.add_target("legs hurt", "T:010", predicate="narrow")
    project.add_target("legs hurt", "T:099", "Leg weakness", predicate="close")
    project.decide("headache", "approved")
    return project


def test_csv_has_one_line_per_target_with_its_predicate(project, tmp_path):
    out = tmp_path / "m.csv"
    assert _mapped(project).export(out, "csv") == 2  # terms, not lines
    with open(out, encoding="utf-8", newline="") as fh:
        lines = list(csv.DictReader(fh))
    assert [(r["term"], r["concept_id"], r["predicate"]) for r in lines] == [
        ("headache", "T:001", "exact"), ("legs hurt", "T:003", "broad"), ("legs hurt", "T:010", "narrow"),
        ("legs hurt", "T:099", "close")]


def test_json_lists_the_targets(project, tmp_path):
    out = tmp_path / "m.json"
    _mapped(project).export(out, "json")
    legs = next(m for m in json.loads(out.read_text(encoding="utf-8"))["mappings"] if m["term"] == "legs hurt")
    assert legs["predicate"] == "broad"
    assert [(t["id"], t["predicate"]) for t in legs["targets"]] == [("T:003", "broad"), ("T:010", "narrow"),
                                                                    ("T:099", "close")]


def test_fhir_targets_carry_the_predicates_as_equivalence(project, tmp_path):
    out = tmp_path / "m.json"
    _mapped(project).export(out, "fhir")
    cm = json.loads(out.read_text(encoding="utf-8"))
    _check_r4(cm)  # narrower and inexact get the comment R4 demands
    legs = next(e for e in cm["group"][0]["element"] if e["code"] == "legs hurt")
    assert [(t["code"], t["equivalence"]) for t in legs["target"]] == [("T:003", "wider"), ("T:010", "narrower"),
                                                                      ("T:099", "inexact")]


def test_omop_maps_to_exact_and_broader_targets_and_says_what_it_left_out(dirs, tmp_path):  # noqa: F811
    proj = _athena_project(tmp_path / "p.tlproj")
    with Project.open(proj) as p:
        p.decide("headache", "approved", predicate="broad")
        p.add_target("headache", "436962", "Insomnia", predicate="exact")
        p.add_target("headache", "201826", "Type 2 diabetes mellitus", predicate="related")
        notes: list[str] = []
        export_project(p, tmp_path / "stcm.csv", "omop", dirs, notes=notes)
    rows = [r for r in _rows(tmp_path / "stcm.csv") if r["source_code_description"] == "headache"]
    assert [r["target_concept_id"] for r in rows] == ["378253", "436962"]
    assert len(notes) == 1 and "1 target(s) left out" in notes[0] and "201826 (related)" in notes[0]


def test_the_cli_decides_with_a_predicate_and_adds_and_removes_targets(home, tiny_vocab_path, tmp_path, capsys):
    proj = tmp_path / "p.tlproj"
    terms = tmp_path / "t.txt"
    terms.write_text("headache\n", encoding="utf-8")

    def run(*args):
        rc = main(["--home", str(home.root), "-q", "--threads", "1", "project", *args])
        return (rc, *capsys.readouterr())

    assert run("new", str(proj), "--vocab", str(tiny_vocab_path), "--terms", str(terms))[0] == 0
    assert run("link", str(proj))[0] == 0
    rc, out, _ = run("decide", str(proj), "--term", "headache", "--status", "approved", "--predicate", "close")
    assert rc == 0 and "(close)" in out
    rc, out, _ = run("target", str(proj), "--term", "headache", "--add", "T:012", "--predicate", "related")
    assert rc == 0 and "T:012" in out and "(related)" in out  # named from the vocabulary
    rows = [json.loads(line) for line in run("rows", str(proj), "--json")[1].splitlines()]
    assert [(t["id"], t["predicate"]) for t in rows[0]["targets"]][1:] == [("T:012", "related")]
    rc, _, err = run("target", str(proj), "--term", "headache", "--remove", "T:404")
    assert rc == 2 and "not mapped to T:404" in err and "Traceback" not in err
    assert run("target", str(proj), "--term", "headache", "--remove", "T:012")[0] == 0
    with pytest.raises(SystemExit) as usage:  # argparse's own usage error, exit 2
        run("decide", str(proj), "--term", "headache", "--status", "approved", "--predicate", "sideways")
    assert usage.value.code == 2 and "invalid choice: 'sideways'" in capsys.readouterr().err
