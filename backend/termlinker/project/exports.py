"""Project exports: CSV, JSON, FHIR R4 ConceptMap and OMOP ``source_to_concept_map``.

The OMOP export needs a vocabulary of OMOP concepts (an OHDSI Athena download imported with
``termlinker vocab import``): its concept ids are the ``target_concept_id`` s, and each concept's own
``vocabulary_id`` is its ``target_vocabulary_id``. Any other vocabulary is refused with
:class:`OmopVocabularyError`, because its ids ("HP:0001945") are no OMOP concept ids.

Every file is written through :func:`termlinker.atomic.atomic_open` as UTF-8, so an
interrupted export never leaves half a file and Chinese terms survive. Rows arrive as an
iterator and are written as they come (the JSON formats through :mod:`..io.json_stream`), so a
project of any size exports in constant memory. CSV text cells (CSV and OMOP) are made
spreadsheet-safe by :func:`..io.csv_cells.text_cell`; JSON and FHIR keep the raw text.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING

from ..atomic import atomic_open
from ..io import json_stream
from ..io.csv_cells import text_cell
from ..overwrite import refuse_output_over_inputs
from ..paths import DataDirs
from .errors import ProjectError
from .model import Predicate, ProjectInfo, ReviewRow, Status, Target

if TYPE_CHECKING:
    from ..vocab.model import Vocabulary
    from .project import Project

FORMATS = ("sssom", "csv", "json", "fhir", "omop")  # sssom: the exchange format (sssom_export.py)

# FHIR system URIs for the built-in vocabularies; any other vocabulary gets a URN made from its
# name (override with target_system).
KNOWN_SYSTEMS = {
    "hpo": "http://human-phenotype-ontology.org",
    "icd10cm": "http://hl7.org/fhir/sid/icd-10-cm",
}
DEFAULT_SOURCE_SYSTEM = "urn:termlinker:source-terms"
DEFAULT_SOURCE_VOCABULARY_ID = "TermLinker"
OMOP_END_DATE = "2099-12-31"
OMOP_SOURCE_CODE_CHARS = 50  # source_to_concept_map.source_code is varchar(50)
OMOP_DESCRIPTION_CHARS = 255  # source_code_description is varchar(255)
OMOP_NO_MATCH = (0, "None")  # concept 0, "No matching concept", is in vocabulary "None"
OMOP_COLUMNS = ("source_code", "source_concept_id", "source_vocabulary_id", "source_code_description",
                "target_concept_id", "target_vocabulary_id", "valid_start_date", "valid_end_date", "invalid_reason")
# One line per target concept (a term mapped to three concepts has three lines), one for a term without.
CSV_COLUMNS = ("term", "count", "status", "concept_id", "concept_name", "predicate", "best_id", "best_name",
               "best_score", "reranked", "no_match", "comment", "reviewer", "decided_at")
# OHDSI's "Maps to" goes to an equivalent or a broader ("uphill") concept only.
OMOP_PREDICATES = (Predicate.EXACT, Predicate.BROAD)


class ExportFormatError(ProjectError):
    """An unknown export format."""


class OmopVocabularyError(ProjectError):
    """An OMOP export of a project whose vocabulary is not of OMOP concepts (an Athena import)."""


# Where an OMOP export looks up the project's vocabulary by name; unset: the default data folder.
_VOCABULARY_DIRS: ContextVar[DataDirs | None] = ContextVar("termlinker_export_dirs", default=None)
# Options only export_project takes (Project.export does not): the SSSOM mapping set's license and id.
SSSOM_OPTIONS = ("license", "mapping_set_id")
_EXTRA_OPTIONS: ContextVar[dict | None] = ContextVar("termlinker_export_options", default=None)


def export_project(project: "Project", path: str | Path, fmt: str, dirs: DataDirs, **options) -> int:
    """``project.export(path, fmt, **options)``, finding the project's vocabulary (which an OMOP
    export reads) in the data folder ``dirs`` rather than the default one. An SSSOM export also
    takes ``license`` and ``mapping_set_id`` (None: the defaults)."""
    extra = {key: options.pop(key) for key in SSSOM_OPTIONS if key in options}
    token, extra_token = _VOCABULARY_DIRS.set(dirs), _EXTRA_OPTIONS.set(extra)
    try:
        return project.export(path, fmt, **options)
    finally:
        _EXTRA_OPTIONS.reset(extra_token)
        _VOCABULARY_DIRS.reset(token)


@dataclass(frozen=True)
class ExportOptions:
    approved_only: bool = True
    source_system: str | None = None
    target_system: str | None = None
    source_vocabulary_id: str | None = None
    target_vocabulary_id: str | None = None
    license: str | None = None  # SSSOM: the mapping set's license URL (None: CC0)
    mapping_set_id: str | None = None  # SSSOM: the mapping set's URI (None: a URN stable for the project)
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    # What the writer tells the user (targets a format cannot carry); the caller reads it afterwards.
    notes: list[str] = field(default_factory=list)


Writer = Callable[[IO[str], ProjectInfo, Iterable[ReviewRow], ExportOptions], None]


class _Counted:
    """The rows, counted as the writer consumes them (the count is the export's return value)."""

    def __init__(self, rows: Iterable[ReviewRow]) -> None:
        self._rows = iter(rows)
        self.n = 0

    def __iter__(self) -> Iterator[ReviewRow]:
        for row in self._rows:
            self.n += 1
            yield row


def write_export(path: Path, fmt: str, info: ProjectInfo, rows: Iterable[ReviewRow], options: ExportOptions,
                 sources: Iterable[Path] = ()) -> int:
    """Write ``rows`` (iterated once) in ``fmt``; returns the number of terms written.

    ``sources`` are the files the rows come from (the project file): ``path`` may not be one of them.
    """
    if fmt not in FORMATS:
        raise ExportFormatError(f"Unknown export format {fmt!r}; use one of: {', '.join(FORMATS)}.")
    refuse_output_over_inputs(path, sources, "export file (-o)")
    extra = {k: v for k, v in (_EXTRA_OPTIONS.get() or {}).items() if v is not None}
    options = replace(options, **extra) if extra else options
    chosen = _Counted(r for r in rows if r.status is Status.APPROVED or not options.approved_only)
    writers: dict[str, Writer] = {"csv": _write_csv, "json": _write_json, "fhir": _write_fhir,
                                "sssom": _write_sssom}
    writer = writers.get(fmt) or _omop_writer(omop_vocabulary(info, _VOCABULARY_DIRS.get() or DataDirs.default()))
    with atomic_open(path, "w", encoding="utf-8") as fh:
        writer(fh, info, chosen, options)
    return chosen.n


def _vocab_key(info: ProjectInfo) -> str:
    return (info.vocabulary_name or Path(info.vocabulary).stem).lower()


def target_system(info: ProjectInfo, options: ExportOptions) -> str:
    if options.target_system:
        return options.target_system
    key = _vocab_key(info)
    return KNOWN_SYSTEMS.get(key, f"urn:termlinker:vocabulary:{key}")


def _iso(value: str | None) -> str:
    return value or ""


# --- CSV and JSON ---------------------------------------------------------------------

def _write_csv(fh: IO[str], info: ProjectInfo, rows: Iterable[ReviewRow], options: ExportOptions) -> None:
    writer = csv.writer(fh)
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        best = r.best
        targets: tuple[Target | None, ...] = r.targets or (None,)
        for target in targets:
            writer.writerow([text_cell(r.term), r.count, r.status.value,
                             text_cell(target.concept_id if target else None),
                             text_cell(target.concept_name if target else None),
                             target.predicate.value if target else "",
                             text_cell(best.concept_id if best else None),
                             text_cell(best.name if best else None), f"{best.score:.4f}" if best else "",
                             str(r.reranked).lower(), str(r.no_match).lower(), text_cell(r.comment),
                             text_cell(r.reviewer), text_cell(_iso(r.decided_at))])


def _mapping(r: ReviewRow) -> dict:
    return {"term": r.term, "count": r.count, "status": r.status.value, "concept_id": r.concept_id,
            "concept_name": r.concept_name, "predicate": r.predicate.value if r.concept_id else None,
            "targets": [{"id": t.concept_id, "name": t.concept_name, "predicate": t.predicate.value}
                        for t in r.targets],
            "comment": r.comment, "reviewer": r.reviewer,
            "decided_at": r.decided_at, "reranked": r.reranked, "no_match": r.no_match,
            "candidates": [{"id": c.concept_id, "name": c.name, "score": round(float(c.score), 6)}
                           for c in r.candidates]}


def _write_json(fh: IO[str], info: ProjectInfo, rows: Iterable[ReviewRow], options: ExportOptions) -> None:
    payload = {
        "project": {
            "vocabulary": info.vocabulary_name or info.vocabulary, "vocabulary_version": info.vocabulary_version,
            "top_k": info.top_k, "retriever": info.retriever, "reranker": info.reranker,
            "created_at": info.created_at, "modified_at": info.modified_at, "approved_only": options.approved_only,
        },
        "mappings": json_stream.LazyArray(map(_mapping, rows)),
    }
    json_stream.dump(payload, fh)
    fh.write("\n")


# --- FHIR R4 ConceptMap ---------------------------------------------------------------

# R4's cmd-1: a "narrower" or "inexact" target must have a comment.
_FHIR_NEEDS_COMMENT = {"narrower": "The target concept is narrower than the term.",
                       "inexact": "The target concept is a close, not an exact, match."}


def _fhir_targets(r: ReviewRow) -> list[dict]:
    """R4 requires an equivalence on every target; a code is optional only for "unmatched"."""
    if r.status is Status.APPROVED and r.concept_id:
        out = []
        for t in r.targets:
            target = {"code": t.concept_id, "display": t.concept_name or t.concept_id,
                      "equivalence": t.predicate.fhir_equivalence}
            note = r.comment or _FHIR_NEEDS_COMMENT.get(target["equivalence"], "")
            if note and target["equivalence"] in _FHIR_NEEDS_COMMENT:
                target["comment"] = note
            out.append(target)
        return out
    return [_fhir_unapproved_target(r)]


def _fhir_unapproved_target(r: ReviewRow) -> dict:
    if r.status is Status.NO_MATCH or (r.concept_id is None and r.best is None):
        target: dict = {"equivalence": "unmatched"}
        if r.comment:
            target["comment"] = r.comment
        return target
    # Unchecked or flagged (only in an "all" export): the proposal, marked as not reviewed.
    # "relatedto" and not "inexact", because R4's cmd-1 would then demand a comment.
    code, name = (r.concept_id, r.concept_name) if r.concept_id else (r.best.concept_id, r.best.name)
    note = f"not approved (status {r.status.value})" + (f": {r.comment}" if r.comment else "")
    return {"code": code, "display": name or code, "equivalence": "relatedto", "comment": note}


def _element(r: ReviewRow) -> dict:
    return {"code": r.term, "display": r.term, "target": _fhir_targets(r)}


def conceptmap(info: ProjectInfo, rows: Iterable[ReviewRow], options: ExportOptions, stream: bool = False) -> dict:
    """The ConceptMap as a dict; with ``stream`` its elements are a :class:`json_stream.LazyArray`
    over ``rows`` (write it with :func:`json_stream.dump`)."""
    rows = iter(rows)
    first = next(rows, None)  # peeked: an empty map must have no group at all
    elements = map(_element, itertools.chain([first], rows) if first is not None else ())
    group: dict = {
        "source": options.source_system or DEFAULT_SOURCE_SYSTEM,
        "target": target_system(info, options),
        "element": json_stream.LazyArray(elements) if stream else list(elements),
    }
    if info.vocabulary_version:
        group["targetVersion"] = info.vocabulary_version
    vocab = info.vocabulary_name or Path(info.vocabulary).stem
    resource = {
        "resourceType": "ConceptMap",
        "name": "TermLinkerConceptMap",
        "title": f"TermLinker mappings to {vocab}",
        "status": "draft",
        "experimental": False,
        "date": options.now.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "description": ("Approved mappings only." if options.approved_only
                        else "All terms; targets not approved have equivalence 'relatedto' and say so."),
        "targetUri": target_system(info, options),
    }
    if first is not None:  # FHIR JSON forbids empty arrays, so an empty map has no group at all
        resource["group"] = [group]
    return resource


def _write_fhir(fh: IO[str], info: ProjectInfo, rows: Iterable[ReviewRow], options: ExportOptions) -> None:
    json_stream.dump(conceptmap(info, rows, options, stream=True), fh)
    fh.write("\n")


# --- SSSOM/TSV (the writer is in sssom_export.py) --------------------------------------

def _write_sssom(fh: IO[str], info: ProjectInfo, rows: Iterable[ReviewRow], options: ExportOptions) -> None:
    from .sssom_export import write_sssom

    write_sssom(fh, info, rows, options, omop=_is_omop(info))


def _is_omop(info: ProjectInfo) -> bool:
    """Whether the project's vocabulary holds OMOP concepts (its ids then get the prefix ``OMOP:``)."""
    from ..errors import TermLinkerError
    from ..vocab.athena import OMOP_KIND
    from ..vocab.store import VocabularyStore

    try:
        return VocabularyStore(_VOCABULARY_DIRS.get() or DataDirs.default()).kind(info.vocabulary) == OMOP_KIND
    except (TermLinkerError, OSError):  # not found: not known to be OMOP
        return False


# --- OMOP source_to_concept_map -------------------------------------------------------

def omop_vocabulary(info: ProjectInfo, dirs: DataDirs) -> "Vocabulary":
    """The project's vocabulary if it holds OMOP concepts (an Athena import), else the one-line refusal."""
    from ..vocab.athena import HOW_TO_GET, OMOP_KIND
    from ..vocab.store import VocabularyStore

    store = VocabularyStore(dirs)
    if store.kind(info.vocabulary) != OMOP_KIND:  # cheap: a header, not the concepts
        raise OmopVocabularyError(
            f"An OMOP export needs OMOP concept ids, and this project links to {info.vocabulary!r}, whose ids are "
            f"not OMOP's. To map to OMOP, {HOW_TO_GET}, then link a project against it; or export csv, json "
            "or fhir instead."
        )
    return store.get(info.vocabulary)


def omop_source_code(term: str) -> str:
    """The term as a spreadsheet-safe source_code of at most 50 characters (OMOP's varchar(50)).

    A term that fits is its own code. A longer one keeps its first 37 characters and adds "~" and
    12 hex digits of the SHA-256 of the whole term: the same term always gets the same code, two
    terms that start alike get different ones, and the whole term is the source_code_description."""
    cell = text_cell(term)
    if len(cell) <= OMOP_SOURCE_CODE_CHARS:
        return cell
    digest = hashlib.sha256(term.encode("utf-8")).hexdigest()[:12]
    return f"{cell[:OMOP_SOURCE_CODE_CHARS - len(digest) - 1]}~{digest}"


def _omop_writer(vocabulary: "Vocabulary") -> Writer:
    from ..vocab.athena import omop_fields

    def omop_target(r: ReviewRow, t: Target, options: ExportOptions) -> tuple[int, str]:
        if t.concept_id not in vocabulary or not (t.concept_id.isascii() and t.concept_id.isdigit()):
            raise OmopVocabularyError(
                f"The term {r.term!r} is mapped to concept {t.concept_id}, which is no OMOP concept of the "
                f"vocabulary {vocabulary.info.name!r} (was it imported again with other vocabulary ids?). "
                "Decide the term again, or import the vocabulary with that concept."
            )
        vocabulary_id = omop_fields(vocabulary.get(t.concept_id))["vocabulary_id"]
        return int(t.concept_id), options.target_vocabulary_id or vocabulary_id

    def targets(r: ReviewRow, options: ExportOptions, left_out: list[str]) -> list[tuple[int, str]]:
        """(target_concept_id, target_vocabulary_id) of each exact or broader approved target; OMOP's
        concept 0 for a term that is not approved or has none of those."""
        if r.status is not Status.APPROVED or not r.concept_id:
            return [OMOP_NO_MATCH]
        kept = [t for t in r.targets if t.predicate in OMOP_PREDICATES]
        left_out += [f"{r.term} -> {t.concept_id} ({t.predicate.value})" for t in r.targets if t not in kept]
        return [omop_target(r, t, options) for t in kept] or [OMOP_NO_MATCH]

    def write(fh: IO[str], info: ProjectInfo, rows: Iterable[ReviewRow], options: ExportOptions) -> None:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(OMOP_COLUMNS)
        source_vocab = text_cell(options.source_vocabulary_id or DEFAULT_SOURCE_VOCABULARY_ID)
        today = options.now.date().isoformat()
        left_out: list[str] = []
        for r in rows:
            start = (r.decided_at or "")[:10] or today
            for concept_id, vocabulary_id in targets(r, options, left_out):
                writer.writerow([omop_source_code(r.term), 0, source_vocab,
                                 text_cell(r.term)[:OMOP_DESCRIPTION_CHARS], concept_id, text_cell(vocabulary_id),
                                 text_cell(start), OMOP_END_DATE, ""])
        if left_out:
            options.notes.append(
                f"{len(left_out)} target(s) left out: OMOP's 'Maps to' takes only exact or broader concepts "
                f"(first: {left_out[0]}); export sssom, fhir or csv to keep them.")

    return write
