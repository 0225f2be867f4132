"""Evaluate a Linker on gold examples and on the benchmark datasets."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..linker import Linker, LinkerConfig, TermCount
from ..paths import DataDirs
from ..progress import CancelToken, ProgressFn, no_progress
from .datasets import Example, askapatient_split, askapatient_vocabulary
from .metrics import RankingScores, score_rankings


@dataclass
class Report:
    label: str
    scores: dict[str, RankingScores] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"label": self.label, "scores": {k: v.to_json() for k, v in self.scores.items()}}

    def lines(self) -> list[str]:
        return [self.label] + [s.line(name) for name, s in self.scores.items()]


def rank_examples(linker: Linker, examples: list[Example], top_k: int = 10, progress: ProgressFn = no_progress,
                  cancel: CancelToken | None = None, rerank: bool = False) -> list[list[str]]:
    terms = list(dict.fromkeys(e.term for e in examples))
    ranked = {r.term: [c.concept_id for c in r.candidates]
              for r in linker.link((TermCount(t) for t in terms), top_k=top_k, progress=progress,
                                   cancel=cancel, total=len(terms), rerank=rerank)}
    return [ranked[e.term] for e in examples]


def evaluate_examples(linker: Linker, examples: list[Example], label: str, progress: ProgressFn = no_progress,
                      unseen: set[str] | None = None) -> Report:
    """Scores under "all" (and "unseen"); with a re-ranker loaded, retriever-only and re-ranked side by side."""
    report = Report(label)
    runs = [("", False)]
    if linker.reranker is not None:
        runs = [("retr ", False), ("rerank ", True)]
    for prefix, rerank in runs:
        predictions = rank_examples(linker, examples, progress=progress, rerank=rerank)
        report.scores[prefix + "all"] = score_rankings([e.gold for e in examples], predictions)
        if unseen is not None:
            pairs = [(e.gold, p) for e, p in zip(examples, predictions) if e.term.lower() in unseen]
            report.scores[prefix + "unseen"] = score_rankings([g for g, _ in pairs], [p for _, p in pairs])
    return report


def evaluate_askapatient(fold: int, split: str = "test", data_dir: str | Path | None = None,
                         config: LinkerConfig = LinkerConfig(), dirs: DataDirs | None = None,
                         progress: ProgressFn = no_progress, linker: Linker | None = None) -> Report:
    if linker is None:
        vocab = askapatient_vocabulary(data_dir)
        linker = Linker(config, dirs=dirs, vocabulary=vocab, progress=progress)
    examples = askapatient_split(fold, split, data_dir)
    train_terms = {e.term.lower() for e in askapatient_split(fold, "train", data_dir)}
    unseen = {e.term.lower() for e in examples if e.term.lower() not in train_terms}
    return evaluate_examples(linker, examples, f"askapatient fold {fold} {split}", unseen=unseen)
