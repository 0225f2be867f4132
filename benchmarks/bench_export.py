"""Project export: wall time and peak RSS of `termlinker project export` on a large project (figures, not a test).

Builds a project of N terms with K fake candidates each through the Project API (no encoder, no
vocabulary), approves about half, then runs every export format in a child process so each figure
is that export's own peak RSS, not the builder's.

    python benchmarks/bench_export.py [--terms 100000] [--candidates 10] [--keep FILE.tlproj]

Prints one JSON object: {"terms", "candidates", "build_s", "exports": {FORMAT: {"wall_s", "peak_rss_mb",
"bytes"}}}. With --keep, an existing project there is reused instead of built again.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from termlinker.project import Project
from termlinker.types import Candidate, LinkResult

FORMATS = ("csv", "json", "fhir", "omop")


def fake_result(i: int, k: int) -> LinkResult:
    # Scores spread over [0, 1) so that bulk approval takes about half of the terms.
    cands = tuple(Candidate(f"HP:{(i * 7 + j) % 1_000_000:07d}", f"concept name {i}-{j} with some words",
                            round(((i * 37) % 100) / 100 - j * 0.01, 4), 0.5, f"matched {j}", False)
                  for j in range(k))
    return LinkResult(f"patient phrase number {i} about pain", 1 + i % 5, cands)


def build(path: Path, n: int, k: int, batch: int = 5000) -> float:
    began = time.monotonic()
    with Project.create(path, "hpo", vocabulary_version="bench") as project:
        for start in range(0, n, batch):
            project.store_results(fake_result(i, k) for i in range(start, min(n, start + batch)))
        project.bulk_approve(0.5, reviewer="bench")
    return time.monotonic() - began


def export_in_child(project: Path, fmt: str, out: Path) -> dict:
    cmd = [sys.executable, "-m", "termlinker.cli", "-q", "project", "export", str(project), "--format", fmt,
           "--all", "-o", str(out)]
    began = time.monotonic()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.monotonic() - began
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"export {fmt} failed: {' '.join(cmd)}")
    return {"wall_s": round(wall, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "bytes": out.stat().st_size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terms", type=int, default=100_000)
    parser.add_argument("--candidates", type=int, default=10)
    parser.add_argument("--keep", type=Path, help="project file to build once and reuse")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="termlinker-bench-export-") as tmp:
        project = args.keep or Path(tmp) / "bench.tlproj"
        build_s = None if project.exists() else round(build(project, args.terms, args.candidates), 1)
        exports = {fmt: export_in_child(project, fmt, Path(tmp) / f"out.{fmt}") for fmt in FORMATS}
    print(json.dumps({"terms": args.terms, "candidates": args.candidates, "build_s": build_s, "exports": exports},
                     indent=2))


if __name__ == "__main__":
    main()
