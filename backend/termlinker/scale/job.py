"""The cluster job: a Ray Data pipeline around ``LinkActor``.

1. The driver opens the vocabulary and builds the index once into the data folder (``prepare``);
   actors open it by path (on several nodes the data folder must be on storage they all see).
2. Terms (a user's Dataset, or the files read one per task by :mod:`.inputs`) each get a part, a
   stable hash bucket of the term; Ray Data's sort with the parts as boundaries brings every row
   of a part (every occurrence of its terms, from every file) into one block.
3. ``map_batches`` runs ``LinkActor`` over a fixed pool of actors, one ``Linker`` each: it merges
   the block's rows into distinct terms (counts summed, first position kept: the job's merge),
   links them and returns them; Ray restarts a dead actor and retries its call (``max_restarts``,
   ``max_task_retries``).
4. With a work folder each part is saved under a hash of the job and its rows; a re-run skips the
   parts already saved; the command merges the parts by position and writes the output once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from .. import __version__
from ..errors import InputError, TermLinkerError
from ..linker import Linker, LinkerConfig
from ..paths import DataDirs
from .actor import CRASH_ONCE_ENV, LinkActor
from .inputs import POSITION_BITS, ReadOptions, find_inputs, read_input_file
from .output import merged_rows, output_path, write_output

DEFAULT_PART_SIZE = 20_000  # distinct terms per part: the unit of retry, of resume and of load balance
MAX_FILES = 1 << 20  # positions (file << 32 | order) stay below 2**52
LOCAL = "local"


class ClusterError(TermLinkerError):
    """The cluster could not be reached, or a job's output does not add up."""


@dataclass(frozen=True)
class ClusterOptions:
    address: str = LOCAL  # "local" (a cluster of this machine, started and stopped here), "auto", "ray://host:10001"
    workers: int | None = None  # actors, one Linker each; None: the cluster's CPUs / threads_per_worker
    threads_per_worker: int = 1
    part_size: int = DEFAULT_PART_SIZE
    quiet: bool = False


@dataclass
class JobReport:
    files: int = 0
    rows: int = 0
    distinct: int = 0
    parts: int = 0
    resumed_parts: int = 0
    workers: int = 0
    bad_rows: int = 0
    first_bad: str = ""
    failed_files: int = 0
    first_failed: str = ""
    truncated: int = 0
    index_rebuilt_by_actor: bool = False
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    output: str = ""


# -- the cluster -----------------------------------------------------------------------------------

def _ray():
    try:
        import ray
    except ImportError:
        raise ClusterError("the cluster path needs Ray: pip install 'termlinker[scale]'") from None
    return ray


