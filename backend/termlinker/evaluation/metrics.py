"""Ranking metrics over gold concept ids."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class RankingScores:
    n: int
    acc1: float
    acc5: float
    mrr: float
    recall10: float

    def to_json(self) -> dict:
        return asdict(self)

    def line(self, label: str = "") -> str:
        head = f"{label:<14}" if label else ""
        return f"{head}n={self.n:<6} Acc@1={self.acc1:.3f}  Acc@5={self.acc5:.3f}  MRR={self.mrr:.3f}  R@10={self.recall10:.3f}"


def rank_of(gold: str | set[str], predicted: Sequence[str]) -> int | None:
    """1-based rank of the first predicted id in ``gold``; None when absent."""
    golds = {gold} if isinstance(gold, str) else gold
    for i, concept_id in enumerate(predicted, start=1):
        if concept_id in golds:
            return i
    return None


def score_rankings(golds: Sequence[str | set[str]], predictions: Sequence[Sequence[str]]) -> RankingScores:
    n = len(golds)
    if n == 0:
        return RankingScores(0, 0.0, 0.0, 0.0, 0.0)
    ranks = [rank_of(g, p) for g, p in zip(golds, predictions)]
    return RankingScores(
        n=n,
        acc1=sum(1 for r in ranks if r == 1) / n,
        acc5=sum(1 for r in ranks if r is not None and r <= 5) / n,
        mrr=sum(1.0 / r for r in ranks if r is not None) / n,
        recall10=sum(1 for r in ranks if r is not None and r <= 10) / n,
    )


@dataclass(frozen=True)
class SetScores:
    """Micro-averaged precision/recall/F1 of predicted sets against gold sets, and exact-set accuracy."""

    n: int
    precision: float
    recall: float
    f1: float
    exact: float

    def to_json(self) -> dict:
        return asdict(self)

    def line(self, label: str = "") -> str:
        head = f"{label:<14}" if label else ""
        return (f"{head}n={self.n:<6} P={self.precision:.3f}  R={self.recall:.3f}  F1={self.f1:.3f}  "
                f"exact={self.exact:.3f}")


def score_sets(golds: Sequence[set[str] | Sequence[str]], predictions: Sequence[set[str] | Sequence[str]]) -> SetScores:
    n = len(golds)
    if n == 0:
        return SetScores(0, 0.0, 0.0, 0.0, 0.0)
    tp = n_pred = n_gold = exact = 0
    for gold, pred in zip(golds, predictions):
        g, p = set(gold), set(pred)
        tp += len(g & p)
        n_pred += len(p)
        n_gold += len(g)
        exact += g == p
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return SetScores(n, precision, recall, f1, exact / n)
