"""Re-ranker speed: throughput, p50/p95 latency, prompt tokens per term and peak RSS, against
retriever-only in the same process. Prints the figures and writes JSON. A benchmark, not a test.

    TERMLINKER_HOME=/tmp/tl-rerank flock /tmp/heavy.lock .venv/bin/python benchmarks/bench_rerank.py \\
        --threads 2 --terms 300 --json /tmp/bench-rerank.json

Terms are Ask A Patient test-fold phrases linked against the AAP concepts (a realistic mix of
exact matches, which skip the LLM, and hard cases); each term is linked alone, so the
latency is what one typed term costs.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import time
from pathlib import Path

from termlinker.atomic import write_text
from termlinker.evaluation.datasets import askapatient_split, askapatient_vocabulary
from termlinker.linker import Linker, LinkerConfig, TermCount
from termlinker.paths import DataDirs
from termlinker.rerank.reranker import Reranker, RerankerConfig


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(linker: Linker, terms: list[str], k: int, rerank: bool) -> dict:
    latencies = []
    reranked = 0
    start = time.perf_counter()
    for term in terms:
        t0 = time.perf_counter()
        result = next(iter(linker.link([TermCount(term)], top_k=k, rerank=rerank)))
        latencies.append(time.perf_counter() - t0)
        reranked += result.reranked
    total = time.perf_counter() - start
    latencies.sort()
    return {"terms": len(terms), "terms_per_s": round(len(terms) / total, 2),
            "p50_ms": round(1000 * statistics.median(latencies), 1),
            "p95_ms": round(1000 * latencies[int(0.95 * (len(latencies) - 1))], 1),
            "llm_scored_terms": reranked, "peak_rss_mb": round(peak_rss_mb(), 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[3] / "shared" / "data"))
    ap.add_argument("--fold", type=int, default=0)
    ap.add_argument("--terms", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--top-k", type=int, default=10)
    ap.add_argument("--reranker", default=None, help="registered name or .gguf path (default: the active one)")
    ap.add_argument("--json", default="bench-rerank.json")
    args = ap.parse_args()

    terms = list(dict.fromkeys(e.term for e in askapatient_split(args.fold, "test", args.data_dir)))[:args.terms]
    dirs = DataDirs.default().ensure()
    linker = Linker(LinkerConfig(threads=args.threads, top_k=args.top_k), dirs=dirs,
                    vocabulary=askapatient_vocabulary(args.data_dir))
    linker.link_terms(terms[:5])  # warm-up
    retriever = timed(linker, terms, args.top_k, rerank=False)

    t0 = time.perf_counter()
    linker.reranker = Reranker.open(RerankerConfig(model=args.reranker, threads=args.threads), dirs)
    load_s = time.perf_counter() - t0
    stats = linker.reranker.scorer.stats
    reranked = timed(linker, terms, args.top_k, rerank=True)
    reranked["model_load_s"] = round(load_s, 2)
    reranked["prompt_tokens_per_term"] = round(stats.prompt_tokens / len(terms), 1)
    reranked["prompt_tokens_per_llm_term"] = round(stats.prompt_tokens / max(1, stats.calls), 1)
    reranked["llm_decode_calls"] = stats.calls
    report = {"machine": {"cpu": platform.processor() or platform.machine(), "threads": args.threads},
              "model": linker.reranker.model.name, "k": args.top_k, "fold": args.fold,
              "rules": linker.reranker.rules.__dict__, "retriever_only": retriever, "reranked": reranked}
    for name in ("retriever_only", "reranked"):
        row = report[name]
        print(f"{name:<15} {row['terms_per_s']:>7} terms/s  p50 {row['p50_ms']:>7} ms  p95 {row['p95_ms']:>7} ms  "
              f"peak RSS {row['peak_rss_mb']:.0f} MB  LLM-scored {row['llm_scored_terms']}/{row['terms']}")
    print(f"prompt tokens: {reranked['prompt_tokens_per_term']}/term overall, "
          f"{reranked['prompt_tokens_per_llm_term']}/LLM-scored term; model load {reranked['model_load_s']} s")
    write_text(args.json, json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
