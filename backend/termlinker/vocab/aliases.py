"""Learned aliases: labelled terms become extra names of their concepts.

A clinic's raw terms repeat their own shorthand ("高心病", "DM2"); once a term is labelled
(a gold file, or an approved review decision) a new term that reads like it should find
the same concept. Adding the labelled term as a synonym does exactly that through every
channel the retriever has, exact matching included, and the candidate still reports the
concept's canonical name. The learned vocabulary has its own name and content hash, so its
index is built beside the plain one and rebuilt whenever the learned pairs change.

Pairs come in already read (``termlinker.labels``): this module reads no files.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..text import normalise
from .model import Vocabulary

if TYPE_CHECKING:
    from ..labels import LabelledPair

LEARNED_SUFFIX = "+learned"


@dataclass(frozen=True)
class LearnedAliases:
    """What :func:`learn_aliases` did: names added, pairs skipped and why, and a digest of the pairs."""

    added: int
    unknown_concepts: int  # pairs whose concept is not in the vocabulary
    already_names: int  # pairs whose term is already a name of that concept
    digest: str  # sha256 of the sorted distinct pairs: the index manifest records it


def learn_aliases(vocab: Vocabulary, pairs: Iterable[LabelledPair]) -> tuple[Vocabulary, LearnedAliases]:
    """A copy of ``vocab`` (named ``<name>+learned``) where each pair's term is a synonym of its concept.

    Terms that normalise to a name the concept already has add nothing; pairs naming a
    concept outside the vocabulary are counted and skipped (a gold file for another version)."""
    own: dict[str, set[str]] = {}
    additions: dict[str, list[str]] = {}
    distinct: set[tuple[str, str]] = set()
    unknown = already = 0
    for pair in pairs:
        term = " ".join(pair.term.split())
        if pair.concept_id not in vocab:
            unknown += 1
            continue
        if pair.concept_id not in own:
            own[pair.concept_id] = {normalise(n) for n in vocab.get(pair.concept_id).names}
        key = normalise(term)
        if not key or key in own[pair.concept_id]:
            already += 1
            continue
        own[pair.concept_id].add(key)
        distinct.add((term, pair.concept_id))
        additions.setdefault(pair.concept_id, []).append(term)
    digest = hashlib.sha256(json.dumps(sorted(distinct), ensure_ascii=False).encode("utf-8")).hexdigest()
    # Sorted, so that the same pairs in another order give the same index.
    learned = vocab.with_extra_aliases(((cid, term) for cid, terms in additions.items() for term in sorted(terms)))
    learned.info = replace(vocab.info, name=vocab.info.name + LEARNED_SUFFIX, learned_aliases=digest)
    return learned, LearnedAliases(len(distinct), unknown, already, digest)
