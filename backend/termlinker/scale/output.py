"""The cluster job's output: the parts merged back into first-seen order and written once, atomically.

JSON lines and CSV go through the same writers as ``termlinker link`` (``io/writers.py``), from
the same ``LinkResult``s, so the files are the same byte for byte; Parquet holds the same fields
(``term``, ``count``, ``candidates`` as a list of ``{id, name, score}``, ``reranked``, and
``concepts`` with ``--split``) with full-precision scores. Imports pyarrow, never ray.
"""

from __future__ import annotations

import heapq
import resource
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..atomic import atomic_open, atomic_target
from .actor import candidate_type, link_result, result_schema

FORMATS = ("csv", "jsonl", "parquet")
READ_ROWS = 256  # rows held per part while merging: memory ~ parts x 256 results
PARQUET_ROWS = 65536


def output_path(out_dir: Path, fmt: str) -> Path:
    return out_dir / f"results.{fmt}"


def merged_rows(parts: Iterable[Path]) -> Iterator[dict]:
    """Every part's rows (each part sorted by position) merged into one stream by position."""
    import pyarrow.parquet as pq

    parts = list(parts)
    _allow_open_files(len(parts) + 64)

    def rows(path: Path) -> Iterator[dict]:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=READ_ROWS):
            yield from batch.to_pylist()

    return heapq.merge(*(rows(p) for p in parts), key=lambda row: row["pos"])


def write_output(rows: Iterable[dict], path: Path, fmt: str, top_k: int, split: bool = False) -> tuple[int, int]:
    """Write ``rows`` (in order) to ``path``; returns (terms written, over-long terms truncated)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        return _write_parquet(rows, path, split)
    from ..io.writers import make_writer

    written = truncated = 0
    with atomic_open(path, "w", encoding="utf-8") as out:  # as `link -o` opens its output
        writer = make_writer(fmt, out, top_k)
        for row in rows:
            writer.write(link_result(row))
            written += 1
            truncated += bool(row["truncated"])
    return written, truncated


def _write_parquet(rows: Iterable[dict], path: Path, split: bool) -> tuple[int, int]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    fields = ["term", "count", "candidates", "reranked"] + (["concepts"] if split else [])
    schema = pa.schema([result_schema().field(name) for name in fields])
    assert schema.field("candidates").type == candidate_type()
    written = truncated = 0
    with atomic_target(path) as temp, pq.ParquetWriter(temp, schema) as writer:
        batch: list[dict] = []
        for row in rows:
            batch.append({name: row[name] for name in fields})
            written += 1
            truncated += bool(row["truncated"])
            if len(batch) >= PARQUET_ROWS:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                batch = []
        writer.write_table(pa.Table.from_pylist(batch, schema=schema))
    return written, truncated


def _allow_open_files(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard) if hard != resource.RLIM_INFINITY else wanted,
                                                    hard))
