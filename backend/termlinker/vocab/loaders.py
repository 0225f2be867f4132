"""Loading a vocabulary from a file, whatever its format.

The formats live in their own modules (:mod:`.jsonl`, :mod:`.table`, :mod:`.obo`, and
:mod:`.athena` for an OHDSI Athena download folder); this module is the one entry point the rest
of TermLinker calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..errors import VocabularyError
from ._common import PathLike, check_readable
from .athena import CONCEPT_FILE, athena_folder, load_athena
from .jsonl import load_jsonl, read_jsonl_header, save_jsonl
from .model import Vocabulary
from .obo import load_obo, parse_obo
from .table import load_table

JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")
TABLE_SUFFIXES = (".tsv", ".tab", ".csv", ".txt")
OBO_SUFFIXES = (".obo",)
SUPPORTED_FORMATS = (
    "JSON Lines (.jsonl: concept_id, canonical_name, aliases), "
    "tables (.tsv, .csv, .txt: id, name, synonyms separated by |), "
    "OBO ontologies (.obo), "
    "OHDSI Athena downloads (the folder holding CONCEPT.csv)"
)

__all__ = [
    "SUPPORTED_FORMATS",
    "load_athena",
    "load_jsonl",
    "load_obo",
    "load_table",
    "load_vocabulary_file",
    "parse_obo",
    "read_jsonl_header",
    "save_jsonl",
]


def load_vocabulary_file(path: PathLike, name: str | None = None, *, vocabulary_ids: Iterable[str] = ()) -> Vocabulary:
    """Load ``path`` with the loader its extension names; an Athena download (its folder or its
    CONCEPT.csv) as OMOP concepts, only those of ``vocabulary_ids`` when any are given."""
    folder = athena_folder(path)
    if folder is not None:
        return load_athena(folder, name, vocabulary_ids)
    vocabulary_ids = [v for v in vocabulary_ids if v.strip()]
    if vocabulary_ids:
        raise VocabularyError(
            f"Vocabulary ids ({', '.join(vocabulary_ids)}) choose concepts of an OHDSI Athena download, and "
            f"{path} is not one (an Athena folder holds {CONCEPT_FILE}). Import it without them."
        )
    if Path(path).expanduser().is_dir():
        raise VocabularyError(f"{path} is a folder: give the vocabulary file inside it, or an OHDSI Athena "
                              f"download folder (one that holds {CONCEPT_FILE}).")
    target = check_readable(path)
    suffix = Path(target).suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return load_jsonl(target, name)
    if suffix in TABLE_SUFFIXES:
        return load_table(target, name)
    if suffix in OBO_SUFFIXES:
        return load_obo(target, name)
    raise VocabularyError(
        f"Cannot tell the format of {target} from its extension {suffix or '(none)'!s}. "
        f"Supported: {SUPPORTED_FORMATS}. Rename the file to one of these extensions."
    )
