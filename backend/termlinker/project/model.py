"""The review project's data types: statuses, rows, metadata and counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from ..types import Candidate


class Status(str, Enum):
    """A term's review status, as in OHDSI Usagi.

    "Replaced" is not a status of its own: it is ``APPROVED`` with a concept other than
    the best candidate, so exports need not know about it.
    """

    UNCHECKED = "unchecked"
    APPROVED = "approved"
    FLAGGED = "flagged"
    NO_MATCH = "no_match"

    @classmethod
    def parse(cls, value: "Status | str") -> "Status":
        try:
            return cls(value)
        except ValueError:
            from .errors import DecisionError

            allowed = ", ".join(s.value for s in cls)
            raise DecisionError(f"Unknown status {value!r}; use one of: {allowed}.") from None


class Predicate(str, Enum):
    """How a target concept relates to the source term (SKOS mapping relations; exact by default).

    Read as "the term <predicate> the concept": ``broad`` means the concept is broader than the
    term (the term is a kind of it), ``narrow`` that the concept is narrower."""

    EXACT = "exact"
    CLOSE = "close"
    BROAD = "broad"
    NARROW = "narrow"
    RELATED = "related"

    @property
    def skos(self) -> str:
        """The SKOS CURIE, as SSSOM's ``predicate_id`` takes it."""
        return f"skos:{self.value}Match"

    @property
    def fhir_equivalence(self) -> str:
        """The FHIR R4 ConceptMap equivalence: the target is "wider" when it is the broader one."""
        return {"exact": "equivalent", "close": "inexact", "broad": "wider", "narrow": "narrower",
                "related": "relatedto"}[self.value]

    @classmethod
    def parse(cls, value: "Predicate | str | None") -> "Predicate":
        if value is None or value == "":
            return cls.EXACT
        text = str(value.value if isinstance(value, Predicate) else value).strip().lower()
        for prefix in ("skos:",):
            text = text.removeprefix(prefix)
        text = text.removesuffix("match")
        try:
            return cls(text)
        except ValueError:
            from .errors import DecisionError

            allowed = ", ".join(p.value for p in cls)
            raise DecisionError(f"Unknown mapping predicate {value!r}; use one of: {allowed}.") from None


@dataclass(frozen=True)
class Target:
    """One concept a term is mapped to, with how it relates to the term."""

    concept_id: str
    concept_name: str
    predicate: Predicate = Predicate.EXACT


@dataclass(frozen=True)
class Remembered:
    """A concept the mapping memory holds for a term (project.memory), and where it was learnt."""

    concept_id: str
    concept_name: str
    predicate: Predicate
    origin: str  # "project clinic-a.tlproj", "file hpo.sssom.tsv"


@dataclass(frozen=True)
class ReviewRow:
    """One distinct input term with its candidates and its human decision."""

    term: str
    count: int
    position: int  # first-seen order, 1-based
    candidates: tuple[Candidate, ...]
    linked: bool
    reranked: bool
    no_match: bool  # the linker's own verdict (re-ranker NIL), not the reviewer's
    status: Status
    concept_id: str | None
    concept_name: str | None
    comment: str
    reviewer: str
    decided_at: str | None
    warnings: tuple[str, ...] = ()
    predicate: Predicate = Predicate.EXACT  # of the decision's concept (concept_id)
    extra_targets: tuple[Target, ...] = ()  # further concepts beside concept_id, in the order added
    remembered: tuple[Remembered, ...] = ()  # the mapping memory's proposals, shown before the candidates

    @property
    def targets(self) -> tuple[Target, ...]:
        """Every concept the term is mapped to: the decision's concept first, then the extra ones."""
        if not self.concept_id:
            return self.extra_targets
        return (Target(self.concept_id, self.concept_name or self.concept_id, self.predicate), *self.extra_targets)

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    @property
    def best_score(self) -> float | None:
        return self.candidates[0].score if self.candidates else None

    @property
    def replaced(self) -> bool:
        """Approved with a concept other than the best candidate."""
        best = self.best
        return self.status is Status.APPROVED and (best is None or best.concept_id != self.concept_id)


@dataclass(frozen=True)
class ProjectInfo:
    """Project metadata: which vocabulary, which linker settings, when."""

    vocabulary: str  # what the user named: a vocabulary name or a file path (used to open a Linker)
    vocabulary_name: str = ""  # the vocabulary's own name, known after the first link
    vocabulary_version: str = ""
    top_k: int = 10
    retriever: str = ""
    reranker: str = ""
    created_at: str = ""
    modified_at: str = ""
    schema_version: int = 0


@dataclass(frozen=True)
class ProjectStats:
    terms: int
    linked: int
    by_status: dict[str, int] = field(default_factory=dict)

    @property
    def pending(self) -> int:
        return self.terms - self.linked


@dataclass(frozen=True)
class LinkSummary:
    linked: int  # terms linked by this run
    skipped: int  # terms left as they were: already linked before it, or not among the chosen terms


@dataclass(frozen=True)
class RecallSummary:
    proposed: int  # terms the mapping memory had a concept for
    approved: int  # of them, approved from the memory (auto-approve on, the term still unchecked)


@dataclass(frozen=True)
class BulkChange:
    """One term a bulk approval approved: its decision before, and the concept it was approved with."""

    term: str
    status: Status  # before
    concept_id: str | None  # before
    concept_name: str | None  # before
    approved_id: str


@dataclass(frozen=True)
class BulkApproval:
    """What one ``Project.approve_in_bulk`` changed; ``Project.undo_bulk_approve`` takes it back."""

    min_score: float
    reviewer: str
    decided_at: str
    changes: tuple[BulkChange, ...] = ()

    def __len__(self) -> int:
        return len(self.changes)
