"""``LabelStore``: every teacher answer, one committed SQLite row each, keyed so nothing is paid for twice.

The key is sha256 of (term, candidate ids and names, prompt version, teacher model): the same
question to the same teacher is never asked again, by a rerun or after a crash. A spend ledger
records every request, each retry its own row, as 'pending' at its estimated cost in a committed
row *before* it is sent, and settles it after: 'done' at the usage of its answer, or 'failed' (no
answer) at its estimate when it may have been billed (timeout, lost connection) and at 0 when the
provider refused it. A kill leaves its requests 'pending', still counted; the next run closes them
as 'failed' at their estimate. So the ledger never counts less than the provider may bill, and the
budget holds across retries, reruns and kills.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import sqlite_guard
from ..errors import StorageError

SCHEMA_VERSION = 1
FINAL_STATUSES = ("ok", "none", "invalid")  # "error" rows are asked again on the next run

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS labels (
    key TEXT PRIMARY KEY,
    term TEXT NOT NULL,
    candidates TEXT NOT NULL,            -- JSON [{"id": .., "name": ..}], in the order offered
    prompt_version TEXT NOT NULL,
    teacher TEXT NOT NULL,
    requests TEXT NOT NULL,              -- JSON list of request bodies exactly as sent (no headers, no key)
    answers TEXT NOT NULL,               -- JSON list of the raw answer texts, one per request
    label TEXT,                          -- "A".., or "none"; NULL when invalid or error
    concept_id TEXT,
    concept_name TEXT,
    status TEXT NOT NULL CHECK (status IN ('ok', 'none', 'invalid', 'error')),
    reason TEXT NOT NULL DEFAULT '',
    tokens_in INTEGER NOT NULL DEFAULT 0,
    tokens_out INTEGER NOT NULL DEFAULT 0,
    cost REAL NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS spend (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    teacher TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    estimated_cost REAL NOT NULL,
    tokens_in INTEGER NOT NULL DEFAULT 0,
    tokens_out INTEGER NOT NULL DEFAULT 0,
    cost REAL NOT NULL DEFAULT 0,
    started_at TEXT NOT NULL,
    finished_at TEXT
);
"""


@dataclass(frozen=True)
class InFlight:
    """Requests still 'pending' in the ledger: sent by a run that never learnt their fate (killed)."""

    requests: int
    keys: frozenset[str]  # their terms' label keys
    estimated_cost: float  # counted in ``spent()``: they may have been billed


@dataclass(frozen=True)
class LabelRecord:
    key: str
    term: str
    candidates: tuple[tuple[str, str], ...]  # (concept id, name)
    prompt_version: str
    teacher: str
    requests: tuple[dict[str, Any], ...]
    answers: tuple[str, ...]
    label: str | None
    concept_id: str | None
    concept_name: str | None
    status: str
    reason: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0

    def to_export(self) -> dict[str, Any]:
        return {"term": self.term, "concept_id": self.concept_id, "concept_name": self.concept_name,
                "status": self.status, "teacher": self.teacher, "prompt_version": self.prompt_version}


