"""Helpers shared by the vocabulary loaders: reading files, locating errors, building."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ..errors import VocabularyError
from .model import Concept, ObsoleteConcept, Vocabulary, VocabularyInfo

PathLike = str | os.PathLike[str]


def at(path: Path, line: int) -> str:
    """How an error message points at a place in a file."""
    return f"{path}, line {line}"


def check_readable(path: PathLike) -> Path:
    """The file as a Path, or a VocabularyError saying why it cannot be used."""
    target = Path(path).expanduser()
    if not target.exists():
        raise VocabularyError(f"Vocabulary file {target} does not exist. Check the path and try again.")
    if target.is_dir():
        raise VocabularyError(f"{target} is a folder; give the vocabulary file inside it.")
    return target


def read_bytes(path: PathLike) -> tuple[Path, bytes]:
    target = check_readable(path)
    try:
        return target, target.read_bytes()
    except OSError as exc:
        raise VocabularyError(f"Cannot read vocabulary file {target}: {exc.strerror or exc}.") from exc


def default_name(path: Path) -> str:
    return path.stem


def guess_language(names: Iterable[str], sample: int = 500) -> str:
    """"zh" when most of the first names contain Han characters, else "en".

    Only a hint for later rooms (model and prompt choice); a file's own header wins.
    """
    seen = han = 0
    for name in names:
        seen += 1
        if any("\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" for ch in name):
            han += 1
        if seen >= sample:
            break
    return "zh" if seen and han * 2 > seen else "en"


def build_vocabulary(path: Path, info: VocabularyInfo, concepts: list[Concept], *,
                     obsolete: dict[str, ObsoleteConcept] | None = None,
                     groups: list[Concept] | None = None) -> Vocabulary:
    if not concepts:
        raise VocabularyError(
            f"{path} has no concepts. Check that it is the right file and that it is not empty."
        )
    return Vocabulary(info, concepts, obsolete or {}, groups or [])


def duplicate_message(path: Path, concept_id: str, first_line: int, line: int) -> str:
    return (
        f"{at(path, line)}: concept id {concept_id!r} was already defined on line {first_line}. "
        "Each id may appear only once; merge the two entries (put extra names in the synonyms) and import again."
    )
