"""Linking a project with a real Linker: resumable, and never overwriting a decision."""

from __future__ import annotations

import pytest

from termlinker.errors import Cancelled
from termlinker.linker import Linker, LinkerConfig
from termlinker.progress import CancelToken
from termlinker.project import Project, Status, VocabularyMismatchError

TERMS = ["headache", "trouble sleeping", "leg pain", "feeling sick", "糖尿病", "ringing in my ears", "tired"]


@pytest.fixture
def linker(home, tiny_vocab_path):
    return Linker(LinkerConfig(vocabulary=str(tiny_vocab_path), batch_size=2, top_k=3, threads=1), dirs=home)


def _spy(linker, monkeypatch) -> list[str]:
    """Record every term the linker is asked to link."""
    seen: list[str] = []
    real = linker.link

    def link(items, **kwargs):
        def record():
            for item in items:
                seen.append(item.term)
                yield item
        return real(record(), **kwargs)

    monkeypatch.setattr(linker, "link", link)
    return seen


def test_link_stores_results_and_settings(linker, tmp_path, tiny_vocab_path):
    with Project.create(tmp_path / "p.tlproj", str(tiny_vocab_path)) as project:
        project.add_terms({t: 1 for t in TERMS})
        summary = project.link(linker)
        assert (summary.linked, summary.skipped) == (len(TERMS), 0)
        assert project.pending_terms() == []
        row = project.row("headache")
        assert row.best.concept_id == "T:001" and len(row.candidates) == 3 and row.linked
        info = project.info()
        assert info.vocabulary_name == linker.vocabulary.info.name and info.top_k == 3 and info.retriever


def test_resume_after_cancel_skips_finished_terms(linker, tmp_path, monkeypatch):
    path = tmp_path / "p.tlproj"
    token = CancelToken()
    with Project.create(path, "tiny") as project:
        project.add_terms({t: 1 for t in TERMS})
        with pytest.raises(Cancelled):
            project.link(linker, progress=lambda done, total: done and token.cancel(), cancel=token)
    with Project.open(path) as project:  # as after closing the window mid-run
        assert project.stats().linked == 2
        first = {r.term: r for r in project.rows() if r.linked}
        seen = _spy(linker, monkeypatch)
        calls: list[tuple[int, int]] = []
        summary = project.link(linker, progress=lambda d, t: calls.append((d, t)))
        assert seen == TERMS[2:]
        assert (summary.linked, summary.skipped) == (len(TERMS) - 2, 2)
        assert calls[-1] == (len(TERMS), len(TERMS))  # progress counts the whole project
        assert project.stats().pending == 0
        assert all(project.row(t) == r for t, r in first.items())


def test_relink_never_overwrites_decisions(linker, tmp_path, monkeypatch):
    with Project.create(tmp_path / "p.tlproj", "tiny") as project:
        project.add_terms({t: 1 for t in TERMS})
        project.link(linker)
        project.decide("headache", "approved", concept_id="T:004", comment="reviewed")
        project.decide("tired", "no_match")
        seen = _spy(linker, monkeypatch)
        assert project.link(linker).linked == 0 and seen == []  # nothing pending
        project.link(linker, relink=True)
        assert seen == TERMS
        headache = project.row("headache")
        assert (headache.status, headache.concept_id, headache.comment) == (Status.APPROVED, "T:004", "reviewed")
        assert project.row("tired").status is Status.NO_MATCH


def test_other_vocabulary_is_refused(linker, tmp_path):
    with Project.create(tmp_path / "p.tlproj", "tiny") as project:
        project.add_terms({"headache": 1})
        project.link(linker)
        project._conn.execute("UPDATE meta SET value = 'hpo' WHERE key = 'vocabulary_name'")
        project.add_terms({"tired": 1})
        with pytest.raises(VocabularyMismatchError, match="'hpo'"):
            project.link(linker)
