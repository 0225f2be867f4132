"""How the re-ranker's scores and the retriever's combine: fusion, skip and no-match rules.

The defaults are calibrated on Ask A Patient validation folds by
``benchmarks/calibrate_rerank.py`` (never on test folds); re-run it when the
retriever or the re-ranker model changes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..types import Candidate


@dataclass(frozen=True)
class RerankRules:
    # combined = llm_weight * llm_margin + retrieval_weight * retrieval_score - rank_weight * log(1 + rank)
    # where llm_margin is the yes-minus-no logit margin and rank the retriever's 0-based rank.
    # Calibrated for the base SmolLM2-135M on AAP validation folds 0-3 (3215 examples): the
    # untuned model is weak alone (Acc@1 0.425 vs the retriever's 0.648), so it only breaks
    # near-ties. A distilled model should be re-calibrated and will earn a larger weight.
    llm_weight: float = 0.02
    retrieval_weight: float = 1.0
    rank_weight: float = 0.0
    # Skip the LLM when the retriever is decisive: an exact name match, or a top-1 lead of at
    # least ``skip_margin`` in retrieval score over the runner-up.
    skip_exact: bool = True
    skip_margin: float = 0.02
    # Flag "no good match" when the best combined score is below this (None: never). AAP has
    # no unmatchable terms, so it cannot calibrate this; off until a data set with NIL terms does.
    nil_threshold: float | None = None
    depth: int = 10  # how many of the retriever's candidates the LLM sees


@dataclass(frozen=True)
class Reranked:
    candidates: tuple[Candidate, ...]
    reranked: bool
    no_match: bool


def is_decisive(candidates: Sequence[Candidate], rules: RerankRules) -> bool:
    if len(candidates) < 2:
        return True
    if rules.skip_exact and candidates[0].exact:
        return True
    return candidates[0].retrieval_score - candidates[1].retrieval_score >= rules.skip_margin


def combined_score(retrieval_score: float, rank: int, llm_margin: float, rules: RerankRules) -> float:
    return (rules.llm_weight * llm_margin + rules.retrieval_weight * retrieval_score
            - rules.rank_weight * math.log1p(rank))


def fuse(candidates: Sequence[Candidate], margins: Sequence[float], rules: RerankRules) -> Reranked:
    """Re-order the first ``len(margins)`` candidates by combined score; the rest follow in retriever order."""
    head = [replace(c, score=combined_score(c.retrieval_score, rank, float(m), rules))
            for rank, (c, m) in enumerate(zip(candidates, margins))]
    head.sort(key=lambda c: -c.score)
    floor = head[-1].score if head else 0.0
    # Candidates the LLM did not see stay below the re-ranked ones, in their original order.
    tail = [replace(c, score=floor - (i + 1) * 1e-3) for i, c in enumerate(candidates[len(head):])]
    no_match = rules.nil_threshold is not None and bool(head) and head[0].score < rules.nil_threshold
    return Reranked(tuple(head + tail), True, no_match)


def fuse_ranked(candidates: Sequence[Candidate], margins: Sequence[float], llm_weight: float) -> Reranked:
    """After a learned ranking (rerank.feature_ranker): each candidate's ``score`` is its probability
    within the list, and the LLM's margin shifts its log: score ∝ p · exp(llm_weight · margin). The
    re-ordered head keeps the probability mass it had, so scores stay probabilities. On Ask A
    Patient validation terms (docs/experiments.md, "Learned ranking: how the LLM's margin joins it")
    it beat adding the margin to the retrieval score and tied ordering by the margin minus a rank
    penalty, whose scores are not probabilities."""
    head = list(candidates[:len(margins)])
    if not head:
        return unchanged(candidates)
    logits = [math.log(max(c.score, 1e-12)) + llm_weight * float(m) for c, m in zip(head, margins)]
    top = max(logits)
    weights = [math.exp(x - top) for x in logits]
    total = sum(weights)
    scale = sum(c.score for c in head) / total  # the head keeps its share of the ranking's list
    fused = sorted((replace(c, score=w * scale) for c, w in zip(head, weights)), key=lambda c: -c.score)
    return Reranked(tuple(fused + list(candidates[len(head):])), True, False)


def unchanged(candidates: Sequence[Candidate]) -> Reranked:
    return Reranked(tuple(candidates), False, False)
