"""Training data: gold precedence, a deterministic hold-out, hard negatives, the re-ranker's own prompt text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from termlinker.cli import main
from termlinker.distill.dataset import DatasetConfig, DatasetManifest, build_dataset, is_validation, merge_gold, read_jsonl
from termlinker.labels import LabelledPair, read_teacher_labels
from termlinker.errors import InputError
from termlinker.linker import Linker, LinkerConfig
from termlinker.project.project import Project
from termlinker.rerank.prompt import load_template, render_training_example

TERMS = {"my head hurts": "T:001", "can't sleep at night": "T:002", "sore legs": "T:003",
         "feel like throwing up": "T:004", "ears ringing": "T:007", "always tired": "T:008"}


@pytest.fixture
def tiny_linker(home, tiny_vocab_path):
    return Linker(LinkerConfig(vocabulary=str(tiny_vocab_path)), dirs=home)


def write_labels(path: Path, rows: list[tuple[str, str | None, str]]) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for term, cid, status in rows:
            fh.write(json.dumps({"term": term, "concept_id": cid, "concept_name": None, "status": status,
                                 "teacher": "t", "prompt_version": "teacher-v1"}) + "\n")
    return path


def test_teacher_labels_keep_only_ok(tmp_path):
    path = write_labels(tmp_path / "l.jsonl", [("a", "T:001", "ok"), ("b", None, "none"), ("c", None, "invalid")])
    assert read_teacher_labels(path) == [LabelledPair("a", "T:001", "teacher")]


def test_precedence_gold_over_review_over_teacher(tiny_linker):
    vocab = tiny_linker.vocabulary
    pairs = [LabelledPair("Head ache", "T:004", "teacher"), LabelledPair("head ache", "T:002", "review"),
             LabelledPair("head  ache", "T:001", "gold"), LabelledPair("insomnia thing", "T:002", "teacher"),
             LabelledPair("insomnia thing", "T:003", "review"), LabelledPair("x", "NOPE:1", "gold")]
    merged, stats = merge_gold(pairs, vocab)
    by_term = {p.term.lower().replace("  ", " "): (p.concept_id, p.source) for p in merged}
    assert by_term == {"head ache": ("T:001", "gold"), "insomnia thing": ("T:003", "review")}
    assert stats["gold"]["unknown_concept"] == 1 and stats["teacher"]["overridden"] == 2


def test_a_term_counts_every_row_that_agrees_with_the_label_kept(tiny_linker):
    rows = [LabelledPair("sore legs", "T:003", "gold"), LabelledPair("Sore legs", "T:003", "gold"),
            LabelledPair("sore  legs", "T:001", "gold"), LabelledPair("sore legs", "T:003", "teacher"),
            LabelledPair("queasy", "T:004", "gold")]
    merged, _ = merge_gold(rows, tiny_linker.vocabulary)
    assert {(p.term, p.concept_id, p.count) for p in merged} == {("sore legs", "T:003", 3), ("queasy", "T:004", 1)}


def test_holdout_is_deterministic_and_near_the_share():
    terms = [f"term number {i}" for i in range(2000)]
    first = [is_validation(t, 0.1) for t in terms]
    assert first == [is_validation(t, 0.1) for t in terms]
    assert 0.07 < sum(first) / len(terms) < 0.13
    assert is_validation("My Head Hurts", 0.1) == is_validation("my head hurts", 0.1)


def test_dataset_files_negatives_and_prompts(tiny_linker, tmp_path):
    pairs, stats = merge_gold([LabelledPair(t, c, "gold") for t, c in TERMS.items()], tiny_linker.vocabulary)
    manifest = build_dataset(pairs, tiny_linker, tmp_path / "ds", DatasetConfig(val_share=0.3, negatives=3),
                             source_stats=stats)
    again = DatasetManifest.load(tmp_path / "ds")
    assert again.counts == manifest.counts
    train, val = read_jsonl(tmp_path / "ds/retriever_train.jsonl"), read_jsonl(tmp_path / "ds/retriever_val.jsonl")
    assert len(train) + len(val) == len(TERMS)
    assert {r["term"] for r in val} == {t for t in TERMS if is_validation(t, 0.3)}
    for row in train + val:
        assert row["negative_id"] != row["concept_id"] and row["negative"]
        assert row["positive"] == tiny_linker.vocabulary.get(row["concept_id"]).canonical_name
    template = load_template()
    rerank = read_jsonl(tmp_path / "ds/rerank_train.jsonl") + read_jsonl(tmp_path / "ds/rerank_val.jsonl")
    assert len(rerank) == 4 * len(TERMS)
    for row in rerank:
        gold = TERMS[row["term"]]
        assert row["match"] == (row["concept_id"] == gold)
        name = tiny_linker.vocabulary.get(row["concept_id"]).canonical_name
        expected = render_training_example(template, row["term"], name, row["match"])
        assert (row["prompt"], row["target"]) == (expected.prompt, expected.target)
    positives = [r for r in rerank if r["match"]]
    assert len(positives) == len(TERMS)


def test_cli_dataset_from_labels_gold_and_project(home, tiny_vocab_path, tmp_path):
    labels = write_labels(tmp_path / "labels.jsonl", [("my head hurts", "T:004", "ok"), ("sore legs", "T:003", "ok"),
                                                      ("blorp", None, "none")])
    gold = tmp_path / "gold.tsv"
    gold.write_text("always tired\tT:008\n")
    project = tmp_path / "p.tlproj"
    with Project.create(project, "tiny") as p:
        p.add_terms({"my head hurts": 1, "ears ringing": 1})
        p.decide("my head hurts", "approved", "T:001", concept_name="Headache")
    out = tmp_path / "ds"
    rc = main(["--home", str(home.root), "-q", "distill", "dataset", "--labels", str(labels), "--gold", str(gold),
               "--project", str(project), "--vocab", str(tiny_vocab_path), "-o", str(out)])
    assert rc == 0
    rows = read_jsonl(out / "retriever_train.jsonl") + read_jsonl(out / "retriever_val.jsonl")
    assert {r["term"]: (r["concept_id"], r["source"]) for r in rows} == {
        "my head hurts": ("T:001", "review"), "sore legs": ("T:003", "teacher"), "always tired": ("T:008", "gold")}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sources"]["teacher"]["overridden"] == 1


def test_cli_dataset_needs_a_source(home, tiny_vocab_path, tmp_path, capsys):
    rc = main(["--home", str(home.root), "-q", "distill", "dataset", "--vocab", str(tiny_vocab_path),
               "-o", str(tmp_path / "ds")])
    assert rc == 2 and "--labels" in capsys.readouterr().err


def test_empty_pairs_are_refused(tiny_linker, tmp_path):
    with pytest.raises(InputError, match="No usable"):
        build_dataset([], tiny_linker, tmp_path / "ds")


def test_cli_dataset_writes_the_examples_in_the_prompt_of_the_reranker_to_be_trained(home, tiny_vocab_path, tmp_path):
    """Gemma 3 270M is a base model and reads the plain-text prompt, not SmolLM2's chat prompt."""
    gold = tmp_path / "gold.tsv"
    gold.write_text("".join(f"{t}\t{c}\n" for t, c in TERMS.items()))
    args = ["--home", str(home.root), "-q", "distill", "dataset", "--gold", str(gold), "--vocab", str(tiny_vocab_path)]
    assert main(args + ["-o", str(tmp_path / "default")]) == 0
    assert main(args + ["--reranker", "gemma3-270m", "-o", str(tmp_path / "gemma")]) == 0
    default, gemma = DatasetManifest.load(tmp_path / "default"), DatasetManifest.load(tmp_path / "gemma")
    assert default.prompt_version == "pointwise-v1" and gemma.prompt_version == "pointwise-base-v1"
    prompts = [r["prompt"] for r in read_jsonl(tmp_path / "gemma" / "rerank_train.jsonl")]
    assert prompts and all(p.endswith("Same thing? Answer:") and "<|im_start|>" not in p for p in prompts)
