"""Fusion, skip and no-match rules, with a counting stand-in for the LLM."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from termlinker.rerank.fusion import RerankRules
from termlinker.rerank.reranker import Reranker
from termlinker.types import Candidate


class CountingScorer:
    """Says yes (margin +5) to the names it likes and no (-5) to the rest; counts calls."""

    def __init__(self, liked: set[str]) -> None:
        self.liked = liked
        self.calls = 0

    def score(self, term: str, candidates: Sequence[str]) -> np.ndarray:
        self.calls += 1
        return np.array([5.0 if c in self.liked else -5.0 for c in candidates])


def cands(*scores: float, exact_first: bool = False) -> list[Candidate]:
    return [Candidate(f"C{i}", f"name {i}", s, s, exact=exact_first and i == 0) for i, s in enumerate(scores)]


RULES = RerankRules(llm_weight=0.1, retrieval_weight=1.0, rank_weight=0.0, skip_margin=0.2)


def test_an_exact_match_skips_the_llm():
    scorer = CountingScorer({"name 1"})
    out = Reranker(scorer, RULES).rerank("t", cands(1.5, 0.9, 0.8, exact_first=True))
    assert scorer.calls == 0 and not out.reranked
    assert [c.concept_id for c in out.candidates] == ["C0", "C1", "C2"]


def test_a_big_retriever_lead_skips_the_llm():
    scorer = CountingScorer({"name 1"})
    out = Reranker(scorer, RULES).rerank("t", cands(0.9, 0.6, 0.5))
    assert scorer.calls == 0 and not out.reranked


def test_close_candidates_are_reranked_in_one_call():
    scorer = CountingScorer({"name 2"})
    out = Reranker(scorer, RULES).rerank("t", cands(0.70, 0.65, 0.60))
    assert scorer.calls == 1 and out.reranked
    assert [c.concept_id for c in out.candidates] == ["C2", "C0", "C1"]
    assert out.candidates[0].retrieval_score == 0.60  # the retriever's own score is kept
    assert out.candidates[0].score == 0.60 + 0.1 * 5.0


def test_zero_llm_weight_keeps_the_retriever_order():
    scorer = CountingScorer({"name 2"})
    out = Reranker(scorer, RerankRules(llm_weight=0.0, skip_margin=0.2)).rerank("t", cands(0.70, 0.65, 0.60))
    assert [c.concept_id for c in out.candidates] == ["C0", "C1", "C2"]


def test_no_good_match_below_the_threshold():
    rules = RerankRules(llm_weight=0.1, skip_margin=0.2, nil_threshold=0.3)
    out = Reranker(CountingScorer(set()), rules).rerank("t", cands(0.70, 0.65, 0.60))
    assert out.no_match  # best is 0.70 - 0.5 = 0.2 < 0.3
    out = Reranker(CountingScorer({"name 0"}), rules).rerank("t", cands(0.70, 0.65, 0.60))
    assert not out.no_match


def test_candidates_beyond_the_llm_depth_stay_below_the_reranked_ones():
    rules = RerankRules(llm_weight=0.1, skip_margin=0.2, depth=2)
    scorer = CountingScorer({"name 1"})
    out = Reranker(scorer, rules).rerank("t", cands(0.70, 0.65, 0.60, 0.55))
    assert [c.concept_id for c in out.candidates] == ["C1", "C0", "C2", "C3"]
    scores = [c.score for c in out.candidates]
    assert scores == sorted(scores, reverse=True)


# --- after a learned ranking: scores are the ranking's probabilities ------------------------

def ranked(*probabilities: float, exact_first: bool = False) -> list[Candidate]:
    """Candidates as a FeatureRanker hands them over: ``score`` its probability, the retriever's kept."""
    return [Candidate(f"C{i}", f"name {i}", p, 0.9 - i / 10, exact=exact_first and i == 0)
            for i, p in enumerate(probabilities)]


def test_after_a_ranking_the_margin_shifts_each_probability():
    scorer = CountingScorer({"name 1"})
    out = Reranker(scorer, RULES).rerank("t", ranked(0.6, 0.3, 0.1), ranking_weight=0.5)
    assert out.reranked and scorer.calls == 1
    assert [c.concept_id for c in out.candidates] == ["C1", "C0", "C2"]
    # p1 * e^(0.5*5) against p0 * e^(0.5*-5): 0.3 * 12.18 = 3.65 vs 0.6 * 0.082 = 0.049
    assert sum(c.score for c in out.candidates) == pytest.approx(1.0)
    assert out.candidates[0].score == pytest.approx(3.6547 / (3.6547 + 0.04925 + 0.008208), rel=1e-3)
    assert out.candidates[0].retrieval_score == pytest.approx(0.8), "the retriever's score is kept"


def test_after_a_ranking_a_zero_weight_keeps_the_rankings_order_and_scores():
    out = Reranker(CountingScorer({"name 2"}), RULES).rerank("t", ranked(0.6, 0.3, 0.1), ranking_weight=0.0)
    assert [(c.concept_id, round(c.score, 6)) for c in out.candidates] == [("C0", 0.6), ("C1", 0.3), ("C2", 0.1)]


def test_after_a_ranking_only_an_exact_match_skips_the_llm():
    scorer = CountingScorer({"name 1"})
    rules = RerankRules(llm_weight=0.1, skip_margin=0.05)  # the retriever's 0.1 lead would skip without a ranking
    assert not Reranker(scorer, rules).rerank("t", ranked(0.6, 0.4, exact_first=True), ranking_weight=0.5).reranked
    assert scorer.calls == 0
    assert Reranker(scorer, rules).rerank("t", ranked(0.6, 0.4), ranking_weight=0.5).reranked
    assert scorer.calls == 1


def test_after_a_ranking_candidates_past_the_llms_depth_stay_below_in_order():
    probabilities = [0.3, 0.2] + [0.5 / 12] * 12
    out = Reranker(CountingScorer({"name 0"}), RerankRules(depth=10)).rerank("t", ranked(*probabilities),
                                                                             ranking_weight=1.0)
    ids = [c.concept_id for c in out.candidates]
    assert ids[10:] == [f"C{i}" for i in range(10, 14)]
    assert sum(c.score for c in out.candidates) == pytest.approx(1.0)
