"""Exports follow their formats' rules: FHIR R4 ConceptMap, OMOP source_to_concept_map, CSV, JSON."""

from __future__ import annotations

import csv
import json
import re

import pytest

from termlinker.project import ExportFormatError


@pytest.fixture
def reviewed(project):
    project.decide("headache", "approved", reviewer="ann")
    project.decide("糖尿病", "approved", concept_id="T:017", comment="骨质疏松 really")
    project.decide("zzz", "no_match")
    project.decide("legs hurt", "flagged", comment="ask")
    return project


def _fhir(project, tmp_path, **kwargs):
    out = tmp_path / "map.json"
    project.export(out, "fhir", **kwargs)
    return json.loads(out.read_text(encoding="utf-8"))


def _check_r4(cm: dict) -> None:
    assert cm["resourceType"] == "ConceptMap"
    assert cm["status"] in {"draft", "active", "retired", "unknown"}
    for group in cm.get("group", []):
        assert group["element"], "FHIR JSON forbids empty arrays"
        for element in group["element"]:
            assert element["code"] and re.fullmatch(r"[^\s]+( [^\s]+)*", element["code"])
            for target in element["target"]:
                assert target["equivalence"] in {"relatedto", "equivalent", "equal", "wider", "subsumes",
                                                 "narrower", "specializes", "inexact", "unmatched", "disjoint"}
                if target["equivalence"] != "unmatched":
                    assert target["code"]
                if target["equivalence"] in {"narrower", "inexact"}:  # cmd-1
                    assert target["comment"]


def test_fhir_approved_only(reviewed, tmp_path):
    cm = _fhir(reviewed, tmp_path)
    _check_r4(cm)
    (group,) = cm["group"]
    assert group["source"] == "urn:termlinker:source-terms"
    assert group["target"] == "urn:termlinker:vocabulary:tiny" and group["targetVersion"] == "1.0"
    elements = {e["code"]: e["target"] for e in group["element"]}
    assert elements == {
        "headache": [{"code": "T:001", "display": "Headache", "equivalence": "equivalent"}],
        "糖尿病": [{"code": "T:017", "display": "Osteoporosis", "equivalence": "equivalent"}],
    }


def test_fhir_all_marks_no_match_unmatched_and_unreviewed_relatedto(reviewed, tmp_path):
    cm = _fhir(reviewed, tmp_path, approved_only=False, source_system="http://clinic.example/terms",
               target_system="http://example.org/tiny")
    _check_r4(cm)
    (group,) = cm["group"]
    assert (group["source"], group["target"]) == ("http://clinic.example/terms", "http://example.org/tiny")
    targets = {e["code"]: e["target"][0] for e in group["element"]}
    assert targets["zzz"] == {"equivalence": "unmatched"}
    assert targets["nothing at all"] == {"equivalence": "unmatched"}
    assert targets["legs hurt"]["equivalence"] == "relatedto" and "flagged" in targets["legs hurt"]["comment"]
    assert targets["headache"]["equivalence"] == "equivalent"


def test_fhir_default_system_for_builtin_vocabulary(tmp_path):
    from termlinker.project import Project

    with Project.create(tmp_path / "p.tlproj", "hpo") as p:
        cm = _fhir(p, tmp_path)
    assert cm["targetUri"] == "http://human-phenotype-ontology.org" and "group" not in cm
    _check_r4(cm)


# The OMOP export, which needs a vocabulary of OMOP concepts, is tested in test_omop_export.py.


def test_csv_and_json_keep_chinese(reviewed, tmp_path):
    out = tmp_path / "all.csv"
    assert reviewed.export(out, "csv", approved_only=False) == 5
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    diabetes = next(r for r in rows if r["term"] == "糖尿病")
    assert diabetes["comment"] == "骨质疏松 really" and diabetes["status"] == "approved"
    assert diabetes["best_id"] == "T:016" and diabetes["concept_id"] == "T:017"

    out = tmp_path / "approved.json"
    assert reviewed.export(out, "json") == 2
    raw = out.read_bytes().decode("utf-8")
    assert "糖尿病" in raw  # written as text, not \\u escapes
    payload = json.loads(raw)
    assert [m["term"] for m in payload["mappings"]] == ["headache", "糖尿病"]
    assert payload["project"]["approved_only"] is True
    assert payload["mappings"][0]["candidates"][0] == {"id": "T:001", "name": "Headache", "score": 0.97}


def test_unknown_format_and_atomic_write(reviewed, tmp_path):
    out = tmp_path / "x.txt"
    out.write_text("old")
    with pytest.raises(ExportFormatError, match="csv, json, fhir, omop"):
        reviewed.export(out, "xml")
    assert out.read_text() == "old"
    reviewed.export(out, "csv")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
