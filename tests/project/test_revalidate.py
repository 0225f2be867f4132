"""Checking a project's approved mappings against a newer release of its vocabulary: obsolete concepts
(with the replacement the ontology names), renamed ones and missing ones are flagged with the reason;
the concept is kept; a dry run changes nothing; the project then carries the new version."""

from __future__ import annotations

from pathlib import Path

import pytest

from termlinker.api import installed_vocabulary_version, needs_check, revalidate_project
from termlinker.paths import DataDirs
from termlinker.project import Project, VocabularyMismatchError
from termlinker.project.revalidate import check_mappings, revalidate
from termlinker.types import Candidate, LinkResult
from termlinker.vocab.model import Concept, Vocabulary, VocabularyInfo
from termlinker.vocab.store import VocabularyStore

OLD = """format-version: 1.2
data-version: hp/releases/2024-01-01

[Term]
id: HP:0000001
name: All

[Term]
id: HP:0001250
name: Seizure
is_a: HP:0000001

[Term]
id: HP:0000009
name: Fits
is_a: HP:0000001

[Term]
id: HP:0000010
name: Sore head
is_a: HP:0000001

[Term]
id: HP:0000011
name: Odd feeling
is_a: HP:0000001

[Term]
id: HP:0000012
name: Insomnia
is_a: HP:0000001
"""

NEW = """format-version: 1.2
data-version: hp/releases/2025-03-01

[Term]
id: HP:0000001
name: All

[Term]
id: HP:0001250
name: Seizure
is_a: HP:0000001

[Term]
id: HP:0000009
name: obsolete Fits
is_obsolete: true
replaced_by: HP:0001250

[Term]
id: HP:0000010
name: Headache
is_a: HP:0000001

[Term]
id: HP:0000012
name: INSOMNIA
is_a: HP:0000001
"""

TERMS = {"fits": ("HP:0000009", "Fits"), "sore head": ("HP:0000010", "Sore head"),
         "odd": ("HP:0000011", "Odd feeling"), "fit": ("HP:0001250", "Seizure"),
         "cannot sleep": ("HP:0000012", "Insomnia")}


@pytest.fixture
def dirs(tmp_path: Path) -> DataDirs:
    return DataDirs(tmp_path / "data").ensure()


@pytest.fixture
def project_path(tmp_path: Path, dirs: DataDirs) -> Path:
    """A project over the stored 'mini' vocabulary (2024-01-01) with every term approved; then the
    2025-03-01 release is installed over it."""
    old, new = tmp_path / "old.obo", tmp_path / "new.obo"
    old.write_text(OLD, encoding="utf-8")
    new.write_text(NEW, encoding="utf-8")
    store = VocabularyStore(dirs)
    store.import_file(old, "mini")
    path = tmp_path / "review.tlproj"
    with Project.create(path, "mini", vocabulary_version="2024-01-01") as project:
        project.add_terms([(term, 1) for term in TERMS])
        project.store_results([LinkResult(term, 1, (Candidate(cid, name, 0.9),)) for term, (cid, name) in TERMS.items()])
        for term in TERMS:
            project.decide(term, "approved")
        project.comment("sore head", "checked with Dr Li")
        project.decide("odd", "flagged")  # not approved: not checked
    store.import_file(new, "mini", replace=True)
    return path


def test_the_installed_release_differs_from_the_projects(project_path: Path, dirs: DataDirs) -> None:
    assert installed_vocabulary_version(dirs, "mini") == "2025-03-01"
    assert installed_vocabulary_version(dirs, "no-such") == ""
    assert needs_check("2024-01-01", "2025-03-01")
    assert not needs_check("2025-03-01", "2025-03-01") and not needs_check("", "2025-03-01")


def test_a_dry_run_reports_each_finding_with_its_reason_and_changes_nothing(project_path: Path, dirs) -> None:
    before = Project.open(project_path)
    rows_before = before.rows()
    before.close()
    check = revalidate_project(project_path, dirs, dry_run=True)
    assert check.dry_run and (check.old_version, check.new_version) == ("2024-01-01", "2025-03-01")
    found = {f.term: f for f in check.findings}
    assert set(found) == {"fits", "sore head"}  # 'odd' is flagged, not approved; INSOMNIA differs in case only
    assert found["fits"].kind == "obsolete" and found["fits"].replacements == ("HP:0001250",)
    assert "replaced by HP:0001250 (Seizure)" in found["fits"].reason
    assert found["sore head"].kind == "renamed" and found["sore head"].current_name == "Headache"
    assert found["sore head"].reason == ("HP:0000010 is now called 'Headache' in mini 2025-03-01 "
                                         "(approved as 'Sore head').")
    assert check.summary == "2 approved terms need a look against mini 2025-03-01: 1 obsolete, 1 renamed."
    with Project.open(project_path) as after:
        assert after.rows() == rows_before
        assert after.info().vocabulary_version == "2024-01-01"


def test_revalidating_flags_the_terms_keeps_their_concepts_and_records_the_new_version(
        project_path: Path, dirs: DataDirs) -> None:
    check = revalidate_project(project_path, dirs, reviewer="vocab-check")
    assert len(check.findings) == 2
    with Project.open(project_path) as project:
        fits, sore = project.row("fits"), project.row("sore head")
        assert (fits.status.value, fits.concept_id, fits.concept_name) == ("flagged", "HP:0000009", "Fits")
        assert fits.comment.startswith("Vocabulary check: HP:0000009 (obsolete Fits) is obsolete")
        assert fits.reviewer == "vocab-check"
        assert (sore.status.value, sore.concept_id) == ("flagged", "HP:0000010")
        assert sore.comment.startswith("checked with Dr Li · Vocabulary check: HP:0000010 is now called")
        assert project.row("fit").status.value == "approved"
        assert project.row("cannot sleep").status.value == "approved"
        assert project.info().vocabulary_version == "2025-03-01"
    again = revalidate_project(project_path, dirs)
    assert again.findings == () and again.summary == "Every approved mapping is still valid in mini 2025-03-01."


def test_a_concept_gone_without_a_trace_is_missing(tmp_path: Path) -> None:
    with Project.create(tmp_path / "p.tlproj", "mini") as project:
        project.add_terms([("odd", 1)])
        project.store_results([LinkResult("odd", 1, (Candidate("X:1", "Odd feeling", 0.9),))])
        project.decide("odd", "approved")
        vocab = Vocabulary(VocabularyInfo("mini", version="2"), [Concept("X:2", "Other")])
        [finding] = revalidate(project, vocab)
        assert finding.kind == "missing"
        assert finding.reason == "X:1 (Odd feeling) is no longer in mini 2; choose another concept."
        assert project.row("odd").status.value == "flagged" and project.row("odd").concept_id == "X:1"


def test_another_vocabulary_is_refused(tmp_path: Path) -> None:
    with Project.create(tmp_path / "p.tlproj", "mini") as project:
        from termlinker.project import schema

        schema.set_meta(project._conn, {"vocabulary_name": "hpo"})
        project._conn.commit()
        with pytest.raises(VocabularyMismatchError, match="linked against 'hpo', not 'icd10cm'"):
            check_mappings(project, Vocabulary(VocabularyInfo("icd10cm"), [Concept("R51", "Headache")]))
