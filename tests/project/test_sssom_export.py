"""The SSSOM/TSV export is valid SSSOM: every file is parsed with the sssom package's parser and
passed through its validator (JSON schema, prefix map completeness, strict CURIEs) with fail_on_error."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from pathlib import Path

import pytest

from termlinker.project.exports import ExportOptions, export_project, write_export
from termlinker.project.model import Predicate, ProjectInfo, ReviewRow, Status, Target
from termlinker.project.sssom_export import DEFAULT_LICENSE, mapping_set_id
from termlinker.paths import DataDirs
from termlinker.types import Candidate

sssom_parsers = pytest.importorskip("sssom.parsers")
sssom_validators = pytest.importorskip("sssom.validators")

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)


def validated(path: Path):
    """The parsed mapping set, after the sssom validator passed it (it raises on any error)."""
    msdf = sssom_parsers.parse_sssom_table(path)
    sssom_validators.validate(msdf, fail_on_error=True)
    return msdf


def read(path: Path) -> tuple[dict[str, str], list[dict[str, str]]]:
    """(metadata lines as text, rows as dicts) read without the sssom package: as any TSV reader would."""
    text = path.read_text(encoding="utf-8")
    meta = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    return meta, list(csv.DictReader(io.StringIO(body), delimiter="\t"))


def row(term: str, status: Status, concept: tuple[str, str] | None = None, *, candidates=(), reviewer: str = "",
        comment: str = "", predicate: Predicate = Predicate.EXACT, extra: tuple[Target, ...] = (),
        no_match: bool = False) -> ReviewRow:
    return ReviewRow(term=term, count=1, position=1,
                     candidates=tuple(Candidate(i, n, s) for i, n, s in candidates), linked=True, reranked=False,
                     no_match=no_match, status=status, concept_id=concept[0] if concept else None,
                     concept_name=concept[1] if concept else None, comment=comment, reviewer=reviewer,
                     decided_at="2024-05-02T10:00:00Z" if status is not Status.UNCHECKED else None,
                     predicate=predicate, extra_targets=extra)


def export(tmp_path: Path, rows: list[ReviewRow], vocabulary: str = "hpo", approved_only: bool = True,
           **options) -> Path:
    info = ProjectInfo(vocabulary=vocabulary, vocabulary_name=Path(vocabulary).stem, vocabulary_version="2024-04-26",
                       created_at="2024-05-01T08:00:00Z", modified_at="2024-05-02T10:00:00Z")
    out = tmp_path / "mappings.sssom.tsv"
    write_export(out, "sssom", info, rows, ExportOptions(approved_only=approved_only, now=NOW, **options))
    return out


HPO_ROWS = [
    row("bad headache", Status.APPROVED, ("HP:0002315", "Headache"), reviewer="0000-0002-7356-1779",
        candidates=[("HP:0002315", "Headache", 0.93), ("HP:0012228", "Tension-type headache", 0.7)],
        extra=(Target("HP:0012228", "Tension-type headache", Predicate.NARROW),
               Target("HP:0000707", "Abnormality of the nervous system", Predicate.BROAD))),
    row("leg pain\tat night", Status.APPROVED, ("HP:0012514", "Lower limb pain"), reviewer="Ann Lee",
        predicate=Predicate.CLOSE, comment='said "killing me"\nat night', candidates=[("HP:0012514", "x", 1.7)]),
    row("头痛", Status.APPROVED, ("HP:0002315", "Headache"), reviewer="李医生",
        extra=(Target("HP:0002315x", "related thing", Predicate.RELATED),)),
    row("zzz", Status.NO_MATCH, reviewer="https://orcid.org/0000-0001-2345-678X", comment="gibberish"),
    row("legs hurt", Status.FLAGGED, comment="ask", candidates=[("HP:0012514", "Lower limb pain", 0.72)]),
    row("tired all the time", Status.UNCHECKED, candidates=[("HP:0012378", "Fatigue", 0.81)], no_match=True),
    row("nothing at all", Status.UNCHECKED),
]


def test_approved_targets_with_their_predicates(tmp_path):
    out = export(tmp_path, HPO_ROWS)
    msdf = validated(out)
    meta, rows = read(out)
    assert "#curie_map:" in meta.splitlines()[0]
    for line in ('  HP: "http://purl.obolibrary.org/obo/HP_"', '  skos: "http://www.w3.org/2004/02/skos/core#"',
                 '  semapv: "https://w3id.org/semapv/vocab/"', '  rdfs: "http://www.w3.org/2000/01/rdf-schema#"',
                 '  orcid: "https://orcid.org/"', f'#license: "{DEFAULT_LICENSE}"', '#sssom_version: "1.1"',
                 '#object_source: "obo:hp"', '#object_source_version: "2024-04-26"',
                 '#mapping_set_version: "2024-05-02T10:00:00Z"', '#publication_date: "2024-06-01"'):
        assert f"#{line}" in meta.splitlines() or line in meta.splitlines(), line
    assert "sssom:" not in meta  # no NoTermFound in an approved-only export
    got = [(r["subject_label"], r["predicate_id"], r["object_id"], r["mapping_justification"]) for r in rows]
    assert got == [
        ("bad headache", "skos:exactMatch", "HP:0002315", "semapv:ManualMappingCuration"),
        ("bad headache", "skos:narrowMatch", "HP:0012228", "semapv:ManualMappingCuration"),
        ("bad headache", "skos:broadMatch", "HP:0000707", "semapv:ManualMappingCuration"),
        ("leg pain at night", "skos:closeMatch", "HP:0012514", "semapv:ManualMappingCuration"),
        ("头痛", "skos:exactMatch", "HP:0002315", "semapv:ManualMappingCuration"),
        ("头痛", "skos:relatedMatch", "HP:0002315x", "semapv:ManualMappingCuration"),
    ]
    assert {r["subject_type"] for r in rows} == {"rdfs literal"}
    first, narrow, broad, leg, zh, _ = rows
    assert (first["confidence"], narrow["confidence"], broad["confidence"]) == ("0.93", "0.7", "")
    assert leg["confidence"] == "1"  # clamped to SSSOM's 0..1
    assert first["author_id"] == "orcid:0000-0002-7356-1779" and not first["author_label"]
    assert leg["author_label"] == "Ann Lee" and not leg["author_id"]
    assert zh["author_label"] == "李医生" and zh["mapping_date"] == "2024-05-02"
    assert leg["comment"] == 'said "killing me" at night'  # one line, the quotes kept
    assert len(msdf.df) == 6
    assert sorted(msdf.df["subject_label"]) == sorted(r[0] for r in got)


def test_all_terms_no_match_and_unreviewed_proposals(tmp_path):
    out = export(tmp_path, HPO_ROWS, approved_only=False)
    validated(out)
    meta, rows = read(out)
    assert '  sssom: "https://w3id.org/sssom/"' in [line.lstrip("#") for line in meta.splitlines()]
    by_term = {}
    for r in rows:
        by_term.setdefault(r["subject_label"], []).append(r)
    (zzz,) = by_term["zzz"]
    assert (zzz["predicate_id"], zzz["object_id"], zzz["mapping_justification"]) == \
        ("skos:exactMatch", "sssom:NoTermFound", "semapv:ManualMappingCuration")
    assert zzz["author_id"] == "orcid:0000-0001-2345-678X" and zzz["comment"] == "gibberish"
    (flagged,) = by_term["legs hurt"]
    assert (flagged["object_id"], flagged["mapping_justification"], flagged["confidence"]) == \
        ("HP:0012514", "semapv:SemanticSimilarityThresholdMatching", "0.72")
    assert flagged["comment"] == "not approved (status flagged): ask" and not flagged["author_label"]
    (tired,) = by_term["tired all the time"]
    assert tired["object_id"] == "HP:0012378" and "not approved (status unchecked)" in tired["comment"]
    (nothing,) = by_term["nothing at all"]
    assert (nothing["object_id"], nothing["mapping_justification"]) == \
        ("sssom:NoTermFound", "semapv:SemanticSimilarityThresholdMatching")


def test_non_obo_vocabulary_gets_urn_prefixes(tmp_path):
    rows = [row("糖尿病", Status.APPROVED, ("E11.9", "Type 2 diabetes"), reviewer="ann"),
            row("odd id", Status.APPROVED, ("a b|c", "weird"), reviewer="ann",
                extra=(Target("T:001", "Headache", Predicate.BROAD),)),
            row("unsure", Status.UNCHECKED, candidates=[("X12", "Something", -0.2)])]
    out = export(tmp_path, rows, vocabulary="/data/My Clinic-Codes.jsonl", approved_only=False,
                 license="https://example.org/licence", mapping_set_id="https://example.org/set/1")
    msdf = validated(out)
    meta, got = read(out)
    lines = [line.lstrip("#").strip() for line in meta.splitlines()]
    assert 'my_clinic_codes: "urn:termlinker:vocabulary:my%20clinic-codes:"' in lines
    assert 'T: "urn:termlinker:vocabulary:my%20clinic-codes:T:"' in lines
    assert 'tlvocab: "urn:termlinker:vocabulary:"' in lines
    assert 'license: "https://example.org/licence"' in lines
    assert 'mapping_set_id: "https://example.org/set/1"' in lines
    assert [r["object_id"] for r in got] == ["my_clinic_codes:E11.9", "my_clinic_codes:a%20b%7Cc", "T:001",
                                            "my_clinic_codes:X12"]
    assert got[-1]["confidence"] == "0"
    assert set(msdf.df["object_source"]) == {"tlvocab:my%20clinic-codes"}  # propagated to every mapping


def test_icd10cm_ids_get_the_vocabulary_prefix(tmp_path):
    out = export(tmp_path, [row("headache", Status.APPROVED, ("R51.9", "Headache, unspecified"))],
                 vocabulary="icd10cm")
    validated(out)
    meta, rows = read(out)
    assert '#  ICD10CM: "http://purl.bioontology.org/ontology/ICD10CM/"' in meta.splitlines()
    assert rows[0]["object_id"] == "ICD10CM:R51.9"


def test_omop_vocabulary_ids_get_omop_prefix(tmp_path):
    from termlinker.project.sssom_export import write_sssom

    info = ProjectInfo(vocabulary="athena", vocabulary_name="athena")
    fh = io.StringIO()
    write_sssom(fh, info, [row("headache", Status.APPROVED, ("378253", "Headache"))], ExportOptions(now=NOW),
                omop=True)
    assert '#  OMOP: "https://athena.ohdsi.org/search-terms/terms/"' in fh.getvalue().splitlines()
    assert "\tOMOP:378253\t" in fh.getvalue()


def test_empty_export_is_valid(tmp_path):
    out = export(tmp_path, [])
    validated(out)
    assert read(out)[1] == []


def test_mapping_set_id_is_stable_per_project():
    a = ProjectInfo(vocabulary="hpo", created_at="2024-05-01T08:00:00Z", modified_at="x")
    b = ProjectInfo(vocabulary="hpo", created_at="2024-05-01T08:00:00Z", modified_at="y")
    c = ProjectInfo(vocabulary="hpo", created_at="2024-05-01T08:00:01Z")
    assert mapping_set_id(a) == mapping_set_id(b) != mapping_set_id(c)
    assert mapping_set_id(a).startswith("urn:uuid:")


def test_project_export(project, tmp_path):
    """Through the project: the 'tiny' vocabulary's T:… ids, the decisions as stored."""
    project.decide("headache", "approved", reviewer="ann")
    project.decide("糖尿病", "approved", concept_id="T:017", comment="骨质疏松 really")
    project.decide("zzz", "no_match")
    project.add_target("headache", "T:012", "Arthralgia", predicate="related")
    out = tmp_path / "p.sssom.tsv"
    assert export_project(project, out, "sssom", DataDirs.at(tmp_path / "home"), license="https://example.org/l",
                          approved_only=False) == 5
    validated(out)
    meta, rows = read(out)
    assert '#license: "https://example.org/l"' in meta.splitlines()
    assert f'#mapping_set_id: "{mapping_set_id(project.info())}"' in meta.splitlines()
    assert {r["subject_label"] for r in rows} == {"headache", "糖尿病", "legs hurt", "zzz", "nothing at all"}
    assert [(r["predicate_id"], r["object_id"], r["confidence"], r["author_label"]) for r in rows
            if r["subject_label"] == "headache"] == [("skos:exactMatch", "T:001", "0.97", "ann"),
                                                     ("skos:relatedMatch", "T:012", "0.4", "ann")]
    zh = next(r for r in rows if r["subject_label"] == "糖尿病")
    assert (zh["object_id"], zh["object_label"], zh["comment"], zh["confidence"]) == \
        ("T:017", "Osteoporosis", "骨质疏松 really", "0.3")
    assert project.export(tmp_path / "q.sssom.tsv", "sssom") == 2


def test_sssom_needs_no_network_to_import():
    """The validator's prefix maps ship with the package: parsing works offline (run under unshare -n)."""
    from sssom.context import get_converter

    assert get_converter().expand("HP:0002315") == "http://purl.obolibrary.org/obo/HP_0002315"


def test_cli_export_sssom(project, tmp_path, home, capsys):
    from termlinker.cli import main

    project.decide("headache", "approved", reviewer="ann", predicate="close")
    path = str(project.path)
    project.close()
    out = tmp_path / "cli.sssom.tsv"
    rc = main(["--home", str(home.root), "project", "export", path, "--format", "sssom", "-o", str(out),
               "--license", "https://example.org/l", "--mapping-set-id", "https://example.org/set"])
    stdout, _ = capsys.readouterr()
    assert rc == 0 and f"wrote 1 terms to {out}" in stdout
    validated(out)
    meta, rows = read(out)
    assert '#mapping_set_id: "https://example.org/set"' in meta.splitlines()
    assert [(r["subject_label"], r["predicate_id"], r["object_id"]) for r in rows] == \
        [("headache", "skos:closeMatch", "T:001")]
