"""`termlinker project …` end to end: new, link, status, rows, approve, decide, comment, export."""

from __future__ import annotations

import json

import pytest

from termlinker.cli import main


@pytest.fixture
def run(home, capsys):
    def _run(*args: str):
        rc = main(["--home", str(home.root), "-q", "--threads", "1", "project", *args])
        out, err = capsys.readouterr()
        return rc, out, err

    return _run


def test_project_flow(run, tiny_vocab_path, tmp_path):
    terms = tmp_path / "terms.txt"
    terms.write_text("headache\nmy legs are killing me\nheadache\n糖尿病\n", encoding="utf-8")
    proj = str(tmp_path / "p.tlproj")
    assert run("new", proj, "--vocab", str(tiny_vocab_path), "--terms", str(terms), "--top-k", "2")[0] == 0
    more = tmp_path / "more.txt"
    more.write_text("headache\ntired\n")
    rc, out, _ = run("add", proj, str(more))
    assert rc == 0 and "added 1 new terms; 4 in all" in out

    rc, out, _ = run("link", proj)
    assert rc == 0 and "linked 4 terms (0 already linked)" in out
    assert "linked 0 terms (4 already linked)" in run("link", proj)[1]

    rc, out, _ = run("approve", proj, "--min-score", "0.99", "--reviewer", "ann")
    assert rc == 0 and "approved" in out
    rows = [json.loads(line) for line in run("rows", proj, "--json")[1].splitlines()]
    assert [r["term"] for r in rows] == ["headache", "my legs are killing me", "糖尿病", "tired"]
    assert rows[0]["count"] == 3 and rows[0]["status"] == "approved" and rows[0]["reviewer"] == "ann"

    # A manual concept: any id of the vocabulary, named from it.
    legs = rows[1]
    manual = next(f"T:0{i:02d}" for i in range(1, 21) if f"T:0{i:02d}" not in {c["id"] for c in legs["candidates"]})
    rc, out, _ = run("decide", proj, "--term", legs["term"], "--status", "approved", "--concept", manual,
                     "--comment", "manual pick")
    assert rc == 0 and manual in out
    rc, _, err = run("decide", proj, "--term", "tired", "--status", "approved", "--concept", "NOPE:1")
    assert rc == 2 and "NOPE:1" in err and "Traceback" not in err
    assert run("decide", proj, "--term", "tired", "--status", "no_match")[0] == 0
    assert run("comment", proj, "--term", "糖尿病", "--text", "问医生")[0] == 0
    assert run("decide", proj, "--term", "headache", "--status", "unchecked")[0] == 0  # undo

    rc, out, _ = run("status", proj)
    # headache and 糖尿病 were exact matches (score 1.0), so bulk approve took both; headache was undone.
    assert rc == 0 and "approved: 2" in out and "no_match: 1" in out and "unchecked: 1" in out
    assert "unchecked" in run("rows", proj, "--status", "unchecked")[1]

    fhir = tmp_path / "map.json"
    assert run("export", proj, "--format", "fhir", "--all", "-o", str(fhir))[0] == 0
    cm = json.loads(fhir.read_text(encoding="utf-8"))
    assert cm["resourceType"] == "ConceptMap" and len(cm["group"][0]["element"]) == 4
    omop = tmp_path / "stcm.csv"  # OMOP needs OMOP concept ids, which this vocabulary has not
    rc, _, err = run("export", proj, "--format", "omop", "-o", str(omop))
    assert rc == 2 and "Athena" in err and not omop.exists()
    out_csv = tmp_path / "all.csv"
    assert run("export", proj, "--format", "csv", "--all", "-o", str(out_csv))[0] == 0
    assert "问医生" in out_csv.read_text(encoding="utf-8")


def test_errors_exit_2_without_traceback(run, tmp_path, tiny_vocab_path):
    bogus = tmp_path / "bogus.tlproj"
    bogus.write_text("hello")
    rc, _, err = run("status", str(bogus))
    assert rc == 2 and "not a TermLinker project" in err and "Traceback" not in err
    proj = str(tmp_path / "p.tlproj")
    assert run("new", proj, "--vocab", str(tiny_vocab_path))[0] == 0
    rc, _, err = run("new", proj, "--vocab", str(tiny_vocab_path))
    assert rc == 2 and "already exists" in err
    rc, _, err = run("decide", proj, "--term", "x", "--status", "flagged")
    assert rc == 2 and "no term" in err
