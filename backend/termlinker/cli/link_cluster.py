"""``termlinker link-cluster``: many term files linked on a Ray cluster (the ``scale`` extra).

The engine is :mod:`termlinker.scale`; ray is imported only when the command runs, so the rest of
the command line (``termlinker link`` above all) never loads it.
"""

from __future__ import annotations

import argparse

from ..errors import InputError
from ..paths import DataDirs
from ..vocab.builtin import DEFAULT_BUILTIN
from .common import Commands, linker_config_from_args, print_warnings, rerank_options, say


def add_parsers(sub: argparse._SubParsersAction) -> None:
    cmd = sub.add_parser("link-cluster", help="link many term files on a Ray cluster (pip install termlinker[scale])")
    cmd.add_argument("inputs", nargs="+", metavar="INPUT",
                     help="term files or folders of them: .txt, .csv/.tsv/.xlsx, .jsonl, .parquet")
    cmd.add_argument("-o", "--output", required=True, metavar="OUT",
                     help="output folder: OUT/results.<format>, and OUT/_work (the parts a re-run resumes from)")
    cmd.add_argument("--vocab", default=DEFAULT_BUILTIN, help=f"vocabulary name or file (default: {DEFAULT_BUILTIN})")
    cmd.add_argument("--top-k", type=int, default=10)
    cmd.add_argument("--format", choices=["csv", "jsonl", "parquet"], default="csv")
    cmd.add_argument("--column", help="the column (CSV/TSV/XLSX/Parquet) or JSON key holding the terms "
                                      "(default: the first column; 'term' in JSON lines and Parquet)")
    cmd.add_argument("--header", action=argparse.BooleanOptionalAction, default=None,
                     help="whether CSV/TSV files' first row names their columns (default: guessed per file)")
    cmd.add_argument("--count-column", help="a column or key saying how often each row's term occurred")
    rerank_options(cmd)
    cmd.add_argument("--address", default="local",
                     help="'local' (start a cluster of this machine, default), 'auto' (the running cluster) "
                          "or ray://HOST:10001")
    cmd.add_argument("--workers", type=int, help="actors, each with its own Linker (default: the cluster's CPUs "
                                                 "less one, divided by --threads-per-worker)")
    cmd.add_argument("--threads-per-worker", type=int, default=1, help="CPU threads per actor (default: 1)")
    cmd.add_argument("--part-size", type=int, default=None, metavar="N",
                     help="terms per part, the unit of retry and resume (default: 20000); "
                          "a re-run resumes only with the same value")


def link_cluster(args: argparse.Namespace, dirs: DataDirs) -> int:
    from ..scale.inputs import ReadOptions
    from ..scale.job import DEFAULT_PART_SIZE, ClusterOptions, link_files

    if args.top_k < 1:
        raise InputError("--top-k must be at least 1.")
    for name in ("workers", "threads_per_worker", "part_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise InputError(f"--{name.replace('_', '-')} must be at least 1.")
    config = linker_config_from_args(args, top_k=args.top_k)
    options = ClusterOptions(address=args.address, workers=args.workers, threads_per_worker=args.threads_per_worker,
                             part_size=args.part_size or DEFAULT_PART_SIZE, quiet=args.quiet)
    report = link_files(args.inputs, config, dirs, args.output, fmt=args.format,
                        read_options=ReadOptions(args.column, args.header, args.count_column), options=options)
    print_warnings(report.notes[:5], "note")
    if report.failed_files:
        say(f"warning: {report.failed_files} input file(s) skipped; first: {report.first_failed}")
    if report.bad_rows:
        say(f"warning: {report.bad_rows} bad input row(s) skipped; first: {report.first_bad}")
    if report.truncated:
        say(f"warning: {report.truncated} over-long term(s) were truncated to 256 characters for linking.")
    if report.index_rebuilt_by_actor:
        say("warning: a worker built the index again: is the data folder on storage every node sees?")
    if not args.quiet:
        resumed = f", {report.resumed_parts} of them from an earlier run" if report.resumed_parts else ""
        say(f"linked {report.distinct} distinct terms ({report.rows} rows, {report.files} file(s)) with "
            f"{report.workers} worker(s) in {report.parts} part(s){resumed}, "
            f"{report.seconds['total']:.1f} s: {report.output}")
    return 0


COMMANDS: Commands = {"link-cluster": link_cluster}
