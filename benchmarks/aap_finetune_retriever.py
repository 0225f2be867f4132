"""Ask A Patient, low-resource: fine-tune the retriever on a share of a fold's train split (figures, not a test).

    TERMLINKER_HOME=/tmp/tl-ft python benchmarks/aap_finetune_retriever.py \
        [--data-dir ../shared/data] [--folds 0] [--share 0.1] [--json bench-aap-finetune.json]

For each fold: a random ``share`` of the train split (seed 0) plays the user's gold pairs
(``term<TAB>id``), goes through ``distill dataset`` (10% held out by term hash) and
``distill train-retriever`` code paths, and the zero-shot and fine-tuned retrievers (int8,
retriever only) are scored on the fold's test split: Acc@1, Acc@5 and unseen Acc@1.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import tempfile
import time
from pathlib import Path

from termlinker.distill.dataset import DatasetConfig, build_dataset, merge_gold
from termlinker.labels import read_gold_tsv
from termlinker.distill.train_retriever import RetrieverTrainConfig, train_retriever
from termlinker.evaluation.datasets import askapatient_split, askapatient_vocabulary
from termlinker.evaluation.runner import evaluate_askapatient
from termlinker.linker import Linker, LinkerConfig
from termlinker.paths import DataDirs


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_fold(fold: int, share: float, data_dir: str, dirs: DataDirs, config: RetrieverTrainConfig) -> dict:
    vocab = askapatient_vocabulary(data_dir)
    train = askapatient_split(fold, "train", data_dir)
    chosen = random.Random(0).sample(train, max(1, round(share * len(train))))
    with tempfile.TemporaryDirectory() as tmp:
        gold = Path(tmp) / "gold.tsv"
        gold.write_text("".join(f"{e.term}\t{e.gold}\n" for e in chosen), encoding="utf-8")
        zero = Linker(LinkerConfig(vocabulary="askapatient", threads=config.threads), dirs=dirs, vocabulary=vocab)
        pairs, stats = merge_gold(read_gold_tsv(gold), vocab)
        build_dataset(pairs, zero, Path(tmp) / "ds", DatasetConfig(), source_stats=stats)
        name = f"aap-f{fold}-s{share:g}"
        started = time.monotonic()
        report = train_retriever(Path(tmp) / "ds", vocab, dirs, name, config)
        total_s = time.monotonic() - started
    before = evaluate_askapatient(fold, "test", data_dir, linker=zero)
    tuned = Linker(LinkerConfig(vocabulary="askapatient", encoder=name, threads=config.threads), dirs=dirs,
                   vocabulary=vocab)
    after = evaluate_askapatient(fold, "test", data_dir, linker=tuned)

    def scores(rep) -> dict:
        return {"acc1": rep.scores["all"].acc1, "acc5": rep.scores["all"].acc5,
                "unseen_acc1": rep.scores["unseen"].acc1, "n": rep.scores["all"].n}

    return {"fold": fold, "share": share, "gold_examples": len(chosen), "train_pairs": report.pairs,
            "steps": report.steps, "train_s": round(report.train_seconds, 1),
            "train_s_per_1k_pairs": round(1000 * report.train_seconds / max(1, report.pairs), 1),
            "train_export_eval_s": round(total_s, 1), "reused_model": report.reused_model,
            "val_before": report.before.to_json() if report.before else None,
            "val_after": report.after.to_json() if report.after else None,
            "zero_shot": scores(before), "fine_tuned": scores(after), "encoder": name,
            "peak_rss_mb": round(peak_rss_mb(), 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--folds", default="0")
    parser.add_argument("--share", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--home", default=None)
    parser.add_argument("--json", default="bench-aap-finetune.json")
    args = parser.parse_args()
    lo, _, hi = args.folds.partition("-")
    dirs = DataDirs.at(args.home).ensure()
    config = RetrieverTrainConfig(epochs=args.epochs, batch_size=args.batch_size, threads=args.threads)
    rows = [run_fold(f, args.share, args.data_dir, dirs, config) for f in range(int(lo), int(hi or lo) + 1)]
    print(f"| AAP test (share {args.share:g}) | retriever | Acc@1 | Acc@5 | unseen Acc@1 |")
    print("|---|---|---|---|---|")
    for row in rows:
        for label in ("zero_shot", "fine_tuned"):
            s = row[label]
            print(f"| fold {row['fold']} | {label.replace('_', '-')} | {s['acc1']:.3f} | {s['acc5']:.3f} | "
                  f"{s['unseen_acc1']:.3f} |")
    for row in rows:
        print(f"fold {row['fold']}: {row['train_pairs']} pairs, {row['steps']} steps, training {row['train_s']} s "
              f"({row['train_s_per_1k_pairs']} s per 1,000 pairs), peak RSS {row['peak_rss_mb']} MB")
    Path(args.json).write_text(json.dumps({"rows": rows}, indent=2))


if __name__ == "__main__":
    main()
