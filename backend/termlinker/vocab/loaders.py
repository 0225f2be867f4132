"""Loading a vocabulary from a file, whatever its format.

The formats live in their own modules (:mod:`.jsonl`, :mod:`.table`, :mod:`.obo`);
this module is the one entry point the rest of TermLinker calls.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import VocabularyError
from ._common import PathLike, check_readable
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
    "OBO ontologies (.obo)"
)

__all__ = [
    "SUPPORTED_FORMATS",
    "load_jsonl",
    "load_obo",
    "load_table",
    "load_vocabulary_file",
    "parse_obo",
    "read_jsonl_header",
    "save_jsonl",
]


def load_vocabulary_file(path: PathLike, name: str | None = None) -> Vocabulary:
    """Load ``path`` with the loader its extension names."""
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
