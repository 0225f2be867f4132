"""`link --format csv` writes terms and names that start like formulas as text; JSON lines keep them raw."""

from __future__ import annotations

import csv
import json

from termlinker.cli import main

VOCAB = [
    {"concept_id": "=X:1", "canonical_name": "=cmd|' /C calc'!A0", "aliases": ["formula pain"]},
    {"concept_id": "T:002", "canonical_name": "@Headache", "aliases": ["head pain"]},
    {"concept_id": "T:003", "canonical_name": "-Insomnia", "aliases": ["no sleep"]},
]


def test_link_csv_neutralises_formula_cells_and_jsonl_keeps_them(home, tmp_path, capsys):
    vocab = tmp_path / "hostile.jsonl"
    vocab.write_text("".join(json.dumps(c) + "\n" for c in VOCAB), encoding="utf-8")
    terms = tmp_path / "t.txt"
    terms.write_text("=1+1 head pain\n+formula pain\n@no sleep\n-head pain\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    base = ["--home", str(home.root), "-q", "link", str(terms), "--vocab", str(vocab), "--top-k", "3"]
    assert main(base + ["-o", str(out)]) == 0
    with open(out, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["term"] for r in rows] == ["'=1+1 head pain", "'+formula pain", "'@no sleep", "'-head pain"]
    cells = [r[k] for r in rows for k in r if k.startswith(("id", "name")) and r[k]]
    assert cells and all(not c.startswith(("=", "+", "-", "@")) for c in cells)
    assert "'=cmd|' /C calc'!A0" in cells and "'=X:1" in cells and "'@Headache" in cells and "'-Insomnia" in cells
    scores = [r[k] for r in rows for k in r if k.startswith("score") and r[k]]
    assert all(float(s) == float(s) for s in scores)  # numbers, never quoted into text

    capsys.readouterr()
    assert main(base + ["--format", "jsonl"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["term"] == "=1+1 head pain"
    assert "=cmd|' /C calc'!A0" in {c["name"] for line in lines for c in line["candidates"]}
