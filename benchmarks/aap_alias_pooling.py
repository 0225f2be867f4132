"""Ask A Patient with every train label: how a concept's many learned aliases should add up (figures, not a test).

    TERMLINKER_HOME=/tmp/tl-full python benchmarks/aap_alias_pooling.py [--data-dir ../shared/data] \\
        [--folds 0-9] [--tuned "0:aap-full-f0-e1"] [--json out.json]

With every train label learned as an alias (``link --aliases``), a concept owns the phrases users
mapped to it, and the retriever ranks it by its single best name. A soft maximum over its names
(``FusionConfig.pooling_temperature``) lets several close aliases count for more than one. Per fold,
each (dense weight, temperature) pair of a small grid is scored on the validation split; the pair with
the best mean validation Acc@1 over the folds is chosen, and the test split only confirms it against
the best name alone (dense weight 0.8, temperature 0: the fusion before pooling). ``--tuned
FOLD:NAME,...`` also scores an encoder fine-tuned on that fold's labels (``aap_full_labels.py`` saves them as ``aap-full-f{fold}-e{epochs}``).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

from bench_common import folds as parse_folds
from termlinker.evaluation.datasets import askapatient_split, askapatient_vocabulary
from termlinker.evaluation.runner import evaluate_askapatient
from termlinker.labels import LabelledPair
from termlinker.linker import Linker, LinkerConfig
from termlinker.paths import DataDirs
from termlinker.retrieval.retriever import FusionConfig
from termlinker.vocab.aliases import learn_aliases

BEST_NAME = (0.8, 0.0)  # the fusion before pooling: the baseline every setting is compared with


def grid(weights: str, temperatures: str) -> list[tuple[float, float]]:
    """The (dense weight, temperature) pairs asked for, and the best-name baseline before them."""
    asked = [(float(w), float(t)) for w in weights.split(",") for t in temperatures.split(",")]
    return list(dict.fromkeys([BEST_NAME, *asked]))


def sweep(linker: Linker, fold: int, split: str, settings, data_dir: str) -> dict[str, dict]:
    """Acc@1 / Acc@5 / unseen Acc@1 of ``split`` under each (dense weight, temperature)."""
    out = {}
    for weight, temperature in settings:
        # Only the fusion step reads these; the index and the encoder stay as they are.
        linker.retriever.fusion = replace(FusionConfig(), dense_weight=weight, pooling_temperature=temperature)
        report = evaluate_askapatient(fold, split, data_dir, linker=linker)
        out[f"{weight}/{temperature}"] = {"acc1": round(report.scores["all"].acc1, 4),
                                          "acc5": round(report.scores["all"].acc5, 4),
                                          "unseen_acc1": round(report.scores["unseen"].acc1, 4)}
    return out


def mean(rows: list[dict], kind: str, split: str, key: str, metric: str = "acc1") -> float:
    having = [r for r in rows if kind in r]
    return sum(r[kind][split][key][metric] for r in having) / len(having)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--folds", default="0-9")
    parser.add_argument("--tuned", default="", help="FOLD:ENCODER,... fine-tuned encoders to score as well")
    parser.add_argument("--weights", default="0.7,0.8,0.9")
    parser.add_argument("--temperatures", default="0,0.005,0.01,0.02,0.04")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default="bench-aap-alias-pooling.json")
    args = parser.parse_args()
    dirs = DataDirs.default().ensure()
    vocab = askapatient_vocabulary(args.data_dir)
    settings = grid(args.weights, args.temperatures)
    tuned = dict(item.split(":", 1) for item in args.tuned.split(",") if item)
    rows = []
    for fold in parse_folds(args.folds):
        began = time.monotonic()
        train = askapatient_split(fold, "train", args.data_dir)
        learned, _ = learn_aliases(vocab, (LabelledPair(e.term, e.gold) for e in train))
        kinds = {"zero-shot + aliases": LinkerConfig(vocabulary="askapatient", threads=args.threads)}
        if str(fold) in tuned:
            kinds["fine-tuned + aliases"] = replace(kinds["zero-shot + aliases"], encoder=tuned[str(fold)])
        row: dict = {"fold": fold}
        for kind, config in kinds.items():
            linker = Linker(config, dirs=dirs, vocabulary=learned)
            row[kind] = {split: sweep(linker, fold, split, settings, args.data_dir) for split in ("validation", "test")}
        row["seconds"] = round(time.monotonic() - began, 1)
        rows.append(row)
        print(json.dumps(row), flush=True)
    summary = {}
    for kind in ("zero-shot + aliases", "fine-tuned + aliases"):
        having = [r for r in rows if kind in r]
        if not having:
            continue
        keys = [f"{w}/{t}" for w, t in settings]
        chosen = max(keys, key=lambda k: (mean(rows, kind, "validation", k), -keys.index(k)))
        baseline = f"{BEST_NAME[0]}/{BEST_NAME[1]}"
        summary[kind] = {
            "folds": [r["fold"] for r in having], "chosen": chosen,
            "validation": {k: round(mean(rows, kind, "validation", k), 4) for k in keys},
            "test best name": {m: round(mean(rows, kind, "test", baseline, m), 4) for m in ("acc1", "acc5", "unseen_acc1")},
            "test chosen": {m: round(mean(rows, kind, "test", chosen, m), 4) for m in ("acc1", "acc5", "unseen_acc1")},
        }
        print(f"{kind} folds {summary[kind]['folds']}: validation chooses {chosen} "
              f"({summary[kind]['validation'][chosen]:.4f} against {summary[kind]['validation'][baseline]:.4f} "
              f"for the best name); "
              f"test Acc@1 {summary[kind]['test chosen']['acc1']:.4f} against {summary[kind]['test best name']['acc1']:.4f}")
    with open(args.json, "w", encoding="utf-8") as fh:
        json.dump({"args": vars(args), "rows": rows, "summary": summary}, fh, indent=2)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
