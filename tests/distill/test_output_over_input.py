"""`distill label` and `distill dataset` never write over their inputs, and a failed labelling run
never empties an earlier labels file. The refusal comes before the teacher is contacted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from termlinker.cli import main

from .conftest import TERMS

TEXT = "\n".join(TERMS) + "\n"


@pytest.fixture
def terms(tmp_path: Path) -> Path:
    path = tmp_path / "t.txt"
    path.write_text(TEXT)
    return path


def label_args(home: Path, terms: Path, vocab: Path, url: str, key_env: str, *extra: str) -> list[str]:
    return ["--home", str(home), "-q", "distill", "label", str(terms), "--vocab", str(vocab), "--base-url", url,
            "--model", "fake-model", "--api-key-env", key_env, "--top-k", "3", "--yes", *extra]


def test_label_refuses_to_write_its_labels_over_the_term_list_before_asking_anything(
        fake_teacher, key_env, tmp_path, terms, tiny_vocab_path, capsys):
    fake_teacher.script = [(503, {"error": {"message": "down"}})]
    rc = main(label_args(tmp_path / "home", terms, tiny_vocab_path, fake_teacher.url, key_env, "-o", str(terms)))
    err = capsys.readouterr().err
    assert rc == 2 and "Choose another -o path; the input was not touched" in err
    assert terms.read_text() == TEXT
    assert fake_teacher.posts == 0
    assert not terms.with_suffix(".labels.sqlite").exists(), "no label store was created either"


def test_label_refuses_a_label_store_that_is_the_term_list(fake_teacher, key_env, tmp_path, terms, tiny_vocab_path,
                                                          capsys):
    rc = main(label_args(tmp_path / "home", terms, tiny_vocab_path, fake_teacher.url, key_env, "--store", str(terms),
                         "-o", str(tmp_path / "labels.jsonl")))
    assert rc == 2 and "Choose another --store path" in capsys.readouterr().err
    assert terms.read_text() == TEXT and fake_teacher.posts == 0
    assert not (tmp_path / "labels.jsonl").exists()


def test_label_refuses_one_path_for_the_store_and_the_labels_even_before_either_exists(
        fake_teacher, key_env, tmp_path, terms, tiny_vocab_path, capsys):
    both = tmp_path / "labels.out"
    rc = main(label_args(tmp_path / "home", terms, tiny_vocab_path, fake_teacher.url, key_env, "--store", str(both),
                         "-o", str(both)))
    assert rc == 2 and "-o and --store name the same file" in capsys.readouterr().err
    assert not both.exists() and fake_teacher.posts == 0


def test_a_failed_run_with_no_answer_keeps_the_earlier_labels_file(fake_teacher, key_env, home, tmp_path, terms,
                                                                   tiny_vocab_path, capsys):
    earlier = json.dumps({"term": "my head hurts", "concept_id": "T:001", "status": "ok"}) + "\n"
    out = tmp_path / "labels.jsonl"
    out.write_text(earlier)
    fake_teacher.script = [(401, {"error": {"message": "bad key"}})]  # fails at once, nothing answered
    rc = main(label_args(home.root, terms, tiny_vocab_path, fake_teacher.url, key_env,
                         "--store", str(tmp_path / "fresh.sqlite"), "-o", str(out)))
    assert rc == 2 and "API key" in capsys.readouterr().err
    assert fake_teacher.posts >= 1
    assert out.read_text() == earlier


def test_dataset_refuses_a_folder_that_holds_its_labels(tmp_path, tiny_vocab_path, capsys):
    folder = tmp_path / "dataset"
    folder.mkdir()
    labels = folder / "retriever_train.jsonl"
    labels.write_text(json.dumps({"term": "my head hurts", "concept_id": "T:001", "status": "ok"}) + "\n")
    before = labels.read_bytes()
    rc = main(["--home", str(tmp_path / "home"), "-q", "distill", "dataset", "--labels", str(labels),
               "--vocab", str(tiny_vocab_path), "-o", str(folder)])
    assert rc == 2 and "the input was not touched" in capsys.readouterr().err
    assert labels.read_bytes() == before
