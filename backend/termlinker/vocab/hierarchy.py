"""A vocabulary's hierarchy: parents, children, ancestors and branches, built once per vocabulary.

Parents come from ``Concept.parents`` (OBO ``is_a``; an ICD-10 code's category, block and chapter).
ICD-10-CM's blocks and chapters are ``Vocabulary.groups``: nodes of the hierarchy that are no codes,
so they can be browsed and searched under but not chosen as a term's concept. Parents that name
nothing in the vocabulary are ignored. Every walk is iterative and cycle-safe: a broken file with
an is_a loop must not hang or exhaust the stack.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from ..errors import VocabularyError
from .model import Concept, Vocabulary

_CACHE_ATTRIBUTE = "_termlinker_hierarchy"


@dataclass(frozen=True)
class ConceptRef:
    """One node as a browser lists it."""

    concept_id: str
    name: str
    is_group: bool = False  # a chapter or block: browsable, never a term's concept


@dataclass(frozen=True)
class Neighbourhood:
    """A node with its parents and children, for a concept browser."""

    node: ConceptRef
    parents: tuple[ConceptRef, ...]
    children: tuple[ConceptRef, ...]


class Hierarchy:
    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self._groups: dict[str, Concept] = {g.concept_id: g for g in vocabulary.groups
                                            if g.concept_id not in vocabulary}
        nodes = [*vocabulary.concepts, *self._groups.values()]
        known = {node.concept_id for node in nodes}
        self._parents: dict[str, tuple[str, ...]] = {}
        self._children: dict[str, list[str]] = {}
        for node in nodes:
            parents = tuple(p for p in dict.fromkeys(node.parents) if p in known and p != node.concept_id)
            self._parents[node.concept_id] = parents
            for parent in parents:
                self._children.setdefault(parent, []).append(node.concept_id)
        if self._groups:  # a classification: blocks and codes under a chapter in code order (R50-R69 < R99)
            for children in self._children.values():
                children.sort()

    @property
    def has_hierarchy(self) -> bool:
        """Whether any node has a parent (a flat list has none)."""
        return bool(self._children)

    def __contains__(self, concept_id: object) -> bool:
        return concept_id in self._parents

    def is_group(self, concept_id: str) -> bool:
        return concept_id in self._groups

    def name(self, concept_id: str) -> str:
        self._check(concept_id)
        group = self._groups.get(concept_id)
        return group.canonical_name if group is not None else self.vocabulary.get(concept_id).canonical_name

    def ref(self, concept_id: str) -> ConceptRef:
        return ConceptRef(concept_id, self.name(concept_id), self.is_group(concept_id))

    def parents(self, concept_id: str) -> tuple[str, ...]:
        self._check(concept_id)
        return self._parents[concept_id]

    def children(self, concept_id: str) -> tuple[str, ...]:
        self._check(concept_id)
        return tuple(self._children.get(concept_id, ()))

    def roots(self) -> tuple[str, ...]:
        """Nodes without parents that have children (the tops of the hierarchy)."""
        return tuple(node for node, parents in self._parents.items() if not parents and node in self._children)

    def ancestors(self, concept_id: str) -> list[str]:
        """Every ancestor, nearest first (breadth first), each once."""
        return self._walk(concept_id, self._parents)

    def descendants(self, concept_id: str) -> list[str]:
        """Every descendant, nearest first (breadth first), each once."""
        return self._walk(concept_id, self._children)

    def branch(self, concept_id: str) -> frozenset[str]:
        """The node and all its descendants: what a search limited to this branch may return."""
        return frozenset((concept_id, *self.descendants(concept_id)))

    def neighbourhood(self, concept_id: str) -> Neighbourhood:
        self._check(concept_id)
        return Neighbourhood(self.ref(concept_id), tuple(self.ref(p) for p in self._parents[concept_id]),
                             tuple(self.ref(c) for c in self._children.get(concept_id, ())))

    def _walk(self, start: str, edges: dict) -> list[str]:
        self._check(start)
        seen = {start}
        out: list[str] = []
        queue = deque([start])
        while queue:
            for nxt in edges.get(queue.popleft(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    out.append(nxt)
                    queue.append(nxt)
        return out

    def _check(self, concept_id: str) -> None:
        if concept_id not in self._parents:
            raise VocabularyError(unknown_concept_message(self.vocabulary, concept_id))


def hierarchy_of(vocabulary: Vocabulary) -> Hierarchy:
    """The vocabulary's hierarchy, built on first use and kept with the vocabulary."""
    cached = vocabulary.__dict__.get(_CACHE_ATTRIBUTE)
    if cached is None:
        cached = Hierarchy(vocabulary)
        setattr(vocabulary, _CACHE_ATTRIBUTE, cached)
    return cached


def replacement_ids(vocabulary: Vocabulary, concept_id: str) -> tuple[str, ...]:
    """An obsolete concept's replacements that are live concepts: ``replaced_by``, else ``consider``."""
    retired = vocabulary.obsolete.get(concept_id)
    if retired is None:
        return ()
    for ids in (retired.replaced_by, retired.consider):
        live = tuple(i for i in ids if i in vocabulary)
        if live:
            return live
    return ()


def obsolete_message(vocabulary: Vocabulary, concept_id: str) -> str:
    """'HP:0000009 (Obsolete thing) is obsolete in hpo 2025-01-16; replaced by HP:0001250 (Seizure).'"""
    retired = vocabulary.obsolete[concept_id]
    label = f"{concept_id} ({retired.name})" if retired.name else concept_id
    where = f"{vocabulary.info.name} {vocabulary.info.version}".strip()
    text = f"{label} is obsolete in {where}"
    live = replacement_ids(vocabulary, concept_id)
    if live:
        verb = "replaced by" if set(live) <= set(retired.replaced_by) else "consider"
        text += f"; {verb} " + ", ".join(f"{i} ({vocabulary.get(i).canonical_name})" for i in live)
    else:
        text += "; it names no replacement"
    return text + "."


def unknown_concept_message(vocabulary: Vocabulary, concept_id: str) -> str:
    if concept_id in vocabulary.obsolete:
        return obsolete_message(vocabulary, concept_id) + " Browse the replacement instead."
    return (f"Concept {concept_id!r} is not in vocabulary {vocabulary.info.name!r}. Check the id "
            "(ids are case-sensitive, e.g. HP:0001250 or R51.9).")
