"""Where the desktop's terms come from: a paste, a .txt, or one column of a .csv/.tsv/.xlsx table.

Every file is read by the engine (``read_terms``, ``preview_table``, through ``termlinker.api``),
so the app and the command line agree on encodings, headers, blank lines and whitespace; this
module only holds what the import dialog chose.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from termlinker.api import (InputError, TablePreview, TermList, guess_header, is_table, preview_table, read_terms,
                            terms_from_text)

FILE_FILTER = "Term lists (*.txt *.csv *.tsv *.tab *.xlsx);;All files (*)"

__all__ = ["FILE_FILTER", "ColumnChoice", "TablePreview", "guess_header", "is_table", "preview_table", "read_file",
           "terms_from_text"]


@dataclass(frozen=True)
class ColumnChoice:
    index: int  # 0-based
    has_header: bool
    count_index: int | None = None  # 0-based column of how often each row's term occurred; None: once each
    sheet: str | None = None  # an .xlsx sheet; None: the first


def read_file(path: Path, choice: ColumnChoice | None = None) -> TermList:
    """Terms of a .txt file, or of one column of a table (``choice`` is then required)."""
    if not is_table(path):
        return read_terms(path)
    if choice is None:
        raise InputError(f"Choose which column of {path.name} holds the terms.")
    count = None if choice.count_index is None else str(choice.count_index + 1)
    return read_terms(path, column=str(choice.index + 1), header=choice.has_header, count_column=count,
                      sheet=choice.sheet)
