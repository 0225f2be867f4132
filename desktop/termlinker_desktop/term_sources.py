"""Where terms come from: a paste, a .txt, a .csv/.tsv column or an .xlsx column.

Text files go through the engine's own reader (``termlinker.io.terms.read_terms``), so the
app and the command line agree on encodings, blank lines and whitespace. Only .xlsx is
read here, with openpyxl, because the engine does not read spreadsheets.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from termlinker.api import InputError, TermList, detect_file_encoding, read_terms

TABLE_SUFFIXES = (".csv", ".tsv", ".tab", ".xlsx")
TEXT_SUFFIXES = (".txt",)
FILE_FILTER = "Term lists (*.txt *.csv *.tsv *.tab *.xlsx);;All files (*)"
PREVIEW_ROWS = 20
_HEADER_WORDS = {"term", "terms", "text", "phrase", "phrases", "name", "names", "description", "diagnosis",
                 "symptom", "symptoms", "source", "source_term", "verbatim", "术语", "名称", "诊断", "症状"}


@dataclass(frozen=True)
class TablePreview:
    rows: list[list[str]]
    has_header: bool  # the guess shown as the dialog's default
    encoding: str  # "xlsx" for a spreadsheet

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


@dataclass(frozen=True)
class ColumnChoice:
    index: int  # 0-based
    has_header: bool


def is_table(path: Path) -> bool:
    return path.suffix.lower() in TABLE_SUFFIXES


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
        raise InputError("There are no terms to link. Paste one term per line, or use File > Import.")
    return TermList(counts, "utf-8", source, lines)


def preview_table(path: Path) -> TablePreview:
    if path.suffix.lower() == ".xlsx":
        rows = list(islice(_xlsx_rows(path), PREVIEW_ROWS))
        encoding = "xlsx"
    else:
        read_terms_checks(path)
        encoding = detect_file_encoding(path) or "latin-1"
        with open(path, encoding=encoding, newline="") as fh:
            rows = [row for row in islice(csv.reader(fh, delimiter=_delimiter(path)), PREVIEW_ROWS)]
    if not rows:
        raise InputError(f"{path} has no terms (it is empty). Add one term per line.")
    return TablePreview(rows, guess_header(rows), encoding)


def read_terms_checks(path: Path) -> None:
    """The engine reader's own checks (missing, folder, binary) before we peek at the file."""
    if not path.is_file():
        raise InputError(f"No such file: {path}.")
    with open(path, "rb") as fh:
        if b"\x00" in fh.read(8192):
            raise InputError(f"{path} looks like a binary file, not a term list. Give a .txt, .csv, .tsv or "
                             ".xlsx file.")


def guess_header(rows: list[list[str]]) -> bool:
    """A known header word in the first row, or a first row that csv.Sniffer calls a header."""
    first = [cell.strip().lstrip("\ufeff").casefold() for cell in rows[0]]
    if any(cell in _HEADER_WORDS for cell in first):
        return True
    if len(rows) < 3:
        return False
    sample = io.StringIO()
    csv.writer(sample).writerows(rows)
    try:
        return csv.Sniffer().has_header(sample.getvalue())
    except csv.Error:
        return False


def read_file(path: Path, choice: ColumnChoice | None = None) -> TermList:
    """Terms of a .txt file, or of one column of a table (``choice`` is then required)."""
    if not is_table(path):
        return read_terms(path)
    if choice is None:
        raise InputError(f"Choose which column of {path.name} holds the terms.")
    if path.suffix.lower() == ".xlsx":
        return _read_xlsx(path, choice)
    if choice.has_header:
        return _without_header(path, choice)
    return read_terms(path, column=str(choice.index + 1), delimiter=_delimiter(path))


def _without_header(path: Path, choice: ColumnChoice) -> TermList:
    # read_terms treats a numbered column as header-less, so the header cell comes back as
    # a term once; it is removed here rather than guessing a header name the file may repeat.
    terms = read_terms(path, column=str(choice.index + 1), delimiter=_delimiter(path))
    with open(path, encoding=detect_file_encoding(path) or "latin-1", newline="") as fh:
        header = next(csv.reader(fh, delimiter=_delimiter(path)), [])
    if choice.index >= len(header):
        raise InputError(f"{path} has {len(header)} columns in its header; column {choice.index + 1} is missing.")
    _drop_once(terms, header[choice.index])
    if not terms.counts:
        raise InputError(f"{path} has a header but no terms in column {choice.index + 1}.")
    return terms


def _drop_once(terms: TermList, value: str) -> None:
    key = " ".join(value.lstrip("\ufeff").split())
    if key in terms.counts:
        terms.counts[key] -= 1
        if terms.counts[key] <= 0:
            del terms.counts[key]


def _delimiter(path: Path) -> str:
    return "," if path.suffix.lower() == ".csv" else "\t"


def _xlsx_rows(path: Path):
    try:
        from openpyxl import load_workbook
        from openpyxl.utils.exceptions import InvalidFileException
    except ImportError as exc:  # the desktop extra was not installed
        raise InputError("Reading .xlsx needs the openpyxl package. Install it, or save the sheet as CSV.") from exc
    if not path.is_file():  # no binary check: an .xlsx is a zip file, full of NUL bytes
        raise InputError(f"No such file: {path}.")
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InputError(f"{path} is not a readable Excel workbook ({exc}). Save it again as .xlsx or CSV.") from None
    try:
        sheet = book.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield ["" if v is None else str(v) for v in row]
    finally:
        book.close()


def _read_xlsx(path: Path, choice: ColumnChoice) -> TermList:
    counts: dict[str, int] = {}
    lines = 0
    for number, row in enumerate(_xlsx_rows(path), start=1):
        if number == 1 and choice.has_header:
            if choice.index >= len(row):
                raise InputError(f"{path} has {len(row)} columns; column {choice.index + 1} is missing.")
            continue
        lines += 1
        term = " ".join(row[choice.index].split()) if choice.index < len(row) else ""
        if term:
            counts[term] = counts.get(term, 0) + 1
    if not counts:
        raise InputError(f"{path} has no terms in column {choice.index + 1}. Choose another column.")
    return TermList(counts, "xlsx", str(path), lines)
