"""Ask A Patient, retriever alone: 10-fold table for the README (figures, not a test).

    python benchmarks/aap_retriever.py [--data-dir ../shared/data] [--split test] [--json out.json]
    python benchmarks/aap_retriever.py --split validation --weights 0.6,0.7,0.8,0.9   # tuning
    python benchmarks/aap_retriever.py --split validation --temperatures 0,0.01      # name pooling

Configurations: int8 and fp32 encoder, each with the plain AAP concept names and with
synonyms borrowed from HPO on exact name matches (no AAP labels used). Fusion weights are
chosen on the validation folds only; the test split is read for the final table.
``--encoder NAME`` scores a registered encoder instead of the default (the self-aligned one in
docs/experiments.md); ``--enrich hpo+icd10cm`` borrows from both vocabularies in one row.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

from termlinker.evaluation.datasets import askapatient_vocabulary
from termlinker.evaluation.runner import evaluate_askapatient
from termlinker.linker import Linker, LinkerConfig
from termlinker.paths import DataDirs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--split", default="test", choices=["test", "validation"])
    parser.add_argument("--folds", default="0-9")
    parser.add_argument("--weights", default="", help="dense weights to sweep (default: the configured one)")
    parser.add_argument("--temperatures", default="",
                        help="name pooling temperatures to sweep (FusionConfig.pooling_temperature; default: the configured one)")
    parser.add_argument("--variants", default="int8,fp32")
    parser.add_argument("--home", default=None)
    parser.add_argument("--encoder", default=None, help="a registered encoder name (default: the default encoder)")
    parser.add_argument("--enrich", default="plain,hpo",
                        help="comma-separated rows: plain, or vocabularies to borrow synonyms from joined by + (hpo+icd10cm)")
    parser.add_argument("--json", default="bench-aap-retriever.json")
    args = parser.parse_args()
    lo, _, hi = args.folds.partition("-")
    folds = list(range(int(lo), int(hi or lo) + 1))
    dirs = DataDirs.at(args.home)
    rows = []
    for variant in args.variants.split(","):
        for enrich in [() if e == "plain" else tuple(e.split("+")) for e in args.enrich.split(",")]:
            config = LinkerConfig(encoder=args.encoder, encoder_variant=variant, threads=2, enrich_from=enrich)
            linker = Linker(config, dirs=dirs, vocabulary=askapatient_vocabulary(args.data_dir))
            default = [linker.retriever.fusion.dense_weight]
            weights = [float(w) for w in args.weights.split(",")] if args.weights else default
            temperatures = ([float(t) for t in args.temperatures.split(",")] if args.temperatures
                            else [linker.retriever.fusion.pooling_temperature])
            for weight, temperature in [(w, t) for w in weights for t in temperatures]:
                linker.retriever.fusion = replace(linker.retriever.fusion, dense_weight=weight,
                                                  pooling_temperature=temperature)
                start = time.perf_counter()
                per_fold = [evaluate_askapatient(f, args.split, args.data_dir, linker=linker).to_json() for f in folds]
                mean = {subset: {k: sum(r["scores"][subset][k] for r in per_fold) / len(per_fold)
                                 for k in ("acc1", "acc5", "mrr")} for subset in ("all", "unseen")}
                synonyms = "+" + "+".join(enrich).upper() if enrich else "plain"
                row = {"encoder": variant, "encoder_name": args.encoder or "default", "synonyms": synonyms,
                       "dense_weight": weight, "pooling_temperature": temperature,
                       "split": args.split, "folds": folds, "mean": mean,
                       "acc1_per_fold": [r["scores"]["all"]["acc1"] for r in per_fold],
                       "seconds": time.perf_counter() - start}
                rows.append(row)
                print(f"{variant:5} {row['synonyms']:6} w={weight:.2f} T={temperature:g} {args.split}: Acc@1 {mean['all']['acc1']:.3f} "
                      f"Acc@5 {mean['all']['acc5']:.3f} MRR {mean['all']['mrr']:.3f} | unseen Acc@1 "
                      f"{mean['unseen']['acc1']:.3f} Acc@5 {mean['unseen']['acc5']:.3f}", flush=True)
    with open(args.json, "w", encoding="utf-8") as fh:
        json.dump(rows, fh, indent=2)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
