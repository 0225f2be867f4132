"""Labelled terms: one (term, concept) pair type, and the readers for every place labels come from.

A pair says "this term means that concept", from the user's gold file, an approved review
decision or the teacher's answer. Every learner takes these pairs (learned aliases, the learned
ranking, the retriever and re-ranker data) and none of them reads files: front ends read here and
hand the pairs over. Precedence between sources, when one term is labelled twice, is
``distill.dataset.merge_gold``'s business.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

SOURCES = ("gold", "review", "teacher")  # highest precedence first
# A project term's count is how often it occurred in the imported list; the retriever trains on a
# term that often (as on repeated label rows), but a phrase seen 5,000 times must not take the run over.
MAX_REVIEW_REPEATS = 20


@dataclass(frozen=True)
class LabelledPair:
    term: str
    concept_id: str
    source: str = "gold"  # one of SOURCES
    count: int = 1  # how many labelled rows said this (term, concept): a frequent phrase weighs more


def read_gold_tsv(path: str | Path) -> list[LabelledPair]:
    """``term<TAB>concept id`` per line (further columns ignored, blank lines skipped)."""
    from .io.terms import detect_encoding

    path = Path(path)
    if not path.exists():
        raise InputError(f"No such file: {path}.")
    out = []
    with open(path, encoding=detect_encoding(path)) as fh:
        for line_no, line in enumerate(fh, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) < 2 or not parts[0].strip() or not parts[1].strip():
                raise InputError(f"{path}, line {line_no}: expected `term<TAB>concept id`.")
            out.append(LabelledPair(parts[0].strip(), parts[1].strip(), "gold"))
    if not out:
        raise InputError(f"{path} has no pairs. Write one `term<TAB>concept id` per line.")
    return out


def read_review_decisions(path: str | Path) -> list[LabelledPair]:
    """A review project's (``.tlproj``) approved decisions, each counted as often as its term occurred
    (at most ``MAX_REVIEW_REPEATS``)."""
    from .project.project import Project

    with Project.open(path) as project:
        return [LabelledPair(r.term, r.concept_id, "review", count=max(1, min(r.count, MAX_REVIEW_REPEATS)))
                for r in project.iter_rows(status="approved") if r.concept_id]


def read_teacher_labels(path: str | Path) -> list[LabelledPair]:
    """A `distill label` export (JSONL); only status ``ok`` rows: ``none``/``invalid`` answers carry
    no concept to learn."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"No such labels file: {path}. Create it with `termlinker distill label`.")
    out = []
    with open(path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise InputError(f"{path}, line {line_no}: not JSON ({exc}). Export the labels again.") from exc
            if row.get("status") == "ok" and row.get("term") and row.get("concept_id"):
                out.append(LabelledPair(str(row["term"]), str(row["concept_id"]), "teacher"))
    return out


def read_labelled_pairs(paths: Iterable[str | Path]) -> list[LabelledPair]:
    """Pairs from any mix of sources, in order, chosen by suffix: review projects (``.tlproj``),
    teacher labels (``.jsonl``) and gold files (anything else, ``term<TAB>concept id``)."""
    out: list[LabelledPair] = []
    for path in paths:
        suffix = Path(path).suffix.lower()
        if suffix == ".tlproj":
            out += read_review_decisions(path)
        elif suffix == ".jsonl":
            out += read_teacher_labels(path)
        else:
            out += read_gold_tsv(path)
    return out
