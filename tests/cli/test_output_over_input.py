"""An output path that is one of the command's inputs is refused before any work: exit 2, input untouched.

Every command that writes a file checks, through symlinks and hard links alike; an output that
does not exist yet is fine.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from termlinker.cli import main
from termlinker.project import Project

TERMS = "headache\nmy legs are killing me\n"


def run(tmp_path: Path, capsys, *args: str) -> tuple[int, str]:
    # The refusal comes before any index is built, so a bare data folder is enough.
    rc = main(["--home", str(tmp_path / "home"), "-q", *args])
    return rc, capsys.readouterr().err


def assert_refused(rc: int, err: str, kept: Path, before: bytes, option: str = "-o") -> None:
    assert rc == 2 and "Traceback" not in err
    assert "same file as the input" in err and f"Choose another {option} path; the input was not touched" in err
    assert kept.read_bytes() == before


@pytest.fixture
def terms(tmp_path: Path) -> Path:
    path = tmp_path / "t.txt"
    path.write_text(TERMS)
    return path


@pytest.fixture
def vocab(tmp_path: Path, tiny_vocab_path: Path) -> Path:
    return Path(shutil.copy(tiny_vocab_path, tmp_path / "vocab.jsonl"))


@pytest.mark.parametrize("alias", ["same path", "symlink", "hard link"])
def test_link_refuses_to_write_over_its_term_list(tmp_path, capsys, terms, vocab, alias):
    out = terms
    if alias == "symlink":
        out = tmp_path / "out.csv"
        out.symlink_to(terms)
    elif alias == "hard link":
        out = tmp_path / "out.csv"
        os.link(terms, out)
    rc, err = run(tmp_path, capsys, "link", str(terms), "--vocab", str(vocab), "-o", str(out))
    assert_refused(rc, err, terms, TERMS.encode())


def test_link_refuses_to_write_over_its_vocabulary(tmp_path, capsys, terms, vocab):
    before = vocab.read_bytes()
    rc, err = run(tmp_path, capsys, "link", str(terms), "--vocab", str(vocab), "--format", "jsonl", "-o", str(vocab))
    assert_refused(rc, err, vocab, before)


def test_evaluate_refuses_to_write_its_report_over_the_gold_file(tmp_path, capsys, vocab):
    gold = tmp_path / "gold.tsv"
    gold.write_text("headache\tT:001\n")
    rc, err = run(tmp_path, capsys, "evaluate", "--data", str(gold), "--vocab", str(vocab), "--json", str(gold))
    assert_refused(rc, err, gold, b"headache\tT:001\n", option="--json")


def test_ranker_train_refuses_to_save_over_its_pairs(tmp_path, capsys, vocab):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("headache\tT:001\n")
    rc, err = run(tmp_path, capsys, "ranker", "train", "--vocab", str(vocab), "--pairs", str(pairs), "-o", str(pairs))
    assert_refused(rc, err, pairs, b"headache\tT:001\n")


def test_bench_refuses_to_write_its_figures_over_the_vocabulary(tmp_path, capsys, vocab):
    before = vocab.read_bytes()
    rc, err = run(tmp_path, capsys, "bench", "--vocab", str(vocab), "--terms", "10", "--json", str(vocab))
    assert_refused(rc, err, vocab, before, option="--json")


@pytest.mark.parametrize("fmt", ["csv", "json", "fhir", "omop"])
@pytest.mark.parametrize("alias", ["same path", "symlink"])
def test_project_export_refuses_to_replace_the_project(tmp_path, capsys, fmt, alias):
    proj = tmp_path / "p.tlproj"
    with Project.create(proj, "tiny") as project:
        project.add_terms({"headache": 2})
        project.comment("headache", "keep me")
    before = proj.read_bytes()
    out = proj
    if alias == "symlink":
        out = tmp_path / "export.out"
        out.symlink_to(proj)
    rc, err = run(tmp_path, capsys, "project", "export", str(proj), "--format", fmt, "--all", "-o", str(out))
    assert rc == 2 and "Traceback" not in err and "the input was not touched" in err
    assert proj.read_bytes() == before
    with Project.open(proj) as project:
        assert project.row("headache").comment == "keep me"


def test_an_output_that_does_not_exist_yet_is_fine(tmp_path, capsys):
    proj = tmp_path / "p.tlproj"
    with Project.create(proj, "tiny") as project:
        project.add_terms({"headache": 2})
    out = tmp_path / "new" / "map.csv"
    rc, err = run(tmp_path, capsys, "project", "export", str(proj), "--format", "csv", "--all", "-o", str(out))
    assert rc == 0 and out.read_text().startswith("term,count")
