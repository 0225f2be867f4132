"""Ask A Patient with every train label: fine-tune the encoder towards other users' phrases, not only names (figures, not a test).

    TERMLINKER_HOME=/tmp/tl-full python benchmarks/aap_phrase_positives.py --fold 0 \\
        [--share 0.5] [--epochs 1] [--data-dir ../shared/data] [--json out.json]

With every label learned as an alias, a new phrase is matched against the phrases users already
mapped, so what matters is that two phrases of one concept lie close. The shipped recipe trains
each labelled phrase towards its concept's name. Here, for a ``--share`` of the training rows, the
positive is instead another labelled phrase of the same concept (seeded; rows whose concept has no
other phrase keep the name). The hard negative, the batches (no concept twice) and the recipe are
the shipped ones, so the cost is that of ``aap_full_labels.py --epochs`` for the same passes.
Scored as the product links (int8 + lexical, top 10), with and without the aliases, on validation
(which chooses) and test.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

from aap_full_labels import scores
from termlinker.distill.dataset import DatasetConfig, build_dataset, merge_gold, read_jsonl
from termlinker.distill.train_retriever import RetrieverTrainConfig, train_retriever, work_folder
from termlinker.evaluation.datasets import askapatient_split, askapatient_vocabulary
from termlinker.labels import LabelledPair
from termlinker.linker import Linker, LinkerConfig
from termlinker.paths import DataDirs
from termlinker.vocab.aliases import learn_aliases


def with_phrase_positives(rows: list[dict], share: float, seed: int) -> tuple[list[dict], int]:
    """``rows`` with a ``share`` of positives swapped for another phrase of the same concept."""
    phrases: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        phrases[row["concept_id"]].append(row["term"])
    rng = random.Random(seed)
    out, swapped = [], 0
    for row in rows:
        others = [p for p in phrases[row["concept_id"]] if p != row["term"]]
        if others and rng.random() < share:
            row = {**row, "positive": rng.choice(others)}
            swapped += 1
        out.append(row)
    return out, swapped


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--share", type=float, default=0.5)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default="bench-aap-phrase-positives.json")
    args = parser.parse_args()
    dirs = DataDirs.default().ensure()
    vocab = askapatient_vocabulary(args.data_dir)
    train = askapatient_split(args.fold, "train", args.data_dir)
    pairs = [LabelledPair(e.term, e.gold, "gold") for e in train]
    plain = LinkerConfig(vocabulary="askapatient", threads=args.threads)
    zero_shot = Linker(plain, dirs=dirs, vocabulary=vocab)
    name = f"aap-full-f{args.fold}-e{args.epochs}-phrases{int(args.share * 100)}"
    began = time.monotonic()
    dataset = work_folder(dirs, name) / "dataset"
    merged, stats = merge_gold(pairs, vocab)
    build_dataset(merged, zero_shot, dataset, DatasetConfig(), source_stats=stats)
    rows, swapped = with_phrase_positives(read_jsonl(dataset / "retriever_train.jsonl"), args.share, seed=0)
    Path(dataset / "retriever_train.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                                       encoding="utf-8")
    config = RetrieverTrainConfig(epochs=args.epochs, threads=args.threads)
    report = train_retriever(dataset, vocab, dirs, name, config, evaluate=False)
    seconds = round(time.monotonic() - began, 1)
    learned, _ = learn_aliases(vocab, (LabelledPair(e.term, e.gold) for e in train))
    tuned = replace(plain, encoder=name)
    linkers = {"fine-tuned": Linker(tuned, dirs=dirs, vocabulary=vocab),
               "fine-tuned + aliases": Linker(tuned, dirs=dirs, vocabulary=learned)}
    row = {"fold": args.fold, "encoder": name, "rows": len(rows), "swapped": swapped, "pairs": report.pairs,
           "steps": report.steps, "train_s": seconds,
           "scores": {kind: scores(linker, args.fold, args) for kind, linker in linkers.items()}}
    print(json.dumps(row), flush=True)
    with open(args.json, "w", encoding="utf-8") as fh:
        json.dump({"args": vars(args), "row": row}, fh, indent=2)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
