"""What the desktop asks of a review project, through the front door (``termlinker.api``)."""

from __future__ import annotations

import pytest

from termlinker.api import LinkResult, Project, TermLinkerError
from termlinker.types import Candidate


def linked(term: str, *cands: tuple[str, str, float]) -> LinkResult:
    return LinkResult(term, 1, tuple(Candidate(i, n, s) for i, n, s in cands))


def test_a_project_takes_another_vocabulary_only_until_it_is_linked(tmp_path):
    with Project.create(tmp_path / "p.tlproj", "hpo") as project:
        project.add_terms({"headache": 1})
        project.set_vocabulary("icd10cm")
        assert project.info().vocabulary == "icd10cm"
        # What Project.link records when it starts linking.
        project._conn.execute("UPDATE meta SET value = 'icd10cm' WHERE key = 'vocabulary_name'")
        project.set_vocabulary("icd10cm")  # the same: nothing to change
        with pytest.raises(TermLinkerError, match="linked against 'icd10cm'.*new project"):
            project.set_vocabulary("hpo")
        assert project.info().vocabulary == "icd10cm"
