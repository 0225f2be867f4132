"""What the desktop asks of a review project, through the front door (``termlinker.api``)."""

from __future__ import annotations

import os
import stat

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


def test_a_bulk_approval_says_what_it_changed_and_is_undone_in_one_step(tmp_path):
    with Project.create(tmp_path / "p.tlproj", "tiny") as project:
        project.add_terms({"headache": 1, "insomnia": 1, "leg pain": 1, "nausea": 1})
        project.store_results([linked("headache", ("T:001", "Headache", 0.97)),
                               linked("insomnia", ("T:002", "Insomnia", 0.95)),
                               linked("leg pain", ("T:003", "Pain in lower limb", 0.70)),
                               linked("nausea", ("T:004", "Nausea", 0.99))])
        project.decide("nausea", "flagged", comment="ask")
        project.comment("headache", "seen")
        assert project.bulk_approvable(0.9) == 2

        approval = project.approve_in_bulk(0.9, reviewer="ann")

        assert len(approval) == 2 and approval.min_score == 0.9
        assert [(c.term, c.status.value, c.concept_id, c.approved_id) for c in approval.changes] == [
            ("headache", "unchecked", None, "T:001"), ("insomnia", "unchecked", None, "T:002")]
        assert project.bulk_approvable(0.9) == 0
        project.decide("insomnia", "approved", concept_id="T:002", reviewer="bob")  # by hand, after
        project._conn.execute("UPDATE decisions SET decided_at = 'later' WHERE term_id = 2")

        assert project.undo_bulk_approve(approval, reviewer="carl") == 1

        rows = {r.term: r for r in project.rows()}
        assert (rows["headache"].status.value, rows["headache"].concept_id, rows["headache"].comment,
                rows["headache"].reviewer) == ("unchecked", None, "seen", "carl")
        assert (rows["insomnia"].status.value, rows["insomnia"].reviewer) == ("approved", "bob")
        assert rows["nausea"].status.value == "flagged" and rows["leg pain"].status.value == "unchecked"
        assert [h[0] for h in project.history("headache")][-2:] == ["approved", "unchecked"]
        assert project.undo_bulk_approve(approval) == 0  # undone already
        assert project.bulk_approve(0.9) == 1  # the count, as the command line prints it


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize("umask", [0o002, 0o022, 0o077])
def test_a_new_project_file_gets_the_mode_of_any_new_file(tmp_path, umask):
    old = os.umask(umask)
    try:
        with Project.create(tmp_path / "p.tlproj", "hpo") as project:
            project.add_terms({"headache": 1})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "p.tlproj").stat().st_mode) == 0o666 & ~umask
    with pytest.raises(TermLinkerError, match="already exists"):
        Project.create(tmp_path / "p.tlproj", "hpo")
    with Project.open(tmp_path / "p.tlproj") as project:
        assert [r.term for r in project.rows()] == ["headache"]


def test_chosen_terms_are_linked_again_with_their_decisions_kept(home, tiny_vocab_path, tmp_path):
    from termlinker.api import Linker, LinkerConfig

    narrow = Linker(LinkerConfig(vocabulary=str(tiny_vocab_path), top_k=2, threads=1), dirs=home)
    wide = Linker(LinkerConfig(vocabulary=str(tiny_vocab_path), top_k=4, threads=1), dirs=home)
    with Project.create(tmp_path / "p.tlproj", str(tiny_vocab_path)) as project:
        project.add_terms({"headache": 1, "trouble sleeping": 1, "leg pain": 1})
        project.link(narrow)
        project.decide("headache", "approved", concept_id="T:001", comment="ok", reviewer="ann")
        project.add_terms({"feeling sick": 1})
        calls: list[tuple[int, int]] = []

        summary = project.link(wide, progress=lambda d, t: calls.append((d, t)), terms=["headache", " leg  pain "])

        assert (summary.linked, summary.skipped) == (2, 2)
        assert calls[0] == (0, 2) and calls[-1] == (2, 2)  # progress over the chosen terms
        rows = {r.term: r for r in project.rows()}
        assert {t: len(r.candidates) for t, r in rows.items()} == {
            "headache": 4, "trouble sleeping": 2, "leg pain": 4, "feeling sick": 0}
        assert not rows["feeling sick"].linked, "a pending term not chosen stays pending"
        assert (rows["headache"].status.value, rows["headache"].concept_id, rows["headache"].comment) == (
            "approved", "T:001", "ok")
        with pytest.raises(TermLinkerError, match="no term 'nausea'"):
            project.link(wide, terms=["headache", "nausea"])
        assert project.link(wide, terms=[]).linked == 0
