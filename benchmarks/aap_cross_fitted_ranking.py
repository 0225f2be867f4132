"""Ask A Patient with every train label: a ranking that knows the aliases are there (figures, not a test).

    TERMLINKER_HOME=/tmp/tl-full python benchmarks/aap_cross_fitted_ranking.py \\
        [--data-dir ../shared/data] [--folds 0] [--parts 5] [--encoder aap-full-f{fold}-e1] [--json out.json]

``aap_full_labels.py`` found that a ranking learned from every train label HURTS once the same labels
are learned aliases (-0.013 to -0.036): ``learn_ranking`` links each labelled phrase over the plain
vocabulary, so it learns to trust label counts and the dense score in lists that never hold an
alias, and at test time those weights override the aliases' exact matches. Here the lists are
CROSS-FITTED instead: the labelled phrases are cut into ``--parts`` seeded parts, and each part is
linked over the vocabulary with the OTHER parts' phrases learned as aliases, so a training list
looks like a new phrase's list at test time (near-duplicate aliases included, its own phrase not).
The ranking is then fitted as ``learn_ranking`` fits it (same features, leave-one-out label counts,
listwise softmax) and used over the retriever with every alias. Scored per fold on validation
(which would choose) and test: the retriever (encoder + aliases), + the plain ranking (as shipped),
+ the cross-fitted ranking. ``--encoder ''`` uses the zero-shot encoder.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter

from bench_common import folds as parse_folds
from termlinker.evaluation.datasets import askapatient_split, askapatient_vocabulary
from termlinker.evaluation.metrics import score_rankings
from termlinker.labels import LabelledPair
from termlinker.linker import Linker, LinkerConfig, TermCount
from termlinker.paths import DataDirs
from termlinker.rerank.feature_ranker import DEPTH, FeatureRanker
from termlinker.rerank.learn_ranking import _fit, _lists, _standardise, learn_ranking
from termlinker.text import normalise
from termlinker.vocab.aliases import learn_aliases


def cross_fitted(vocab, config: LinkerConfig, dirs: DataDirs, pairs: list[LabelledPair], parts: int,
                 seed: int) -> FeatureRanker:
    golds: dict[str, set[str]] = {}
    first: dict[str, str] = {}
    for p in pairs:
        key = normalise(p.term)
        golds.setdefault(key, set()).add(p.concept_id)
        first.setdefault(key, p.term)
    keys = sorted(golds)
    random.Random(seed).shuffle(keys)
    part_of = {k: i % parts for i, k in enumerate(keys)}
    prior = Counter(c for ids in golds.values() for c in ids)
    per_term = []
    for part in range(parts):
        others = [p for p in pairs if part_of[normalise(p.term)] != part]
        learned, _ = learn_aliases(vocab, others)
        linker = Linker(config, dirs=dirs, vocabulary=learned)
        held = [k for k in keys if part_of[k] == part]
        for key, result in zip(held, linker.link((TermCount(first[k]) for k in held), top_k=DEPTH, rerank=False)):
            own = golds[key]
            loo = {c: n - (c in own) for c, n in prior.items() if n - (c in own) > 0}
            per_term.append((key, list(result.candidates), loo))
    lists = _lists(per_term, golds)
    mean, scale = _standardise(lists)
    w = _fit(lists, mean, scale)
    return FeatureRanker(tuple(w), tuple(mean), tuple(scale), prior=dict(prior), vocabulary=vocab.info.name,
                         depth=DEPTH, trained_on={"terms": len(golds), "cross_fitted_parts": parts})


def scored(linker: Linker, items, ranker: FeatureRanker | None) -> dict:
    terms = list(dict.fromkeys(e.term for e in items))
    lists = dict(zip(terms, (list(r.candidates) for r in linker.link(
        (TermCount(t) for t in terms), top_k=DEPTH, rerank=False))))
    if ranker is not None:
        lists = {t: ranker.rank(t, c) for t, c in lists.items()}
    scores = score_rankings([e.gold for e in items], [[c.concept_id for c in lists[e.term]] for e in items])
    return {"acc1": round(scores.acc1, 4), "acc5": round(scores.acc5, 4)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--folds", default="0")
    parser.add_argument("--parts", type=int, default=5)
    parser.add_argument("--encoder", default="aap-full-f{fold}-e1", help="'' for the zero-shot encoder")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default="bench-aap-cross-fitted-ranking.json")
    args = parser.parse_args()
    dirs = DataDirs.default().ensure()
    vocab = askapatient_vocabulary(args.data_dir)
    rows = []
    for fold in parse_folds(args.folds):
        train = askapatient_split(fold, "train", args.data_dir)
        splits = {s: askapatient_split(fold, s, args.data_dir) for s in ("validation", "test")}
        pairs = [LabelledPair(e.term, e.gold, "gold") for e in train]
        config = LinkerConfig(vocabulary="askapatient", threads=args.threads,
                              **({"encoder": args.encoder.format(fold=fold)} if args.encoder else {}))
        learned, _ = learn_aliases(vocab, pairs)
        retriever = Linker(config, dirs=dirs, vocabulary=learned)
        began = time.monotonic()
        plain = learn_ranking(Linker(config, dirs=dirs, vocabulary=vocab), pairs)
        plain_s = time.monotonic() - began
        began = time.monotonic()
        crossed = cross_fitted(vocab, config, dirs, pairs, args.parts, args.seed)
        crossed_s = time.monotonic() - began
        row = {"fold": fold, "encoder": config.encoder, "timings_s": {"plain_ranking": round(plain_s, 1),
                                                                      "cross_fitted_ranking": round(crossed_s, 1)},
               "weights": {"plain": [round(w, 3) for w in plain.weights],
                           "cross_fitted": [round(w, 3) for w in crossed.weights]}}
        for split, items in splits.items():
            row[split] = {"retriever + aliases": scored(retriever, items, None),
                          "+ plain ranking": scored(retriever, items, plain),
                          "+ cross-fitted ranking": scored(retriever, items, crossed)}
        rows.append(row)
        print(json.dumps(row), flush=True)
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"args": vars(args), "rows": rows}, fh, indent=2)
    for split in ("validation", "test"):
        for name in rows[0][split]:
            mean = sum(r[split][name]["acc1"] for r in rows) / len(rows)
            print(f"{split:10} {name:24} Acc@1 {mean:.4f} (folds {[r['fold'] for r in rows]})")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
