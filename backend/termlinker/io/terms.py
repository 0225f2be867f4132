"""Reading term lists: plain text, CSV/TSV columns and stdin, in whatever encoding.

Files are read twice as streams, never whole: the first pass finds an encoding that
decodes every byte, the second counts distinct terms in first-seen order. Memory grows
with the number of distinct terms only.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from .encoding import detect_file_encoding, looks_binary


@dataclass
class TermList:
    """Distinct terms with their counts, in first-seen order."""

    counts: dict[str, int]
    encoding: str
    source: str
    lines: int = 0
    warnings: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.counts)


def detect_encoding(path: Path) -> str:
    encoding = detect_file_encoding(path)
    if encoding is None:
        raise InputError(f"{path} is not text in UTF-8, UTF-16, GB18030 or Latin-1. Save it as UTF-8 and try again.")
    return encoding


def _binary_error(path: Path) -> InputError:
    return InputError(f"{path} looks like a binary file, not a term list. Give a .txt, .csv or .tsv file.")


def spool_stdin() -> Path:
    """Copy stdin to a temporary file so it can be read twice like any file."""
    fd, name = tempfile.mkstemp(prefix="termlinker-stdin-", suffix=".txt")
    with os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(sys.stdin.buffer, out)
    return Path(name)


def read_terms(path: str | os.PathLike[str], column: str | None = None, delimiter: str | None = None) -> TermList:
    """Read a .txt (one term a line) or .csv/.tsv (``column`` by name or 1-based number)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"No such file: {path}.")
    if path.is_dir():
        raise InputError(f"{path} is a folder; give a .txt, .csv or .tsv file.")
    column_number = _column_number(column)
    encoding = detect_encoding(path)
    suffix = path.suffix.lower()
    if delimiter is None and suffix in (".csv", ".tsv", ".tab"):
        delimiter = "," if suffix == ".csv" else "\t"
    if delimiter is None and column is not None:
        delimiter = "\t"
    counts: dict[str, int] = {}
    lines = 0
    with open(path, encoding=encoding, newline="" if delimiter else None) as fh:
        if delimiter:
            rows = _column_values(fh, column, column_number, delimiter, path)
        else:
            rows = (line.rstrip("\r\n") for line in fh)
        for value in rows:
            lines += 1
            if looks_binary(value):  # NULs survive no text encoding: this is not a term list
                raise _binary_error(path)
            term = " ".join(value.split())
            if term:
                counts[term] = counts.get(term, 0) + 1
    if not counts:
        raise InputError(f"{path} has no terms (it is empty or holds only blank lines). Add one term per line.")
    label = "utf-8" if encoding.startswith("utf-8") else encoding
    result = TermList(counts, label, str(path), lines)
    if label != "utf-8":
        result.warnings.append(f"{path.name} is not UTF-8; read it as {encoding}.")
    return result


def _column_number(column: str | None) -> int | None:
    """``--column`` as a 1-based number, None for a name; 0 and negatives are refused, not wrapped
    around to the last column as Python's indexing would."""
    if column is None or not column.strip().lstrip("+-").isdigit():
        return None
    number = int(column)
    if number < 1:
        raise InputError(f"--column {column}: columns are numbered from 1 (the first column is 1).")
    return number


def _column_values(fh: io.TextIOBase, column: str | None, number: int | None, delimiter: str,
                   path: Path) -> Iterator[str]:
    reader = csv.reader(fh, delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None:
            return
        index = _column_index(header, column, number, path)
        if index is None:  # no header row: the first row is data
            index = 0 if number is None else number - 1
            if index >= len(header):
                raise InputError(f"{path} has {len(header)} column(s); there is no column {index + 1}.")
            yield header[index]
        for row in reader:
            if not row:
                continue
            if index >= len(row):
                raise InputError(f"{path}, line {reader.line_num}: has {len(row)} columns, column {index + 1} "
                                 "is missing.")
            yield row[index]
    except csv.Error as exc:  # e.g. a cell over the csv module's 128 KB limit: no term is that long
        raise InputError(f"{path}, line {reader.line_num}: cannot read this row ({exc}).") from None


def _column_index(header: list[str], column: str | None, number: int | None, path: Path) -> int | None:
    """The header position of ``column``; None when the file has no header row."""
    names = [h.strip().lstrip("\ufeff") for h in header]
    if column is None:
        return 0 if names and names[0].lower() in {"term", "terms", "text", "phrase", "name"} else None
    if number is not None:
        return None
    for i, name in enumerate(names):
        if name.casefold() == column.casefold():
            return i
    raise InputError(f"{path} has no column named {column!r}; its columns are: {', '.join(names)}.")
