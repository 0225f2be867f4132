"""The `termlinker` command line: the output contract and user errors (exit 2, no traceback)."""

from __future__ import annotations

import csv
import io
import json
import sys

import pytest

from termlinker.cli import main


@pytest.fixture
def run(home, capsys, monkeypatch):
    def _run(*args: str, stdin: str | None = None):
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode("utf-8"))))
        rc = main(["--home", str(home.root), "-q", *args])
        out, err = capsys.readouterr()
        return rc, out, err

    return _run


def test_link_jsonl_contract(run, tiny_vocab_path, tmp_path):
    terms = tmp_path / "t.txt"
    terms.write_text("headache\nmy legs are killing me\nheadache\n")
    rc, out, _ = run("link", str(terms), "--vocab", str(tiny_vocab_path), "--format", "jsonl", "--top-k", "3")
    assert rc == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(x["term"], x["count"]) for x in lines] == [("headache", 2), ("my legs are killing me", 1)]
    first = lines[0]
    assert set(first) == {"term", "count", "candidates", "reranked"}
    assert first["reranked"] is False
    assert len(first["candidates"]) == 3
    assert set(first["candidates"][0]) == {"id", "name", "score"}
    assert first["candidates"][0]["id"] == "T:001"
    scores = [c["score"] for c in first["candidates"]]
    assert scores == sorted(scores, reverse=True)


def test_link_csv_has_best_and_alternatives(run, tiny_vocab_path, tmp_path):
    terms = tmp_path / "t.txt"
    terms.write_text("tinnitus\n")
    out_file = tmp_path / "out.csv"
    rc, out, _ = run("link", str(terms), "--vocab", str(tiny_vocab_path), "--top-k", "2", "-o", str(out_file))
    assert rc == 0 and out == ""
    rows = list(csv.DictReader(out_file.open(encoding="utf-8")))
    assert rows[0]["term"] == "tinnitus" and rows[0]["count"] == "1" and rows[0]["id"] == "T:007"
    assert rows[0]["id_2"] and rows[0]["name_2"] and rows[0]["score_2"]


def test_link_reads_stdin(run, tiny_vocab_path):
    rc, out, _ = run("link", "-", "--vocab", str(tiny_vocab_path), "--format", "jsonl", stdin="nosebleed\n")
    assert rc == 0 and json.loads(out)["candidates"][0]["id"] == "T:015"


def test_link_csv_column(run, tiny_vocab_path, tmp_path):
    terms = tmp_path / "t.csv"
    terms.write_text("id,phrase\n1,hair loss\n")
    rc, out, _ = run("link", str(terms), "--column", "phrase", "--vocab", str(tiny_vocab_path), "--format", "jsonl")
    assert rc == 0 and json.loads(out)["term"] == "hair loss"


def test_empty_input_is_exit_2_with_a_message(run, tiny_vocab_path, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    rc, out, err = run("link", str(empty), "--vocab", str(tiny_vocab_path))
    assert rc == 2 and out == ""
    assert "no terms" in err and "Traceback" not in err


def test_empty_stdin_is_exit_2(run, tiny_vocab_path):
    rc, _, err = run("link", "-", "--vocab", str(tiny_vocab_path), stdin="")
    assert rc == 2 and "standard input" in err


def test_missing_column_is_exit_2(run, tiny_vocab_path, tmp_path):
    terms = tmp_path / "t.csv"
    terms.write_text("id,phrase\n1,hair loss\n")
    rc, _, err = run("link", str(terms), "--column", "term", "--vocab", str(tiny_vocab_path))
    assert rc == 2 and "no column named 'term'" in err


def test_gb18030_input_is_read_and_noted(run, tiny_vocab_path, tmp_path):
    terms = tmp_path / "zh.txt"
    terms.write_bytes("糖尿病\n".encode("gb18030"))
    rc, out, err = run("link", str(terms), "--vocab", str(tiny_vocab_path), "--format", "jsonl")
    assert rc == 0 and json.loads(out)["candidates"][0]["id"] == "T:016"
    assert "gb18030" in err


def test_over_long_term_warns(run, tiny_vocab_path, tmp_path):
    terms = tmp_path / "t.txt"
    terms.write_text("pain " * 200 + "\n")
    rc, _, err = run("link", str(terms), "--vocab", str(tiny_vocab_path), "--format", "jsonl")
    assert rc == 0 and "truncated" in err


def test_unknown_vocabulary_is_exit_2(run, tmp_path):
    terms = tmp_path / "t.txt"
    terms.write_text("headache\n")
    rc, _, err = run("link", str(terms), "--vocab", "no-such-vocabulary")
    assert rc == 2 and "Traceback" not in err


def test_malformed_vocabulary_names_file_and_line(run, tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("id\tname\nX1\tHeadache\nX2\n")
    rc, _, err = run("vocab", "import", str(bad), "--name", "bad")
    assert rc == 2 and "bad.tsv" in err and "3" in err


def test_evaluate_gold_tsv_prints_metrics_and_writes_json(run, tiny_vocab_path, tmp_path):
    gold = tmp_path / "gold.tsv"
    gold.write_text("headache\tT:001\ncan't sleep\tT:002\nringing ears\tT:007\n")
    report = tmp_path / "r.json"
    rc, out, _ = run("evaluate", "--data", str(gold), "--vocab", str(tiny_vocab_path), "--json", str(report))
    assert rc == 0 and "Acc@1=" in out and "Acc@5=" in out and "MRR=" in out and "n=3" in out
    scores = json.loads(report.read_text())["reports"][0]["scores"]["all"]
    assert scores["n"] == 3 and 0.0 <= scores["acc1"] <= 1.0


def test_vocab_import_list_info(run, tiny_vocab_path):
    rc, out, _ = run("vocab", "import", str(tiny_vocab_path), "--name", "tiny")
    assert rc == 0 and "20 concepts" in out
    rc, out, _ = run("vocab", "list")
    assert rc == 0 and "tiny" in out and "hpo" in out
    rc, out, _ = run("vocab", "info", "tiny")
    assert rc == 0 and "concepts: 20" in out


def test_evaluate_askapatient_reports_unseen_subset(run, shared_data, tmp_path):
    report = tmp_path / "aap.json"
    rc, out, _ = run("evaluate", "--dataset", "askapatient", "--fold", "0", "--split", "validation",
                     "--data-dir", str(shared_data), "--json", str(report))
    assert rc == 0 and "unseen" in out
    scores = json.loads(report.read_text())["reports"][0]["scores"]
    assert scores["all"]["n"] > 800 and scores["all"]["acc1"] > 0.55
    assert 0 < scores["unseen"]["n"] < scores["all"]["n"]


def test_a_benchmark_dataset_needs_its_folder_named(run):
    rc, _, err = run("evaluate", "--dataset", "askapatient")
    assert rc == 2 and "--data-dir" in err and len(err.strip().splitlines()) == 1
