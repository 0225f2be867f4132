"""Opening SQLite files that someone else may have made: review projects and label stores.

An SQLite file carries code as well as data: a trigger or a view stored in it runs inside our
own statements, with our permissions, the moment we write or read the table it watches. A
project e-mailed by a colleague is data, so before anything else touches it, every object in
its ``sqlite_master`` must be one our own schema creates, and every table must have exactly
our columns. ``trusted_schema`` is switched off as well, so that even an object that passed
cannot call functions with side effects. Nothing here writes to the file.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

# Written by SQLite itself (ANALYZE): planner statistics, nothing that runs.
_STAT_TABLES = frozenset({"sqlite_stat1", "sqlite_stat4"})
# A file this small is checked page by page on every open (PRAGMA quick_check reads it all:
# about a second per few hundred MB); a bigger one is checked as it is used.
QUICK_CHECK_MAX_BYTES = 64 << 20
# SQLite's primary result codes for a damaged or foreign file (sqlite3.Error.sqlite_errorcode & 0xFF).
_DAMAGE_CODES = frozenset({11, 24, 26})  # SQLITE_CORRUPT, SQLITE_FORMAT, SQLITE_NOTADB


@dataclass(frozen=True)
class SchemaShape:
    """What a schema script creates: (type, name) of each table and index, and each table's columns."""

    objects: frozenset[tuple[str, str]]
    columns: dict[str, tuple[str, ...]]

    @classmethod
    def of(cls, script: str) -> "SchemaShape":
        """Run ``script`` on an empty in-memory database and read back what it made."""
        conn = sqlite3.connect(":memory:")
        try:
            conn.executescript(script)
            objects = frozenset((t, n) for t, n in conn.execute("SELECT type, name FROM sqlite_master")
                                if not n.startswith("sqlite_autoindex_"))
            columns = {name: table_columns(conn, name) for kind, name in objects if kind == "table"}
        finally:
            conn.close()
        return cls(objects, columns)


def harden(conn: sqlite3.Connection) -> None:
    """Refuse side-effecting functions in the file's schema (SQLite 3.31+; older ones ignore it)."""
    conn.execute("PRAGMA trusted_schema=OFF")


def table_columns(conn: sqlite3.Connection, table: str) -> tuple[str, ...]:
    quoted = '"' + table.replace('"', '""') + '"'
    return tuple(row[1] for row in conn.execute(f"PRAGMA table_info({quoted})"))


def foreign_objects(conn: sqlite3.Connection, shape: SchemaShape) -> list[str]:
    """Every trigger, view, table or index in the file that ``shape`` does not create, as 'trigger "x"'."""
    found = []
    # As bytes: a damaged schema page can hold text that is not UTF-8, which Python would not decode.
    rows = conn.execute("SELECT CAST(type AS BLOB), CAST(name AS BLOB), sql IS NULL FROM sqlite_master")
    for raw_kind, raw_name, no_sql in rows:
        kind, name = _text(raw_kind), _text(raw_name)
        sql = None if no_sql else ""
        if (kind, name) in shape.objects:
            continue
        if kind == "index" and sql is None and str(name).startswith("sqlite_autoindex_"):
            continue  # SQLite's own index for a UNIQUE or PRIMARY KEY constraint
        if kind == "table" and name in _STAT_TABLES:
            continue
        found.append(f'{kind} "{name}"')
    return found


def _text(value: bytes | None) -> str:
    return (value or b"").decode("utf-8", "replace")


def shape_problems(conn: sqlite3.Connection, shape: SchemaShape, missing_ok: bool = False) -> list[str]:
    """Tables of ``shape`` that are missing (unless ``missing_ok``: the caller creates them) or whose
    columns differ: a damaged or hand-edited file."""
    problems = []
    for table, expected in shape.columns.items():
        actual = table_columns(conn, table)
        if not actual:
            if not missing_ok:
                problems.append(f'table "{table}" is missing')
        elif actual != expected:
            problems.append(f'table "{table}" has columns {", ".join(actual)}; expected {", ".join(expected)}')
    return problems


def quick_check(conn: sqlite3.Connection, path: Path) -> str:
    """SQLite's own first complaint about the file's pages, or "" (also "" for a file too big to check cheaply)."""
    try:
        if path.stat().st_size > QUICK_CHECK_MAX_BYTES:
            return ""
    except OSError:
        return ""
    (result,) = conn.execute("PRAGMA quick_check(1)").fetchone()
    return "" if result == "ok" else " ".join(str(result).split())  # SQLite's report spans lines


def untrusted_file_problem(conn: sqlite3.Connection, path: Path, shape: SchemaShape,
                           missing_ok: bool = False) -> tuple[str, str]:
    """``(kind, why)`` for a file that must not be used, ``("", "")`` for one that may.

    ``kind`` is "foreign" (objects our schema does not create: refuse, they could run code) or
    "damaged" (missing tables, other columns, pages SQLite finds broken). Raises
    sqlite3.DatabaseError when SQLite cannot even read the schema."""
    harden(conn)
    foreign = foreign_objects(conn, shape)
    if foreign:
        return "foreign", ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
    problems = shape_problems(conn, shape, missing_ok)
    if problems:
        return "damaged", "; ".join(problems[:3])
    damage = quick_check(conn, path)
    return ("damaged", damage) if damage else ("", "")


def is_damage(exc: Exception) -> bool:
    """Whether ``exc`` (met reading the file) means a damaged or foreign file rather than, say, a lock.

    Text that is not UTF-8 counts: SQLite hands it over as stored and Python cannot decode it."""
    if isinstance(exc, UnicodeDecodeError) or "Could not decode to UTF-8" in str(exc):  # Python's, not SQLite's
        return True
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _DAMAGE_CODES
    return type(exc) is sqlite3.DatabaseError  # before Python 3.11: no code; corruption is this class
