"""All the SQL of a review project: the schema, migrations and every statement.

A project is one SQLite file. It uses the rollback journal (not WAL) so that every
committed transaction is in the main file itself: the user can copy or e-mail the
project at any moment and nothing committed is left behind in a ``-wal`` file.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from .. import sqlite_guard
from .errors import ForeignSchemaError, NewerSchemaError, NotAProjectError, ProjectCorruptError

SCHEMA_VERSION = 2
# "TLNK": tells a TermLinker project from any other SQLite file.
APPLICATION_ID = 0x544C4E4B
SQLITE_MAGIC = b"SQLite format 3\x00"

_CREATE_V1 = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- id is the first-seen order of the term.
CREATE TABLE terms (
    id    INTEGER PRIMARY KEY,
    term  TEXT NOT NULL UNIQUE,
    count INTEGER NOT NULL CHECK (count >= 0)
);
-- One row per linked term; a term without one is pending.
CREATE TABLE results (
    term_id   INTEGER PRIMARY KEY REFERENCES terms(id) ON DELETE CASCADE,
    reranked  INTEGER NOT NULL,
    no_match  INTEGER NOT NULL,
    best_score REAL,
    warnings  TEXT NOT NULL DEFAULT '',
    linked_at TEXT NOT NULL
);
CREATE TABLE candidates (
    term_id         INTEGER NOT NULL REFERENCES terms(id) ON DELETE CASCADE,
    rank            INTEGER NOT NULL,
    concept_id      TEXT NOT NULL,
    name            TEXT NOT NULL,
    score           REAL NOT NULL,
    retrieval_score REAL NOT NULL,
    matched_name    TEXT NOT NULL,
    exact           INTEGER NOT NULL,
    PRIMARY KEY (term_id, rank)
);
-- The human side: never written by linking.
CREATE TABLE decisions (
    term_id      INTEGER PRIMARY KEY REFERENCES terms(id) ON DELETE CASCADE,
    status       TEXT NOT NULL CHECK (status IN ('unchecked', 'approved', 'flagged', 'no_match')),
    concept_id   TEXT,
    concept_name TEXT,
    comment      TEXT NOT NULL DEFAULT '',
    reviewer     TEXT NOT NULL DEFAULT '',
    decided_at   TEXT
);
-- Every change to a decision, for "who did what when".
CREATE TABLE decision_log (
    id           INTEGER PRIMARY KEY,
    term_id      INTEGER NOT NULL REFERENCES terms(id) ON DELETE CASCADE,
    status       TEXT NOT NULL,
    concept_id   TEXT,
    concept_name TEXT,
    comment      TEXT NOT NULL,
    reviewer     TEXT NOT NULL,
    decided_at   TEXT NOT NULL
);
CREATE INDEX results_best_score ON results(best_score);
CREATE INDEX decisions_status ON decisions(status);
"""

# Format 2: a mapping predicate on each decision, and further target concepts per term.
_V2_CHANGES = """
ALTER TABLE decisions ADD COLUMN predicate TEXT NOT NULL DEFAULT 'exact'
    CHECK (predicate IN ('exact', 'close', 'broad', 'narrow', 'related'));
ALTER TABLE decision_log ADD COLUMN predicate TEXT NOT NULL DEFAULT 'exact';
-- The further targets at the time of the change, as JSON [[id, name, predicate], ...].
ALTER TABLE decision_log ADD COLUMN extra_targets TEXT NOT NULL DEFAULT '[]';
-- Concepts beside decisions.concept_id that the term maps to, in the order added.
CREATE TABLE extra_targets (
    term_id      INTEGER NOT NULL REFERENCES terms(id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    concept_id   TEXT NOT NULL,
    concept_name TEXT NOT NULL,
    predicate    TEXT NOT NULL CHECK (predicate IN ('exact', 'close', 'broad', 'narrow', 'related')),
    PRIMARY KEY (term_id, position),
    UNIQUE (term_id, concept_id)
);
-- What the mapping memory proposed for the term when it was last recalled (project.memory).
CREATE TABLE remembered (
    term_id      INTEGER NOT NULL REFERENCES terms(id) ON DELETE CASCADE,
    rank         INTEGER NOT NULL,
    concept_id   TEXT NOT NULL,
    concept_name TEXT NOT NULL,
    predicate    TEXT NOT NULL,
    origin       TEXT NOT NULL,
    PRIMARY KEY (term_id, rank)
);
"""

