"""Lay phrases of our own writing linked to HPO, the default vocabulary (figures, not a test).

    python benchmarks/hpo_lay_phrases.py --encoders minilm,sa-s300 [--json out.json]

``benchmarks/data/hpo_lay_phrases.tsv``: 49 phrases a patient might say ("my legs are killing
me", "can't get it up"), each with the HPO concept a clinician would choose, written for this
check in December 2026 and kept out of every training set. Phrases that are already an HPO name or
synonym were left out: exact matching finds those whatever the encoder. Each encoder links as the
product does (int8, lexical channel, fusion) against all of HPO. One phrase is 0.02 of Acc@1:
a coarse check beside the AAP folds, not a benchmark of its own.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

from termlinker.linker import Linker, LinkerConfig
from termlinker.paths import DataDirs

PHRASES = Path(__file__).resolve().parent / "data" / "hpo_lay_phrases.tsv"


def read_phrases(path: Path = PHRASES) -> list[tuple[str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return [(line.split("\t")[0], line.split("\t")[1]) for line in lines if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--encoders", default="minilm", help="comma-separated encoder names (minilm = the default)")
    parser.add_argument("--temperatures", default="",
                        help="name pooling temperatures to score (FusionConfig.pooling_temperature; default: the configured one)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default="bench-hpo-lay-phrases.json")
    args = parser.parse_args()
    dirs = DataDirs.default().ensure()
    queries = read_phrases()
    rows = []
    for encoder in args.encoders.split(","):
        began = time.monotonic()
        linker = Linker(LinkerConfig(vocabulary="hpo", encoder=None if encoder == "minilm" else encoder,
                                     threads=args.threads), dirs=dirs)
        temperatures = ([float(t) for t in args.temperatures.split(",")] if args.temperatures
                        else [linker.retriever.fusion.pooling_temperature])
        for temperature in temperatures:
            linker.retriever.fusion = replace(linker.retriever.fusion, pooling_temperature=temperature)
            ranked = [[c.concept_id for c in r.candidates] for r in linker.link_terms([q for q, _ in queries], top_k=5)]
            misses = [q for r, (q, g) in zip(ranked, queries) if r[:1] != [g]]
            rows.append({"encoder": encoder, "pooling_temperature": temperature, "phrases": len(queries),
                         "acc1": round(sum(r[:1] == [g] for r, (_, g) in zip(ranked, queries)) / len(queries), 4),
                         "acc5": round(sum(g in r[:5] for r, (_, g) in zip(ranked, queries)) / len(queries), 4),
                         "missed_at_1": misses, "seconds": round(time.monotonic() - began, 1)})
            print(json.dumps({k: v for k, v in rows[-1].items() if k != "missed_at_1"}), flush=True)
    with open(args.json, "w", encoding="utf-8") as fh:
        json.dump(rows, fh, indent=2)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
