"""``Reranker``: the retriever's top-k in, re-ordered candidates out (skip, fuse, no-match)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..paths import DataDirs
from ..types import Candidate
from .calibration import rules_from_dict
from .fusion import Reranked, RerankRules, fuse, fuse_ranked, is_decisive, unchanged
from .prompt import load_template
from .registry import RerankerModel, RerankerRegistry
from .scorer import LlamaScorer, ScorerConfig


class PairScorer(Protocol):
    def score(self, term: str, candidates: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class RerankerConfig:
    model: str | None = None  # registered name or .gguf path; None = the active model
    threads: int = 2
    n_gpu_layers: int = 0
    rules: RerankRules | None = None  # None: the rules calibrated for the model, else the defaults


class Reranker:
    def __init__(self, scorer: PairScorer, rules: RerankRules = RerankRules(), model: RerankerModel | None = None) -> None:
        self.scorer = scorer
        self.rules = rules
        self.model = model

    @classmethod
    def open(cls, config: RerankerConfig, dirs: DataDirs, language: str | None = None) -> "Reranker":
        """Resolve (the model serving ``language``, RerankerRegistry.serving_name, unless ``config.model``
        names one) and load the model; raises ModelError with a message a user can act on."""
        model = RerankerRegistry(dirs).for_vocabulary(config.model, language)
        rules = config.rules or rules_from_dict(model.rules) or RerankRules()
        scorer = LlamaScorer(model.path, load_template(model.prompt_version),
                             ScorerConfig(threads=config.threads, n_gpu_layers=config.n_gpu_layers,
                                          max_candidates=max(1, rules.depth)), adapter_path=model.adapter)
        return cls(scorer, rules, model)

    def rerank(self, term: str, candidates: Sequence[Candidate], ranking_weight: float | None = None) -> Reranked:
        """``ranking_weight``: the candidates come from a learned ranking (their scores are its
        probabilities) and the margin joins with that weight; the rules' retrieval-score fusion and
        lead-based skipping, calibrated on the retriever's order, do not apply to it."""
        if ranking_weight is not None:
            if len(candidates) < 2 or (self.rules.skip_exact and candidates[0].exact):
                return unchanged(candidates)
            head = candidates[:self.rules.depth]
            return fuse_ranked(candidates, self.scorer.score(term, [c.name for c in head]), ranking_weight)
        if is_decisive(candidates, self.rules):
            return unchanged(candidates)
        head = candidates[:self.rules.depth]
        margins = self.scorer.score(term, [c.name for c in head])
        return fuse(candidates, margins, self.rules)
