"""Small frozen data types passed between the rooms of the engine."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Candidate:
    """One concept proposed for a term, best first in a result list.

    ``score`` is the final ranking score (higher is better); ``retrieval_score`` keeps
    the retriever's fused score so that a re-ranker can combine the two; ``matched_name``
    is the vocabulary name (preferred or synonym) that scored best. ``best_name_score`` is the
    retriever's score of that concept's best name alone, before its names were pooled (None when
    the candidate did not come from the retriever): concepts tie on it when they share that name.
    """

    concept_id: str
    name: str
    score: float
    retrieval_score: float = 0.0
    matched_name: str = ""
    exact: bool = False
    best_name_score: float | None = None


@dataclass(frozen=True)
class LinkResult:
    term: str
    count: int
    candidates: tuple[Candidate, ...]
    reranked: bool = False
    no_match: bool = False
    warnings: tuple[str, ...] = field(default=())
    # With LinkerConfig(split_multi=True): the best concept of each sub-span, when a term
    # names several concepts ("高血压；冠心病"). Empty otherwise; ``candidates`` stays the
    # ranking for the whole term.
    concepts: tuple[Candidate, ...] = field(default=())

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    def to_json(self) -> dict:
        out = {
            "term": self.term,
            "count": self.count,
            "candidates": [
                {"id": c.concept_id, "name": c.name, "score": round(float(c.score), 6)} for c in self.candidates
            ],
            "reranked": self.reranked,
        }
        if len(self.concepts) > 1:
            out["concepts"] = [
                {"id": c.concept_id, "name": c.name, "score": round(float(c.score), 6)} for c in self.concepts
            ]
        return out
