"""Ask A Patient with every train label: the setting users reach after a few review rounds (figures, not a test).

    TERMLINKER_HOME=/tmp/tl-full python benchmarks/aap_full_labels.py \\
        [--data-dir ../shared/data] [--folds 0-9] [--train-folds 0-2] [--epochs 1] [--json out.json]

Per fold, the fold's whole train split is the user's labels, and the test split is scored as the
product links (int8 encoder + lexical channel, top 10 over the 1,036 AAP concepts):
1. the zero-shot retriever;
2. + learned aliases: each labelled phrase becomes a synonym of its concept (``link --aliases``);
3. on ``--train-folds`` only (training costs minutes per fold on 2 cores): the encoder fine-tuned on
   the same labels with the shipped recipe (``learn_retriever``; ``--epochs`` caps the passes), alone
   and with the aliases (``--reuse`` takes an encoder of that name already in the data folder);
4. with ``--ranking``: a ranking learned from the same labels (``learn_ranking`` over the linker
   without aliases, as the product learns it) on top of the aliases, over each retriever.
With ``--encoder-variants int8,fp32`` each row is also scored with the encoder's fp32 export (the
product links with int8; the fp32 rows measure what the int8 export costs).
The validation split is scored too; nothing here chooses a setting, so the test split only reports.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

from bench_common import folds as parse_folds
from termlinker.distill.learn_retriever import learn_retriever
from termlinker.distill.train_retriever import RetrieverTrainConfig
from termlinker.evaluation.datasets import askapatient_split, askapatient_vocabulary
from termlinker.evaluation.runner import evaluate_askapatient
from termlinker.labels import LabelledPair
from termlinker.linker import Linker, LinkerConfig
from termlinker.paths import DataDirs
from termlinker.vocab.aliases import learn_aliases


def scores(linker: Linker, fold: int, args) -> dict:
    out = {}
    for split in ("validation", "test"):
        report = evaluate_askapatient(fold, split, args.data_dir, linker=linker)
        out[split] = {"acc1": round(report.scores["all"].acc1, 4), "acc5": round(report.scores["all"].acc5, 4),
                      "unseen_acc1": round(report.scores["unseen"].acc1, 4)}
    return out


def ranked(plain_linker: Linker, config: LinkerConfig, learned, pairs, dirs: DataDirs, name: str, row: dict) -> Linker:
    """A ranking learned from ``pairs`` over ``plain_linker`` (no aliases), used on top of the aliases."""
    from termlinker.rerank.feature_ranker import saved_ranker_path
    from termlinker.rerank.learn_ranking import learn_ranking

    began = time.monotonic()
    path = saved_ranker_path(dirs, name)
    learn_ranking(plain_linker, pairs).save(path)
    row["timings_s"][f"ranking {name}"] = round(time.monotonic() - began, 1)
    return Linker(replace(config, ranker=str(path)), dirs=dirs, vocabulary=learned)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--folds", default="0-9")
    parser.add_argument("--train-folds", default="0-2", help="folds where the encoder is fine-tuned too ('' for none)")
    parser.add_argument("--epochs", type=int, default=1, help="the most passes over the labels (recipe: 5)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reuse", action="store_true", help="use a fine-tuned encoder already saved under its name")
    parser.add_argument("--ranking", action="store_true", help="also: + a ranking learned from the labels")
    parser.add_argument("--encoder-variants", default="int8",
                        help="comma-separated encoder exports to score: int8 (as the product links), fp32")
    parser.add_argument("--json", default="bench-aap-full-labels.json")
    args = parser.parse_args()
    dirs = DataDirs.default().ensure()
    vocab = askapatient_vocabulary(args.data_dir)
    train_folds = set(parse_folds(args.train_folds)) if args.train_folds else set()
    rows = []
    for fold in parse_folds(args.folds):
        train = askapatient_split(fold, "train", args.data_dir)
        learned, _ = learn_aliases(vocab, (LabelledPair(e.term, e.gold) for e in train))
        plain = LinkerConfig(vocabulary="askapatient", threads=args.threads)
        variants = {"zero-shot": Linker(plain, dirs=dirs, vocabulary=vocab),
                    "+ aliases": Linker(plain, dirs=dirs, vocabulary=learned)}
        row = {"fold": fold, "labels": len(train), "timings_s": {}}
        pairs = [LabelledPair(e.term, e.gold, "gold") for e in train]
        if args.ranking:
            variants["+ aliases + ranking"] = ranked(variants["zero-shot"], plain, learned, pairs, dirs,
                                                     f"aap-full-f{fold}-zero-shot", row)
        if fold in train_folds:
            began = time.monotonic()
            name = f"aap-full-f{fold}-e{args.epochs}"
            if args.reuse and (dirs.encoders / name).is_dir():
                row["timings_s"]["fine_tune"] = "reused"
            else:
                config = RetrieverTrainConfig(epochs=args.epochs, threads=args.threads)
                report = learn_retriever(pairs, variants["zero-shot"], dirs, name, config)
                row["timings_s"]["fine_tune"] = round(time.monotonic() - began, 1)
                row["pairs"], row["steps"] = report.pairs, report.steps
            tuned = replace(plain, encoder=name)
            variants["fine-tuned"] = Linker(tuned, dirs=dirs, vocabulary=vocab)
            variants["fine-tuned + aliases"] = Linker(tuned, dirs=dirs, vocabulary=learned)
            if args.ranking:
                variants["fine-tuned + aliases + ranking"] = ranked(variants["fine-tuned"], tuned, learned, pairs, dirs,
                                                                    f"aap-full-f{fold}-tuned", row)
        for variant in args.encoder_variants.split(","):
            if variant != "int8":
                variants.update({f"{name} [{variant}]": Linker(replace(linker.config, encoder_variant=variant), dirs=dirs,
                                                               vocabulary=linker.vocabulary)
                                 for name, linker in list(variants.items()) if "[" not in name})
        row["scores"] = {name: scores(linker, fold, args) for name, linker in variants.items()}
        rows.append(row)
        print(json.dumps(row), flush=True)
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"args": vars(args), "rows": rows}, fh, indent=2)
    for name in rows[0]["scores"]:
        having = [r for r in rows if name in r["scores"]]
        mean = sum(r["scores"][name]["test"]["acc1"] for r in having) / len(having)
        mean5 = sum(r["scores"][name]["test"]["acc5"] for r in having) / len(having)
        print(f"{name:22} folds {[r['fold'] for r in having]}: test Acc@1 {mean:.3f} Acc@5 {mean5:.3f}")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
