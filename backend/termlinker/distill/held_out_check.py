"""How well the encoder being trained links the held-out share, measured after each pass.

Early stopping needs a score per pass that is cheap next to the pass itself, so this is the dense
channel alone, in torch, ranking the names of the vocabulary's concepts: not the product's int8 +
lexical fusion, but it moves with it (the held-out terms are never trained on). A large vocabulary
is cut to the concepts the held-out terms are about plus a seeded sample of the rest, so that a
pass over HPO's 19,000 concepts does not spend a minute encoding names.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Iterable

from ..vocab.model import Vocabulary

MAX_NAMES = 8_000  # names encoded per check: about 10 s on 2 cores


@dataclass(frozen=True)
class EpochScore:
    epoch: int
    acc1: float
    mrr: float  # breaks ties between passes with equal Acc@1

    def beats(self, other: "EpochScore | None") -> bool:
        return other is None or (self.acc1, self.mrr) > (other.acc1, other.mrr)

    def to_json(self) -> dict:
        return {"epoch": self.epoch, "acc1": self.acc1, "mrr": self.mrr}

    @staticmethod
    def from_json(row: dict) -> "EpochScore":
        return EpochScore(int(row["epoch"]), float(row["acc1"]), float(row["mrr"]))


@dataclass(frozen=True)
class HeldOutCheck:
    """Held-out (term, concept) rows and the candidate names they are ranked against."""

    terms: tuple[str, ...]
    golds: tuple[str, ...]
    names: tuple[str, ...]
    name_concepts: tuple[str, ...]

    @staticmethod
    def build(pairs: Iterable[tuple[str, str]], vocab: Vocabulary, max_names: int = MAX_NAMES,
              seed: int = 0) -> "HeldOutCheck | None":
        """None when there is nothing held out to score (early stopping is then off)."""
        rows = [(term, concept) for term, concept in pairs if concept in vocab]
        if not rows:
            return None
        wanted = list(dict.fromkeys(concept for _, concept in rows))
        gold = set(wanted)
        others = [c.concept_id for c in vocab.concepts if c.concept_id not in gold]
        random.Random(seed).shuffle(others)
        names: list[str] = []
        owners: list[str] = []
        for concept_id in wanted + others:
            concept = vocab.get(concept_id)
            if len(names) + len(concept.names) > max_names and concept_id not in gold:
                break
            names += concept.names
            owners += [concept_id] * len(concept.names)
        return HeldOutCheck(tuple(t for t, _ in rows), tuple(c for _, c in rows), tuple(names), tuple(owners))

    def score(self, model, epoch: int, batch_size: int = 128) -> EpochScore:
        """Acc@1 and MRR of ``model`` (a SentenceTransformer) on the held-out rows; leaves it in train mode."""
        import numpy as np

        try:
            terms = list(dict.fromkeys(self.terms))
            query = model.encode(terms, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                                 show_progress_bar=False)
            names = model.encode(list(self.names), batch_size=batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False)
        finally:
            model.train()
        concepts = list(dict.fromkeys(self.name_concepts))
        column = {c: i for i, c in enumerate(concepts)}
        owner = np.array([column[c] for c in self.name_concepts])
        sims = query @ names.T
        best = np.full((len(concepts), len(terms)), -np.inf, dtype=np.float32)
        np.maximum.at(best, owner, sims.T)  # a concept scores its best-matching name
        best = best.T
        row_of = {t: i for i, t in enumerate(terms)}
        hits = reciprocal = 0.0
        for term, gold in zip(self.terms, self.golds):
            scores = best[row_of[term]]
            rank = 1 + int(np.sum(scores > scores[column[gold]]))
            hits += rank == 1
            reciprocal += 1.0 / rank
        n = len(self.terms)
        # Rounded once, here: a score read back from a resumed run's log compares as it did when made.
        return EpochScore(epoch, round(hits / n, 6), round(reciprocal / n, 6))
