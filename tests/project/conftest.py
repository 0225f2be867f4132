"""Fixtures for review projects: a project with stored results, no linker needed."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from termlinker.project import Project
from termlinker.types import Candidate, LinkResult

FIXED = datetime(2024, 3, 5, 9, 30, tzinfo=timezone.utc)


def result(term: str, *cands: tuple[str, str, float], count: int = 1, no_match: bool = False) -> LinkResult:
    return LinkResult(term, count, tuple(Candidate(i, n, s) for i, n, s in cands), no_match=no_match)


RESULTS = [
    result("headache", ("T:001", "Headache", 0.97), ("T:012", "Arthralgia", 0.40), count=3),
    result("糖尿病", ("T:016", "Diabetes mellitus", 0.95), ("T:017", "Osteoporosis", 0.30), count=2),
    result("legs hurt", ("T:003", "Pain in lower limb", 0.72), ("T:010", "Muscle cramp", 0.60)),
    result("zzz", ("T:002", "Insomnia", 0.91), no_match=True),
    result("nothing at all"),
]


@pytest.fixture
def project_path(tmp_path: Path) -> Path:
    return tmp_path / "review.tlproj"


@pytest.fixture
def project(project_path: Path):
    """A project over a 'tiny' vocabulary whose five terms are linked (fixed clock)."""
    with Project.create(project_path, "tiny", vocabulary_version="1.0", clock=lambda: FIXED) as p:
        p.add_terms([(r.term, r.count) for r in RESULTS])
        p.store_results(RESULTS)
        yield p
