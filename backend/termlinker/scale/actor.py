"""``LinkActor``: one ``Linker`` per Ray actor, linking one part of the job per call.

A part is every row whose term's hash falls in one bucket (``part`` column): all the rows of its
terms, from every file, so the actor merges them into distinct terms (counts summed, the least
first-seen position kept) and sorts them by position. With a work folder, it
keys it by a hash of the job and of the part's rows: a part already saved under that key (a re-run
of the same job) is read back instead of linked again; a new one is saved atomically before it is
returned, so a worker killed mid-part leaves nothing behind and Ray's retry links it again.
Imports pyarrow, never ray (the actor pool is ray's; this class is plain Python).
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from ..linker import Linker, LinkerConfig, TermCount
from ..paths import DataDirs
from ..types import Candidate, LinkResult

CRASH_ONCE_ENV = "TERMLINKER_SCALE_CRASH_ONCE"  # tests: a marker file; the first actor call that finds none exits


def candidate_type():
    import pyarrow as pa

    return pa.list_(pa.struct([("id", pa.string()), ("name", pa.string()), ("score", pa.float64())]))


def result_schema():
    import pyarrow as pa

    return pa.schema([("pos", pa.int64()), ("term", pa.string()), ("count", pa.int64()),
                      ("candidates", candidate_type()), ("reranked", pa.bool_()), ("no_match", pa.bool_()),
                      ("concepts", candidate_type()), ("truncated", pa.bool_())])


def manifest_schema():
    import pyarrow as pa

    return pa.schema([("part", pa.string()), ("terms", pa.int64()), ("first_pos", pa.int64()),
                      ("resumed", pa.bool_()), ("index_rebuilt", pa.bool_()),
                      ("started", pa.float64()), ("finished", pa.float64())])  # wall clock, for the throughput


def part_key(job_key: str, terms: list[str], counts: list[int], positions: list[int]) -> str:
    digest = hashlib.sha256(job_key.encode())
    for term, count, pos in zip(terms, counts, positions):
        digest.update(f"\n{pos}\t{count}\t{term}".encode())
    return digest.hexdigest()[:32]


def _candidates(candidates: tuple[Candidate, ...]) -> list[dict]:
    return [{"id": c.concept_id, "name": c.name, "score": float(c.score)} for c in candidates]


def result_row(pos: int, result: LinkResult) -> dict:
    return {"pos": pos, "term": result.term, "count": result.count, "candidates": _candidates(result.candidates),
            "reranked": result.reranked, "no_match": result.no_match, "concepts": _candidates(result.concepts),
            "truncated": bool(result.warnings)}


def link_result(row: dict) -> LinkResult:
    """A result row (as the actor returns it or a part file holds it) as the ``LinkResult`` it was made of."""
    def cands(items) -> tuple[Candidate, ...]:
        return tuple(Candidate(c["id"], c["name"], c["score"]) for c in items or ())

    return LinkResult(row["term"], int(row["count"]), cands(row["candidates"]), reranked=bool(row["reranked"]),
                      no_match=bool(row["no_match"]), concepts=cands(row["concepts"]))


def merge_rows(terms: list[str], counts: list[int], positions: list[int]) -> tuple[list[str], list[int], list[int]]:
    """One row per distinct term (counts summed, the least position kept), in position order: a part
    holds every row of each of its terms, from every file, so this merge is the job's."""
    merged: dict[str, list[int]] = {}
    for term, count, pos in zip(terms, counts, positions):
        seen = merged.get(term)
        if seen is None:
            merged[term] = [int(count), int(pos)]
        else:
            seen[0] += int(count)
            seen[1] = min(seen[1], int(pos))
    ordered = sorted(merged.items(), key=lambda item: (item[1][1], item[0]))
    return [t for t, _ in ordered], [c for _, (c, _) in ordered], [p for _, (_, p) in ordered]


class LinkActor:
    """Called by Ray Data with one block (a pyarrow table of ``term``, ``count``, ``pos``, ``part``): every
    row of the part's terms, a term possibly several times (from several files)."""

    def __init__(self, config: LinkerConfig, home: str, job_key: str, work_dir: str | None = None,
                 manifest_only: bool = False, crash_marker: str | None = None) -> None:
        self.linker = Linker(config, dirs=DataDirs.at(home))  # the index is already built: opened, not rebuilt
        self.job_key = job_key
        self.parts = Path(work_dir) / "parts" if work_dir else None
        self.manifest_only = manifest_only
        self.crash_marker = crash_marker

    def __call__(self, block):
        import pyarrow as pa
        import pyarrow.compute as pc

        self._maybe_crash()
        tables = []
        if block.num_rows:
            parts = block.column("part").to_pylist()
            for part in sorted(set(parts)):
                rows = block.filter(pc.equal(block.column("part"), part)) if len(set(parts)) > 1 else block
                tables.append(self._part(rows))
        schema = manifest_schema() if self.manifest_only else result_schema()
        return pa.concat_tables(tables) if tables else schema.empty_table()

    def _maybe_crash(self) -> None:
        """The kill-a-worker test: the first call anywhere finds no marker, leaves one and dies."""
        marker = self.crash_marker
        if marker and not os.path.exists(marker):
            Path(marker).write_text(str(os.getpid()))
            os._exit(17)

    def _part(self, rows):
        import pyarrow as pa
        import pyarrow.parquet as pq

        started = time.time()
        terms, counts, positions = merge_rows(rows.column("term").to_pylist(), rows.column("count").to_pylist(),
                                              rows.column("pos").to_pylist())
        key = part_key(self.job_key, terms, counts, positions)
        path = self.parts / f"{key}.parquet" if self.parts else None
        resumed = path is not None and path.is_file()
        if resumed:
            table = pq.read_table(path, schema=result_schema())
        else:
            items = (TermCount(t, c) for t, c in zip(terms, counts))
            results = [result_row(p, r) for p, r in zip(positions, self.linker.link(items, total=len(terms)))]
            table = pa.Table.from_pylist(results, schema=result_schema())
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
                pq.write_table(table, temp)
                os.replace(temp, path)
        if not self.manifest_only:
            return table
        return pa.Table.from_pylist([{"part": key, "terms": table.num_rows, "first_pos": positions[0],
                                      "resumed": resumed, "index_rebuilt": self.linker.index_rebuilt,
                                      "started": started, "finished": time.time()}],
                                    schema=manifest_schema())
