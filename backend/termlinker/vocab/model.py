"""The concept model, after scispaCy's KnowledgeBase entries."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

from ..errors import VocabularyError


@dataclass(frozen=True)
class Concept:
    concept_id: str
    canonical_name: str
    aliases: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    definition: str = ""
    # Broader concepts (OBO is_a; an ICD-10 code's category, block or chapter), ids only. Not part of
    # content_hash: an index does not depend on them (vocab.hierarchy reads them).
    parents: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Preferred name first, then each distinct synonym."""
        seen = {self.canonical_name.casefold()}
        out = [self.canonical_name]
        for alias in self.aliases:
            key = alias.casefold()
            if alias and key not in seen:
                seen.add(key)
                out.append(alias)
        return tuple(out)

    def to_json(self) -> dict:
        record: dict = {"concept_id": self.concept_id, "canonical_name": self.canonical_name}
        if self.aliases:
            record["aliases"] = list(self.aliases)
        if self.types:
            record["types"] = list(self.types)
        if self.definition:
            record["definition"] = self.definition
        if self.parents:
            record["parents"] = list(self.parents)
        return record


@dataclass(frozen=True)
class ObsoleteConcept:
    """A concept the vocabulary retired (OBO ``is_obsolete``), kept to explain old mappings.

    ``replaced_by`` is the ontology's one replacement; ``consider`` its suggestions when there is none."""

    concept_id: str
    name: str = ""
    replaced_by: tuple[str, ...] = ()
    consider: tuple[str, ...] = ()

    def to_json(self) -> dict:
        record: dict = {"concept_id": self.concept_id}
        if self.name:
            record["name"] = self.name
        if self.replaced_by:
            record["replaced_by"] = list(self.replaced_by)
        if self.consider:
            record["consider"] = list(self.consider)
        return record


@dataclass(frozen=True)
class VocabularyInfo:
    name: str
    version: str = ""
    source: str = ""
    citation: str = ""
    language: str = "en"
    learned_aliases: str = ""  # digest of the labelled pairs added as synonyms (vocab.aliases); "" for none
    kind: str = ""  # "omop": ids are OMOP concept_ids, concepts carry their Athena fields (vocab.athena)


@dataclass
class Vocabulary:
    """An ordered, id-unique collection of concepts with a flat list of names.

    ``names`` and ``name_concept`` are parallel: name ``i`` belongs to concept
    ``name_concept[i]`` (an index into ``concepts``). Indexes are built over them.
    """

    info: VocabularyInfo
    concepts: list[Concept]
    # Retired concepts by id (not searchable, not indexed), and grouping nodes of the hierarchy that
    # are no concepts of their own (ICD-10-CM's chapters and blocks, ids like "R50-R69").
    obsolete: dict[str, ObsoleteConcept] = field(default_factory=dict)
    groups: list[Concept] = field(default_factory=list)
    _by_id: dict[str, int] = field(init=False, repr=False)
    names: list[str] = field(init=False, repr=False)
    name_concept: list[int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id = {}
        for i, concept in enumerate(self.concepts):
            if concept.concept_id in self._by_id:
                raise VocabularyError(f"Duplicate concept id {concept.concept_id!r} in vocabulary {self.info.name!r}.")
            self._by_id[concept.concept_id] = i
        self.names = []
        self.name_concept = []
        for i, concept in enumerate(self.concepts):
            for name in concept.names:
                self.names.append(name)
                self.name_concept.append(i)
        if not self.concepts:
            raise VocabularyError(f"Vocabulary {self.info.name!r} has no concepts; check the file you imported.")

    def __len__(self) -> int:
        return len(self.concepts)

    def __iter__(self) -> Iterator[Concept]:
        return iter(self.concepts)

    def __contains__(self, concept_id: object) -> bool:
        return concept_id in self._by_id

    def get(self, concept_id: str) -> Concept:
        try:
            return self.concepts[self._by_id[concept_id]]
        except KeyError:
            raise VocabularyError(f"Concept {concept_id!r} is not in vocabulary {self.info.name!r}.") from None

    def index_of(self, concept_id: str) -> int:
        return self._by_id[concept_id]

    def with_extra_aliases(self, extra: Iterable[tuple[str, str]], name: str | None = None) -> "Vocabulary":
        """A copy where each (concept_id, alias) pair adds a synonym; unknown ids are skipped."""
        additions: dict[str, list[str]] = {}
        for concept_id, alias in extra:
            if concept_id in self._by_id:
                additions.setdefault(concept_id, []).append(alias)
        concepts = [
            replace(c, aliases=c.aliases + tuple(additions[c.concept_id])) if c.concept_id in additions else c
            for c in self.concepts
        ]
        return Vocabulary(replace(self.info, name=name or self.info.name), concepts, self.obsolete, self.groups)

    def content_hash(self) -> str:
        """Hash of everything an index depends on: ids and names, in order (not parents, obsolete ids
        or groups, so that indexes built before the hierarchy was kept stay valid)."""
        digest = hashlib.sha256()
        for concept in self.concepts:
            digest.update(json.dumps([concept.concept_id, *concept.names], ensure_ascii=False).encode("utf-8"))
            digest.update(b"\n")
        return digest.hexdigest()
