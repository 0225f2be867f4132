"""Finding concepts by name anywhere in a vocabulary, for a manual choice."""

from __future__ import annotations

from dataclasses import dataclass, field

from termlinker.api import Concept, Vocabulary


@dataclass
class VocabularySearch:
    vocabulary: Vocabulary
    _folded: list[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._folded = [name.casefold() for name in self.vocabulary.names]

    def find(self, query: str, limit: int = 50) -> list[tuple[Concept, str]]:
        """(concept, matching name): names starting with the query first, then containing it;
        an exact concept id comes before both."""
        text = " ".join(query.split()).casefold()
        if not text:
            return []
        hits: list[tuple[Concept, str]] = []
        seen: set[int] = set()
        for concept in self.vocabulary:
            if concept.concept_id.casefold() == text:
                hits.append((concept, concept.canonical_name))
                seen.add(self.vocabulary.index_of(concept.concept_id))
                break
        for want_prefix in (True, False):
            for i, folded in enumerate(self._folded):
                if len(hits) >= limit:
                    return hits
                match = folded.startswith(text) if want_prefix else (text in folded and not folded.startswith(text))
                owner = self.vocabulary.name_concept[i]
                if match and owner not in seen:
                    seen.add(owner)
                    hits.append((self.vocabulary.concepts[owner], self.vocabulary.names[i]))
        return hits
