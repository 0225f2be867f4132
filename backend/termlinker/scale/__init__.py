"""The cluster path: the same ``Linker`` over a Ray Data job (``termlinker link-cluster``, issue 21).

Nothing here imports ray at import time, and nothing on the plain link path imports this package:
ray is an optional extra (``pip install termlinker[scale]``). The parts:

- :mod:`.inputs`: many files or folders (Parquet, CSV/TSV, JSON lines, plain text lists) read one
  file per task into distinct terms with counts and a first-seen position; bad rows are counted, not fatal;
- :mod:`.actor`: ``LinkActor``, one ``Linker`` per actor (the index built once on the driver and
  opened by path), linking one part of the job at a time and saving it for a re-run;
- :mod:`.job`: ``link_dataset`` (for a Ray Dataset a user already holds) and ``link_files`` (the
  command): counts merged across the job, parts, the actor pool, retries;
- :mod:`.output`: the same JSONL/CSV as ``termlinker link``, plus Parquet, written atomically.
"""

from __future__ import annotations

__all__ = ["link_dataset", "link_files", "ClusterOptions", "JobReport"]


def __getattr__(name: str):
    if name in __all__:
        from . import job

        return getattr(job, name)
    raise AttributeError(name)
