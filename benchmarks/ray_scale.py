"""The cluster path's speed (issue 21): terms/s of `termlinker link-cluster` with 1 and 2 workers of one
thread each against the single-process Linker `termlinker link` runs, in the same run (the ratios are
the result; absolute rates depend on the machine and on what else runs on it), on the retriever path
and on the re-ranked path (SmolLM2 through llama.cpp, the CPU-bound one; the skip rules are off so
that every term goes through the LLM), plus the cluster path's start-up overhead on an 8-term job.

    .venv/bin/python -m benchmarks.ray_scale [--terms 3000] [--rerank-terms 240] [--paths retriever,reranked]
        [--json OUT.json]

Terms are made up here (complaints x body parts x qualifiers), linked against the tests' tiny
vocabulary in a scratch data folder with the default encoder; nothing is read from ../shared/data.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VOCAB = ROOT / "tests" / "data" / "tiny_vocab.jsonl"
COMPLAINTS = ["pain", "aching", "burning", "throbbing", "stabbing pain", "cramps", "numbness", "tingling", "swelling",
              "stiffness", "itching", "weakness", "pressure", "soreness", "ringing", "pounding"]
PARTS = ["head", "legs", "ears", "chest", "stomach", "back", "knees", "joints", "muscles", "heart", "eyes", "arms",
         "feet", "neck", "hands", "temples"]
QUALIFIERS = ["", "at night", "all day", "after eating", "when walking", "since last week", "in the morning",
              "on and off", "getting worse", "that will not stop", "every few hours", "when lying down"]


def make_terms(n: int) -> list[str]:
    combos = itertools.product(QUALIFIERS, COMPLAINTS, PARTS)
    terms = [f"{c} in my {p} {q}".strip() for q, c, p in combos]
    if n > len(terms):
        terms += [f"{t} again {i}" for i, t in enumerate(terms * math.ceil(n / len(terms)))]
    return terms[:n]


def single_process(terms: list[str], config, dirs) -> dict:
    from termlinker.linker import Linker, TermCount

    start = time.perf_counter()
    linker = Linker(config, dirs=dirs)
    opened = time.perf_counter()
    results = list(linker.link(TermCount(t) for t in terms))
    done = time.perf_counter()
    import resource

    return {"open_s": opened - start, "link_s": done - opened, "terms_per_s": len(terms) / (done - opened),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "results": [(r.term, [c.concept_id for c in r.candidates], [c.score for c in r.candidates])
                        for r in results]}


def _process_share(share: list[str], config, dirs, barrier, queue) -> None:
    from termlinker.linker import Linker, TermCount

    linker = Linker(config, dirs=dirs)
    barrier.wait()
    began = time.time()
    results = list(linker.link(TermCount(t) for t in share))
    queue.put((began, time.time(), len(results)))


def independent_processes(terms: list[str], config, dirs, processes: int = 2) -> dict:
    """The machine's own ceiling, without Ray: ``processes`` plain single-process Linkers of one thread
    each, started together on alternate terms; terms/s over the window from the first start to the last
    finish. Whatever the cluster path loses beyond this is Ray's; below it, the cores themselves (on a
    VM two vCPUs may share one physical core)."""
    import multiprocessing

    spawn = multiprocessing.get_context("spawn")
    barrier, queue = spawn.Barrier(processes), spawn.Queue()
    workers = [spawn.Process(target=_process_share, args=(terms[i::processes], config, dirs, barrier, queue))
               for i in range(processes)]
    for w in workers:
        w.start()
    spans = [queue.get() for _ in workers]
    for w in workers:
        w.join()
    window = max(end for _, end, _ in spans) - min(began for began, _, _ in spans)
    return {"processes": processes, "link_s": window, "terms_per_s": sum(n for _, _, n in spans) / window}


def cluster(terms: list[str], config, dirs, workers: int, work: Path, part_size: int) -> dict:
    from termlinker.scale.job import ClusterOptions, link_files

    src = work / f"terms-{workers}.txt"
    src.write_text("\n".join(terms) + "\n", encoding="utf-8")
    out = work / f"out-{workers}-{int(time.time() * 1000)}"
    report = link_files([str(src)], config, dirs, out, "jsonl",
                        options=ClusterOptions(workers=workers, threads_per_worker=1, part_size=part_size, quiet=True))
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    s = report.seconds
    # terms/s while the actors link (first part begun to last part done); end to end includes ray.init,
    # reading, the shuffle, the actors' start and writing the output.
    return {"workers": workers, "parts": report.parts, "seconds": s, "link_s": s["linking_window"],
            "terms_per_s": len(terms) / s["linking_window"], "end_to_end_terms_per_s": len(terms) / s["total"],
            "results": [(r["term"], [c["id"] for c in r["candidates"]], [c["score"] for c in r["candidates"]])
                        for r in rows]}


def same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(x[0] == y[0] and x[1] == y[1] and all(abs(p - q) <= 1e-6 for p, q in zip(x[2], y[2]))
                                    for x, y in zip(a, b))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terms", type=int, default=3000, help="terms on the retriever path")
    parser.add_argument("--rerank-terms", type=int, default=240, help="terms on the re-ranked path")
    parser.add_argument("--paths", default="retriever,reranked", help="which paths to measure (comma-separated)")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)

    from termlinker.linker import LinkerConfig
    from termlinker.models import ensure_encoder
    from termlinker.paths import DataDirs
    from termlinker.rerank.fusion import RerankRules
    from termlinker.rerank.reranker import RerankerConfig

    figures: dict = {"machine_note": "compare ratios, not absolute rates; run it on an otherwise idle machine"}
    with tempfile.TemporaryDirectory(prefix="tl-ray-bench-") as tmp:
        work = Path(tmp)
        dirs = DataDirs.at(work / "home").ensure()
        ensure_encoder(dirs)
        plain = LinkerConfig(vocabulary=str(VOCAB), threads=1)
        every = RerankRules(skip_exact=False, skip_margin=math.inf)
        reranked = replace(plain, rerank=True, reranker=RerankerConfig(threads=1, rules=every))
        for name, config, n in (("retriever", plain, args.terms), ("reranked", reranked, args.rerank_terms)):
            if name not in args.paths.split(","):
                continue
            terms = make_terms(n)
            base = single_process(terms, config, dirs)
            row = {"terms": n, "single_process": {k: v for k, v in base.items() if k != "results"}}
            for workers in (1, 2):
                got = cluster(terms, config, dirs, workers, work, part_size=max(1, n // 8))
                row[f"cluster_{workers}"] = {k: v for k, v in got.items() if k != "results"}
                row[f"cluster_{workers}"]["identical_to_single_process"] = same(got["results"], base["results"])
            row["two_plain_processes"] = independent_processes(terms, config, dirs)
            row["speedup_2_vs_1_workers"] = row["cluster_2"]["terms_per_s"] / row["cluster_1"]["terms_per_s"]
            # the same ratio without Ray: two plain processes against one (the single-process run)
            row["machine_ceiling_2_vs_1"] = row["two_plain_processes"]["terms_per_s"] / base["terms_per_s"]
            row["cluster_1_vs_single"] = row["cluster_1"]["terms_per_s"] / base["terms_per_s"]
            row["cluster_2_vs_single"] = row["cluster_2"]["terms_per_s"] / base["terms_per_s"]
            figures[name] = row
            print(f"{name}: {n} terms; single {base['terms_per_s']:.1f}/s; "
                  f"1 worker {row['cluster_1']['terms_per_s']:.1f}/s; 2 workers {row['cluster_2']['terms_per_s']:.1f}/s "
                  f"(x{row['speedup_2_vs_1_workers']:.2f} of 1 worker, x{row['cluster_2_vs_single']:.2f} of single); "
                  f"two plain processes without Ray x{row['machine_ceiling_2_vs_1']:.2f} of one; "
                  f"identical: {row['cluster_1']['identical_to_single_process']}, "
                  f"{row['cluster_2']['identical_to_single_process']}", flush=True)
        # Start-up overhead: an 8-term job end to end, against the single-process path on the same terms.
        tiny = make_terms(8)
        start = time.perf_counter()
        single_process(tiny, plain, dirs)
        single_s = time.perf_counter() - start
        small = cluster(tiny, plain, dirs, 1, work, part_size=8)
        figures["startup"] = {"single_process_s": single_s, "cluster_total_s": small["seconds"]["total"],
                              "cluster_seconds": small["seconds"],
                              "overhead_s": small["seconds"]["total"] - single_s}
        print(f"start-up: 8 terms, single process {single_s:.1f} s, cluster {small['seconds']['total']:.1f} s "
              f"(ray.init {small['seconds']['cluster_start']:.1f} s); overhead {figures['startup']['overhead_s']:.1f} s",
              flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
