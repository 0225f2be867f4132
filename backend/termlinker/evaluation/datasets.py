"""Benchmark datasets, read in place from the shared data folder (never copied)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..io.terms import detect_encoding
from ..vocab.model import Concept, Vocabulary, VocabularyInfo

DEFAULT_DATA_DIR = Path("../shared/data")


@dataclass(frozen=True)
class Example:
    term: str
    gold: str


def read_gold_tsv(path: str | Path) -> list[Example]:
    """``term<TAB>gold_id`` per line; blank lines skipped."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"No such file: {path}.")
    encoding = detect_encoding(path)
    out = []
    with open(path, encoding=encoding) as fh:
        for line_no, line in enumerate(fh, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) < 2 or not parts[0].strip() or not parts[1].strip():
                raise InputError(f"{path}, line {line_no}: expected `term<TAB>concept id`.")
            out.append(Example(parts[0].strip(), parts[1].strip()))
    if not out:
        raise InputError(f"{path} has no examples. Write one `term<TAB>concept id` per line.")
    return out


def askapatient_dir(data_dir: str | Path | None) -> Path:
    folder = Path(data_dir or DEFAULT_DATA_DIR) / "askapatient"
    if not (folder / "concepts.json").exists():
        raise InputError(f"Ask A Patient data not found in {folder}. Pass --data-dir pointing at the folder holding askapatient/.")
    return folder


def askapatient_vocabulary(data_dir: str | Path | None = None) -> Vocabulary:
    folder = askapatient_dir(data_dir)
    raw = json.loads((folder / "concepts.json").read_text(encoding="utf-8"))
    concepts = []
    for concept_id, names in raw.items():
        primary = [n for kind, n in names if kind == "primary"] or [names[0][1]]
        aliases = tuple(n for kind, n in names if n != primary[0])
        concepts.append(Concept(concept_id, primary[0], aliases))
    info = VocabularyInfo("askapatient", "Limsopatham & Collier 2016", "Ask A Patient concepts.json",
                          "Limsopatham N, Collier N. Normalising Medical Concepts in Social Media Texts by Learning "
                          "Semantic Representation. ACL 2016. CC BY 4.0.")
    return Vocabulary(info, concepts)


def askapatient_split(fold: int, split: str, data_dir: str | Path | None = None) -> list[Example]:
    folder = askapatient_dir(data_dir)
    path = folder / f"AskAPatient.fold-{fold}.{split}.txt"
    if not path.exists():
        raise InputError(f"{path} not found; folds are 0-9 and splits train, validation, test.")
    out = []
    with open(path, encoding="latin-1") as fh:
        for line in fh:
            parts = line.rstrip("\r\n").split("\t")
            if len(parts) >= 3 and parts[2].strip():
                out.append(Example(parts[2].strip(), parts[0].strip()))
    return out
