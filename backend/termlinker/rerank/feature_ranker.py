"""A learned ranking of the retriever's candidates: a linear model over a few cheap features.

Trained from the user's labelled pairs (rerank.learn_ranking), it learns what the retriever's
fused score cannot: how much the characters or words of a name must overlap the term, and which
concepts this clinic's labels favour (how often each was chosen). It needs no LLM, runs in
microseconds per term and is stored as plain JSON (numbers only: nothing executable is loaded).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..errors import ModelCorruptError, ModelError
from ..paths import DataDirs, safe_name
from ..text import normalise
from ..types import Candidate

FORMAT = "termlinker-feature-ranker"
VERSION = 1
# How much an LLM re-ranker's yes-minus-no margin moves a ranked candidate's log-probability
# (fusion.fuse_ranked). Chosen on the distilled re-ranker's validation terms of AAP fold 1 (0.5 for
# Q4_K_M, 1 for Q8_0; test Acc@1 flat within 0.005 over 0.3-1); `ranker train --llm-weight` overrides.
LLM_WEIGHT = 0.5
DEPTH = 30  # candidates the retriever hands over; the gold of CHIP-CDN fold 0 is in the top 30 81% of the time
FEATURES = (
    "retrieval_score", "exact", "log_rank", "gap_to_best", "log_prior", "seen",
    "unit_overlap_of_name", "unit_overlap_of_term", "pair_overlap_of_name", "pair_overlap_of_term",
    "length_ratio", "name_in_term", "term_in_name",
)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"\w+")


def saved_ranker_path(dirs: DataDirs, name: str) -> Path:
    """Where a ranker named ``name`` lives (``models/rankers/NAME.json``; one per vocabulary by default).

    The default name is a vocabulary's, which may come from inside a file: an unsafe one is
    refused (InputError) rather than joined into a path."""
    return dirs.rankers / f"{safe_name(name, 'ranker name')}.json"


def units(text: str) -> list[str]:
    """Characters of Chinese (or Japanese) text, words of anything else: the units overlap is counted in."""
    text = normalise(text)
    if _CJK.search(text):
        return [ch for ch in text if not ch.isspace()]
    return _WORD.findall(text)


def _pairs(seq: list[str]) -> set[tuple[str, str]]:
    return set(zip(seq, seq[1:]))


def features(term: str, candidates: list[Candidate], prior: dict[str, int]) -> np.ndarray:
    """One row of FEATURES per candidate (in the retriever's order)."""
    t_units = units(term)
    t_set, t_pairs = set(t_units), _pairs(t_units)
    t_text = "".join(t_units) if _CJK.search(term) else " ".join(t_units)
    best = candidates[0].retrieval_score if candidates else 0.0
    rows = []
    for rank, c in enumerate(candidates):
        n_units = units(c.name)
        n_set, n_pairs = set(n_units), _pairs(n_units)
        n_text = "".join(n_units) if _CJK.search(c.name) else " ".join(n_units)
        count = prior.get(c.concept_id, 0)
        shared, shared_pairs = len(t_set & n_set), len(t_pairs & n_pairs)
        rows.append((
            c.retrieval_score, float(c.exact), math.log1p(rank), c.retrieval_score - best,
            math.log1p(count), float(count > 0),
            shared / max(1, len(n_set)), shared / max(1, len(t_set)),
            shared_pairs / max(1, len(n_pairs)), shared_pairs / max(1, len(t_pairs)),
            min(4.0, len(n_units) / max(1, len(t_units))),
            float(bool(n_text) and n_text in t_text), float(bool(t_text) and t_text in n_text),
        ))
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(FEATURES))


