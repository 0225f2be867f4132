"""``termlinker bench``: speed, memory and index-recall figures for the retriever.

Figures, not pass/fail: each is printed and written to JSON, and where a baseline makes
sense it is measured in the same run and the figure is given as a ratio too (int8 vs
fp32 encoder, hnswlib vs exact search, cold start vs a bare Python start).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..overwrite import refuse_for_command
from ..paths import DataDirs
from ..vocab.builtin import DEFAULT_BUILTIN
from .common import Commands

if TYPE_CHECKING:
    import resource

    from ..linker import Linker

TARGETS = {"index_build_s": 60.0, "terms_per_s": 1000.0, "cold_start_s": 2.0, "peak_rss_mb": 600.0,
           "hnsw_recall_at_10": 0.99}


def bench_terms(linker: Linker, n: int, seed: int = 13) -> list[str]:
    """Realistic distinct inputs: vocabulary names with typos, case and word-order noise."""
    rng = random.Random(seed)
    names = linker.vocabulary.names
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        words = rng.choice(names).lower().split()
        if len(words) > 1 and rng.random() < 0.3:
            rng.shuffle(words)
        text = " ".join(words)
        if len(text) > 4 and rng.random() < 0.5:
            i = rng.randrange(len(text) - 1)
            text = text[:i] + text[i + 1] + text[i] + text[i + 2:]
        text = f"{text} {len(out)}" if text in seen else text
        seen.add(text)
        out.append(text)
    return out


def _peak_rss_mb(usage: resource.struct_rusage) -> float:
    return usage.ru_maxrss / 1024.0  # kilobytes on Linux


def _child_run(module: str | None, argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time of ``python -m module argv`` (or a bare start) and the child's own peak RSS (MB).

    The child reports its own high-water mark (VmHWM, reset by exec): ru_maxrss, for the child
    or for RUSAGE_CHILDREN, can carry this (large) parent's peak across fork and exec."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as report:
        run = f"runpy.run_module({module!r}, run_name='__main__', alter_sys=True)" if module else "pass"
        wrapper = (f"import runpy, sys\nsys.argv = [{module!r}] + {argv!r}\n"
                   f"try:\n    {run}\nfinally:\n"
                   "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')]\n"
                   f"    open({report.name!r}, 'w').write(hwm[0].split()[1] if hwm else '')\n")
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", wrapper], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        text = open(report.name).read().strip()
    return wall, (int(text) / 1024.0 if text else float("nan"))


def add_parsers(sub: argparse._SubParsersAction) -> None:
    bench = sub.add_parser("bench", help="speed, memory and index recall figures (writes JSON)")
    bench.add_argument("--vocab", default=DEFAULT_BUILTIN)
    bench.add_argument("--terms", type=int, default=10000, help="number of terms to link")
    bench.add_argument("--json", default="bench-retriever.json")


def run_retriever_bench(args: argparse.Namespace, dirs: DataDirs) -> int:
    import resource  # Unix only: imported when the bench runs, not when the command line starts

    import numpy as np

    from ..atomic import write_text
    from ..linker import Linker, LinkerConfig, TermCount

    refuse_for_command(args, "json", ("vocab",))
    threads = args.threads or os.cpu_count() or 1
    results: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                 "processor": platform.processor() or platform.machine()},
                     "vocabulary": args.vocab, "threads": threads, "targets": TARGETS}

    # 1. Index build from scratch in a throwaway index folder (the encoder is reused).
    with tempfile.TemporaryDirectory(prefix="termlinker-bench-") as tmp:
        scratch = DataDirs(Path(tmp))
        scratch.ensure()
        (scratch.encoders).mkdir(parents=True, exist_ok=True)
        from ..models import ensure_encoder

        os.symlink(ensure_encoder(dirs.ensure()), scratch.encoders / "minilm")
        for sub in ("vocabularies",):  # reuse the converted built-in vocabulary cache
            src = dirs.root / sub
            if src.exists():
                os.rmdir(scratch.root / sub)
                os.symlink(src, scratch.root / sub)
        start = time.perf_counter()
        linker = Linker(LinkerConfig(vocabulary=args.vocab, threads=threads), dirs=scratch)
        results["index_build_s"] = time.perf_counter() - start
        results["names_indexed"] = len(linker.vocabulary.names)
        results["concepts"] = len(linker.vocabulary)
        print(f"index build ({results['concepts']} concepts, {results['names_indexed']} names): "
              f"{results['index_build_s']:.1f} s")

        terms = bench_terms(linker, args.terms)
        # 2. Throughput in batches, then single-term latency.
        start = time.perf_counter()
        for _ in linker.link(TermCount(t) for t in terms):
            pass
        elapsed = time.perf_counter() - start
        results["terms_per_s"] = len(terms) / elapsed
        latencies = []
        for term in terms[:500]:
            t0 = time.perf_counter()
            linker.link_terms([term])
            latencies.append(time.perf_counter() - t0)
        results["latency_ms_p50"] = 1000 * float(np.percentile(latencies, 50))
        results["latency_ms_p95"] = 1000 * float(np.percentile(latencies, 95))
        print(f"link {len(terms)} terms: {results['terms_per_s']:.0f} terms/s; single-term latency "
              f"p50 {results['latency_ms_p50']:.1f} ms, p95 {results['latency_ms_p95']:.1f} ms")
        # What pooling a concept's names costs: the same terms ranked by each concept's best name.
        from dataclasses import replace

        pooled_fusion = linker.retriever.fusion
        linker.retriever.fusion = replace(pooled_fusion, pooling_temperature=0.0)
        start = time.perf_counter()
        for _ in linker.link(TermCount(t) for t in terms):
            pass
        results["terms_per_s_best_name_only"] = len(terms) / (time.perf_counter() - start)
        linker.retriever.fusion = pooled_fusion
        print(f"  ranked by each concept's best name instead (no pooling): "
              f"{results['terms_per_s_best_name_only']:.0f} terms/s "
              f"(pooling at {results['terms_per_s'] / results['terms_per_s_best_name_only']:.2f}x its speed)")

        # 3. hnswlib recall@10 against exact search over the same vectors, and the speed ratio.
        bundle = linker.retriever.bundle
        all_vectors = np.asarray(bundle.dense.get_items(list(range(len(linker.vocabulary.names)))), dtype=np.float32)
        queries = linker.encoder.encode_queries(terms[:2000])
        t0 = time.perf_counter()
        exact = np.argsort(-(queries @ all_vectors.T), axis=1)[:, :10]
        exact_s = time.perf_counter() - t0
        bundle.dense.set_ef(linker.retriever.fusion.ef)
        t0 = time.perf_counter()
        approx, _ = bundle.dense.knn_query(queries, k=10)
        hnsw_s = time.perf_counter() - t0
        recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx.tolist(), exact.tolist())])
        results["hnsw_recall_at_10"] = float(recall)
        results["hnsw_speedup_vs_exact"] = exact_s / hnsw_s if hnsw_s else None
        print(f"hnswlib recall@10 vs exact numpy search: {recall:.4f} "
              f"({results['hnsw_speedup_vs_exact']:.1f}x faster than exact)")

        # 4. fp32 vs int8 encoder: speed and agreement on the same inputs.
        from ..retrieval.encoder import OnnxEncoder

        variants = {}
        for variant in ("fp32", "int8"):
            enc = OnnxEncoder(linker.encoder.folder, variant=variant, threads=threads)
            t0 = time.perf_counter()
            vecs = enc.encode_queries(terms[:3000])
            variants[variant] = (3000 / (time.perf_counter() - t0), vecs)
        agreement = float(np.mean(np.sum(variants["fp32"][1] * variants["int8"][1], axis=1)))
        results["encoder"] = {"fp32_texts_per_s": variants["fp32"][0], "int8_texts_per_s": variants["int8"][0],
                              "int8_speedup": variants["int8"][0] / variants["fp32"][0],
                              "mean_cosine_int8_vs_fp32": agreement}
        print(f"encoder: fp32 {variants['fp32'][0]:.0f} texts/s, int8 {variants['int8'][0]:.0f} texts/s "
              f"(x{results['encoder']['int8_speedup']:.2f}); mean cosine int8 vs fp32 {agreement:.3f}")

        # 5. Cold start (process start to first result, index built) and peak RSS, in children.
        env = dict(os.environ, TERMLINKER_HOME=str(scratch.root))
        one = Path(tmp) / "one.txt"
        one.write_text("headache\n", encoding="utf-8")
        many = Path(tmp) / "many.txt"
        many.write_text("\n".join(terms) + "\n", encoding="utf-8")
        base_wall, _ = _child_run(None, [], env)
        cli = ["-q", "--threads", str(threads)]
        cold = min(_child_run("termlinker.cli", cli + ["link", str(one), "--vocab", args.vocab], env)[0]
                   for _ in range(3))
        _, rss = _child_run("termlinker.cli", cli + ["link", str(many), "--vocab", args.vocab,
                                                     "-o", str(Path(tmp) / "o.csv")], env)
        results["cold_start_s"] = cold
        results["cold_start_vs_bare_python"] = cold / base_wall
        results["peak_rss_mb"] = rss
        print(f"cold start to first result: {cold:.2f} s ({results['cold_start_vs_bare_python']:.0f}x a bare "
              f"python start of {base_wall * 1000:.0f} ms); peak RSS linking {len(terms)} terms: {rss:.0f} MB")
        del linker

    results["self_peak_rss_mb"] = _peak_rss_mb(resource.getrusage(resource.RUSAGE_SELF))
    met = {k: (results[k] <= v if k in ("index_build_s", "cold_start_s", "peak_rss_mb") else results[k] >= v)
           for k, v in TARGETS.items()}
    results["targets_met"] = met
    print("targets met: " + ", ".join(f"{k} {'yes' if ok else 'NO'}" for k, ok in met.items()))
    write_text(args.json, json.dumps(results, indent=2))
    print(f"wrote {args.json}")
    return 0


COMMANDS: Commands = {"bench": run_retriever_bench}