def label_key(term: str, candidates: tuple[tuple[str, str], ...] | list[tuple[str, str]], prompt_version: str,
              teacher: str) -> str:
    payload = json.dumps([term, [list(c) for c in candidates], prompt_version, teacher], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class LabelStore:
    """Thread-safe: one connection, one lock; every write is its own transaction."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"Cannot open the label store {self.path} ({exc}). Give another --store path.") from exc
        try:
            self._check_existing()  # before the first write: a refused file stays as it was
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # an answer we paid for must survive a power cut
            self._db.executescript(_SCHEMA)
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            self._db.close()
            raise StorageError(f"Cannot open the label store {self.path} ({exc}). Give another --store path, "
                               "or move the damaged file away.") from exc
        except StorageError:
            self._db.close()
            raise
        self._lock = threading.Lock()

    def _check_existing(self) -> None:
        """A store from an earlier run (or from someone else) may hold only our tables, intact."""
        kind, why = sqlite_guard.untrusted_file_problem(self._db, self.path, sqlite_guard.SchemaShape.of(_SCHEMA),
                                                        missing_ok=True)
        if kind == "foreign":
            raise StorageError(f"The label store {self.path} holds {why}, which TermLinker did not create and which "
                               "could change stored answers or the spend ledger; it was not opened, and the file "
                               "was not changed. Give another --store path.")
        if kind:
            raise StorageError(f"The label store {self.path} is damaged ({why}). Give another --store path, "
                               "or move the damaged file away.")

    @contextmanager
    def _using(self) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock; SQLite errors (damage found past the checks on opening)
        become a StorageError naming the file."""
        with self._lock:
            try:
                yield self._db
            except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
                raise StorageError(f"The label store {self.path} cannot be used ({exc}). Give another --store "
                                   "path, or move the damaged file away.") from exc

    def _decode(self, row: dict[str, Any]) -> LabelRecord:
        try:
            return _record(row)
        except (ValueError, KeyError, TypeError) as exc:  # JSON columns damaged on disk or by hand
            raise StorageError(f"The label store {self.path} holds a damaged answer ({exc!r}). Give another "
                               "--store path, or move the damaged file away.") from exc

    def __enter__(self) -> "LabelStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- answers -------------------------------------------------------------------------

    def get(self, key: str) -> LabelRecord | None:
        with self._using() as db:
            row = db.execute("SELECT * FROM labels WHERE key = ?", (key,)).fetchone()
            names = [d[0] for d in db.execute("SELECT * FROM labels LIMIT 0").description]
        return self._decode(dict(zip(names, row))) if row else None

    def cached(self, key: str) -> LabelRecord | None:
        """A final answer for this key, or None if it must (still) be asked."""
        record = self.get(key)
        return record if record is not None and record.status in FINAL_STATUSES else None

    def put(self, r: LabelRecord) -> None:
        now = _now()
        values = (r.key, r.term, json.dumps([{"id": i, "name": n} for i, n in r.candidates], ensure_ascii=False),
                  r.prompt_version, r.teacher, json.dumps(list(r.requests), ensure_ascii=False),
                  json.dumps(list(r.answers), ensure_ascii=False), r.label, r.concept_id, r.concept_name, r.status,
                  r.reason, r.tokens_in, r.tokens_out, r.cost, now, now)
        with self._using() as db:
            db.execute(
                "INSERT INTO labels VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(key) DO UPDATE SET "
                "requests=excluded.requests, answers=excluded.answers, label=excluded.label, "
                "concept_id=excluded.concept_id, concept_name=excluded.concept_name, status=excluded.status, "
                "reason=excluded.reason, tokens_in=labels.tokens_in+excluded.tokens_in, "
                "tokens_out=labels.tokens_out+excluded.tokens_out, cost=labels.cost+excluded.cost, "
                "updated_at=excluded.updated_at", values)

    def records(self) -> Iterator[LabelRecord]:
        with self._using() as db:
            cursor = db.execute("SELECT * FROM labels ORDER BY created_at, rowid")
            names = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
        for row in rows:
            yield self._decode(dict(zip(names, row)))

    # --- spend ledger --------------------------------------------------------------------

    def begin_request(self, key: str, teacher: str, estimated_cost: float) -> int:
        with self._using() as db:
            cur = db.execute("INSERT INTO spend (key, teacher, state, estimated_cost, started_at) "
                             "VALUES (?, ?, 'pending', ?, ?)", (key, teacher, estimated_cost, _now()))
            return int(cur.lastrowid)

    def finish_request(self, request_id: int, tokens_in: int, tokens_out: int, cost: float) -> None:
        with self._using() as db:
            db.execute("UPDATE spend SET state='done', tokens_in=?, tokens_out=?, cost=?, finished_at=? "
                       "WHERE id=?", (tokens_in, tokens_out, cost, _now(), request_id))

    def fail_request(self, request_id: int, may_be_billed: bool) -> None:
        """No answer came back: one that may still be billed (timeout, lost connection) keeps its estimate,
        one the provider refused (connection never opened, 4xx) counts nothing."""
        with self._using() as db:
            db.execute("UPDATE spend SET state='failed', cost=CASE WHEN ? THEN estimated_cost ELSE 0 END, "
                       "finished_at=? WHERE id=?", (may_be_billed, _now(), request_id))

    def in_flight(self) -> InFlight:
        """The requests a run sent and never settled: it was killed (or is running elsewhere right now)."""
        with self._using() as db:
            rows = db.execute("SELECT key, estimated_cost FROM spend WHERE state='pending'").fetchall()
        return InFlight(len(rows), frozenset(k for k, _ in rows), float(sum(c for _, c in rows)))

    def close_abandoned(self) -> int:
        """Mark the 'pending' requests of an earlier run 'failed' at their estimate; returns how many.

        Called as a run starts, before it sends anything, so the ledger tells them from its own. Their
        answers are lost: the provider may have billed them, so they keep counting. Should one belong
        to a run still going elsewhere, that run's ``finish_request`` (by id) still records its answer."""
        with self._using() as db:
            cur = db.execute("UPDATE spend SET state='failed', cost=estimated_cost, finished_at=? "
                             "WHERE state='pending'", (_now(),))
            return int(cur.rowcount)

    def spent(self) -> float:
        """Money spent so far, counting requests of a crashed run (still 'pending') at their estimate."""
        with self._using() as db:
            (total,) = db.execute("SELECT COALESCE(SUM(CASE WHEN state='pending' THEN estimated_cost "
                                  "ELSE cost END), 0) FROM spend").fetchone()
        return float(total)

    def request_count(self, state: str = "done") -> int:
        """How many requests got an answer (``state='done'``), i.e. how many the teacher served."""
        with self._using() as db:
            (n,) = db.execute("SELECT COUNT(*) FROM spend WHERE state = ?", (state,)).fetchone()
        return int(n)


def _record(row: dict[str, Any]) -> LabelRecord:
    return LabelRecord(
        key=row["key"], term=row["term"],
        candidates=tuple((c["id"], c["name"]) for c in json.loads(row["candidates"])),
        prompt_version=row["prompt_version"], teacher=row["teacher"],
        requests=tuple(json.loads(row["requests"])), answers=tuple(json.loads(row["answers"])),
        label=row["label"], concept_id=row["concept_id"], concept_name=row["concept_name"], status=row["status"],
        reason=row["reason"], tokens_in=row["tokens_in"], tokens_out=row["tokens_out"], cost=row["cost"])
