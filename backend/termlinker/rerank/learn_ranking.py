"""Fit a FeatureRanker from labelled pairs (gold files, approved review decisions, teacher labels).

Each labelled term is linked by a Linker WITHOUT those pairs learned as synonyms, so its
candidate list looks like a new term's would; a concept's "times chosen" leaves out the term's own
pairs for the same reason. The fit is a listwise softmax (the labelled concepts should win their
list), convex in the weights, solved with L-BFGS; a seeded tenth of the terms is held out once to
report retriever-vs-ranker Acc@1 before the final fit on every term.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..labels import LabelledPair
from ..linker import Linker, TermCount
from ..progress import CancelToken, ProgressFn, no_progress
from ..text import normalise
from ..vocab.aliases import LEARNED_SUFFIX
from .feature_ranker import DEPTH, FEATURES, FeatureRanker, features

MIN_TERMS = 20  # below this, a learned ordering is noise: refuse and say so
L2 = 1e-2
HELD_OUT = 0.1


@dataclass(frozen=True)
class _Lists:
    x: np.ndarray  # (lists, DEPTH, features), zero-padded
    mask: np.ndarray  # (lists, DEPTH) True for real candidates
    target: np.ndarray  # (lists, DEPTH) the labelled concepts' share of each list


def learn_and_save(linker: Linker, pairs: Iterable[LabelledPair], path: str | Path, sources: Iterable[str],
                   progress: ProgressFn = no_progress, cancel: CancelToken | None = None,
                   llm_weight: float | None = None) -> FeatureRanker:
    """``learn_ranking``, with where the pairs came from recorded, saved (atomically) to ``path``."""
    ranker = learn_ranking(linker, pairs, progress=progress, cancel=cancel)
    ranker = replace(ranker, trained_on={**ranker.trained_on, "sources": [str(s) for s in sources]},
                     **({} if llm_weight is None else {"llm_weight": llm_weight}))
    ranker.save(path)
    return ranker


def learn_ranking(linker: Linker, pairs: Iterable[LabelledPair], progress: ProgressFn = no_progress,
                  cancel: CancelToken | None = None, seed: int = 0) -> FeatureRanker:
    """``linker`` must not have learned ``pairs`` as synonyms (give it the plain vocabulary)."""
    if linker.vocabulary.info.learned_aliases:
        raise InputError("Learn a ranking with a Linker over the plain vocabulary: one that has learned the "
                         "labelled terms as synonyms finds each of them exactly and teaches nothing.")
    known = {c.concept_id for c in linker.vocabulary.concepts}
    golds: dict[str, set[str]] = {}
    terms: dict[str, str] = {}
    unknown = 0
    for p in pairs:
        if p.concept_id not in known:
            unknown += 1
            continue
        key = normalise(p.term)
        if key:
            terms.setdefault(key, p.term)
            golds.setdefault(key, set()).add(p.concept_id)
    if len(golds) < MIN_TERMS:
        raise InputError(f"{len(golds)} labelled term(s) for {linker.vocabulary.info.name!r}; a ranking needs at "
                         f"least {MIN_TERMS}. Label more terms (approve them in a review project) and try again.")
    prior = Counter(c for ids in golds.values() for c in ids)
    keys = list(golds)
    results = linker.link((TermCount(terms[k]) for k in keys), top_k=DEPTH, progress=progress, cancel=cancel,
                          total=len(keys), rerank=False)
    per_term = []
    for key, result in zip(keys, results):
        own = golds[key]
        loo = {c: n - (c in own) for c, n in prior.items() if n - (c in own) > 0}
        per_term.append((key, list(result.candidates), loo))
    order = list(range(len(per_term)))
    random.Random(seed).shuffle(order)
    cut = max(1, round(HELD_OUT * len(order)))
    held, fit_part = order[:cut], order[cut:]
    lists = _lists([per_term[i] for i in fit_part], golds)
    mean, scale = _standardise(lists)
    w = _fit(lists, mean, scale)
    held_report = _held_out([per_term[i] for i in held], golds, w, mean, scale)
    every = _lists(per_term, golds)
    mean, scale = _standardise(every)
    w = _fit(every, mean, scale)
    return FeatureRanker(tuple(w), tuple(mean), tuple(scale), prior=dict(prior),
                         vocabulary=linker.vocabulary.info.name.removesuffix(LEARNED_SUFFIX), depth=DEPTH,
                         trained_on={"pairs": sum(len(v) for v in golds.values()), "terms": len(golds),
                                     "unknown_concepts": unknown, "lists_with_gold": int(every.x.shape[0]),
                                     "held_out": held_report})


def _lists(per_term: list[tuple[str, list, dict]], golds: dict[str, set[str]]) -> _Lists:
    xs, masks, targets = [], [], []
    for key, candidates, loo in per_term:
        hit = np.asarray([c.concept_id in golds[key] for c in candidates], dtype=np.float64)
        if len(candidates) < 2 or not hit.any():
            continue  # nothing to learn: the labelled concept was not retrieved, or had no rival
        n = min(len(candidates), DEPTH)
        x = np.zeros((DEPTH, len(FEATURES)))
        x[:n] = features(key, candidates[:n], loo)
        m = np.zeros(DEPTH, dtype=bool)
        m[:n] = True
        t = np.zeros(DEPTH)
        t[:n] = hit[:n] / hit[:n].sum()
        xs.append(x), masks.append(m), targets.append(t)
    if not xs:
        raise InputError("None of the labelled concepts is among the retriever's candidates for its term: a ranking "
                         "cannot be learned. Check that the pairs use this vocabulary's concept ids.")
    return _Lists(np.stack(xs), np.stack(masks), np.stack(targets))


def _standardise(lists: _Lists) -> tuple[np.ndarray, np.ndarray]:
    rows = lists.x[lists.mask]
    scale = rows.std(axis=0)
    return rows.mean(axis=0), np.where(scale > 1e-9, scale, 1.0)


def _fit(lists: _Lists, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    from scipy.optimize import minimize

    x = np.where(lists.mask[..., None], (lists.x - mean) / scale, 0.0)
    n = x.shape[0]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        s = np.where(lists.mask, x @ w, -np.inf)
        s = s - s.max(axis=1, keepdims=True)
        log_z = np.log(np.exp(s).sum(axis=1, keepdims=True))
        p = np.exp(s - log_z)
        value = -(lists.target * np.where(lists.mask, s - log_z, 0.0)).sum() / n + 0.5 * L2 * w @ w
        grad = np.einsum("ld,ldf->f", p - lists.target, x) / n + L2 * w
        return float(value), grad

    start = np.zeros(len(FEATURES))
    start[FEATURES.index("retrieval_score")] = 1.0  # begin at the retriever's own order
    return minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": 500}).x


def _held_out(per_term: list[tuple[str, list, dict]], golds: dict[str, set[str]], w: np.ndarray,
              mean: np.ndarray, scale: np.ndarray) -> dict:
    before = after = 0
    for key, candidates, loo in per_term:
        if not candidates:
            continue
        before += candidates[0].concept_id in golds[key]
        s = ((features(key, candidates, loo) - mean) / scale) @ w  # the term's own leave-one-out counts
        after += candidates[int(np.argmax(s))].concept_id in golds[key]
    n = max(1, len(per_term))
    return {"terms": len(per_term), "retriever_acc1": round(before / n, 4), "ranker_acc1": round(after / n, 4)}
