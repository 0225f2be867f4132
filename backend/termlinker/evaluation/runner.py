"""Evaluate a Linker on gold examples and on the benchmark datasets."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..linker import Linker, LinkerConfig, TermCount
from ..paths import DataDirs
from ..progress import CancelToken, ProgressFn, no_progress
from ..rerank.feature_ranker import FeatureRanker
from ..vocab.aliases import learn_aliases
from ..vocab.model import Vocabulary
from .datasets import (Example, MultiExample, askapatient_split, askapatient_vocabulary, chip_cdn_alias_pairs,
                       chip_cdn_vocabulary, cross_validation_split, read_chip_cdn)
from .metrics import RankingScores, SetScores, score_rankings, score_sets


@dataclass
class Report:
    label: str
    scores: dict[str, RankingScores | SetScores] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what bounds the scores, for a person

    def to_json(self) -> dict:
        out = {"label": self.label, "scores": {k: v.to_json() for k, v in self.scores.items()}}
        if self.notes:
            out["notes"] = list(self.notes)
        return out

    def lines(self) -> list[str]:
        return [self.label] + [s.line(name) for name, s in self.scores.items()] + [f"note: {n}" for n in self.notes]


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


def evaluate_multi(linker: Linker, examples: list[MultiExample], label: str, split: bool = True,
                   progress: ProgressFn = no_progress) -> Report:
    """Gold answers are concept NAMES (CHIP-CDN): predicted concepts are compared by canonical name.

    "single": Acc@1/Acc@5 on the items with one gold name, over the whole term's ranking.
    "set": micro P/R/F1 on all items; the predicted set is the top-1 of each sub-span when
    ``split`` and the term splits (LinkResult.concepts), else the top-1 of the whole term.
    With a re-ranker loaded, "rerank single" and "rerank set" score the re-ranked results beside them."""
    from dataclasses import replace

    linker.config = replace(linker.config, split_multi=split)
    terms = list(dict.fromkeys(e.term for e in examples))
    report = Report(label)
    for prefix, rerank in [("", False)] + ([("rerank ", True)] if linker.reranker is not None else []):
        results = {r.term: r for r in linker.link((TermCount(t) for t in terms), top_k=10, progress=progress,
                                                  total=len(terms), rerank=rerank)}
        ranked, predicted = [], []
        for e in examples:
            r = results[e.term]
            ranked.append(list(dict.fromkeys(c.name for c in r.candidates)))
            chosen = r.concepts or r.candidates[:1]
            predicted.append({c.name for c in chosen})
        single = [(e.golds[0], p) for e, p in zip(examples, ranked) if len(e.golds) == 1]
        report.scores[prefix + "single"] = score_rankings([g for g, _ in single], [p for _, p in single])
        report.scores[prefix + "set"] = score_sets([set(e.golds) for e in examples], predicted)
    report.notes.extend(_unreachable(linker.vocabulary, examples))
    return report


def _unreachable(vocab: Vocabulary, examples: list[MultiExample]) -> list[str]:
    """How many gold names no concept of ``vocab`` bears, and the single-label Acc@1 that leaves possible."""
    names = {c.canonical_name for c in vocab.concepts}
    single = [e.golds[0] for e in examples if len(e.golds) == 1]
    golds = [g for e in examples for g in e.golds]
    missing_single = sum(g not in names for g in single)
    missing = sum(g not in names for g in golds)
    if not missing:
        return []
    ceiling = f"; single Acc@1 cannot pass {1 - missing_single / len(single):.3f}" if missing_single else ""
    return [f"{missing} of {len(golds)} gold names ({missing_single} of {len(single)} single-label) "
            f"are not the name of a concept of {vocab.info.name!r}{ceiling}"]


def learned_fold_vocabulary(vocab: Vocabulary, train: list[MultiExample], multi: str = "both") -> Vocabulary:
    """``vocab`` plus the training items' raw terms as learned aliases: the test share is never seen."""
    learned, _ = learn_aliases(vocab, chip_cdn_alias_pairs(train, vocab, multi))
    return learned


def learn_fold_ranking(plain: Linker, train: list[MultiExample], path: str | Path,
                       progress: ProgressFn = no_progress) -> FeatureRanker:
    """A ranking learned from the training folds' items (the same pairs the aliases learn), saved at ``path``.

    ``plain`` links over the vocabulary without learned aliases (rerank.learn_ranking says why)."""
    from ..rerank.learn_ranking import learn_ranking

    ranker = learn_ranking(plain, chip_cdn_alias_pairs(train, plain.vocabulary), progress=progress)
    ranker.save(path)
    return ranker


def learn_fold_set_rules(vocab: Vocabulary, train: list[MultiExample], path: str | Path,
                         min_precision: float | None = None) -> Path:
    """Set rules (rerank.set_rules) learned from the training folds' items, saved at ``path``."""
    from ..rerank.set_rules import DEFAULT_MIN_PRECISION, SetRules

    rules = SetRules.learn(chip_cdn_alias_pairs(train, vocab, "all"),
                           min_precision=DEFAULT_MIN_PRECISION if min_precision is None else min_precision)
    rules.save(path)
    return Path(path)


def evaluate_chip_cdn(fold: int, folds: int = 5, data_dir: str | Path | None = None, split: bool = True,
                      config: LinkerConfig = LinkerConfig(), dirs: DataDirs | None = None,
                      progress: ProgressFn = no_progress, linker: Linker | None = None,
                      limit: int | None = None, learn: bool = True, multi: str = "both",
                      vocabulary: Vocabulary | None = None) -> Report:
    """The test share of ``fold`` (seeded ``folds``-fold split of train.json); ``limit`` keeps its first items.

    ``learn``: the other folds' labelled items become learned aliases (a Linker per fold);
    a ``linker`` given is used as it is."""
    train, test = cross_validation_split(read_chip_cdn(data_dir), fold, folds)
    if linker is None:
        base = vocabulary or chip_cdn_vocabulary(data_dir)
        linker = Linker(config, dirs=dirs, vocabulary=learned_fold_vocabulary(base, train, multi) if learn else base,
                        progress=progress)
    if limit is not None:
        test = test[:limit]
    mode = "split" if split else "whole"
    learned = ", learned from the other folds" if linker.vocabulary.info.learned_aliases else ""
    return evaluate_multi(linker, test, f"chip-cdn fold {fold}/{folds} test ({mode}{learned})", split=split)