@dataclass(frozen=True)
class FeatureRanker:
    weights: tuple[float, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    prior: dict[str, int] = field(default_factory=dict)  # concept id -> times chosen in the labelled pairs
    vocabulary: str = ""  # the vocabulary the concept ids belong to (learned aliases' suffix stripped)
    depth: int = DEPTH
    llm_weight: float = LLM_WEIGHT
    trained_on: dict = field(default_factory=dict)  # pairs, terms, lists used, validation figures

    def scores(self, term: str, candidates: list[Candidate]) -> np.ndarray:
        if not candidates:
            return np.zeros(0)
        x = (features(term, candidates, self.prior) - np.asarray(self.mean)) / np.asarray(self.scale)
        return x @ np.asarray(self.weights)

    def rank(self, term: str, candidates: list[Candidate]) -> list[Candidate]:
        """``candidates`` reordered; each ``score`` becomes the model's probability within the list
        (``retrieval_score`` keeps the retriever's). Ties keep the retriever's order."""
        if len(candidates) < 2:
            return list(candidates)
        s = self.scores(term, candidates)
        p = np.exp(s - s.max())
        p /= p.sum()
        order = np.argsort(-s, kind="stable")
        return [replace(candidates[i], score=float(p[i])) for i in order]

    def held_out_text(self, kind: str = "labelled") -> str:
        """What the fit reported, in words, for a person (the desktop's messages)."""
        held = self.trained_on.get("held_out") or {}
        text = f"Learned from {self.trained_on.get('terms', 0):,} {kind} terms."
        if held.get("terms"):
            text += (f" On {held['terms']:,} of them held out: {held['retriever_acc1']:.0%} right first by "
                     f"retrieval alone, {held['ranker_acc1']:.0%} with the ranking.")
        return text

    def to_json(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "features": list(FEATURES), "weights": list(self.weights),
                "mean": list(self.mean), "scale": list(self.scale), "depth": self.depth,
                "llm_weight": self.llm_weight,
                "vocabulary": self.vocabulary, "trained_on": self.trained_on, "prior": self.prior}

    def save(self, path: str | Path) -> None:
        from ..atomic import write_text

        write_text(path, json.dumps(self.to_json(), ensure_ascii=False, indent=1))

    @classmethod
    def load(cls, path: str | Path) -> FeatureRanker:
        path = Path(path)
        if not path.is_file():
            raise ModelError(f"No ranker file at {path}. Train one with `termlinker ranker train`.")
        retrain = f"{path} is not a usable TermLinker ranker; train it again with `termlinker ranker train`"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelCorruptError(f"{retrain} ({exc}).") from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ModelCorruptError(f"{retrain} (not a ranker file).")
        if data.get("version") != VERSION or data.get("features") != list(FEATURES):
            raise ModelError(f"{path} was made by another TermLinker version; train it again with "
                             "`termlinker ranker train`.")
        try:
            vectors = [tuple(float(v) for v in data[k]) for k in ("weights", "mean", "scale")]
            prior = {str(k): int(v) for k, v in data.get("prior", {}).items()}
            depth = int(data.get("depth", DEPTH))
            llm_weight = float(data.get("llm_weight", LLM_WEIGHT))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelCorruptError(f"{retrain} ({exc!r}).") from exc
        if any(len(v) != len(FEATURES) or not all(map(math.isfinite, v)) for v in vectors) or \
                not all(s > 0 for s in vectors[2]) or depth < 1 or not 0 <= llm_weight < math.inf:
            raise ModelCorruptError(f"{retrain} (its numbers are damaged).")
        return cls(*vectors, prior=prior, vocabulary=str(data.get("vocabulary", "")), depth=depth,
                   llm_weight=llm_weight,
                   trained_on=dict(data.get("trained_on") or {}))

    def check_vocabulary(self, vocabulary_name: str) -> None:
        from ..vocab.aliases import LEARNED_SUFFIX

        base = vocabulary_name.removesuffix(LEARNED_SUFFIX)
        if self.vocabulary and self.vocabulary != base:
            raise ModelError(f"This ranker was trained for the vocabulary {self.vocabulary!r}, not {base!r}; "
                             f"train one for {base!r} with `termlinker ranker train --vocab {base}`.")
