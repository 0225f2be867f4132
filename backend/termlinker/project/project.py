"""``Project``: one SQLite file holding input terms, link results and human decisions.

Every public method that changes the project is one committed transaction, so a crash
or a closed window loses nothing that was already done.
"""

from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from .. import sqlite_guard
from ..progress import CancelToken, ProgressFn, no_progress
from ..types import Candidate, LinkResult
from . import schema
from .errors import (DecisionError, ProjectCorruptError, ProjectError, ProjectExistsError, UnknownTermError,
                     VocabularyMismatchError)
from .model import (BulkApproval, BulkChange, LinkSummary, Predicate, ProjectInfo, ProjectStats, RecallSummary,
                    Remembered, ReviewRow, Status, Target)

if TYPE_CHECKING:
    from ..io.terms import TermList
    from ..linker import Linker
    from .memory import MappingMemory

Clock = Callable[[], datetime]
_Method = TypeVar("_Method", bound=Callable[..., Any])


def _typed_sqlite_errors(method: _Method) -> _Method:
    """SQLite errors met while a project is in use become ProjectErrors (one line on the command
    line, a dialog in the desktop): damage can lie in pages the checks on opening did not read."""

    @functools.wraps(method)
    def wrapper(self: "Project", *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            if sqlite_guard.is_damage(exc):
                raise ProjectCorruptError(f"The project {self.path} is damaged ({exc}). Restore it from a "
                                          "backup, or start a new project.") from exc
            if isinstance(exc, sqlite3.OperationalError):  # locked, read-only, disk I/O
                raise ProjectError(f"Cannot use the project {self.path}: {exc}. Close other programs that "
                                   "have it open, and check the disk.") from exc
            raise

    return cast(_Method, wrapper)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _stamp(clock: Clock) -> str:
    return clock().astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class Project:
    """Open with :meth:`create` or :meth:`open`; use as a context manager or call :meth:`close`.

    One ``Project`` is one SQLite connection and must stay on the thread that opened it;
    a background linking thread opens its own ``Project`` on the same file (SQLite
    serialises the writers).
    """

    def __init__(self, path: Path, conn: sqlite3.Connection, clock: Clock = utc_now) -> None:
        self.path = path
        self._conn = conn
        self._clock = clock

    # --- opening ---------------------------------------------------------------------

    @classmethod
    def create(cls, path: str | os.PathLike[str], vocabulary: str, *, vocabulary_version: str = "",
               top_k: int = 10, retriever: str = "", reranker: str = "", clock: Clock = utc_now) -> "Project":
        """A new, empty project. ``vocabulary`` is a vocabulary name or file, as ``Linker`` takes it."""
        target = Path(path)
        if top_k < 1:
            raise DecisionError("top-k must be at least 1.")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProjectError(f"Cannot create the folder {target.parent}: {exc.strerror}. Choose a writable "
                               "place for the project.") from exc
        _new_file(target)
        try:
            conn = schema.connect(target, create=True)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        project = cls(target, conn, clock)
        now = _stamp(clock)
        with schema.transaction(conn):
            schema.set_meta(conn, {"vocabulary": str(vocabulary), "vocabulary_name": "",
                                   "vocabulary_version": vocabulary_version, "top_k": str(top_k),
                                   "retriever": retriever, "reranker": reranker, "created_at": now,
                                   "modified_at": now})
        return project

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, clock: Clock = utc_now) -> "Project":
        target = Path(path)
        conn = schema.connect(target, create=False)
        project = cls(target, conn, clock)
        try:
            project.info()
        except ProjectError:
            conn.close()
            raise
        except (KeyError, ValueError, sqlite3.DatabaseError) as exc:
            conn.close()
            raise ProjectCorruptError(f"The project {target} is damaged (its settings are unreadable: {exc}). "
                                      "Restore it from a backup, or start a new project.") from exc
        return project

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "Project":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    # --- metadata --------------------------------------------------------------------

    @_typed_sqlite_errors
    def info(self) -> ProjectInfo:
        meta = schema.get_meta(self._conn)
        return ProjectInfo(
            vocabulary=meta["vocabulary"], vocabulary_name=meta.get("vocabulary_name", ""),
            vocabulary_version=meta.get("vocabulary_version", ""), top_k=int(meta.get("top_k", "10")),
            retriever=meta.get("retriever", ""), reranker=meta.get("reranker", ""),
            created_at=meta.get("created_at", ""), modified_at=meta.get("modified_at", ""),
            schema_version=self._conn.execute("PRAGMA user_version").fetchone()[0],
        )

    @_typed_sqlite_errors
    def set_vocabulary(self, vocabulary: str) -> None:
        """Link with ``vocabulary`` (a name or file) from now on: only while the project has never been
        linked; once linked, it stays with the vocabulary it was linked against."""
        with schema.transaction(self._conn):
            meta = schema.get_meta(self._conn)
            if meta["vocabulary"] == str(vocabulary):
                return
            if meta.get("vocabulary_name"):
                raise VocabularyMismatchError(
                    f"This project was linked against {meta['vocabulary_name']!r}; it cannot change to "
                    f"{str(vocabulary)!r}. Start a new project for the other vocabulary.")
            self._touch({"vocabulary": str(vocabulary)})

    def _touch(self, extra: dict[str, str] | None = None) -> None:
        schema.set_meta(self._conn, {"modified_at": _stamp(self._clock), **(extra or {})})

    # --- terms and results -----------------------------------------------------------

    @_typed_sqlite_errors
    def add_terms(self, terms: "TermList | Mapping[str, int] | Iterable[tuple[str, int]]") -> int:
        """Add terms (counts merge into terms already present); returns how many are new."""
        counts = getattr(terms, "counts", terms)
        items = counts.items() if isinstance(counts, Mapping) else counts
        new = 0
        with schema.transaction(self._conn):
            for term, count in items:
                # The same whitespace rule as io.read_terms, so "a  b" and "a b" are one term
                # (and FHIR codes never carry runs of spaces).
                text = " ".join(str(term).split())
                if text:
                    new += schema.add_term(self._conn, text, int(count))
            self._touch()
        return new

    @_typed_sqlite_errors
    def pending_terms(self) -> list[tuple[str, int]]:
        """(term, count) not linked yet, in first-seen order."""
        return schema.pending_terms(self._conn)

    @_typed_sqlite_errors
    def store_results(self, results: Iterable[LinkResult]) -> int:
        """Store (or replace) link results in one transaction. Decisions are never touched;
        a result for a term not in the project adds the term."""
        now = _stamp(self._clock)
        stored = 0
        with schema.transaction(self._conn):
            for result in results:
                text = " ".join(result.term.split())
                tid = schema.term_id(self._conn, text)
                if tid is None:
                    schema.add_term(self._conn, text, result.count)
                    tid = schema.term_id(self._conn, text)
                cands = [(c.concept_id, c.name, float(c.score), float(c.retrieval_score), c.matched_name, c.exact)
                         for c in result.candidates]
                schema.replace_result(self._conn, tid, result.reranked, result.no_match, "\n".join(result.warnings),
                                      cands, now)
                stored += 1
            self._touch()
        return stored

    @_typed_sqlite_errors
    def link(self, linker: "Linker", progress: ProgressFn | None = None, cancel: CancelToken | None = None,
             relink: bool = False, terms: Iterable[str] | None = None, memory: "MappingMemory | None" = None,
             auto_approve_remembered: bool = False) -> LinkSummary:
        """Link the pending terms (all terms with ``relink``; just ``terms``, linked or not, when
        given), committing one batch at a time.

        Resumable: a cancelled or crashed run keeps every stored batch, and the next run
        starts at the first term without a result; a term linked again keeps its earlier
        result until the new one is stored. Human decisions are never changed (unless
        ``auto_approve_remembered``: then unchecked terms the mapping ``memory`` knows are approved).

        With a mapping ``memory``, each stored batch is also recalled (:meth:`recall`).
        """
        from ..linker import TermCount

        self._check_vocabulary(linker)
        everything = schema.all_terms(self._conn)
        if terms is not None:
            wanted = {" ".join(str(t).split()) for t in terms}
            for term in wanted:
                self._term_id(term)  # an unknown term is an error, before any work
            todo = [(t, c) for t, c in everything if t in wanted]
        else:
            todo = everything if relink else self.pending_terms()
        skipped = len(everything) - len(todo)
        # Progress counts the whole project, or just the chosen terms.
        total = len(todo) if terms is not None else len(everything)
        start = total - len(todo)
        report = progress or no_progress
        batch_size = max(1, linker.config.batch_size)
        buffer: list[LinkResult] = []
        linked = 0
        self._record_settings(linker)
        # Say where linking starts, so a bar left over from index building is reset before
        # the first batch arrives.
        report(start, total)
        try:
            items = (TermCount(t, c) for t, c in todo)
            for result in linker.link(items, progress=lambda d, _t: report(start + d, total), cancel=cancel,
                                      total=len(todo)):
                buffer.append(result)
                if len(buffer) >= batch_size:
                    linked += self._store_batch(buffer, memory, auto_approve_remembered)
                    buffer = []
        finally:
            # Whatever finished before a cancel or an error is kept.
            if buffer:
                linked += self._store_batch(buffer, memory, auto_approve_remembered)
        return LinkSummary(linked=linked, skipped=skipped)

    def _store_batch(self, results: list[LinkResult], memory: "MappingMemory | None", auto_approve: bool) -> int:
        stored = self.store_results(results)
        if memory is not None:
            self.recall(memory, terms=[r.term for r in results], auto_approve=auto_approve)
        return stored

    @_typed_sqlite_errors
    def recall(self, memory: "MappingMemory", terms: Iterable[str] | None = None, auto_approve: bool = False,
               reviewer: str = "mapping memory") -> RecallSummary:
        """Look every term (or just ``terms``) up in the mapping memory and store its proposals, shown
        before the candidates. With ``auto_approve`` an unchecked term with a proposal is approved with it
        (its first concept and relation; further remembered concepts become further targets), the comment
        saying where it came from. Needs the vocabulary's name, known once the project was linked."""
        vocabulary = self.info().vocabulary_name
        if not vocabulary:
            return RecallSummary(0, 0)
        wanted = None if terms is None else {" ".join(str(t).split()) for t in terms}
        proposed = approved = 0
        now = _stamp(self._clock)
        with schema.transaction(self._conn):
            if wanted is None:
                chosen = self._conn.execute("SELECT id, term FROM terms ORDER BY id").fetchall()
            else:  # a linked batch: just its terms, not a walk over the whole project per batch
                chosen = [(tid, term) for term in wanted if (tid := schema.term_id(self._conn, term)) is not None]
            for tid, term in chosen:
                hits = memory.lookup(vocabulary, term)
                schema.replace_remembered(self._conn, tid, [(h.concept_id, h.concept_name, h.predicate.value,
                                                             h.origin) for h in hits])
                if not hits:
                    continue
                proposed += 1
                status, _cid, _name, comment, _who = schema.get_decision(self._conn, tid)
                if auto_approve and status == Status.UNCHECKED.value:
                    first, *others = hits
                    note = f"remembered from {first.origin}"
                    schema.write_decision(self._conn, tid, Status.APPROVED.value, first.concept_id, first.concept_name,
                                          f"{comment}; {note}" if comment else note, reviewer, now,
                                          predicate=first.predicate.value,
                                          extra=[(h.concept_id, h.concept_name, h.predicate.value) for h in others])
                    approved += 1
            self._touch()
        return RecallSummary(proposed, approved)

    def _check_vocabulary(self, linker: "Linker") -> None:
        name = linker.vocabulary.info.name
        known = self.info().vocabulary_name
        if known and known != name:
            raise VocabularyMismatchError(
                f"This project was linked against {known!r}, not {name!r}. Link it with its own vocabulary, "
                "or start a new project for the other one."
            )

    def _record_settings(self, linker: "Linker") -> None:
        cfg = linker.config
        reranker = ""
        if linker.reranker is not None:
            reranker = str(cfg.reranker.model or "active re-ranker")
        with schema.transaction(self._conn):
            self._touch({"vocabulary_name": linker.vocabulary.info.name,
                         "vocabulary_version": linker.vocabulary.info.version, "top_k": str(cfg.top_k),
                         "retriever": f"{cfg.encoder or 'default encoder'} ({cfg.encoder_variant})",
                         "reranker": reranker})

    # --- reading ---------------------------------------------------------------------

    @_typed_sqlite_errors
    def rows(self, status: Status | str | None = None, min_score: float | None = None,
             max_score: float | None = None, text: str | None = None, limit: int | None = None,
             offset: int = 0) -> list[ReviewRow]:
        """Rows in first-seen order, filtered by status, best score range and a substring."""
        wanted = None if status is None else Status.parse(status).value
        raw = schema.select_rows(self._conn, wanted, min_score, max_score, text, limit, offset)
        tids = [r[0] for r in raw] if limit is not None or len(raw) < 500 else None
        cands = schema.candidates_of(self._conn, tids)
        extra = schema.extra_targets_of(self._conn, tids)
        memory = schema.remembered_of(self._conn, tids)
        return [_row(r, cands.get(r[0], []), extra.get(r[0], []), memory.get(r[0], [])) for r in raw]

    def iter_rows(self, status: Status | str | None = None, page: int = 1000) -> Iterator[ReviewRow]:
        """All rows (of one status) in first-seen order, read ``page`` terms at a time: memory stays
        flat however large the project (exports use this; ``rows`` holds everything at once)."""
        wanted = None if status is None else Status.parse(status).value
        after = 0
        while True:
            raw, cands, extra, memory = schema.rows_page(self._conn, wanted, after, page)
            if not raw:
                return
            yield from (_row(r, cands.get(r[0], []), extra.get(r[0], []), memory.get(r[0], [])) for r in raw)
            after = raw[-1][0]

    @_typed_sqlite_errors
    def row(self, term: str) -> ReviewRow:
        tid = self._term_id(term)
        raw = self._conn.execute(f"SELECT {schema.ROW_COLUMNS} FROM terms t JOIN decisions d ON d.term_id = t.id "
                                 "LEFT JOIN results r ON r.term_id = t.id WHERE t.id = ?", (tid,)).fetchone()
        return _row(raw, schema.candidates_of(self._conn, [tid]).get(tid, []),
                    schema.extra_targets_of(self._conn, [tid]).get(tid, []),
                    schema.remembered_of(self._conn, [tid]).get(tid, []))

    @_typed_sqlite_errors
    def history(self, term: str) -> list[tuple]:
        """Every change to the term's decision: (status, concept id, name, comment, reviewer, when)."""
        return schema.decision_log(self._conn, self._term_id(term))

    @_typed_sqlite_errors
    def stats(self) -> ProjectStats:
        terms, linked, by_status = schema.counts(self._conn)
        return ProjectStats(terms, linked, {s.value: by_status.get(s.value, 0) for s in Status})

    # --- deciding --------------------------------------------------------------------

    @_typed_sqlite_errors
    def decide(self, term: str, status: Status | str, concept_id: str | None = None,
               concept_name: str | None = None, comment: str | None = None, reviewer: str | None = None,
               predicate: Predicate | str | None = None) -> ReviewRow:
        """Record one decision as its own committed transaction (autosave).

        ``approved`` without a concept takes the best candidate; a concept id among the
        candidates takes its name from there; any other id (a manual concept) needs
        ``concept_name``. ``unchecked`` undoes a decision. ``comment=None`` keeps the comment.
        ``predicate`` says how the concept relates to the term (exact by default); ``None`` keeps the
        predicate while the concept stays the same. ``unchecked`` and ``no_match`` drop every target,
        the further ones (:meth:`add_target`) too.
        """
        state = Status.parse(status)
        wanted = None if predicate is None else Predicate.parse(predicate)
        tid = self._term_id(term)
        with schema.transaction(self._conn):
            current = schema.get_decision(self._conn, tid)
            cid, cname = self._resolve_concept(tid, term, state, concept_id, concept_name)
            if cid is None:
                if wanted not in (None, Predicate.EXACT):
                    raise DecisionError(f"A {state.value} decision without a concept takes no predicate; leave "
                                        f"the predicate out for {term!r}.")
                chosen = Predicate.EXACT
            elif wanted is not None:
                chosen = wanted
            else:
                chosen = Predicate(schema.get_predicate(self._conn, tid)) if cid == current[1] else Predicate.EXACT
            extra = None
            if state in (Status.UNCHECKED, Status.NO_MATCH):
                extra = []
            elif cid is not None:
                others = schema.extra_targets_of(self._conn, [tid]).get(tid, [])
                if any(t[0] == cid for t in others):  # the concept moves from the further targets to the first
                    extra = [t for t in others if t[0] != cid]
            schema.write_decision(self._conn, tid, state.value, cid, cname,
                                  current[3] if comment is None else comment,
                                  current[4] if reviewer is None else reviewer, _stamp(self._clock),
                                  predicate=chosen.value, extra=extra)
            self._touch()
        return self.row(term)

    @_typed_sqlite_errors
    def add_target(self, term: str, concept_id: str, concept_name: str | None = None,
                   predicate: Predicate | str = Predicate.EXACT, reviewer: str | None = None) -> ReviewRow:
        """Map the term to one more concept, beside the decision's own (which it must have: approve or
        flag a concept first). Adding a concept it already maps to changes that target's predicate."""
        chosen = Predicate.parse(predicate)
        tid = self._term_id(term)
        with schema.transaction(self._conn):
            status, cid, cname, comment, who = schema.get_decision(self._conn, tid)
            if cid is None:
                raise DecisionError(f"{term!r} has no concept yet; approve (or flag) its first concept, then add "
                                    "further ones.")
            extra = [tuple(t) for t in schema.extra_targets_of(self._conn, [tid]).get(tid, [])]
            primary = schema.get_predicate(self._conn, tid)
            if concept_id == cid:
                primary = chosen.value
            else:
                _, name = self._resolve_concept(tid, term, Status.APPROVED, concept_id, concept_name)
                known = [t for t in extra if t[0] == concept_id]
                if known:
                    extra = [(t[0], t[1], chosen.value) if t[0] == concept_id else t for t in extra]
                else:
                    extra.append((concept_id, name or concept_id, chosen.value))
            schema.write_decision(self._conn, tid, status, cid, cname, comment, who if reviewer is None else reviewer,
                                  _stamp(self._clock), predicate=primary, extra=extra)
            self._touch()
        return self.row(term)

    @_typed_sqlite_errors
    def remove_target(self, term: str, concept_id: str, reviewer: str | None = None) -> ReviewRow:
        """Drop one of the term's further targets (the decision's own concept changes with :meth:`decide`)."""
        tid = self._term_id(term)
        with schema.transaction(self._conn):
            status, cid, cname, comment, who = schema.get_decision(self._conn, tid)
            extra = [tuple(t) for t in schema.extra_targets_of(self._conn, [tid]).get(tid, [])]
            if concept_id == cid:
                raise DecisionError(f"{concept_id} is the decision's own concept for {term!r}; change the decision "
                                    "instead of removing it.")
            if not any(t[0] == concept_id for t in extra):
                raise DecisionError(f"{term!r} is not mapped to {concept_id}; nothing was removed.")
            schema.write_decision(self._conn, tid, status, cid, cname, comment, who if reviewer is None else reviewer,
                                  _stamp(self._clock), extra=[t for t in extra if t[0] != concept_id])
            self._touch()
        return self.row(term)

    def _resolve_concept(self, tid: int, term: str, state: Status, concept_id: str | None,
                         concept_name: str | None) -> tuple[str | None, str | None]:
        if state in (Status.UNCHECKED, Status.NO_MATCH):
            if concept_id is not None:
                raise DecisionError(f"A {state.value} decision takes no concept; leave the concept out for {term!r}.")
            return None, None
        cands = schema.candidates_of(self._conn, [tid]).get(tid, [])
        if concept_id is None:
            if state is Status.FLAGGED:
                return None, None
            if not cands:
                raise DecisionError(f"{term!r} has no candidates to approve; choose a concept id, "
                                    "or mark it no_match.")
            return cands[0][0], cands[0][1]
        for cand in cands:
            if cand[0] == concept_id:
                return concept_id, concept_name or cand[1]
        if not concept_name:
            raise DecisionError(f"Concept {concept_id!r} is not among the candidates of {term!r}; give its name too "
                                "(the command line looks it up in the vocabulary).")
        return concept_id, concept_name

    @_typed_sqlite_errors
    def comment(self, term: str, text: str, reviewer: str | None = None) -> ReviewRow:
        """Set the comment, keeping the status and concept."""
        tid = self._term_id(term)
        with schema.transaction(self._conn):
            status, cid, cname, _, who = schema.get_decision(self._conn, tid)
            schema.write_decision(self._conn, tid, status, cid, cname, text, who if reviewer is None else reviewer,
                                  _stamp(self._clock))
            self._touch()
        return self.row(term)

    @_typed_sqlite_errors
    def bulk_approvable(self, min_score: float) -> int:
        """How many terms :meth:`bulk_approve` at ``min_score`` would approve now."""
        return len(schema.bulk_approvable(self._conn, float(min_score)))

    def bulk_approve(self, min_score: float, reviewer: str = "") -> int:
        """Approve the best candidate of every still-unchecked row scoring at least
        ``min_score`` (rows the linker called no-match are left alone); returns how many."""
        return len(self.approve_in_bulk(min_score, reviewer))

    @_typed_sqlite_errors
    def approve_in_bulk(self, min_score: float, reviewer: str = "") -> BulkApproval:
        """:meth:`bulk_approve`, returning what it changed (for :meth:`undo_bulk_approve`)."""
        now = _stamp(self._clock)
        changes = []
        with schema.transaction(self._conn):
            rows = schema.bulk_approvable(self._conn, float(min_score))
            for tid, cid, cname, term in rows:
                status, old_id, old_name, comment, _who = schema.get_decision(self._conn, tid)
                # An unchecked term has no relation but exact and no further targets (decide drops them).
                schema.write_decision(self._conn, tid, Status.APPROVED.value, cid, cname, comment, reviewer, now,
                                      predicate="exact", extra=[])
                changes.append(BulkChange(term, Status(status), old_id, old_name, cid))
            self._touch()
        return BulkApproval(float(min_score), reviewer, now, tuple(changes))

    @_typed_sqlite_errors
    def undo_bulk_approve(self, approval: BulkApproval, reviewer: str = "") -> int:
        """Return the terms of ``approval`` to their decisions before it, in one transaction. A term
        decided again since (or no longer in the project) is left as it is. Returns how many returned."""
        now = _stamp(self._clock)
        undone = 0
        with schema.transaction(self._conn):
            for change in approval.changes:
                tid = schema.term_id(self._conn, change.term)
                if tid is None:
                    continue
                status, cid, _name, comment, _who = schema.get_decision(self._conn, tid)
                if (status, cid, schema.decided_at(self._conn, tid)) != (Status.APPROVED.value, change.approved_id,
                                                                         approval.decided_at):
                    continue
                schema.write_decision(self._conn, tid, change.status.value, change.concept_id, change.concept_name,
                                      comment, reviewer, now)
                undone += 1
            if undone:
                self._touch()
        return undone

    def _term_id(self, term: str) -> int:
        tid = schema.term_id(self._conn, " ".join(term.split()))
        if tid is None:
            raise UnknownTermError(f"The project has no term {term!r}. Check the spelling (as listed by 'project rows').")
        return tid

    # --- export ----------------------------------------------------------------------

    @_typed_sqlite_errors
    def export(self, path: str | os.PathLike[str], fmt: str, approved_only: bool = True,
               source_system: str | None = None, target_system: str | None = None,
               source_vocabulary_id: str | None = None, target_vocabulary_id: str | None = None,
               notes: list[str] | None = None) -> int:
        """Write CSV, JSON, a FHIR R4 ConceptMap or an OMOP source_to_concept_map atomically;
        returns the number of terms written. What the format could not carry is added to ``notes``."""
        from .exports import ExportOptions, write_export

        options = ExportOptions(approved_only=approved_only, source_system=source_system,
                                target_system=target_system, source_vocabulary_id=source_vocabulary_id,
                                target_vocabulary_id=target_vocabulary_id, now=self._clock(),
                                notes=notes if notes is not None else [])
        info = self.info()
        rows = self.iter_rows(status=Status.APPROVED if approved_only else None)
        return write_export(Path(path), fmt, info, rows, options, sources=(self.path, Path(info.vocabulary)))


