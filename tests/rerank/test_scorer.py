"""The llama.cpp scorer on the real SmolLM2-135M GGUF: one call per term, cache-exact, robust input."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from termlinker.errors import ModelError
from termlinker.rerank.scorer import LlamaScorer, ScorerConfig

CANDIDATES = ["Headache", "Insomnia", "Pain in lower limb", "Nausea", "Hypertension", "Fatigue", "Dizziness",
              "Back pain", "Migraine", "Fever"]


def test_k_candidates_are_scored_in_one_llama_decode_call(scorer):
    calls = scorer.stats.calls
    scores = scorer.score("my head hurts", CANDIDATES)
    assert scores.shape == (10,)
    assert np.isfinite(scores).all()
    assert scorer.stats.calls == calls + 1


def test_cached_prefix_gives_the_same_scores_as_a_cold_evaluation(scorer):
    cached = scorer.score("my head hurts", CANDIDATES)
    cold = scorer.score_uncached("my head hurts", CANDIDATES)
    np.testing.assert_allclose(cached, cold, atol=1e-4)
    np.testing.assert_allclose(scorer.score("my head hurts", CANDIDATES), cached, atol=1e-6)


def test_a_candidates_score_does_not_depend_on_its_neighbours(scorer):
    alone = scorer.score("trouble sleeping", ["Insomnia"])[0]
    among = scorer.score("trouble sleeping", list(reversed(CANDIDATES)))
    assert among[list(reversed(CANDIDATES)).index("Insomnia")] == pytest.approx(alone, abs=1e-4)


def test_more_candidates_than_one_call_holds_are_scored_in_chunks(scorer):
    scores = scorer.score("fever", CANDIDATES * 2)
    assert scores.shape == (20,)
    np.testing.assert_allclose(scores[:10], scores[10:], atol=1e-4)


def test_prompts_longer_than_the_context_are_shortened_not_fatal(scorer):
    long_term = "pain " * 2000
    long_names = [f"{name} " + "with many qualifiers " * 300 for name in CANDIDATES]
    scores = scorer.score(long_term, long_names)
    assert scores.shape == (10,) and np.isfinite(scores).all()
    assert len(scorer.tokenize(scorer.fit(long_names[0], 40))) <= 40
    assert scorer.fit("Headache", 40) == "Headache"


def test_chinese_terms_are_scored(scorer):
    scores = scorer.score("头痛", ["Headache", "头痛", "Insomnia"])
    assert np.isfinite(scores).all()


def test_missing_model_file_is_a_model_error(tmp_path, template):
    with pytest.raises(ModelError, match="not found"):
        LlamaScorer(tmp_path / "nothing.gguf", template)


def test_a_file_that_is_not_gguf_is_a_model_error(tmp_path, template):
    path = tmp_path / "model.gguf"
    path.write_text("not a model")
    with pytest.raises(ModelError, match="not a GGUF"):
        LlamaScorer(path, template)


def test_a_truncated_gguf_is_a_model_error(tmp_path, template, gguf_path):
    path = tmp_path / "truncated.gguf"
    with open(gguf_path, "rb") as src:
        path.write_bytes(src.read(2_000_000))
    with pytest.raises(ModelError, match="could not load"):
        LlamaScorer(path, template)


def test_a_gguf_of_an_unknown_architecture_is_a_model_error(tmp_path, template, gguf_path):
    path = tmp_path / "alien.gguf"
    shutil.copyfile(gguf_path, path)
    with open(path, "r+b") as fh:  # rename the architecture in the header: 'llama' -> 'zzzzz'
        head = fh.read(1 << 20)
        at = head.index(b"general.architecture") + len(b"general.architecture") + 4 + 8
        assert head[at:at + 5] == b"llama"
        fh.seek(at)
        fh.write(b"zzzzz")
    with pytest.raises(ModelError, match="architecture"):
        LlamaScorer(path, template, ScorerConfig(threads=1))
