"""Choose a re-ranker's fusion and skip rules on labelled validation terms.

LLM margins are computed once per term for all of its top candidates (no skipping); every
rule set of the grid is then applied offline, so calibration costs one LLM pass. Fusion
weights are chosen first (with skipping off), then the smallest skip margin (the most
skipping) that loses nothing, because skipping is what makes re-ranking fast.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from ..evaluation.metrics import RankingScores, score_rankings
from ..types import Candidate
from .fusion import RerankRules, fuse, is_decisive

NEVER_SKIP = 1e9
LLM_WEIGHTS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
RANK_WEIGHTS = (0.0, 0.05, 0.1, 0.2, 0.5)
SKIP_MARGINS = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2)


@dataclass(frozen=True)
class Calibration:
    rules: RerankRules
    reranked: RankingScores
    retriever: RankingScores
    llm_only: RankingScores


def ranked_ids(candidates: Sequence[Candidate], margins: Sequence[float] | None, rules: RerankRules) -> list[str]:
    if margins is None or is_decisive(candidates, rules):
        return [c.concept_id for c in candidates]
    return [c.concept_id for c in fuse(candidates, list(margins)[:rules.depth], rules).candidates]


def accuracy(golds: Sequence[str], retrieved: Sequence[Sequence[Candidate]],
             margins: Sequence[Sequence[float] | None], rules: RerankRules) -> RankingScores:
    return score_rankings(list(golds), [ranked_ids(c, m, rules) for c, m in zip(retrieved, margins)])


def calibrate(golds: Sequence[str], retrieved: Sequence[Sequence[Candidate]],
              margins: Sequence[Sequence[float] | None], base: RerankRules = RerankRules()) -> Calibration:
    """Grid search; ties go to the smaller LLM weight (the retriever's ranking is the safer default)."""
    if not golds:
        raise ValueError("calibration needs at least one labelled term")
    grid = [replace(base, llm_weight=wl, retrieval_weight=1.0, rank_weight=wk, skip_margin=NEVER_SKIP, skip_exact=True)
            for wl in LLM_WEIGHTS for wk in RANK_WEIGHTS]
    grid += [replace(base, llm_weight=1.0, retrieval_weight=0.0, rank_weight=wk, skip_margin=NEVER_SKIP)
             for wk in (0.25, 0.5, 1.0, 2.0)]
    scored = [(accuracy(golds, retrieved, margins, r), r) for r in grid]
    best_score, best = max(scored, key=lambda sr: (sr[0].acc1, sr[0].mrr, -sr[1].llm_weight))
    # Skipping: the smallest lead that may skip the LLM without losing accuracy, or never.
    options = [(accuracy(golds, retrieved, margins, replace(best, skip_margin=m)), m) for m in SKIP_MARGINS]
    fitting = [m for s, m in options if s.acc1 >= best_score.acc1 - 1e-9]
    rules = replace(best, skip_margin=min(fitting) if fitting else NEVER_SKIP)
    return Calibration(
        rules=rules,
        reranked=accuracy(golds, retrieved, margins, rules),
        retriever=accuracy(golds, retrieved, [None] * len(golds), rules),
        llm_only=accuracy(golds, retrieved, margins,
                          replace(base, llm_weight=1.0, retrieval_weight=0.0, rank_weight=0.0, skip_margin=NEVER_SKIP)))


def rules_from_dict(raw: Mapping[str, object] | None) -> RerankRules | None:
    """Rules stored with a registered model (``RerankerModel.rules``); unknown keys are ignored."""
    if not raw:
        return None
    known = {k: v for k, v in raw.items() if k in RerankRules.__dataclass_fields__}
    return RerankRules(**known)
