"""Borrow synonyms from another vocabulary for concepts whose names match exactly.

A zero-shot way to teach the retriever lay language: HPO carries thousands of layperson
synonyms ("Sleeplessness" for Insomnia) that a hospital list or a SNOMED subset lacks.
No labelled data is used: only exact matches of normalised names decide what is borrowed.
"""

from __future__ import annotations

from ..text import normalise
from .model import Vocabulary


def enrich_with(target: Vocabulary, source: Vocabulary, name: str | None = None) -> tuple[Vocabulary, int]:
    """Return (enriched copy of ``target``, number of names added)."""
    by_name: dict[str, set[int]] = {}
    for name_idx, text in enumerate(source.names):
        by_name.setdefault(normalise(text), set()).add(source.name_concept[name_idx])
    extra: list[tuple[str, str]] = []
    for concept in target.concepts:
        matched: set[int] = set()
        for text in concept.names:
            matched |= by_name.get(normalise(text), set())
        own = {normalise(n) for n in concept.names}
        for source_idx in sorted(matched):
            for alias in source.concepts[source_idx].names:
                key = normalise(alias)
                if key not in own:
                    own.add(key)
                    extra.append((concept.concept_id, alias))
    enriched = target.with_extra_aliases(extra, name=name or f"{target.info.name}+{source.info.name}")
    return enriched, len(extra)