@contextlib.contextmanager
def cluster(options: ClusterOptions) -> Iterator[int]:
    """Ray, connected or started as ``options.address`` says (an already connected session is used as
    it is); yields the number of workers. A local cluster listens on loopback only and is stopped after."""
    ray = _ray()
    started = False
    threads = max(1, options.threads_per_worker)
    if not ray.is_initialized():
        if options.address == LOCAL:
            workers = options.workers or max(1, (os.cpu_count() or 1) // threads)
            # One CPU beyond the actors' for the reading and shuffling tasks.
            ray.init(num_cpus=workers * threads + 1, include_dashboard=False, _node_ip_address="127.0.0.1",
                     logging_level="WARNING", log_to_driver=not options.quiet)
        else:
            try:
                ray.init(address=options.address, logging_level="WARNING", log_to_driver=not options.quiet)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise ClusterError(f"cannot reach the Ray cluster at {options.address}: {exc}") from None
        started = True
    try:
        _quiet_data(options.quiet)
        yield options.workers or default_workers(threads)
    finally:
        if started:
            ray.shutdown()


def default_workers(threads_per_worker: int = 1) -> int:
    """All of the cluster's CPUs but one (kept for reading and shuffling), in actors of ``threads_per_worker``."""
    cpus = int(_ray().cluster_resources().get("CPU", 1))
    return max(1, (cpus - 1) // max(1, threads_per_worker))


def _quiet_data(quiet: bool) -> None:
    from ray.data import DataContext

    context = DataContext.get_current()
    context.enable_progress_bars = not quiet
    context.print_on_execution_start = not quiet


# -- the pipeline ----------------------------------------------------------------------------------

def prepare(config: LinkerConfig, dirs: DataDirs) -> str:
    """Build (or check) the index once on the driver and return the job's key: what the results depend on
    (the configuration without thread counts, the index, the re-ranker model), nothing else."""
    linker = Linker(replace(config, rerank=False), dirs=dirs)
    reranker = None
    if config.rerank:
        from ..rerank.registry import RerankerRegistry

        try:
            reranker = repr(RerankerRegistry(dirs).for_vocabulary(config.reranker.model,
                                                                  linker.vocabulary.info.language))
        except TermLinkerError as exc:  # the actors fall back to the retriever and say so
            reranker = f"unavailable: {exc}"
    plain = replace(config, threads=None, reranker=replace(config.reranker, threads=0))
    identity = {"version": __version__, "config": repr(plain), "index": linker.retriever.bundle.folder.name,
                "reranker": reranker}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:32]


def _keyed(parts: int) -> Callable:
    """term (whitespace collapsed, blanks dropped), count (default 1), pos (default 0) and the term's
    part: a stable hash bucket (crc32, the same in every process and every run)."""
    def keyed(batch):
        import pyarrow as pa

        if "term" not in batch.column_names:
            raise InputError(f"the dataset has no 'term' column (it has {', '.join(batch.column_names)}).")
        terms = [" ".join(t.split()) if isinstance(t, str) else "" for t in batch.column("term").to_pylist()]
        n = len(terms)
        counts = batch.column("count").to_pylist() if "count" in batch.column_names else [1] * n
        positions = batch.column("pos").to_pylist() if "pos" in batch.column_names else [0] * n
        keep = [i for i, t in enumerate(terms) if t]
        return pa.table({"term": pa.array([terms[i] for i in keep], pa.string()),
                         "count": pa.array([int(counts[i] or 1) for i in keep], pa.int64()),
                         "pos": pa.array([int(positions[i] or 0) for i in keep], pa.int64()),
                         "part": pa.array([zlib.crc32(terms[i].encode("utf-8")) % parts for i in keep], pa.int64())})
    return keyed


def _link(ds, rows: int, config: LinkerConfig, dirs: DataDirs, job_key: str, workers: int,
          threads_per_worker: int, part_size: int, work_dir: Path | None, manifest_only: bool):
    """The job's Dataset: ``ds``'s rows keyed by part, one block per part (a sort with the parts as its
    boundaries: Ray's shuffle brings every row of a term to one block), then the actor pool."""
    from ray.data import ActorPoolStrategy

    threads = max(1, threads_per_worker)
    config = replace(config, threads=threads, reranker=replace(config.reranker, threads=threads))
    parts = max(1, math.ceil(rows / max(1, part_size)))
    keyed = ds.map_batches(_keyed(parts), batch_format="pyarrow")
    shuffled = keyed.sort("part", boundaries=list(range(1, parts))) if parts > 1 else keyed.repartition(1)
    crash = os.environ.get(CRASH_ONCE_ENV) or None
    # Ray Data's actor pools restart a dead actor and retry its calls without limit (max_restarts=-1,
    # max_task_retries=-1 are its defaults); a retried part is linked again and saved under the same key.
    # One part in flight per actor: a part is seconds to minutes of work, so a free actor should take the
    # next one rather than parts queue up behind a busy actor (Ray's default queues four).
    pool = ActorPoolStrategy(size=workers, max_tasks_in_flight_per_actor=1)
    return shuffled.map_batches(
        LinkActor, batch_size=None, batch_format="pyarrow", compute=pool, num_cpus=threads,
        fn_constructor_kwargs={"config": config, "home": str(dirs.root), "job_key": job_key,
                               "work_dir": str(work_dir) if work_dir else None, "manifest_only": manifest_only,
                               "crash_marker": crash}), parts


def link_dataset(ds, config: LinkerConfig = LinkerConfig(), dirs: DataDirs | None = None, *,
                 workers: int | None = None, threads_per_worker: int = 1, part_size: int = DEFAULT_PART_SIZE,
                 work_dir: str | os.PathLike[str] | None = None):
    """Link a Ray Dataset of terms (a ``term`` column; ``count`` and ``pos`` optional) on the connected
    cluster: one row per distinct term with ``term``, ``count`` (summed), ``pos`` (the least),
    ``candidates`` (``id``, ``name``, ``score``; best first), ``reranked``, ``no_match``, ``concepts``,
    ``truncated``, in no particular order (``.sort("pos")`` for first-seen order). The result is lazy,
    as Ray Datasets are. With ``work_dir``, parts are saved there and a second call with the same terms
    and configuration reads them back instead of linking them again."""
    dirs = (dirs or DataDirs.default()).ensure()
    job_key = prepare(config, dirs)
    results, _ = _link(ds, ds.count(), config, dirs, job_key, workers or default_workers(threads_per_worker),
                       threads_per_worker, part_size, Path(work_dir) if work_dir else None, manifest_only=False)
    return results


# -- the command's job: files in, one output file out ----------------------------------------------

def _read_task(index: int, path: str, options: ReadOptions):
    import pyarrow as pa

    read = read_input_file(index, path, options)
    table = pa.table({"term": pa.array(read.terms, pa.string()), "count": pa.array(read.counts, pa.int64()),
                      "pos": pa.array(read.positions(), pa.int64())})
    report = {"rows": read.rows, "distinct": len(read.terms), "bad_rows": read.bad_rows, "first_bad": read.first_bad, "failed": read.failed,
              "notes": read.notes, "path": path}
    return table, report


def link_files(inputs: list[str], config: LinkerConfig, dirs: DataDirs, out_dir: str | os.PathLike[str],
               fmt: str = "csv", read_options: ReadOptions = ReadOptions(),
               options: ClusterOptions = ClusterOptions()) -> JobReport:
    """Read ``inputs`` (files or folders), link every distinct term once on the cluster and write
    ``out_dir/results.<fmt>`` atomically; parts are kept in ``out_dir/_work`` so that running the same
    job again resumes. Bad rows and unreadable files are counted in the report, not fatal."""
    report = JobReport()
    start = time.perf_counter()
    files = find_inputs(inputs)
    if len(files) > MAX_FILES:
        raise InputError(f"{len(files)} input files: at most {MAX_FILES} in one job; merge some first.")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is a file; -o names a folder for the results and the job's parts.")
    work = out / "_work"
    report.files = len(files)
    dirs = dirs.ensure()
    with cluster(options) as workers:
        ray = _ray()
        report.workers = workers
        report.seconds["cluster_start"] = time.perf_counter() - start
        mark = time.perf_counter()
        job_key = prepare(config, dirs)
        _start_work(work, job_key)
        report.seconds["index"] = time.perf_counter() - mark
        mark = time.perf_counter()
        read = ray.remote(num_returns=2, num_cpus=1, max_retries=3)(_read_task)
        refs = [read.remote(i, str(p), read_options) for i, p in enumerate(files)]
        reports = ray.get([r for _, r in refs])
        _tally(report, reports)
        import ray.data

        report.seconds["read"] = time.perf_counter() - mark
        mark = time.perf_counter()
        tables = [t for (t, _), r in zip(refs, reports) if not r["failed"]]
        stored = sum(r["distinct"] for r in reports)
        if not stored:
            raise InputError("no terms in the input" + (f" ({report.first_failed})" if report.first_failed else "."))
        results, report.parts = _link(ray.data.from_arrow_refs(tables), stored, config, dirs, job_key, workers,
                                      options.threads_per_worker, options.part_size, work, manifest_only=True)
        manifest = results.take_all()
        report.seconds["link"] = time.perf_counter() - mark
    mark = time.perf_counter()
    done = {row["part"]: row for row in manifest}
    report.distinct = sum(row["terms"] for row in done.values())
    if len(done) != len(manifest):
        raise ClusterError(f"the job returned {len(manifest)} parts, {len(done)} of them distinct; "
                           "run it again to resume")
    report.resumed_parts = sum(bool(row["resumed"]) for row in done.values())
    report.index_rebuilt_by_actor = any(row["index_rebuilt"] for row in done.values())
    if done:  # from the first part begun to the last finished: linking alone, without start-up and shuffle
        report.seconds["linking_window"] = (max(r["finished"] for r in done.values())
                                            - min(r["started"] for r in done.values()))
    path = output_path(out, fmt)
    parts = [work / "parts" / f"{key}.parquet" for key in sorted(done, key=lambda k: done[k]["first_pos"])]
    written, report.truncated = write_output(merged_rows(parts), path, fmt, config.top_k, config.split_multi)
    if written != report.distinct:
        raise ClusterError(f"wrote {written} terms for {report.distinct}; run the job again")
    report.output = str(path)
    report.seconds["write"] = time.perf_counter() - mark
    report.seconds["total"] = time.perf_counter() - start
    return report


def _start_work(work: Path, job_key: str) -> None:
    """The work folder for this job: parts of another job (other terms' keys never match, but they
    take space) are removed when the job's key changes."""
    parts = work / "parts"
    stamp = work / "job.json"
    try:
        previous = json.loads(stamp.read_text(encoding="utf-8")).get("job_key") if stamp.is_file() else None
    except (OSError, ValueError):
        previous = None
    if previous != job_key and parts.is_dir():
        for stale in parts.glob("*.parquet"):
            stale.unlink(missing_ok=True)
    parts.mkdir(parents=True, exist_ok=True)
    from ..atomic import write_text

    write_text(stamp, json.dumps({"job_key": job_key}) + "\n")


def _tally(report: JobReport, reports: list[dict]) -> None:
    for r in reports:
        report.rows += r["rows"]
        report.bad_rows += r["bad_rows"]
        if r["first_bad"] and not report.first_bad:
            report.first_bad = r["first_bad"]
        if r["failed"]:
            report.failed_files += 1
            report.first_failed = report.first_failed or r["failed"]
        for note in r["notes"]:
            if note not in report.notes:
                report.notes.append(note)


__all__ = ["ClusterOptions", "JobReport", "link_dataset", "link_files", "ClusterError", "POSITION_BITS"]
