"""Distilling the re-ranker for real: LoRA on SmolLM2-135M, merged, written as GGUF, quantized by llama.cpp.

Tiny data (the tiny vocabulary, a couple of optimizer steps): these tests check the plumbing
(names, layouts, metadata, checkpoints, registration), not the accuracy, which the AAP
experiment in benchmarks measures.
"""

from __future__ import annotations

import numpy as np
import pytest

from termlinker.cli import main
from termlinker.distill.dataset import DatasetConfig, build_dataset, merge_gold
from termlinker.labels import LabelledPair
from termlinker.distill.gguf_export import (dequantized_tensors, permute_rotary, read_base, to_gguf_tensors,
                                            write_f16_gguf)
from termlinker.distill.train_reranker import (RerankerTrainConfig, load_torch_base, output_folder, train_reranker,
                                               work_folder)
from termlinker.distill.validate_reranker import validate_and_register
from termlinker.errors import Cancelled, ModelError, StorageError
from termlinker.linker import Linker, LinkerConfig
from termlinker.progress import CancelToken
from termlinker.rerank.prompt import load_template
from termlinker.rerank.registry import DEFAULT_RERANKER, RerankerRegistry
from termlinker.rerank.reranker import RerankerConfig
from termlinker.rerank.scorer import LlamaScorer

from .test_train_retriever import PAIRS

pytestmark = pytest.mark.slow
TINY = RerankerTrainConfig(batch_size=8, max_examples=16, checkpoint_every=1, threads=2, quantizations=("Q8_0",))


@pytest.fixture
def tiny_dataset(home, tiny_vocab_path, tmp_path):
    linker = Linker(LinkerConfig(vocabulary=str(tiny_vocab_path)), dirs=home)
    pairs, stats = merge_gold([LabelledPair(t, c, "gold") for t, c in PAIRS.items()], linker.vocabulary)
    build_dataset(pairs, linker, tmp_path / "ds", DatasetConfig(val_share=0.3), source_stats=stats)
    return home, linker.vocabulary, tmp_path / "ds"


def base_model(home):
    return RerankerRegistry(home).resolve(DEFAULT_RERANKER)


def test_the_base_gguf_survives_the_trip_through_torch_bit_for_bit(home):
    """Names and the rotary layout of q/k are right iff every tensor comes back exactly."""
    base = base_model(home)
    state = {k: v.detach().numpy() for k, v in load_torch_base(base).state_dict().items()}
    mapped = to_gguf_tensors(state, read_base(base.path))
    original = dequantized_tensors(base.path)
    assert set(mapped) == set(original)
    for name, array in original.items():
        np.testing.assert_array_equal(mapped[name], array, err_msg=name)


def test_rotary_permutation_interleaves_the_halves_of_each_head():
    rows = np.arange(8, dtype=np.float32).reshape(8, 1)  # 2 heads of 4: [0 1 2 3][4 5 6 7]
    assert permute_rotary(rows, 2).ravel().tolist() == [0, 2, 1, 3, 4, 6, 5, 7]


def test_the_export_keeps_the_base_metadata_and_tokenizer(home, tmp_path):
    import gguf

    base = base_model(home)
    out = write_f16_gguf(base.path, dequantized_tensors(base.path), tmp_path / "copy.gguf", name="copy")
    old, new = gguf.GGUFReader(base.path), gguf.GGUFReader(str(out))
    assert new.fields["general.name"].contents() == "copy"
    assert new.fields["general.file_type"].contents() == 1  # F16
    for key in ("tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.chat_template",
                "llama.attention.head_count_kv", "general.license"):
        assert new.fields[key].contents() == old.fields[key].contents(), key
    template = load_template()
    a, b = LlamaScorer(base.path, template), LlamaScorer(out, template)
    try:
        assert a.tokenize(template.render("legs hurt", "Leg pain")) == b.tokenize(template.render("legs hurt", "Leg pain"))
    finally:
        a.close()
        b.close()


