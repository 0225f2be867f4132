"""Reading term lists: plain text, CSV/TSV/XLSX columns and stdin, in whatever encoding.

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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
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
    return InputError(f"{path} looks like a binary file, not a term list. Give a .txt, .csv, .tsv or .xlsx file.")


def spool_stdin() -> Path:
    """Copy stdin to a temporary file so it can be read twice like any file."""
    fd, name = tempfile.mkstemp(prefix="termlinker-stdin-", suffix=".txt")
    with os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(sys.stdin.buffer, out)
    return Path(name)


HEADER_WORDS = frozenset({"term", "terms", "text", "phrase", "phrases", "name", "names", "description",
                          "diagnosis", "symptom", "symptoms", "source", "source_term", "verbatim", "count",
                          "术语", "名称", "诊断", "症状"})
GUESS_ROWS = 20  # rows looked at to guess whether the first one is a header
TABLE_SUFFIXES = (".csv", ".tsv", ".tab", ".xlsx")


@dataclass(frozen=True)
class TablePreview:
    """The first rows of a table, whether the first looks like a header, and (.xlsx) its sheets."""

    rows: list[list[str]]
    has_header: bool  # the guess; a front end shows it as the default
    encoding: str  # "xlsx" for a spreadsheet
    sheets: tuple[str, ...] = ()

    @property
    def width(self) -> int:
        return max((len(r) for r in self.rows), default=0)

    def column_labels(self) -> list[str]:
        """One label per column: the header name (when there is one) after its number."""
        header = self.rows[0] if self.rows else []
        labels = []
        for i in range(self.width):
            name = header[i].strip() if self.has_header and i < len(header) else ""
            labels.append(f"{i + 1}: {name}" if name else f"Column {i + 1}")
        return labels


def is_table(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in TABLE_SUFFIXES


def guess_header(rows: list[list[str]]) -> bool:
    """Whether the first row names the columns: a known header word in it, or (three rows or more)
    a first row that ``csv.Sniffer`` calls a header. The one guess both front ends make."""
    if not rows:
        return False
    first = [cell.strip().lstrip("\ufeff").casefold() for cell in rows[0]]
    if any(cell in HEADER_WORDS for cell in first):
        return True
    if len(rows) < 3:
        return False
    sample = io.StringIO()
    csv.writer(sample).writerows(rows)
    try:
        return csv.Sniffer().has_header(sample.getvalue())
    except csv.Error:
        return False


TERM_HEADER_WORDS = HEADER_WORDS - {"count"}


def guess_term_column(rows: list[list[str]], has_header: bool) -> int:
    """The column most likely to hold the terms (0-based): one whose header is a term word, else the
    one with the most text that is not a number (an id or a count column is not the terms)."""
    if not rows:
        return 0
    if has_header:
        for i, cell in enumerate(rows[0]):
            if cell.strip().lstrip("\ufeff").casefold() in TERM_HEADER_WORDS:
                return i
    body = rows[1:] if has_header else rows
    width = max((len(r) for r in body), default=0)

    def wordiness(i: int) -> float:
        cells = [r[i].strip() for r in body if i < len(r) and r[i].strip()]
        words = [c for c in cells if not c.replace(".", "", 1).replace("-", "", 1).isdigit()]
        return len(words) + sum(len(c) for c in words) / (1000 * max(1, len(words)))

    return max(range(width), key=wordiness, default=0)


def terms_from_text(text: str, source: str = "pasted text") -> TermList:
    """Distinct pasted lines with their counts, whitespace collapsed as ``read_terms`` does."""
    counts: dict[str, int] = {}
    lines = 0
    for line in text.splitlines():
        lines += 1
        term = " ".join(line.split())
        if term:
            counts[term] = counts.get(term, 0) + 1
    if not counts:
        raise InputError("There are no terms to link. Paste one term per line, or import a file.")
    return TermList(counts, "utf-8", source, lines)


def preview_table(path: str | os.PathLike[str], sheet: str | None = None, limit: int = GUESS_ROWS) -> TablePreview:
    """The first ``limit`` rows of a .csv/.tsv/.xlsx file and the header guess."""
    path = _checked(path)
    if path.suffix.lower() == ".xlsx":
        from .xlsx import sheet_names, xlsx_rows

        rows = list(islice(xlsx_rows(path, sheet), limit))
        encoding, sheets = "xlsx", sheet_names(path)
    else:
        encoding, sheets = detect_encoding(path), ()
        with open(path, encoding=encoding, newline="") as fh:
            rows = list(islice(_csv_rows(fh, _delimiter(path, None) or "\t", path), limit))
        if any(looks_binary(cell) for row in rows for cell in row):
            raise _binary_error(path)
    if not rows:
        raise InputError(f"{path} has no terms (it is empty). Add one term per line.")
    return TablePreview(rows, guess_header(rows), encoding, sheets)


def read_terms(path: str | os.PathLike[str], column: str | None = None, delimiter: str | None = None,
               header: bool | None = None, count_column: str | None = None, sheet: str | None = None,
               on_bad_row: Callable[[str], None] | None = None) -> TermList:
    """Read a .txt (one term a line) or a table: .csv/.tsv/.xlsx (``column`` by name or 1-based number).

    ``header``: whether the table's first row names its columns; None guesses (a column given by
    name means yes). ``count_column``: a column of whole numbers saying how often each row's term
    occurred (default: each row counts once). ``sheet``: an .xlsx sheet's name (default: the first).
    ``on_bad_row``: called with the message of a row that would stop the read (a missing column, a
    count that is no whole number, NUL bytes), which is then skipped (the cluster path: reported, not fatal)."""
    path = _checked(path)
    suffix = path.suffix.lower()
    if sheet is not None and suffix != ".xlsx":
        raise InputError(f"--sheet applies to .xlsx workbooks; {path.name} is not one.")
    column_number = _column_number(column)
    count_number = _column_number(count_column, "--count-column")
    if suffix == ".xlsx":
        from .xlsx import xlsx_rows

        return _count_table(xlsx_rows(path, sheet), path, "xlsx", column, column_number, header, count_column,
                            count_number, lenient=True, on_bad_row=on_bad_row)
    encoding = detect_encoding(path)
    delimiter = _delimiter(path, delimiter)
    if delimiter is None and (column is not None or header is not None or count_column is not None):
        delimiter = "\t"
    label = "utf-8" if encoding.startswith("utf-8") else encoding
    with open(path, encoding=encoding, newline="" if delimiter else None) as fh:
        if delimiter:
            result = _count_table(_csv_rows(fh, delimiter, path), path, label, column, column_number, header,
                                  count_column, count_number, lenient=False, on_bad_row=on_bad_row)
        else:
            result = _count(((line.rstrip("\r\n"), 1) for line in fh), path, label, on_bad_row)
    if label != "utf-8":
        result.warnings.append(f"{path.name} is not UTF-8; read it as {encoding}.")
    return result


def _checked(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputError(f"No such file: {path}.")
    if path.is_dir():
        raise InputError(f"{path} is a folder; give a .txt, .csv, .tsv or .xlsx file.")
    return path


def _delimiter(path: Path, given: str | None) -> str | None:
    if given is not None:
        return given
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".tab"):
        return "," if suffix == ".csv" else "\t"
    return None


def _count(values: Iterable[tuple[str, int]], path: Path, label: str,
           on_bad_row: Callable[[str], None] | None = None) -> TermList:
    """The one counting loop: distinct terms, whitespace collapsed, in first-seen order."""
    counts: dict[str, int] = {}
    lines = 0
    for value, count in values:
        lines += 1
        if looks_binary(value):  # NULs survive no text encoding: this is not a term list
            if on_bad_row is None:
                raise _binary_error(path)
            on_bad_row(f"{path}, line {lines}: holds NUL bytes")
            continue
        term = " ".join(value.split())
        if term:
            counts[term] = counts.get(term, 0) + count
    if not counts:
        raise InputError(f"{path} has no terms (it is empty or holds only blank lines). Add one term per line.")
    return TermList(counts, label, str(path), lines)


def _count_table(rows: Iterator[list[str]], path: Path, label: str, column: str | None, number: int | None,
                 header: bool | None, count_column: str | None, count_number: int | None,
                 lenient: bool, on_bad_row: Callable[[str], None] | None = None) -> TermList:
    first = list(islice(rows, GUESS_ROWS))
    if not first:
        return _count(iter(()), path, label)
    if header is None:
        header = (column is not None and number is None) or (count_column is not None and count_number is None) \
            or guess_header(first)
    names = [h.strip().lstrip("\ufeff") for h in first[0]] if header else []
    if not header and ((column is not None and number is None) or (count_column is not None and count_number is None)):
        raise InputError(f"{path} has no header row, so columns go by number (the first column is 1).")
    width = len(first[0])
    index = _column_index(names, column, number, path, width, default=0)
    count_index = None if count_column is None else _column_index(names, count_column, count_number, path, width)
    data = chain(first[1:] if header else first, rows)
    line = 1 if header else 0

    def values() -> Iterator[tuple[str, int]]:
        nonlocal line
        for row in data:
            line += 1
            if not row or not any(cell.strip() for cell in row):
                continue
            try:
                if max(index, count_index or 0) >= len(row) and not lenient:
                    missing = index if index >= len(row) else count_index
                    raise InputError(f"{path}, line {line}: has {len(row)} columns, column {missing + 1} is missing.")
                term = row[index] if index < len(row) else ""
                count = 1 if count_index is None else _row_count(row, count_index, path, line)
            except InputError as exc:
                if on_bad_row is None:
                    raise
                on_bad_row(str(exc))
                continue
            yield term, count

    result = _count(values(), path, label, on_bad_row)
    if header and column is None:
        result.warnings.append(f"took the first row of {path.name} as its header (say --no-header if it is a term)")
    return result


def _row_count(row: list[str], index: int, path: Path, line: int) -> int:
    cell = row[index].strip() if index < len(row) else ""
    try:
        value = float(cell) if cell else None
    except ValueError:
        value = None
    if value is None or value < 1 or value != int(value):
        raise InputError(f"{path}, line {line}: the count {cell!r} is not a whole number of 1 or more.")
    return int(value)


def _column_number(column: str | None, option: str = "--column") -> int | None:
    """A column option as a 1-based number, None for a name; 0 and negatives are refused, not wrapped
    around to the last column as Python's indexing would."""
    if column is None or not str(column).strip().lstrip("+-").isdigit():
        return None
    number = int(column)
    if number < 1:
        raise InputError(f"{option} {column}: columns are numbered from 1 (the first column is 1).")
    return number


def _csv_rows(fh: io.TextIOBase, delimiter: str, path: Path) -> Iterator[list[str]]:
    reader = csv.reader(fh, delimiter=delimiter)
    try:
        yield from reader
    except csv.Error as exc:  # e.g. a cell over the csv module's 128 KB limit: no term is that long
        raise InputError(f"{path}, line {reader.line_num}: cannot read this row ({exc}).") from None


def _column_index(names: list[str], column: str | None, number: int | None, path: Path, width: int,
                  default: int | None = None) -> int:
    """Where ``column`` is: its number, or its header name's position (``default`` when none was given)."""
    if column is None:
        assert default is not None
        return default
    if number is not None:
        if number > width:
            raise InputError(f"{path} has {width} column(s); there is no column {number}.")
        return number - 1
    for i, name in enumerate(names):
        if name.casefold() == str(column).casefold():
            return i
    raise InputError(f"{path} has no column named {column!r}; its columns are: {', '.join(names)}.")
