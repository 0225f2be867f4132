"""Mapping memory: approved mappings from earlier projects and imported mapping files, proposed first
when the same term (after :func:`termlinker.text.normalise`) comes again, as in OHDSI Usagi's reuse
of earlier mappings.

One SQLite file in the data folder (``DataDirs.memory``). Each remembered mapping says where it came
from (``origin``: "project clinic-a.tlproj", "file hpo-mappings.sssom.tsv"), so the reviewer sees why it
is proposed. Remembering a project or a file again replaces what it gave before (keyed by the file's
full path), so a mapping changed there changes here.

Two sources: a project's approved targets (:meth:`MappingMemory.remember_project`) and a mapping file
(:meth:`MappingMemory.import_file`): SSSOM/TSV or TermLinker's own CSV export. The file's concept ids
are checked against the vocabulary: an id it does not hold (after dropping a CURIE prefix such as
``ICD10CM:``) is skipped and counted, never remembered.
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from .. import sqlite_guard
from ..errors import InputError, StorageError
from ..text import normalise
from .model import Predicate, Remembered, Status
from .schema import transaction

if TYPE_CHECKING:
    from ..paths import DataDirs
    from ..vocab.model import Vocabulary
    from .project import Project

_SCHEMA = """
CREATE TABLE IF NOT EXISTS mappings (
    vocabulary   TEXT NOT NULL,
    term_key     TEXT NOT NULL,
    term         TEXT NOT NULL,
    concept_id   TEXT NOT NULL,
    concept_name TEXT NOT NULL,
    predicate    TEXT NOT NULL,
    origin       TEXT NOT NULL,
    source       TEXT NOT NULL,
    added_at     TEXT NOT NULL,
    PRIMARY KEY (vocabulary, term_key, concept_id, source)
);
CREATE INDEX IF NOT EXISTS mappings_source ON mappings(vocabulary, source);
"""
NO_TERM_FOUND = "sssom:NoTermFound"


@dataclass(frozen=True)
class MemoryImport:
    remembered: int  # mappings now held from this source
    unknown: int  # rows whose concept the vocabulary does not hold (skipped)
    skipped: int  # rows that are no mapping to keep: not approved, no match, no term


def memory_key(term: str) -> str:
    return normalise(term)


class MappingMemory:
    """Open with ``MappingMemory(path)`` or :meth:`in_data_folder`; use as a context manager."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"Cannot open the mapping memory {self.path}: {exc}. Check the data folder's "
                               "permissions.") from exc
        try:
            kind, why = sqlite_guard.untrusted_file_problem(self._db, self.path, sqlite_guard.SchemaShape.of(_SCHEMA),
                                                            missing_ok=True)
            if kind:
                raise StorageError(f"The mapping memory {self.path} is {'not ours' if kind == 'foreign' else 'damaged'}"
                                   f" ({why}); it was not changed. Move it away and TermLinker starts a new one.")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise StorageError(f"The mapping memory {self.path} is damaged ({exc}). Move it away and TermLinker "
                               "starts a new one.") from exc
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def in_data_folder(cls, dirs: "DataDirs") -> "MappingMemory":
        return cls(dirs.memory)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "MappingMemory":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading ---------------------------------------------------------------------

    def lookup(self, vocabulary: str, term: str) -> tuple[Remembered, ...]:
        """What is remembered for ``term`` in ``vocabulary``: the most recently learnt first, each concept once."""
        rows = self._db.execute(
            "SELECT concept_id, concept_name, predicate, origin FROM mappings WHERE vocabulary = ? AND term_key = ? "
            "ORDER BY added_at DESC, rowid", (vocabulary, memory_key(term))).fetchall()
        seen: set[str] = set()
        out = []
        for concept_id, name, predicate, origin in rows:
            if concept_id not in seen:
                seen.add(concept_id)
                out.append(Remembered(concept_id, name, Predicate(predicate), origin))
        return tuple(out)

    def sources(self) -> list[tuple[str, str, int]]:
        """(vocabulary, origin, mappings) for everything remembered."""
        return self._db.execute("SELECT vocabulary, origin, COUNT(*) FROM mappings GROUP BY vocabulary, source "
                                "ORDER BY vocabulary, origin").fetchall()

    # --- learning --------------------------------------------------------------------

    def remember_project(self, project: "Project") -> int:
        """Remember the project's approved targets (replacing what it gave before); returns how many.
        A project never linked has no vocabulary name yet and gives nothing."""
        info = project.info()
        vocabulary = info.vocabulary_name
        if not vocabulary:
            return 0
        now = _now()
        origin, source = f"project {project.path.name}", str(project.path.resolve())
        rows = [(vocabulary, memory_key(r.term), r.term, t.concept_id, t.concept_name, t.predicate.value, origin,
                 source, now)
                for r in project.iter_rows(status=Status.APPROVED) for t in r.targets]
        return self._replace(vocabulary, source, rows)

    def import_file(self, path: str | Path, vocabulary: "Vocabulary") -> MemoryImport:
        """Remember the mappings of an SSSOM/TSV file or of TermLinker's CSV export, for ``vocabulary``."""
        target = Path(path)
        try:
            with open(target, encoding="utf-8-sig", newline="") as fh:
                lines = [line for line in fh if not line.startswith("#")]
        except FileNotFoundError:
            raise InputError(f"There is no mapping file {target}. Check the path.") from None
        except UnicodeDecodeError:
            raise InputError(f"{target} is not UTF-8 text; save it as UTF-8 and import it again.") from None
        except OSError as exc:
            raise InputError(f"Cannot read the mapping file {target}: {exc.strerror}.") from exc
        header = lines[0] if lines else ""
        if "\t" in header and "object_id" in header.split("\t"):
            records = _sssom_records(csv.DictReader(lines, delimiter="\t"))
        elif "term" in next(csv.reader([header]), []) and "concept_id" in header:
            records = _csv_records(csv.DictReader(lines))
        else:
            raise InputError(f"{target} is neither an SSSOM/TSV file (with subject_label and object_id columns) "
                             "nor a TermLinker CSV export (with term and concept_id columns).")
        now = _now()
        origin, source = f"file {target.name}", str(target.resolve())
        rows, unknown, skipped = [], 0, 0
        for record in records:
            if record is None:
                skipped += 1
                continue
            term, concept_id, name, predicate = record
            found = _our_id(concept_id, vocabulary)
            if found is None:
                unknown += 1
                continue
            name = name or vocabulary.get(found).canonical_name
            rows.append((vocabulary.info.name, memory_key(term), term, found, name, predicate.value, origin, source,
                         now))
        return MemoryImport(self._replace(vocabulary.info.name, source, rows), unknown, skipped)

    def forget(self, vocabulary: str, origin: str) -> int:
        """Forget what one origin ("project x.tlproj", "file y.tsv") gave; returns how many."""
        with transaction(self._db) as db:
            return db.execute("DELETE FROM mappings WHERE vocabulary = ? AND origin = ?", (vocabulary, origin)).rowcount

    def _replace(self, vocabulary: str, source: str, rows: list[tuple]) -> int:
        with transaction(self._db) as db:
            db.execute("DELETE FROM mappings WHERE vocabulary = ? AND source = ?", (vocabulary, source))
            db.executemany("INSERT OR REPLACE INTO mappings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           [r for r in rows if r[1]])
        return self._db.execute("SELECT COUNT(*) FROM mappings WHERE vocabulary = ? AND source = ?",
                                (vocabulary, source)).fetchone()[0]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


Record = tuple[str, str, str, Predicate] | None  # term, concept id, name, predicate; None: not a mapping to keep


def _sssom_records(reader: Iterable[dict]) -> Iterator[Record]:
    for row in reader:
        term = (row.get("subject_label") or "").strip()
        object_id = (row.get("object_id") or "").strip()
        justification = (row.get("mapping_justification") or "").strip()
        if (not term or not object_id or object_id == NO_TERM_FOUND
                or justification == "semapv:SemanticSimilarityThresholdMatching"):  # proposals, not decisions
            yield None
            continue
        try:
            predicate = Predicate.parse(row.get("predicate_id") or "skos:exactMatch")
        except Exception:  # owl:equivalentClass and the like: not a SKOS relation we record
            yield None
            continue
        yield term, object_id, (row.get("object_label") or "").strip(), predicate


def _csv_records(reader: Iterable[dict]) -> Iterator[Record]:
    for row in reader:
        term, concept_id = _cell(row.get("term")), _cell(row.get("concept_id"))
        if (row.get("status") or "approved") != "approved" or not term or not concept_id:
            yield None
            continue
        try:
            predicate = Predicate.parse(row.get("predicate") or "exact")
        except Exception:
            yield None
            continue
        yield term, concept_id, _cell(row.get("concept_name")), predicate


def _cell(value: str | None) -> str:
    """A CSV export's cell as text: the quote that kept a spreadsheet from reading it as a formula goes."""
    text = (value or "").strip()
    return text[1:] if text.startswith("'") and text[1:2] in ("=", "+", "-", "@") else text


def _our_id(concept_id: str, vocabulary: "Vocabulary") -> str | None:
    """The vocabulary's id for a file's id: as it is ("HP:0001945"), or without its CURIE prefix
    ("ICD10CM:R51" -> "R51")."""
    if concept_id in vocabulary:
        return concept_id
    if ":" in concept_id:
        bare = concept_id.split(":", 1)[1]
        if bare in vocabulary:
            return bare
    return None
