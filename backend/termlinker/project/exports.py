"""Project exports: CSV, JSON, FHIR R4 ConceptMap and OMOP ``source_to_concept_map``.

Every file is written through :func:`termlinker.atomic.atomic_open` as UTF-8, so an
interrupted export never leaves half a file and Chinese terms survive. Rows arrive as an
iterator and are written as they come (the JSON formats through :mod:`..io.json_stream`), so a
project of any size exports in constant memory. CSV text cells (CSV and OMOP) are made
spreadsheet-safe by :func:`..io.csv_cells.text_cell`; JSON and FHIR keep the raw text.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from ..atomic import atomic_open
from ..io import json_stream
from ..io.csv_cells import text_cell
from ..overwrite import refuse_output_over_inputs
from .errors import ProjectError
from .model import ProjectInfo, ReviewRow, Status

FORMATS = ("csv", "json", "fhir", "omop")

# FHIR system URIs and OMOP vocabulary_id values for the built-in vocabularies; any other
# vocabulary gets a URN made from its name (override with target_system / target_vocabulary_id).
KNOWN_SYSTEMS = {
    "hpo": "http://human-phenotype-ontology.org",
    "icd10cm": "http://hl7.org/fhir/sid/icd-10-cm",
}
KNOWN_OMOP_VOCABULARIES = {"hpo": "HPO", "icd10cm": "ICD10CM"}
DEFAULT_SOURCE_SYSTEM = "urn:termlinker:source-terms"
DEFAULT_SOURCE_VOCABULARY_ID = "TermLinker"
OMOP_END_DATE = "2099-12-31"
OMOP_COLUMNS = ("source_code", "source_concept_id", "source_vocabulary_id", "source_code_description",
                "target_concept_id", "target_vocabulary_id", "valid_start_date", "valid_end_date", "invalid_reason")
CSV_COLUMNS = ("term", "count", "status", "concept_id", "concept_name", "best_id", "best_name", "best_score",
               "reranked", "no_match", "comment", "reviewer", "decided_at")


class ExportFormatError(ProjectError):
    """An unknown export format."""


@dataclass(frozen=True)
class ExportOptions:
    approved_only: bool = True
    source_system: str | None = None
    target_system: str | None = None
    source_vocabulary_id: str | None = None
    target_vocabulary_id: str | None = None
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


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
    chosen = _Counted(r for r in rows if r.status is Status.APPROVED or not options.approved_only)
    writer = {"csv": _write_csv, "json": _write_json, "fhir": _write_fhir, "omop": _write_omop}[fmt]
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
        writer.writerow([text_cell(r.term), r.count, r.status.value, text_cell(r.concept_id),
                         text_cell(r.concept_name), text_cell(best.concept_id if best else None),
                         text_cell(best.name if best else None), f"{best.score:.4f}" if best else "",
                         str(r.reranked).lower(), str(r.no_match).lower(), text_cell(r.comment),
                         text_cell(r.reviewer), text_cell(_iso(r.decided_at))])


def _mapping(r: ReviewRow) -> dict:
    return {"term": r.term, "count": r.count, "status": r.status.value, "concept_id": r.concept_id,
            "concept_name": r.concept_name, "comment": r.comment, "reviewer": r.reviewer,
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

def _fhir_target(r: ReviewRow) -> dict:
    """R4 requires an equivalence on every target; a code is optional only for "unmatched"."""
    if r.status is Status.APPROVED and r.concept_id:
        return {"code": r.concept_id, "display": r.concept_name or r.concept_id, "equivalence": "equivalent"}
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
    return {"code": r.term, "display": r.term, "target": [_fhir_target(r)]}


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


# --- OMOP source_to_concept_map -------------------------------------------------------

def omop_concept_id(concept_id: str | None) -> int:
    """OMOP target_concept_id is an integer (a CDM concept_id). Vocabularies whose ids are
    OMOP concept ids (an Athena export) map as they are; ids like "HP:0001945" are not
    concept ids, so they get 0, OMOP's "no matching concept", and the id itself stays in the
    CSV/JSON exports for a later lookup in the CDM's CONCEPT table."""
    return int(concept_id) if concept_id and concept_id.isascii() and concept_id.isdigit() else 0


def _write_omop(fh: IO[str], info: ProjectInfo, rows: Iterable[ReviewRow], options: ExportOptions) -> None:
    writer = csv.writer(fh, lineterminator="\n")
    writer.writerow(OMOP_COLUMNS)
    source_vocab = options.source_vocabulary_id or DEFAULT_SOURCE_VOCABULARY_ID
    target_vocab = options.target_vocabulary_id or KNOWN_OMOP_VOCABULARIES.get(_vocab_key(info), _vocab_key(info))
    today = options.now.date().isoformat()
    for r in rows:
        # Only an approved mapping is a mapping; in an "all" export the rest map to 0.
        target = omop_concept_id(r.concept_id) if r.status is Status.APPROVED else 0
        start = (r.decided_at or "")[:10] or today
        # source_code holds the whole term although the CDM column is varchar(50): cutting it
        # could make two terms one code. The description is the term too (varchar(255)).
        writer.writerow([text_cell(r.term), 0, text_cell(source_vocab), text_cell(r.term)[:255], target,
                         text_cell(target_vocab), text_cell(start), OMOP_END_DATE, ""])