_CREATE = _CREATE_V1 + _V2_CHANGES
# What a file of each format holds, for the checks before it is upgraded.
_SCRIPTS = {1: _CREATE_V1, 2: _CREATE}

# from-version -> function upgrading the open connection to from-version + 1 (inside a transaction).
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    1: lambda conn: [conn.execute(statement) for statement in _statements(_V2_CHANGES)],
}


def _statements(script: str) -> list[str]:
    """The script's statements, one by one (``executescript`` would commit the migration's transaction)."""
    text = "\n".join(line for line in script.splitlines() if not line.strip().startswith("--"))
    return [part.strip() for part in text.split(";") if part.strip()]


def connect(path: Path, create: bool) -> sqlite3.Connection:
    """Open (or create) a project file and bring its schema up to date.

    An existing file is checked before anything is written to it (even a PRAGMA that changes
    its header): a project from elsewhere is refused untouched when it is not ours, is newer,
    holds SQL of its own (triggers, views) or is damaged."""
    if not create:
        _check_header(path)
    try:
        conn = sqlite3.connect(path, timeout=10.0, isolation_level=None)
    except sqlite3.Error as exc:
        raise NotAProjectError(f"Cannot open the project {path}: {exc}. Check the path and your permissions.") from exc
    try:
        sqlite_guard.harden(conn)
        if not create:
            version = _check_identity(conn, path)
            _check_contents(conn, path, version)
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        if create:
            conn.executescript(f"BEGIN; {_CREATE} PRAGMA application_id={APPLICATION_ID}; "
                               f"PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")
        else:
            _migrate(conn, path, version)
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        conn.close()
        raise ProjectCorruptError(
            f"The project {path} is damaged ({exc}). Restore it from a backup, or start a new project."
        ) from exc
    except BaseException:
        conn.close()
        raise
    return conn


def _check_header(path: Path) -> None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        raise NotAProjectError(f"There is no project at {path}. Check the path, or create one with 'project new'.") from None
    except IsADirectoryError:
        raise NotAProjectError(f"{path} is a folder, not a project file.") from None
    except OSError as exc:
        raise NotAProjectError(f"Cannot read the project {path}: {exc.strerror}.") from exc
    if head != SQLITE_MAGIC:
        raise NotAProjectError(f"{path} is not a TermLinker project (not an SQLite file). Open a project file "
                               "made with 'project new', or create one.")


def _check_identity(conn: sqlite3.Connection, path: Path) -> int:
    """The file's project format version, once its header says it is a project this version reads."""
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    if app_id != APPLICATION_ID:
        raise NotAProjectError(f"{path} is an SQLite file but not a TermLinker project. Open a project file "
                               "made with 'project new', or create one.")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise NewerSchemaError(
            f"The project {path} was saved by a newer TermLinker (project format {version}; this version reads "
            f"up to {SCHEMA_VERSION}). Update TermLinker to open it; the file was not changed."
        )
    return version


def _check_contents(conn: sqlite3.Connection, path: Path, version: int) -> None:
    """Refuse a file holding objects our schema does not create, or whose tables or pages are damaged.

    Checked against what a file of its format holds (``_SCRIPTS``), before it is upgraded."""
    script = _SCRIPTS.get(version)
    if script is None:
        raise NotAProjectError(f"The project {path} has format {version}, which this TermLinker cannot "
                               "upgrade. Start a new project.")
    kind, why = sqlite_guard.untrusted_file_problem(conn, path, sqlite_guard.SchemaShape.of(script))
    if kind == "foreign":
        raise ForeignSchemaError(
            f"The project {path} holds {why}, which TermLinker did not create and which could change your "
            "decisions when the project is used; it was not opened, and the file was not changed. "
            "Ask its sender for a copy exported from TermLinker, or start a new project."
        )
    if kind:
        raise ProjectCorruptError(f"The project {path} is damaged ({why}). Restore it from a backup, "
                                  "or start a new project.")


