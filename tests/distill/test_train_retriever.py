"""A tiny real fine-tune: ~20 pairs, one epoch, batch 8; export, registration, linking with it, cancel, resume."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from termlinker.cli import main
from termlinker.distill.dataset import DatasetConfig, build_dataset, merge_gold
from termlinker.labels import LabelledPair
from termlinker.distill.train_retriever import (RetrieverTrainConfig, TrainPair, check_name, plan_batches,
                                                train_retriever, work_folder)
from termlinker.errors import Cancelled, InputError
from termlinker.linker import Linker, LinkerConfig
from termlinker.models import encoder_folder
from termlinker.progress import CancelToken
from termlinker.retrieval.encoder import OnnxEncoder

PAIRS = {"my head hurts": "T:001", "pounding head": "T:001", "can't sleep at night": "T:002",
         "awake all night": "T:002", "sore legs": "T:003", "legs ache": "T:003", "feel like throwing up": "T:004",
         "queasy": "T:004", "blood pressure up": "T:005", "out of breath": "T:006", "ears ringing": "T:007",
         "always tired": "T:008", "worn out": "T:008", "heart pounding": "T:009", "calf cramps": "T:010",
         "fuzzy eyesight": "T:011", "achy joints": "T:012", "losing my hair": "T:013", "feeling down": "T:014",
         "nose bleeds": "T:015", "itchy all over": "T:018", "puffy ankles": "T:019", "can't remember things": "T:020"}
FAST = RetrieverTrainConfig(epochs=1, batch_size=8, checkpoint_every=1, threads=2)


@pytest.fixture
def tiny_dataset(home, tiny_vocab_path, tmp_path):
    linker = Linker(LinkerConfig(vocabulary=str(tiny_vocab_path)), dirs=home)
    pairs, stats = merge_gold([LabelledPair(t, c, "gold") for t, c in PAIRS.items()], linker.vocabulary)
    build_dataset(pairs, linker, tmp_path / "ds", DatasetConfig(val_share=0.2), source_stats=stats)
    return home, linker.vocabulary, tmp_path / "ds"


def test_tiny_fine_tune_registers_an_encoder_that_links(tiny_dataset, tiny_vocab_path):
    home, vocab, ds = tiny_dataset
    seen = []
    report = train_retriever(ds, vocab, home, "ft-tiny", FAST, progress=lambda d, t: seen.append((d, t)))
    assert report.steps >= 2 and seen[-1] == (report.steps, report.steps)
    assert report.before is not None and report.after is not None and report.before.n == report.after.n > 0
    folder = encoder_folder(home, "ft-tiny")
    manifest = json.loads((folder / "encoder.json").read_text())
    assert manifest["name"] == "ft-tiny" and manifest["source"] == str(work_folder(home, "ft-tiny") / "model")
    assert set(manifest["files"]) == {"model.onnx", "model.int8.onnx", "tokenizer.json"}
    for variant in ("int8", "fp32"):
        assert OnnxEncoder(folder, variant=variant).encode(["headache"]).shape == (1, 384)
    info = json.loads((work_folder(home, "ft-tiny") / "model" / "training.json").read_text())
    assert "source" in info and info["base_encoder"] == "minilm"
    linker = Linker(LinkerConfig(vocabulary=str(tiny_vocab_path), encoder="ft-tiny"), dirs=home)
    # The before/after evaluation already built this encoder's own index (not the default's).
    assert linker.retriever.bundle.manifest.encoder == linker.encoder.identity
    assert linker.encoder.identity.startswith("ft-tiny:int8:")
    assert linker.link_terms(["my head hurts"])[0].best.concept_id == "T:001"
    # A rerun finds the finished model and goes straight to the export.
    again = train_retriever(ds, vocab, home, "ft-tiny", FAST, evaluate=False)
    assert again.reused_model and again.steps == report.steps


def test_cancel_saves_a_checkpoint_and_a_rerun_resumes(tiny_dataset):
    home, vocab, ds = tiny_dataset
    token = CancelToken()

    def cancel_after_first(done: int, total: int) -> None:
        if done >= 1:
            token.cancel()

    with pytest.raises(Cancelled, match="Run the same command again"):
        train_retriever(ds, vocab, home, "ft-cancel", FAST, evaluate=False, progress=cancel_after_first, cancel=token)
    assert (work_folder(home, "ft-cancel") / "checkpoint" / "trainer_state.pt").exists()
    assert not encoder_folder(home, "ft-cancel").exists()
    report = train_retriever(ds, vocab, home, "ft-cancel", FAST, evaluate=False)
    assert report.resumed_from_step == 1 and (encoder_folder(home, "ft-cancel") / "encoder.json").exists()
    assert not (work_folder(home, "ft-cancel") / "checkpoint").exists()


def test_batches_never_hold_a_concept_twice():
    pairs = [TrainPair(f"t{i}", f"p{i % 5}", "n", f"C{i % 5}") for i in range(40)]
    batches = plan_batches(pairs, 8, 1, seed=0)
    assert sum(len(b) for b in batches) == 40
    assert all(len({p.concept_id for p in b}) == len(b) for b in batches)
    assert batches == plan_batches(pairs, 8, 1, seed=0)


def test_bad_names_are_refused():
    for bad in ("minilm", "../evil", "", "a b"):
        with pytest.raises(InputError):
            check_name(bad)


def test_cli_train_retriever_needs_a_dataset(home, tiny_vocab_path, tmp_path, capsys):
    rc = main(["--home", str(home.root), "-q", "distill", "train-retriever", str(tmp_path), "--vocab",
               str(tiny_vocab_path), "--name", "x1"])
    assert rc == 2 and "distill dataset" in capsys.readouterr().err


def test_distill_modules_do_not_import_torch_at_import_time():
    code = ("import sys, termlinker.distill.dataset, termlinker.distill.train_retriever, termlinker.cli.distill;"
            "print([m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_finished_model_is_reused_only_for_the_same_data_and_settings(tmp_path):
    from dataclasses import replace

    from termlinker.distill.train_retriever import finished_run, run_fingerprint

    marker = tmp_path / "training.json"
    same = run_fingerprint([("a", "b", "c")], FAST, "minilm")
    marker.write_text(json.dumps({"fingerprint": same, "steps": 3}))
    assert finished_run(marker, same) == {"fingerprint": same, "steps": 3}
    assert run_fingerprint([("a", "b", "c")], replace(FAST, threads=1, checkpoint_every=5), "minilm") == same
    for other in (run_fingerprint([("a", "b", "d")], FAST, "minilm"),  # new labels
                  run_fingerprint([("a", "b", "c")], replace(FAST, learning_rate=FAST.learning_rate * 2), "minilm"),
                  run_fingerprint([("a", "b", "c")], FAST, "another-base")):
        assert finished_run(marker, other) is None
    marker.write_text("{torn")
    assert finished_run(marker, same) is None


def test_a_term_labelled_several_times_is_trained_on_as_often_and_hard_negatives_can_be_left_out(tmp_path,
                                                                                                 tiny_vocab_path):
    from termlinker.distill.train_retriever import load_pairs
    from termlinker.vocab.loaders import load_vocabulary_file

    vocab = load_vocabulary_file(tiny_vocab_path)
    rows = [{"term": "my head hurts", "concept_id": "T:001", "positive": "Headache", "negative": "Insomnia",
             "count": 3},
            {"term": "queasy", "concept_id": "T:004", "positive": "Nausea", "negative": None}]
    (tmp_path / "retriever_train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    shipped = load_pairs(tmp_path, "train", vocab)
    assert [p.anchor for p in shipped] == ["my head hurts"] * 3 + ["queasy"]
    assert shipped[0].negative == "Insomnia" and shipped[-1].negative not in (None, "Nausea")
    plain = load_pairs(tmp_path, "train", vocab,
                       config=RetrieverTrainConfig(hard_negatives=False, repeat_by_count=False))
    assert [(p.anchor, p.negative) for p in plain] == [("my head hurts", None), ("queasy", None)]
