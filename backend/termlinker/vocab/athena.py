"""OHDSI Athena vocabulary downloads: the OMOP CDM's ``CONCEPT.csv`` and ``CONCEPT_SYNONYM.csv``.

A download from athena.ohdsi.org is a folder of tab-separated files with a header row and no
quoting. Each concept becomes a :class:`Concept` whose id is its OMOP ``concept_id``, so that an
OMOP export can write it as ``target_concept_id``; its OMOP fields are kept in ``types`` as
``"field:value"`` (``vocabulary_id:SNOMED``, ``domain_id:Condition``, ``concept_class_id:…``,
``standard_concept:S``, ``concept_code:25064002``; a field left empty in Athena, such as the
standard flag of a non-standard concept, is left out). :func:`omop_fields` reads them back.

``CONCEPT.csv`` holds millions of rows in a full download: both files are streamed row by row and
only the concepts kept (the ``vocabulary_id`` s asked for, valid ones) are held in memory.
Deprecated and upgraded concepts (``invalid_reason`` D or U) are left out: they are no mapping target.
"""

from __future__ import annotations

import csv
import operator
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import VocabularyError
from ._common import PathLike, at, guess_language
from .model import Concept, Vocabulary, VocabularyInfo

OMOP_KIND = "omop"
CONCEPT_FILE = "CONCEPT.csv"
SYNONYM_FILE = "CONCEPT_SYNONYM.csv"
VOCABULARY_FILE = "VOCABULARY.csv"
# The OMOP fields a concept keeps, in ``Concept.types`` as "field:value".
FIELDS = ("vocabulary_id", "domain_id", "concept_class_id", "standard_concept", "concept_code")
ATHENA_CITATION = ("OMOP Standardized Vocabularies, downloaded from OHDSI Athena (https://athena.ohdsi.org); "
                   "each source vocabulary's own licence applies.")
HOW_TO_GET = ("download the vocabularies from OHDSI Athena (https://athena.ohdsi.org) and import the "
              "unzipped folder with `termlinker vocab import ATHENA_FOLDER --name NAME`")

_CONCEPT_COLUMNS = ("concept_id", "concept_name", "vocabulary_id", "domain_id", "concept_code",
                    "concept_class_id", "standard_concept", "invalid_reason")
_CONCEPT_REQUIRED = 5  # the first five above; the others may be absent
_SYNONYM_COLUMNS = ("concept_id", "concept_synonym_name")
_VOCABULARY_COLUMNS = ("vocabulary_id", "vocabulary_version")


def athena_folder(path: PathLike) -> Path | None:
    """The download folder when ``path`` is one (it holds CONCEPT.csv) or is its CONCEPT.csv; else None."""
    path = Path(path).expanduser()
    if path.is_dir():
        return path if _find(path, CONCEPT_FILE) is not None else None
    if path.name.casefold() == CONCEPT_FILE.casefold() and path.is_file():
        try:
            with open(path, encoding="utf-8-sig", errors="replace") as fh:
                first = fh.readline(4096)
        except OSError:
            return None
        return path.parent if first.casefold().startswith("concept_id\t") else None
    return None


def omop_fields(concept: Concept) -> dict[str, str]:
    """The concept's OMOP fields (:data:`FIELDS`, "" where Athena left one empty)."""
    fields = dict.fromkeys(FIELDS, "")
    for item in concept.types:
        key, sep, value = item.partition(":")
        if sep and key in fields:
            fields[key] = value
    return fields


def load_athena(path: PathLike, name: str | None = None, vocabulary_ids: Iterable[str] = ()) -> Vocabulary:
    """The concepts of an Athena download (its folder, or its CONCEPT.csv), only those whose
    ``vocabulary_id`` is one of ``vocabulary_ids`` (without regard to case) when any are given."""
    folder = athena_folder(path)
    if folder is None:
        raise VocabularyError(f"{path} is not an OHDSI Athena download: it holds no {CONCEPT_FILE}. "
                              f"To use OMOP concepts, {HOW_TO_GET}.")
    wanted = {v.strip().casefold(): v.strip() for v in vocabulary_ids if v.strip()}
    concept_file = _find(folder, CONCEPT_FILE)
    assert concept_file is not None  # athena_folder found it
    kept, index, present = _read_concepts(concept_file, set(wanted))
    missing = sorted(wanted[key] for key in wanted.keys() - {v.casefold() for v in present})
    if missing or not kept:
        shown = ", ".join(sorted(present)) or "none"
        what = f"no concepts of vocabulary_id {', '.join(missing)}" if missing else "no valid concepts"
        raise VocabularyError(f"{concept_file} has {what}. Its vocabulary_ids: {shown}. "
                              "Give the ids as Athena spells them (--vocabulary-id SNOMED), or download them.")
    synonym_file = _find(folder, SYNONYM_FILE)
    if synonym_file is not None:
        for _line, (concept_id, synonym) in _rows(synonym_file, _SYNONYM_COLUMNS, len(_SYNONYM_COLUMNS)):
            position = index.get(concept_id.strip())
            synonym = synonym.strip()
            if position is not None and synonym:
                _id, concept_name, _types, aliases = kept[position]
                if synonym.casefold() not in {concept_name.casefold(), *(a.casefold() for a in aliases)}:
                    aliases.append(synonym)
    index.clear()
    language = guess_language(entry[1] for entry in kept)
    concepts: list = kept  # turned into Concepts in place, so that the rows are never held twice
    for i, (concept_id, concept_name, types, aliases) in enumerate(kept):
        concepts[i] = Concept(concept_id, concept_name, tuple(aliases), types)
    info = VocabularyInfo(name=name or folder.name, version=_versions(folder, present), source=str(folder),
                          citation=ATHENA_CITATION, language=language, kind=OMOP_KIND)
    return Vocabulary(info, concepts)