def _new_file(target: Path) -> None:
    """Create the empty project file with the mode any new file gets (0666 less the umask, as
    ``atomic_open`` gives exports and copies), not SQLite's own 0644; SQLite takes an empty file as
    a new database, and gives its journal the file's mode."""
    try:
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666))
    except FileExistsError:
        raise ProjectExistsError(f"{target} already exists. Open it, or choose another file name.") from None
    except OSError as exc:
        raise ProjectError(f"Cannot create the project {target}: {exc.strerror}. Choose a writable place for "
                           "the project.") from exc


def _row(raw: tuple, cands: list[tuple], extra: list[tuple] = (), remembered: list[tuple] = ()) -> ReviewRow:
    (_tid, term, count, linked, reranked, no_match, warnings, status, cid, cname, comment, reviewer, decided_at,
     predicate) = raw
    return ReviewRow(
        term=term, count=count, position=_tid, linked=bool(linked), reranked=bool(reranked), no_match=bool(no_match),
        candidates=tuple([Candidate(*c[:5], c[5] == 1) for c in cands]),
        status=Status(status), concept_id=cid, concept_name=cname, comment=comment, reviewer=reviewer,
        decided_at=decided_at, warnings=tuple(w for w in warnings.split("\n") if w),
        predicate=Predicate(predicate), extra_targets=tuple(Target(t[0], t[1], Predicate(t[2])) for t in extra),
        remembered=tuple(Remembered(m[0], m[1], Predicate(m[2]), m[3]) for m in remembered),
    )