def _migrate(conn: sqlite3.Connection, path: Path, version: int) -> None:
    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise NotAProjectError(f"The project {path} has format {version}, which this TermLinker cannot "
                                   "upgrade. Start a new project.")
        conn.execute("BEGIN IMMEDIATE")
        try:
            step(conn)
            conn.execute(f"PRAGMA user_version={version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        version += 1


class transaction:
    """``with transaction(conn):`` one committed unit; rolled back on any error.

    BEGIN IMMEDIATE takes the write lock up front, so a second window on the same
    file waits (up to the busy timeout) instead of failing halfway through.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")


# --- meta ----------------------------------------------------------------------------

def get_meta(conn: sqlite3.Connection) -> dict[str, str]:
    return dict(conn.execute("SELECT key, value FROM meta").fetchall())


def set_meta(conn: sqlite3.Connection, values: dict[str, str]) -> None:
    conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                     list(values.items()))


# --- terms -----------------------------------------------------------------------------

def add_term(conn: sqlite3.Connection, term: str, count: int) -> bool:
    """Insert a term or add to its count; True when it is new."""
    row = conn.execute("SELECT id FROM terms WHERE term = ?", (term,)).fetchone()
    if row is not None:
        conn.execute("UPDATE terms SET count = count + ? WHERE id = ?", (count, row[0]))
        return False
    cur = conn.execute("INSERT INTO terms(term, count) VALUES (?, ?)", (term, count))
    conn.execute("INSERT INTO decisions(term_id, status) VALUES (?, 'unchecked')", (cur.lastrowid,))
    return True


def term_id(conn: sqlite3.Connection, term: str) -> int | None:
    row = conn.execute("SELECT id FROM terms WHERE term = ?", (term,)).fetchone()
    return None if row is None else int(row[0])


def pending_terms(conn: sqlite3.Connection) -> list[tuple[str, int]]:
    return conn.execute("SELECT t.term, t.count FROM terms t LEFT JOIN results r ON r.term_id = t.id "
                        "WHERE r.term_id IS NULL ORDER BY t.id").fetchall()


def all_terms(conn: sqlite3.Connection) -> list[tuple[str, int]]:
    return conn.execute("SELECT term, count FROM terms ORDER BY id").fetchall()


# --- results ---------------------------------------------------------------------------

CandidateRow = tuple[str, str, float, float, str, bool]  # id, name, score, retrieval score, matched name, exact


def replace_result(conn: sqlite3.Connection, tid: int, reranked: bool, no_match: bool, warnings: str,
                   candidates: Sequence[CandidateRow], linked_at: str) -> None:
    best = candidates[0][2] if candidates else None
    conn.execute("INSERT INTO results(term_id, reranked, no_match, best_score, warnings, linked_at) "
                 "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(term_id) DO UPDATE SET reranked = excluded.reranked, "
                 "no_match = excluded.no_match, best_score = excluded.best_score, warnings = excluded.warnings, "
                 "linked_at = excluded.linked_at", (tid, int(reranked), int(no_match), best, warnings, linked_at))
    conn.execute("DELETE FROM candidates WHERE term_id = ?", (tid,))
    conn.executemany("INSERT INTO candidates(term_id, rank, concept_id, name, score, retrieval_score, matched_name, "
                     "exact) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     [(tid, rank, *c[:5], int(c[5])) for rank, c in enumerate(candidates)])


def candidates_of(conn: sqlite3.Connection, tids: Iterable[int] | None) -> dict[int, list[tuple]]:
    """Candidates per term id, best first; all terms when ``tids`` is None."""
    return _per_term(conn, "SELECT term_id, concept_id, name, score, retrieval_score, matched_name, exact "
                           "FROM candidates {} ORDER BY term_id, rank", tids)


def extra_targets_of(conn: sqlite3.Connection, tids: Iterable[int] | None) -> dict[int, list[tuple]]:
    """(concept id, name, predicate) of each term's further targets, in the order added."""
    return _per_term(conn, "SELECT term_id, concept_id, concept_name, predicate FROM extra_targets {} "
                           "ORDER BY term_id, position", tids)


def remembered_of(conn: sqlite3.Connection, tids: Iterable[int] | None) -> dict[int, list[tuple]]:
    """(concept id, name, predicate, origin) the mapping memory proposed per term, first proposal first."""
    return _per_term(conn, "SELECT term_id, concept_id, concept_name, predicate, origin FROM remembered {} "
                           "ORDER BY term_id, rank", tids)


def replace_remembered(conn: sqlite3.Connection, tid: int, proposals: Sequence[tuple[str, str, str, str]]) -> None:
    conn.execute("DELETE FROM remembered WHERE term_id = ?", (tid,))
    conn.executemany("INSERT INTO remembered(term_id, rank, concept_id, concept_name, predicate, origin) "
                     "VALUES (?, ?, ?, ?, ?, ?)", [(tid, rank, *p) for rank, p in enumerate(proposals)])


def _per_term(conn: sqlite3.Connection, sql: str, tids: Iterable[int] | None) -> dict[int, list[tuple]]:
    out: dict[int, list[tuple]] = {}
    if tids is None:
        chunks: list[list[int]] = [[]]
    else:
        ids = list(tids)
        # SQLite caps the number of bound parameters; 500 is safe on every build.
        chunks = [ids[i:i + 500] for i in range(0, len(ids), 500)]
    for chunk in chunks:
        if tids is None:
            rows = conn.execute(sql.format(""))
        elif not chunk:
            continue
        else:
            rows = conn.execute(sql.format(f"WHERE term_id IN ({','.join('?' * len(chunk))})"), chunk)
        for row in rows:  # a 15,000-term project reads 150,000 candidates here: kept lean
            found = out.get(row[0])
            if found is None:
                out[row[0]] = found = []
            found.append(row[1:])
    return out


# --- rows ------------------------------------------------------------------------------

ROW_COLUMNS = ("t.id, t.term, t.count, r.term_id IS NOT NULL, COALESCE(r.reranked, 0), COALESCE(r.no_match, 0), "
               "COALESCE(r.warnings, ''), d.status, d.concept_id, d.concept_name, d.comment, d.reviewer, d.decided_at, "
               "d.predicate")


def select_rows(conn: sqlite3.Connection, status: str | None, min_score: float | None, max_score: float | None,
                text: str | None, limit: int | None, offset: int) -> list[tuple]:
    where, params = [], []
    if status is not None:
        where.append("d.status = ?")
        params.append(status)
    if min_score is not None:
        where.append("r.best_score >= ?")
        params.append(min_score)
    if max_score is not None:
        where.append("r.best_score <= ?")
        params.append(max_score)
    if text:
        where.append("instr(lower(t.term), lower(?)) > 0")
        params.append(text)
    sql = (f"SELECT {ROW_COLUMNS} FROM terms t JOIN decisions d ON d.term_id = t.id "
           f"LEFT JOIN results r ON r.term_id = t.id {'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY t.id")
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [limit, offset]
    return conn.execute(sql, params).fetchall()


def rows_page(conn: sqlite3.Connection, status: str | None, after_id: int,
              limit: int) -> tuple[list[tuple], dict[int, list[tuple]], dict[int, list[tuple]], dict[int, list[tuple]]]:
    """Up to ``limit`` rows after term id ``after_id`` (ROW_COLUMNS, in term order), their
    candidates as :func:`candidates_of` gives them, their extra targets (:func:`extra_targets_of`) and
    the memory's proposals (:func:`remembered_of`). Both are read in one read transaction, so a page
    is consistent while another connection links or decides; between pages no lock is held."""
    where, params = "t.id > ?", [after_id]
    if status is not None:
        where += " AND d.status = ?"
        params.append(status)
    own = not conn.in_transaction  # inside a caller's transaction, that one is the snapshot
    if own:
        conn.execute("BEGIN")
    try:
        rows = conn.execute(f"SELECT {ROW_COLUMNS} FROM terms t JOIN decisions d ON d.term_id = t.id "
                            f"LEFT JOIN results r ON r.term_id = t.id WHERE {where} ORDER BY t.id LIMIT ?",
                            [*params, limit]).fetchall()
        tids = [r[0] for r in rows]
        return rows, candidates_of(conn, tids), extra_targets_of(conn, tids), remembered_of(conn, tids)
    finally:
        if own:
            conn.execute("COMMIT")


# --- decisions -------------------------------------------------------------------------

def get_decision(conn: sqlite3.Connection, tid: int) -> tuple[str, str | None, str | None, str, str]:
    return conn.execute("SELECT status, concept_id, concept_name, comment, reviewer FROM decisions WHERE term_id = ?",
                        (tid,)).fetchone()


def get_predicate(conn: sqlite3.Connection, tid: int) -> str:
    return conn.execute("SELECT predicate FROM decisions WHERE term_id = ?", (tid,)).fetchone()[0]


def write_decision(conn: sqlite3.Connection, tid: int, status: str, concept_id: str | None, concept_name: str | None,
                   comment: str, reviewer: str, decided_at: str, predicate: str | None = None,
                   extra: Sequence[tuple[str, str, str]] | None = None) -> None:
    """Set the decision and log it. ``predicate=None`` keeps the decision's predicate; ``extra=None`` keeps
    the further targets, a sequence of (id, name, predicate) replaces them."""
    if predicate is None:
        predicate = get_predicate(conn, tid)
    if extra is not None:
        conn.execute("DELETE FROM extra_targets WHERE term_id = ?", (tid,))
        conn.executemany("INSERT INTO extra_targets(term_id, position, concept_id, concept_name, predicate) "
                         "VALUES (?, ?, ?, ?, ?)", [(tid, i, *target) for i, target in enumerate(extra)])
        now_extra = [list(t) for t in extra]
    else:
        now_extra = [list(t) for t in extra_targets_of(conn, [tid]).get(tid, [])]
    values = (status, concept_id, concept_name, comment, reviewer, decided_at, predicate)
    conn.execute("UPDATE decisions SET status = ?, concept_id = ?, concept_name = ?, comment = ?, reviewer = ?, "
                 "decided_at = ?, predicate = ? WHERE term_id = ?", (*values, tid))
    conn.execute("INSERT INTO decision_log(term_id, status, concept_id, concept_name, comment, reviewer, decided_at, "
                 "predicate, extra_targets) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (tid, *values, json.dumps(now_extra, ensure_ascii=False)))


def decided_at(conn: sqlite3.Connection, tid: int) -> str | None:
    return conn.execute("SELECT decided_at FROM decisions WHERE term_id = ?", (tid,)).fetchone()[0]


def bulk_approvable(conn: sqlite3.Connection, min_score: float) -> list[tuple[int, str, str, str]]:
    """Unchecked rows whose best candidate scores at least ``min_score`` and that the
    linker did not itself call a no-match: (term id, best concept id, best name, term)."""
    return conn.execute(
        "SELECT t.id, c.concept_id, c.name, t.term FROM terms t JOIN decisions d ON d.term_id = t.id "
        "JOIN results r ON r.term_id = t.id JOIN candidates c ON c.term_id = t.id AND c.rank = 0 "
        "WHERE d.status = 'unchecked' AND r.no_match = 0 AND r.best_score >= ? ORDER BY t.id", (min_score,)
    ).fetchall()


def decision_log(conn: sqlite3.Connection, tid: int) -> list[tuple]:
    return conn.execute("SELECT status, concept_id, concept_name, comment, reviewer, decided_at FROM decision_log "
                        "WHERE term_id = ? ORDER BY id", (tid,)).fetchall()


# --- counts ----------------------------------------------------------------------------

def counts(conn: sqlite3.Connection) -> tuple[int, int, dict[str, int]]:
    terms = conn.execute("SELECT COUNT(*) FROM terms").fetchone()[0]
    linked = conn.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    by_status = dict(conn.execute("SELECT status, COUNT(*) FROM decisions GROUP BY status").fetchall())
    return terms, linked, by_status