def _read_concepts(path: Path, wanted: set[str]) -> tuple[list, dict[str, int], set[str]]:
    """Kept rows as ``[concept_id, name, types, aliases]``, their positions by id, and every
    vocabulary_id kept (or, when nothing matched, every one seen, to say what the file holds)."""
    kept: list = []
    index: dict[str, int] = {}
    seen: set[str] = set()
    matched: set[str] = set()
    for line, row in _rows(path, _CONCEPT_COLUMNS, _CONCEPT_REQUIRED):
        concept_id, concept_name, vocabulary_id, domain_id, code, concept_class, standard, invalid = row
        seen.add(vocabulary_id)
        if (wanted and vocabulary_id.casefold() not in wanted) or invalid.strip():
            continue
        concept_id, concept_name = concept_id.strip(), concept_name.strip()
        if not concept_id.isascii() or not concept_id.isdigit():
            raise VocabularyError(f"{at(path, line)}: concept_id {concept_id!r} is not an OMOP concept_id "
                                  "(a whole number). Is this an Athena CONCEPT.csv?")
        if not concept_name:
            raise VocabularyError(f"{at(path, line)}: concept {concept_id} has an empty concept_name.")
        if concept_id in index:
            raise VocabularyError(f"{at(path, line)}: concept_id {concept_id} appears a second time. "
                                  "Download the vocabularies again from Athena.")
        values = (vocabulary_id, domain_id, concept_class, standard, code)
        types = tuple(f"{field}:{value.strip()}" for field, value in zip(FIELDS, values) if value.strip())
        index[concept_id] = len(kept)
        kept.append([concept_id, concept_name, types, []])
        matched.add(vocabulary_id)
    return kept, index, matched if kept else seen


def _rows(path: Path, columns: tuple[str, ...], required: int) -> Iterator[tuple[int, tuple[str, ...]]]:
    """(line, the named columns' cells) of each non-blank row of a tab-separated Athena file,
    read one row at a time; columns past the first ``required`` may be missing (then "")."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
            header = {cell.strip().casefold(): i for i, cell in enumerate(next(reader, []))}
            absent = [c for c in columns[:required] if c not in header]
            if absent:
                raise VocabularyError(
                    f"{path} has no column {', '.join(absent)} in its first row ({', '.join(header) or 'empty'}). "
                    "Athena files are tab-separated with a header row; give the folder as downloaded."
                )
            extra = len(header)  # a column the file lacks reads as the empty cell appended below
            pick = operator.itemgetter(*(header.get(c, extra) for c in columns))
            for cells in reader:
                if len(cells) < extra:
                    if not any(cells):
                        continue
                    raise VocabularyError(f"{at(path, reader.line_num)}: {len(cells)} cells where the header has "
                                          f"{extra}. Athena files are tab-separated; download the file again.")
                cells.append("")
                yield reader.line_num, pick(cells)
    except UnicodeDecodeError:
        raise VocabularyError(f"{path} is not UTF-8 text, as Athena writes it. Download it again.") from None
    except csv.Error as exc:
        raise VocabularyError(f"{path}: cannot read a row ({exc}).") from None
    except OSError as exc:
        raise VocabularyError(f"Cannot read {path}: {exc.strerror or exc}.") from exc


def _versions(folder: Path, vocabulary_ids: set[str]) -> str:
    """"SNOMED <version>; …" from VOCABULARY.csv for the vocabularies kept; "" without that file."""
    path = _find(folder, VOCABULARY_FILE)
    if path is None:
        return ""
    versions = {vid: version.strip() for _line, (vid, version) in _rows(path, _VOCABULARY_COLUMNS, 1)
                if vid in vocabulary_ids}
    return "; ".join(f"{vid} {versions[vid]}".strip() for vid in sorted(versions))


def _find(folder: Path, name: str) -> Path | None:
    """``folder/name``, matched without regard to case (Athena writes upper case; unzippers vary)."""
    exact = folder / name
    if exact.is_file():
        return exact
    key = name.casefold()
    try:
        return next((p for p in folder.iterdir() if p.name.casefold() == key and p.is_file()), None)
    except OSError:
        return None
