"""Early stopping: the held-out share is linked after each pass, the best pass is kept, and a run stops
once `patience` passes in a row have not beaten it; a resumed run carries the checks on."""

from __future__ import annotations

import json

import pytest

from termlinker.distill.dataset import DatasetConfig, build_dataset, merge_gold
from termlinker.labels import LabelledPair
from termlinker.distill.held_out_check import EpochScore, HeldOutCheck
from termlinker.distill.train_retriever import HELD_OUT_LOG, RetrieverTrainConfig, plan_epochs, train_retriever, \
    work_folder
from termlinker.errors import Cancelled, InputError
from termlinker.linker import Linker, LinkerConfig
from termlinker.progress import CancelToken
from termlinker.vocab.loaders import load_vocabulary_file

from .test_train_retriever import PAIRS

# A rate this small leaves the weights as they were: every pass scores the same, so none beats the first.
FROZEN = RetrieverTrainConfig(epochs=4, batch_size=8, learning_rate=1e-12, checkpoint_every=1, threads=2,
                              early_stopping=True)


@pytest.fixture
def dataset(home, tiny_vocab_path, tmp_path):
    linker = Linker(LinkerConfig(vocabulary=str(tiny_vocab_path)), dirs=home)
    pairs, stats = merge_gold([LabelledPair(t, c, "gold") for t, c in PAIRS.items()], linker.vocabulary)
    build_dataset(pairs, linker, tmp_path / "ds", DatasetConfig(val_share=0.3), source_stats=stats)
    return home, linker.vocabulary, tmp_path / "ds"


def steps_per_pass(ds, vocab, config) -> list[int]:
    from termlinker.distill.train_retriever import load_pairs

    pairs = load_pairs(ds, "train", vocab, config.seed, config)
    return [len(p) for p in plan_epochs(pairs, config.batch_size, config.epochs, config.seed)]


def test_a_run_that_stops_improving_stops_and_keeps_its_best_pass(dataset):
    home, vocab, ds = dataset
    report = train_retriever(ds, vocab, home, "ft-stop", FROZEN, evaluate=False)
    # Pass 2 ties pass 1 (no better), so with patience 1 the run ends there, keeping pass 1.
    assert [s.epoch for s in report.held_out] == [1, 2]
    assert report.held_out[0].acc1 == report.held_out[1].acc1 and report.kept_epoch == 1
    assert report.steps == sum(steps_per_pass(ds, vocab, FROZEN)[:2])
    assert "kept pass 1" in "\n".join(report.lines())
    info = json.loads((work_folder(home, "ft-stop") / "model" / "training.json").read_text())
    assert info["kept_epoch"] == 1 and [r["epoch"] for r in info["held_out"]] == [1, 2]
    # Nothing of the run's scaffolding is left, and a rerun reuses the model with its record.
    assert not any((work_folder(home, "ft-stop") / name).exists() for name in ("checkpoint", "best", HELD_OUT_LOG))
    again = train_retriever(ds, vocab, home, "ft-stop", FROZEN, evaluate=False)
    assert again.reused_model and again.kept_epoch == 1 and len(again.held_out) == 2


def test_patience_lets_more_passes_run(dataset):
    home, vocab, ds = dataset
    config = RetrieverTrainConfig(**{**FROZEN.__dict__, "patience": 2})
    report = train_retriever(ds, vocab, home, "ft-patient", config, evaluate=False)
    assert [s.epoch for s in report.held_out] == [1, 2, 3] and report.kept_epoch == 1


def test_without_early_stopping_every_pass_runs_and_nothing_is_checked(dataset):
    home, vocab, ds = dataset
    config = RetrieverTrainConfig(**{**FROZEN.__dict__, "early_stopping": False})
    report = train_retriever(ds, vocab, home, "ft-all", config, evaluate=False)
    assert report.held_out == [] and report.kept_epoch is None
    assert report.steps == sum(steps_per_pass(ds, vocab, config))


def test_no_held_out_terms_means_every_pass_runs_with_a_warning(home, tiny_vocab_path, tmp_path):
    linker = Linker(LinkerConfig(vocabulary=str(tiny_vocab_path)), dirs=home)
    pairs, stats = merge_gold([LabelledPair(t, c, "gold") for t, c in PAIRS.items()], linker.vocabulary)
    build_dataset(pairs, linker, tmp_path / "ds", DatasetConfig(val_share=0.0), source_stats=stats)
    config = RetrieverTrainConfig(epochs=2, batch_size=8, threads=2, early_stopping=True)
    report = train_retriever(tmp_path / "ds", linker.vocabulary, home, "ft-noval", config, evaluate=False)
    assert report.held_out == [] and any("no held-out terms" in w for w in report.warnings)


def test_a_resumed_run_keeps_the_checks_it_made_before_the_cancel(dataset):
    home, vocab, ds = dataset
    first_pass = steps_per_pass(ds, vocab, FROZEN)[0]
    token = CancelToken()

    def cancel_in_pass_two(done: int, total: int) -> None:
        if done >= first_pass + 1:
            token.cancel()

    with pytest.raises(Cancelled):
        train_retriever(ds, vocab, home, "ft-resume", FROZEN, evaluate=False, progress=cancel_in_pass_two,
                        cancel=token)
    log = json.loads((work_folder(home, "ft-resume") / HELD_OUT_LOG).read_text())
    assert [r["epoch"] for r in log["held_out"]] == [1]
    report = train_retriever(ds, vocab, home, "ft-resume", FROZEN, evaluate=False)
    assert report.resumed_from_step == first_pass + 1
    assert [s.epoch for s in report.held_out] == [1, 2] and report.kept_epoch == 1, report.held_out


def test_patience_below_one_is_refused(dataset):
    home, vocab, ds = dataset
    with pytest.raises(InputError, match="--patience"):
        train_retriever(ds, vocab, home, "ft-bad", RetrieverTrainConfig(patience=0), evaluate=False)


def test_the_check_ranks_against_every_gold_concept_even_when_a_large_vocabulary_is_cut(tiny_vocab_path):
    vocab = load_vocabulary_file(tiny_vocab_path)
    rows = [("my head hurts", "T:001"), ("legs ache", "T:020"), ("gone", "NOT:THERE")]
    check = HeldOutCheck.build(rows, vocab, max_names=3)
    assert check.terms == ("my head hurts", "legs ache") and check.golds == ("T:001", "T:020")
    assert {"T:001", "T:020"} <= set(check.name_concepts)
    assert set(vocab.get("T:001").names) <= set(check.names)
    assert HeldOutCheck.build([("gone", "NOT:THERE")], vocab) is None


def test_a_pass_beats_another_on_acc1_then_on_mrr():
    assert EpochScore(2, 0.5, 0.6).beats(EpochScore(1, 0.5, 0.55))
    assert not EpochScore(2, 0.5, 0.55).beats(EpochScore(1, 0.5, 0.55))
    assert EpochScore(1, 0.1, 0.1).beats(None)
