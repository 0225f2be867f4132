"""Public benchmark datasets (Ask A Patient, CHIP-CDN), read in place from a folder the caller names.

The data is not shipped and has no default location: `evaluate --dataset` and the benchmark
scripts take `--data-dir`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..labels import LabelledPair
from ..vocab.model import Concept, Vocabulary, VocabularyInfo



@dataclass(frozen=True)
class Example:
    term: str
    gold: str


def read_gold_tsv(path: str | Path) -> list[Example]:
    """``term<TAB>gold_id`` per line; blank lines skipped."""
    from ..labels import read_gold_tsv

    return [Example(p.term, p.concept_id) for p in read_gold_tsv(path)]


def _data_dir(data_dir: str | Path | None, name: str) -> Path:
    if not data_dir:
        raise InputError(f"Give --data-dir: the folder holding {name}/ (benchmark data is not shipped with TermLinker).")
    return Path(data_dir) / name


def askapatient_dir(data_dir: str | Path | None) -> Path:
    folder = _data_dir(data_dir, "askapatient")
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


# --- CHIP-CDN (Chinese diagnosis normalisation to ICD-10 Beijing v6.01 names) -------------

CHIP_CDN_FOLDS = 5
CHIP_CDN_SEED = 13


@dataclass(frozen=True)
class MultiExample:
    """A raw diagnosis and its gold concept NAMES (CHIP-CDN's answers are names, not codes)."""

    term: str
    golds: tuple[str, ...]


def chip_cdn_dir(data_dir: str | Path | None) -> Path:
    folder = _data_dir(data_dir, "chip-cdn")
    if not (folder / "train.json").exists() or not (folder / "icd10-beijing-v601.tsv").exists():
        raise InputError(f"CHIP-CDN data not found in {folder} (train.json, icd10-beijing-v601.tsv). "
                         "Pass --data-dir pointing at the folder holding chip-cdn/.")
    return folder


def read_chip_cdn(data_dir: str | Path | None = None) -> list[MultiExample]:
    """train.json: ``[{"text", "normalized_result": "name1##name2"}, ...]``, in file order."""
    path = chip_cdn_dir(data_dir) / "train.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for item in raw:
        result = _csv_unquoted(str(item.get("normalized_result", "")))
        golds = tuple(dict.fromkeys(g.strip() for g in result.split("##") if g.strip()))
        term = _csv_unquoted(str(item.get("text", "")))
        if term and golds:
            out.append(MultiExample(term, golds))
    return out


def _csv_unquoted(field: str) -> str:
    """A field as written before CSV quoting: train.json keeps the quotes of a CSV export around
    every field that holds a comma ('"下肢未特指的损伤,水平未特指"', 74 answers and 191 diagnoses), and
    with them an answer names no vocabulary entry and can never be scored right."""
    field = field.strip()
    if len(field) >= 2 and field[0] == field[-1] == '"':
        return field[1:-1].replace('""', '"').strip()
    return field


def chip_cdn_vocabulary(data_dir: str | Path | None = None) -> Vocabulary:
    from ..vocab.loaders import load_table

    return load_table(chip_cdn_dir(data_dir) / "icd10-beijing-v601.tsv", name="icd10-beijing-v601")


def fold_of(n: int, folds: int = CHIP_CDN_FOLDS, seed: int = CHIP_CDN_SEED) -> list[int]:
    """Fold number of each of ``n`` items: a seeded shuffle dealt round-robin (sizes differ by ≤ 1)."""
    import random

    order = list(range(n))
    random.Random(seed).shuffle(order)
    out = [0] * n
    for rank, i in enumerate(order):
        out[i] = rank % folds
    return out


def cross_validation_split(examples: list, fold: int, folds: int = CHIP_CDN_FOLDS,
                           seed: int = CHIP_CDN_SEED) -> tuple[list, list]:
    """(train, test) for ``fold``: test is that fold's share, train the rest, both in input order."""
    if not 0 <= fold < folds:
        raise InputError(f"fold must be 0-{folds - 1}.")
    assignment = fold_of(len(examples), folds, seed)
    train = [e for e, f in zip(examples, assignment) if f != fold]
    test = [e for e, f in zip(examples, assignment) if f == fold]
    return train, test


MULTI_LABEL_RULES = ("both", "align", "all", "skip")


def chip_cdn_alias_pairs(examples: list[MultiExample], vocab: Vocabulary, multi: str = "both") -> list[LabelledPair]:
    """Labelled CHIP-CDN items as (raw term, concept id) pairs to learn (vocab.aliases).

    Gold answers are names: each maps to the first concept carrying that canonical name (names
    shared by several codes are equal for the name-based scores). Single-label items give their
    raw text. Items with several golds (``multi``): "align" pairs each part of the text
    (text.split_terms) with one gold when the counts agree, by character-bigram overlap; "all"
    makes the whole text an alias of every gold (a Linker with ``split_multi`` then answers all of
    them for a term that matches it best); "both" does both; "skip" learns nothing from them."""
    from ..text import normalise

    if multi not in MULTI_LABEL_RULES:
        raise InputError(f"multi-label rule must be one of {', '.join(MULTI_LABEL_RULES)}.")
    by_name: dict[str, str] = {}
    for concept in vocab.concepts:
        by_name.setdefault(normalise(concept.canonical_name), concept.concept_id)
    out: list[LabelledPair] = []
    for e in examples:
        ids = [by_name.get(normalise(g)) for g in e.golds]
        if len(ids) == 1 or multi in ("all", "both"):
            out.extend(LabelledPair(e.term, i) for i in ids if i)
        if len(ids) > 1 and multi in ("align", "both"):
            out.extend(LabelledPair(part, i) for part, i in _align_parts(e.term, e.golds, ids) if i)
    return out


def _align_parts(term: str, golds: tuple[str, ...], ids: list[str | None]) -> list[tuple[str, str | None]]:
    """One gold per part, greedily by the share of the part's characters and bigrams found in the
    gold name (abbreviations keep their characters: 骨松 -> 骨质疏松); nothing when counts differ."""
    from ..text import split_terms

    parts = split_terms(term)
    if len(parts) != len(golds):
        return []
    grams = [_grams(p) for p in parts]
    pairs = sorted(((len(grams[i] & _grams(g)) / len(grams[i]), -i, -j)
                    for i in range(len(parts)) for j, g in enumerate(golds)), reverse=True)
    used_parts: set[int] = set()
    used_golds: set[int] = set()
    out = []
    for _, i, j in pairs:
        i, j = -i, -j
        if i not in used_parts and j not in used_golds:
            used_parts.add(i)
            used_golds.add(j)
            out.append((parts[i], ids[j]))
    return out


def _grams(text: str) -> set[str]:
    return set(text) | {text[i:i + 2] for i in range(len(text) - 1)}
