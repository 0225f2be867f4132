"""Excel workbooks (.xlsx) as rows of text cells, read with openpyxl (the desktop extra).

An .xlsx is a zip file full of NUL bytes, so it never goes through the text readers' checks;
a damaged or foreign file gives one line instead of openpyxl's traceback.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

from ..errors import InputError


def _open(path: Path):
    try:
        from openpyxl import load_workbook
        from openpyxl.utils.exceptions import InvalidFileException
    except ImportError as exc:
        raise InputError("Reading .xlsx needs the openpyxl package (pip install 'termlinker[desktop]'), or save "
                         "the sheet as CSV.") from exc
    try:
        return load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InputError(f"{path} is not a readable Excel workbook ({exc}). Save it again as .xlsx or CSV.") from None


def sheet_names(path: Path) -> tuple[str, ...]:
    book = _open(path)
    try:
        return tuple(book.sheetnames)
    finally:
        book.close()


def xlsx_rows(path: Path, sheet: str | None = None) -> Iterator[list[str]]:
    """The rows of ``sheet`` (default: the first), every cell as text ("" when empty)."""
    book = _open(path)
    try:
        if sheet is None:
            chosen = book.worksheets[0]
        elif sheet in book.sheetnames:
            chosen = book[sheet]
        else:
            raise InputError(f"{path} has no sheet named {sheet!r}; its sheets are: {', '.join(book.sheetnames)}.")
        for row in chosen.iter_rows(values_only=True):
            yield ["" if v is None else _text(v) for v in row]
    finally:
        book.close()


def _text(value: object) -> str:
    # A count typed as 3 comes back as the int 3, or as 3.0 from some writers: both read as "3".
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
