"""Finding concepts by name anywhere in a vocabulary, or within one branch of its hierarchy, for a
manual choice; each hit with a match score."""

from __future__ import annotations

import heapq
from collections.abc import Collection
from dataclasses import dataclass, field

from termlinker.api import Concept, Vocabulary


@dataclass(frozen=True)
class SearchHit:
    concept: Concept
    matched: str  # the name (or synonym) that matched
    score: float  # 1 for the id or a whole name; names starting with the query score above 0.5, others below


@dataclass
class VocabularySearch:
    vocabulary: Vocabulary
    _folded: list[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._folded = [name.casefold() for name in self.vocabulary.names]

    def find(self, query: str, limit: int = 50) -> list[tuple[Concept, str]]:
        """(concept, matching name), best first: see :meth:`search`."""
        return [(hit.concept, hit.matched) for hit in self.search(query, limit)]

    def search(self, query: str, limit: int = 50, within: Collection[str] | None = None) -> list[SearchHit]:
        """The best ``limit`` concepts, one hit each (its best-matching name), best first.

        Score: an exact concept id or a whole name is 1; a name starting with the query scores
        0.5–1, one containing it 0–0.5, by the share of the name the query covers. ``within`` (a
        branch of the hierarchy: concept ids) limits the search to those concepts."""
        text = " ".join(query.split()).casefold()
        if not text:
            return []
        best: dict[int, tuple[float, int]] = {}  # concept index -> (score, name index)
        for i, folded in enumerate(self._folded):
            if text not in folded:
                continue
            owner = self.vocabulary.name_concept[i]
            if within is not None and self.vocabulary.concepts[owner].concept_id not in within:
                continue
            share = len(text) / len(folded)
            score = 0.5 + 0.5 * share if folded.startswith(text) else 0.5 * share
            if owner not in best or score > best[owner][0]:
                best[owner] = (score, i)
        hits = [SearchHit(self.vocabulary.concepts[owner], self.vocabulary.names[i], round(score, 3))
                for owner, (score, i) in heapq.nlargest(limit, best.items(), key=lambda kv: (kv[1][0], -kv[0]))]
        for concept in self.vocabulary:
            if concept.concept_id.casefold() == text and (within is None or concept.concept_id in within):
                hits = [SearchHit(concept, concept.canonical_name, 1.0),
                        *(h for h in hits if h.concept.concept_id != concept.concept_id)][:limit]
                break
        return hits