def test_tiny_distillation_exports_a_gguf_llama_cpp_loads_and_that_ranks_like_torch(tiny_dataset, tiny_vocab_path):
    home, vocab, ds = tiny_dataset
    seen = []
    report = train_reranker(ds, home, "rr-tiny", TINY, progress=lambda d, t: seen.append((d, t)))
    assert report.examples == 16 and report.steps == 2 and seen[-1] == (2, 2)
    path = output_folder(home, "rr-tiny") / "rr-tiny.Q8_0.gguf"
    assert report.files == {"Q8_0": str(path)} and path.read_bytes()[:4] == b"GGUF"
    assert not list(output_folder(home, "rr-tiny").glob("*.F16.gguf"))  # the F16 intermediate is removed
    check = report.checks[0]
    assert check.quantization == "Q8_0" and check.mean_abs_diff < 0.5 and check.pair_order_agreement >= 0.6
    scorer = LlamaScorer(path, load_template())
    try:
        assert np.isfinite(scorer.score("my head hurts", ["Headache", "Insomnia"])).all()
    finally:
        scorer.close()

    validation = validate_and_register(ds, vocab, home, "rr-tiny", report.files, "SmolLM2-135M-Instruct",
                                       "pointwise-v1", activate=True)
    registry = RerankerRegistry(home)
    assert registry.get("rr-tiny").path == str(path) and registry.get("rr-tiny").rules
    assert registry.active_name() == ("rr-tiny" if validation.activated else DEFAULT_RERANKER)
    assert validation.activated == (validation.candidates[0].calibration.reranked.acc1
                                    > validation.current.reranked.acc1)
    linker = Linker(LinkerConfig(vocabulary=str(tiny_vocab_path), rerank=True,
                                 reranker=RerankerConfig(model="rr-tiny")), dirs=home)
    assert linker.reranker is not None and linker.reranker.model.name == "rr-tiny"
    assert linker.link_terms(["my head hurts"])[0].best is not None

    again = train_reranker(ds, home, "rr-tiny", TINY)  # a rerun reuses the adapter and only re-exports
    assert again.reused_adapter and again.steps == 2


def test_a_model_no_better_than_the_current_is_registered_but_not_activated(tiny_dataset):
    home, vocab, ds = tiny_dataset
    base = base_model(home)
    validation = validate_and_register(ds, vocab, home, "same-as-base", {"Q4_1": base.path}, base.base_model,
                                       base.prompt_version, activate=True)
    assert not validation.activated and validation.registered is not None
    assert RerankerRegistry(home).active_name() == DEFAULT_RERANKER


def test_cancel_keeps_a_checkpoint_and_a_rerun_resumes(tiny_dataset):
    home, _, ds = tiny_dataset
    token = CancelToken()

    def stop_after_first(done, total):
        if done == 1:
            token.cancel()

    with pytest.raises(Cancelled, match="Run the same command again"):
        train_reranker(ds, home, "rr-cancel", TINY, progress=stop_after_first, cancel=token)
    assert (work_folder(home, "rr-cancel") / "checkpoint" / "state.pt").exists()
    report = train_reranker(ds, home, "rr-cancel", TINY)
    assert report.resumed_from_step == 1 and report.steps == 2
    assert not (work_folder(home, "rr-cancel") / "checkpoint").exists()


def test_a_base_of_another_architecture_is_refused_with_advice(tmp_path):
    import gguf

    path = tmp_path / "bert.gguf"
    writer = gguf.GGUFWriter(str(path), "bert")
    writer.add_tensor("token_embd.weight", np.zeros((4, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(ModelError, match="SmolLM2"):
        read_base(path)


def test_cli_distils_a_dataset_into_a_registered_reranker(tiny_dataset, tiny_vocab_path, capsys):
    home, _, ds = tiny_dataset
    code = main(["--home", str(home.root), "-q", "--threads", "2", "distill", "train-reranker", str(ds),
                 "--vocab", str(tiny_vocab_path), "--name", "rr-cli", "--max-examples", "8", "--quantize", "Q8_0",
                 "--no-activate"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "Q8_0:" in out.out and "registered rr-cli" in out.out
    assert RerankerRegistry(home).active_name() == DEFAULT_RERANKER
    assert main(["--home", str(home.root), "distill", "train-reranker", str(ds), "--quantize", "Q3"]) == 2


def test_a_full_disk_during_export_loses_no_training_and_a_rerun_finishes(tiny_dataset, monkeypatch):
    import errno

    import gguf

    home, _, ds = tiny_dataset

    def full(*_args, **_kwargs):  # a real full disk cannot be produced on demand here
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(gguf.GGUFWriter, "write_tensors_to_file", full)
    with pytest.raises(StorageError, match="Free some disk space"):
        train_reranker(ds, home, "rr-full", TINY)
    assert not list(output_folder(home, "rr-full").glob("*.gguf*")), "no partial GGUF is left behind"
    monkeypatch.undo()
    report = train_reranker(ds, home, "rr-full", TINY)
    assert report.reused_adapter and set(report.files) == {"Q8_0"}
