"""Tab- or comma-separated vocabularies: ``id, name[, synonyms separated by |]``.

These are what people export from spreadsheets, so the loader guesses what a
spreadsheet leaves unsaid (encoding, delimiter, header row) and says exactly which
line is wrong when a guess cannot rescue the file.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from ..errors import VocabularyError
from ..io.encoding import decode_bytes, looks_binary
from ._common import PathLike, at, build_vocabulary, default_name, duplicate_message, guess_language, read_bytes
from .model import Concept, Vocabulary, VocabularyInfo

SYNONYM_SEPARATOR = "|"
_DELIMITER_BY_SUFFIX = {".tsv": "\t", ".tab": "\t", ".csv": ","}

# First-row cells that only a header would contain. Kept to unambiguous words, because
# a false positive silently drops the first concept.
_ID_HEADERS = frozenset({
    "id", "ids", "code", "codes", "concept_id", "conceptid", "concept", "cui", "identifier", "curie",
    "term_id", "hpo_id", "hp_id", "icd", "icd10", "icd_10", "icd_code", "icd10_code", "code_id",
    "编码", "代码", "编号", "疾病编码", "诊断编码", "icd编码", "icd代码", "主要编码",
})
_NAME_HEADERS = frozenset({
    "name", "names", "label", "term", "preferred_name", "preferred_term", "canonical_name", "description",
    "名称", "名字", "术语", "诊断名称", "疾病名称", "标准名称", "诊断", "疾病", "标准词",
})
_HEADER_SAMPLE_ROWS = 50


def load_table(
    path: PathLike,
    name: str | None = None,
    delimiter: str | None = None,
    *,
    header: bool | None = None,
) -> Vocabulary:
    """Load a TSV/CSV vocabulary; ``delimiter`` and ``header`` override detection."""
    target, data = read_bytes(path)
    text, _encoding = decode_bytes(data)
    if looks_binary(text):
        raise VocabularyError(f"{target} looks like a binary file (it holds NUL bytes in any encoding), not a "
                              "vocabulary table. Give a .tsv or .csv file of id, name and synonyms.")
    delimiter = delimiter or detect_delimiter(target, text)
    rows = _read_rows(target, text, delimiter)
    if rows and (header if header is not None else looks_like_header([cells for _, cells in rows])):
        rows = rows[1:]

    concepts: list[Concept] = []
    seen: dict[str, tuple[int, int]] = {}  # id -> (line, position in concepts)
    for line, cells in rows:
        concept = _concept_from_row(target, line, cells, delimiter)
        previous = seen.get(concept.concept_id)
        if previous is not None:
            # Identical repeated rows are a copy-paste artefact, not a conflict.
            if concepts[previous[1]] == concept:
                continue
            raise VocabularyError(duplicate_message(target, concept.concept_id, previous[0], line))
        seen[concept.concept_id] = (line, len(concepts))
        concepts.append(concept)

    info = VocabularyInfo(
        name=name or default_name(target),
        source=str(target),
        language=guess_language(c.canonical_name for c in concepts),
    )
    return build_vocabulary(target, info, concepts)


def detect_delimiter(path: Path, text: str) -> str:
    """Tab for .tsv/.tab, comma for .csv; otherwise the delimiter the first lines use."""
    by_suffix = _DELIMITER_BY_SUFFIX.get(path.suffix.lower())
    if by_suffix:
        return by_suffix
    lines = [line for line in text[:65536].splitlines()[:50] if line.strip()]
    # Tabs almost never occur inside names, so any tab on the first line settles it;
    # commas do occur inside names (Chinese diagnoses), so they need the sniffer.
    if lines and "\t" in lines[0]:
        return "\t"
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;").delimiter
    except csv.Error:
        return ","


def looks_like_header(rows: list[list[str]]) -> bool:
    """Whether the first row names the columns rather than holding a concept.

    Conservative on purpose: a known column word in the first row, or a first id cell
    that is a lower-case or Chinese word without digits while every id below it has
    digits (codes nearly always do). Upper-case words without digits, such as the
    Roman chapter numbers of ICD files, stay data.
    """
    if not rows or not rows[0]:
        return False
    first = rows[0]
    id_cell = _header_word(first[0])
    if id_cell in _ID_HEADERS:
        return True
    has_digit = any(ch.isdigit() for ch in id_cell)
    if len(first) > 1 and _header_word(first[1]) in _NAME_HEADERS and not has_digit:
        return True
    wordlike = any(ch.islower() or "\u4e00" <= ch <= "\u9fff" for ch in first[0])  # before case-folding
    below = [cells[0] for cells in rows[1 : 1 + _HEADER_SAMPLE_ROWS] if cells]
    return (
        bool(id_cell) and wordlike and not has_digit
        and bool(below) and all(any(ch.isdigit() for ch in cell) for cell in below)
    )


def _header_word(cell: str) -> str:
    return re.sub(r"[\s\-]+", "_", cell.strip().lstrip("#").strip().casefold())


def _read_rows(path: Path, text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """Non-blank rows with the (1-based) line each one ends on."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                rows.append((reader.line_num, cells))
    except csv.Error as exc:
        raise VocabularyError(f"{at(path, reader.line_num)}: cannot read this row ({exc}).") from None
    return rows


def _concept_from_row(path: Path, line: int, cells: list[str], delimiter: str) -> Concept:
    where = at(path, line)
    shown = "TAB" if delimiter == "\t" else repr(delimiter)
    if len(cells) < 2:
        raise VocabularyError(
            f"{where}: found only {len(cells)} column; "
            f"expected id{shown}name (optionally {shown}synonyms separated by |). "
            "Check the delimiter or fix this line."
        )
    concept_id, canonical_name = cells[0].strip(), cells[1].strip()
    if not concept_id:
        raise VocabularyError(f"{where}: the id column is empty. Give every row an id.")
    if not canonical_name:
        raise VocabularyError(f"{where}: the name column is empty for id {concept_id!r}. Give every row a name.")
    synonyms = cells[2].split(SYNONYM_SEPARATOR) if len(cells) > 2 else []
    return Concept(concept_id, canonical_name, tuple(s.strip() for s in synonyms if s.strip()))

