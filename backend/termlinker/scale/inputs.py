"""Input files for the cluster path: found in folders, read one file per task.

Each file becomes its distinct terms with counts in first-seen order (the same reading as
``termlinker link``: :func:`termlinker.io.terms.read_terms` for text and tables), plus a position
``file index << 32 | order`` so that merging files keeps the first-seen order of their
concatenation. A row that would stop ``termlinker link`` (a missing column, a bad count, a line of
JSON that does not parse) is counted and skipped; a file that cannot be read at all is reported
and skipped. Imports no ray.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError

TEXT_SUFFIXES = (".txt", ".csv", ".tsv", ".tab", ".xlsx")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
PARQUET_SUFFIXES = (".parquet", ".pq")
SUFFIXES = TEXT_SUFFIXES + JSONL_SUFFIXES + PARQUET_SUFFIXES
POSITION_BITS = 32  # up to 4 billion distinct terms per file, 2 billion files
DEFAULT_JSON_KEY = "term"


@dataclass(frozen=True)
class ReadOptions:
    column: str | None = None  # CSV/TSV/XLSX/Parquet column or JSON key holding the terms
    header: bool | None = None
    count_column: str | None = None


@dataclass
class FileTerms:
    """One file's distinct terms in first-seen order, what was skipped, and notes for the user."""

    index: int
    path: str
    terms: list[str] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    rows: int = 0
    bad_rows: int = 0
    first_bad: str = ""
    failed: str = ""  # the whole file was skipped, and why
    notes: list[str] = field(default_factory=list)

    def bad(self, message: str) -> None:
        self.bad_rows += 1
        if not self.first_bad:
            self.first_bad = message

    def positions(self) -> list[int]:
        base = self.index << POSITION_BITS
        return [base + i for i in range(len(self.terms))]


def find_inputs(paths: list[str]) -> list[Path]:
    """The files named, and the term files under the folders named (sorted, recursively), in order."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
                            and not any(part.startswith((".", "_")) for part in p.relative_to(path).parts))
            if not inside:
                raise InputError(f"{path} holds no term files ({', '.join(SUFFIXES)}).")
            found += inside
        elif path.is_file():
            if path.suffix.lower() not in SUFFIXES:
                raise InputError(f"{path}: not a term file; give {', '.join(SUFFIXES)} files or a folder of them.")
            found.append(path)
        else:
            raise InputError(f"No such file or folder: {path}.")
    if not found:
        raise InputError("No input files given.")
    return found


def read_input_file(index: int, path: str, options: ReadOptions = ReadOptions()) -> FileTerms:
    """One file read for the job; never raises for the file's content (it is reported instead)."""
    out = FileTerms(index, path)
    counts: dict[str, int] = {}
    try:
        suffix = Path(path).suffix.lower()
        if suffix in PARQUET_SUFFIXES:
            _read_parquet(Path(path), options, counts, out)
        elif suffix in JSONL_SUFFIXES:
            _read_jsonl(Path(path), options, counts, out)
        else:
            _read_text(Path(path), options, counts, out)
    except (InputError, OSError, ValueError) as exc:
        out.failed = str(exc) or type(exc).__name__
        return out
    out.terms = list(counts)
    out.counts = list(counts.values())
    return out


def _read_text(path: Path, options: ReadOptions, counts: dict[str, int], out: FileTerms) -> None:
    from ..io.terms import read_terms

    if path.suffix.lower() == ".txt":  # one term a line: the table options are for the job's tables
        options = ReadOptions()
    try:
        terms = read_terms(path, column=options.column, header=options.header, count_column=options.count_column,
                           on_bad_row=out.bad)
    except InputError as exc:
        if "has no terms" in str(exc) and out.bad_rows:  # every row was bad: already reported
            return
        raise
    counts.update(terms.counts)
    out.rows = terms.lines
    out.notes += terms.warnings


def _add(counts: dict[str, int], value: str, count: int) -> None:
    term = " ".join(value.split())
    if term:
        counts[term] = counts.get(term, 0) + count


def _whole_count(value: object) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return int(number) if number >= 1 and number == int(number) else None


def _read_jsonl(path: Path, options: ReadOptions, counts: dict[str, int], out: FileTerms) -> None:
    """One JSON object per line (the term under ``column``, default "term") or one JSON string per line."""
    from ..io.terms import detect_encoding

    key = options.column or DEFAULT_JSON_KEY
    with open(path, encoding=detect_encoding(path)) as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            out.rows += 1
            try:
                record = json.loads(line)
            except ValueError:
                out.bad(f"{path}, line {line_no}: not JSON")
                continue
            count: int | None = 1
            if isinstance(record, dict):
                value = record.get(key)
                if options.count_column is not None:
                    count = _whole_count(record.get(options.count_column))
            else:
                value = record
            if not isinstance(value, str):
                out.bad(f"{path}, line {line_no}: no text under {key!r}")
            elif count is None:
                out.bad(f"{path}, line {line_no}: the count {record.get(options.count_column)!r} "  # type: ignore[union-attr]
                        "is not a whole number of 1 or more")
            else:
                _add(counts, value, count)


def _parquet_column(names: list[str], column: str | None, path: Path, option: str) -> str:
    if column is None:
        return DEFAULT_JSON_KEY if DEFAULT_JSON_KEY in names else names[0]
    if column in names:
        return column
    if column.strip().isdigit() and 1 <= int(column) <= len(names):
        return names[int(column) - 1]
    raise InputError(f"{path}: no column {column!r} ({option}); it has {', '.join(names)}.")


def _read_parquet(path: Path, options: ReadOptions, counts: dict[str, int], out: FileTerms) -> None:
    import pyarrow.parquet as pq

    source = pq.ParquetFile(path)
    names = source.schema_arrow.names
    if not names:
        raise InputError(f"{path} has no columns.")
    column = _parquet_column(names, options.column, path, "--column")
    wanted = [column]
    count_column = None
    if options.count_column is not None:
        count_column = _parquet_column(names, options.count_column, path, "--count-column")
        wanted.append(count_column)
    row = 0
    for batch in source.iter_batches(columns=list(dict.fromkeys(wanted)), batch_size=65536):
        values = batch.column(batch.schema.get_field_index(column)).to_pylist()
        numbers = (batch.column(batch.schema.get_field_index(count_column)).to_pylist()
                   if count_column else [1] * len(values))
        for value, number in zip(values, numbers):
            row += 1
            out.rows += 1
            if value is None:
                continue  # an empty cell, as in a table
            count = _whole_count(number)
            if not isinstance(value, str):
                out.bad(f"{path}, row {row}: {value!r} is not text")
            elif count is None:
                out.bad(f"{path}, row {row}: the count {number!r} is not a whole number of 1 or more")
            else:
                _add(counts, value, count)


def input_bytes(paths: list[Path]) -> int:
    return sum(os.path.getsize(p) for p in paths)
