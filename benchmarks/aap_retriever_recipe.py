"""Ask A Patient, low-resource: which fine-tuning recipe for the retriever (figures, not a test).

    TERMLINKER_HOME=/tmp/tl-recipe python benchmarks/aap_retriever_recipe.py \\
        [--data-dir ../shared/data] [--folds 0] [--share 0.1] [--variants all] [--json out.json]

For each fold, a random ``share`` of the train split (seed 0) plays the user's gold rows and goes
through ``distill dataset`` (10% of terms held out by hash) once; each recipe variant is then
trained from the default encoder by ``distill train-retriever``'s code, and scored as the product
links (int8 encoder fused with the lexical channel) on the fold's validation split, which
chooses, and its test split, which only confirms.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from termlinker.distill.dataset import DatasetConfig, build_dataset, merge_gold
from termlinker.labels import LabelledPair
from termlinker.distill.train_retriever import RetrieverTrainConfig, train_retriever
from termlinker.evaluation.datasets import askapatient_split, askapatient_vocabulary
from termlinker.evaluation.runner import evaluate_askapatient
from termlinker.linker import Linker, LinkerConfig
from termlinker.paths import DataDirs

from bench_common import folds as parse_folds


def _recipe(epochs: int, learning_rate: float, hard_negatives: bool, repeat_by_count: bool,
            early_stopping: bool = False, patience: int = 1) -> RetrieverTrainConfig:
    return RetrieverTrainConfig(epochs=epochs, learning_rate=learning_rate, hard_negatives=hard_negatives,
                                repeat_by_count=repeat_by_count, early_stopping=early_stopping, patience=patience)


# Every setting spelled out, so that a row means the same after the product's defaults change.
VARIANTS = {
    "before": _recipe(1, 5e-5, True, False),  # the recipe shipped until this sweep
    "no-hard-neg": _recipe(1, 5e-5, False, False),
    "no-hard-neg_repeat": _recipe(1, 5e-5, False, True),
    "no-hard-neg_repeat-3ep": _recipe(3, 5e-5, False, True),
    "hard-neg_repeat-3ep": _recipe(3, 5e-5, True, True),
    "no-hard-neg_repeat-3ep-lr1e-4": _recipe(3, 1e-4, False, True),
    "no-hard-neg_repeat-5ep": _recipe(5, 5e-5, False, True),
    "hard-neg_repeat-5ep": _recipe(5, 5e-5, True, True),
    "hard-neg_repeat-3ep-lr1e-4": _recipe(3, 1e-4, True, True),
    "hard-neg-3ep": _recipe(3, 5e-5, True, False),
    "hard-neg_repeat-5ep-lr1e-4": _recipe(5, 1e-4, True, True),  # chosen on validation
    "hard-neg_repeat-3ep-lr2e-4": _recipe(3, 2e-4, True, True),
    # early stopping on the dataset's held-out share (the best pass is kept)
    "hard-neg_repeat-max5ep-lr1e-4-stop1": _recipe(5, 1e-4, True, True, True, 1),
    "hard-neg_repeat-max8ep-lr1e-4-stop2": _recipe(8, 1e-4, True, True, True, 2),
}


def scores(report) -> dict:
    return {"acc1": round(report.scores["all"].acc1, 4), "acc5": round(report.scores["all"].acc5, 4),
            "unseen_acc1": round(report.scores["unseen"].acc1, 4)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--folds", default="0")
    parser.add_argument("--share", type=float, default=0.1)
    parser.add_argument("--variants", default="all", help="comma-separated names from VARIANTS, or all")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--base-encoder", default=None, help="a registered encoder to start from (default: the default)")
    parser.add_argument("--json", default="bench-aap-retriever-recipe.json")
    args = parser.parse_args()
    names = list(VARIANTS) if args.variants == "all" else args.variants.split(",")
    dirs = DataDirs.default().ensure()
    vocab = askapatient_vocabulary(args.data_dir)
    zero = Linker(LinkerConfig(vocabulary="askapatient", encoder=args.base_encoder, threads=args.threads), dirs=dirs,
                  vocabulary=vocab)
    tag = f"-{args.base_encoder}" if args.base_encoder else ""
    rows = []
    for fold in parse_folds(args.folds):
        train = askapatient_split(fold, "train", args.data_dir)
        chosen = random.Random(0).sample(train, max(1, round(args.share * len(train))))
        pairs, stats = merge_gold([LabelledPair(e.term, e.gold, "gold") for e in chosen], vocab)
        rows.append({"fold": fold, "variant": "zero-shot", "base_encoder": args.base_encoder or "default",
                     "validation": scores(evaluate_askapatient(fold, "validation", args.data_dir, linker=zero)),
                     "test": scores(evaluate_askapatient(fold, "test", args.data_dir, linker=zero))})
        print(json.dumps(rows[-1]), flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            build_dataset(pairs, zero, Path(tmp) / "ds", DatasetConfig(), source_stats=stats)
            for name in names:
                config = VARIANTS[name]
                config = RetrieverTrainConfig(**{**asdict(config), "threads": args.threads})
                encoder = f"aap-f{fold}-{name}{tag}"
                began = time.monotonic()
                report = train_retriever(Path(tmp) / "ds", vocab, dirs, encoder, config, base_encoder=args.base_encoder,
                                         evaluate=False)
                tuned = Linker(LinkerConfig(vocabulary="askapatient", encoder=encoder, threads=args.threads),
                               dirs=dirs, vocabulary=vocab)
                rows.append({"fold": fold, "variant": name, "base_encoder": args.base_encoder or "default",
                             "config": asdict(config), "pairs": report.pairs,
                             "steps": report.steps, "train_s": round(report.train_seconds, 1),
                             "held_out": [s.to_json() for s in report.held_out], "kept_epoch": report.kept_epoch,
                             "total_s": round(time.monotonic() - began, 1),
                             "validation": scores(evaluate_askapatient(fold, "validation", args.data_dir, linker=tuned)),
                             "test": scores(evaluate_askapatient(fold, "test", args.data_dir, linker=tuned))})
                print(json.dumps({k: v for k, v in rows[-1].items() if k != "config"}), flush=True)
    with open(args.json, "w", encoding="utf-8") as fh:
        json.dump(rows, fh, indent=2)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
