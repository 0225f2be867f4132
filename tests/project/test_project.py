"""Review projects: persistence, decisions, bulk approve, and clear errors on bad files."""

from __future__ import annotations

import sqlite3

import pytest

from termlinker.errors import TermLinkerError
from termlinker.project import (DecisionError, ForeignSchemaError, NewerSchemaError, NotAProjectError, Predicate,
                                Project, ProjectCorruptError, ProjectExistsError, Status, UnknownTermError)

from .conftest import RESULTS, result


def test_round_trip_restores_every_decision(project, project_path):
    project.decide("headache", "approved", reviewer="ann", comment="obvious")
    project.decide("糖尿病", Status.APPROVED, concept_id="T:017")  # another candidate: "replaced"
    project.decide("legs hurt", "approved", concept_id="X:999", concept_name="Manual concept", reviewer="bob")
    project.decide("zzz", "no_match", comment="not a symptom")
    project.decide("nothing at all", "flagged")
    before = project.rows()
    project.close()
    with Project.open(project_path) as again:
        after = again.rows()
        assert after == before
        info = again.info()
    by_term = {r.term: r for r in after}
    assert by_term["headache"].concept_id == "T:001" and by_term["headache"].reviewer == "ann"
    assert by_term["headache"].comment == "obvious" and not by_term["headache"].replaced
    assert by_term["糖尿病"].concept_name == "Osteoporosis" and by_term["糖尿病"].replaced
    assert by_term["legs hurt"].concept_id == "X:999"
    assert by_term["zzz"].status is Status.NO_MATCH and by_term["zzz"].concept_id is None
    assert by_term["headache"].decided_at == "2024-03-05T09:30:00Z"
    assert [r.term for r in after] == [r.term for r in RESULTS]  # first-seen order
    assert info.vocabulary == "tiny" and info.vocabulary_version == "1.0" and info.schema_version == 2


def test_each_decision_is_committed_at_once(project, project_path):
    project.decide("headache", "approved")
    # A second connection sees it without any save or close: autosave.
    with Project.open(project_path) as other:
        assert other.row("headache").status is Status.APPROVED


def test_add_terms_merges_counts_and_keeps_order(project):
    assert project.add_terms({"headache": 2, "new  term": 1}) == 1
    rows = project.rows()
    assert rows[0].term == "headache" and rows[0].count == 5
    assert rows[-1].term == "new term" and not rows[-1].linked
    assert project.pending_terms() == [("new term", 1)]


def test_store_results_never_touches_decisions(project):
    project.decide("headache", "approved", concept_id="T:012", comment="checked")
    project.store_results([result("headache", ("T:005", "Hypertension", 0.99))])
    row = project.row("headache")
    assert row.best.concept_id == "T:005"
    assert (row.status, row.concept_id, row.comment) == (Status.APPROVED, "T:012", "checked")


def test_undo_comment_and_history(project):
    project.decide("headache", "approved", reviewer="ann")
    project.comment("headache", "double-check with Dr Li")
    row = project.decide("headache", "unchecked")
    assert row.status is Status.UNCHECKED and row.concept_id is None
    assert row.comment == "double-check with Dr Li"  # undo keeps the comment
    assert [h[0] for h in project.history("headache")] == ["approved", "approved", "unchecked"]


def test_bulk_approve_only_unchecked_rows_above_threshold(project):
    project.decide("糖尿病", "flagged", comment="ask")
    n = project.bulk_approve(0.9, reviewer="ann")
    assert n == 1  # headache; 糖尿病 is flagged, zzz is the linker's no-match, legs hurt scores 0.72
    rows = {r.term: r for r in project.rows()}
    assert rows["headache"].status is Status.APPROVED and rows["headache"].concept_id == "T:001"
    assert rows["headache"].reviewer == "ann"
    assert rows["糖尿病"].status is Status.FLAGGED
    assert rows["zzz"].status is Status.UNCHECKED
    assert rows["legs hurt"].status is Status.UNCHECKED
    assert project.bulk_approve(0.9) == 0
    assert project.stats().by_status == {"unchecked": 3, "approved": 1, "flagged": 1, "no_match": 0}


def test_rows_filters(project):
    project.decide("headache", "approved")
    assert [r.term for r in project.rows(status="approved")] == ["headache"]
    assert [r.term for r in project.rows(min_score=0.9, max_score=0.96)] == ["糖尿病", "zzz"]
    assert [r.term for r in project.rows(text="LEGS")] == ["legs hurt"]
    assert [r.term for r in project.rows(limit=2, offset=1)] == ["糖尿病", "legs hurt"]


def test_bad_decisions_are_clear_errors(project):
    with pytest.raises(UnknownTermError, match="no term"):
        project.decide("unknown", "approved")
    with pytest.raises(DecisionError, match="one of"):
        project.decide("headache", "replaced")
    with pytest.raises(DecisionError, match="give its name"):
        project.decide("headache", "approved", concept_id="X:1")
    with pytest.raises(DecisionError, match="no candidates"):
        project.decide("nothing at all", "approved")
    with pytest.raises(DecisionError, match="takes no concept"):
        project.decide("headache", "no_match", concept_id="T:001")


def test_stats(project):
    stats = project.stats()
    assert (stats.terms, stats.linked, stats.pending) == (5, 5, 0)


def test_create_refuses_to_overwrite(project_path):
    project_path.write_text("precious")
    with pytest.raises(ProjectExistsError):
        Project.create(project_path, "tiny")
    assert project_path.read_text() == "precious"


def test_text_file_is_not_a_project(tmp_path):
    path = tmp_path / "notes.tlproj"
    path.write_text("just some text\n" * 100)
    with pytest.raises(NotAProjectError, match="not an SQLite file"):
        Project.open(path)


def test_missing_file_and_other_sqlite_file(tmp_path):
    with pytest.raises(NotAProjectError, match="no project"):
        Project.open(tmp_path / "missing.tlproj")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(NotAProjectError, match="not a TermLinker project"):
        Project.open(other)


def test_newer_schema_is_refused_untouched(project, project_path):
    project.close()
    conn = sqlite3.connect(project_path)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    before = project_path.read_bytes()
    with pytest.raises(NewerSchemaError, match="newer TermLinker.*Update TermLinker"):
        Project.open(project_path)
    assert project_path.read_bytes() == before


def test_corrupt_file_is_a_clear_error(project, project_path):
    project.close()
    data = bytearray(project_path.read_bytes())
    data[100:] = b"\xff" * (len(data) - 100)  # header intact, every page garbage
    project_path.write_bytes(bytes(data))
    with pytest.raises(ProjectCorruptError, match="damaged"):
        Project.open(project_path)


def test_truncated_file_is_a_clear_error(project, project_path):
    project.close()
    project_path.write_bytes(project_path.read_bytes()[:50])
    with pytest.raises(TermLinkerError):
        Project.open(project_path)


def _format_1_project(path) -> None:
    """A project as TermLinker wrote it before predicates and further targets (format 1)."""
    import sqlite3

    from termlinker.project import schema

    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(f"BEGIN; {schema._CREATE_V1} PRAGMA application_id={schema.APPLICATION_ID}; "
                       "PRAGMA user_version=1; COMMIT;")
    conn.executescript("""BEGIN;
        INSERT INTO meta VALUES ('vocabulary', 'tiny'), ('created_at', '2024-01-01T00:00:00Z');
        INSERT INTO terms VALUES (1, 'headache', 2);
        INSERT INTO decisions VALUES (1, 'approved', 'C1', 'Headache', 'checked', 'ana', '2024-01-02T00:00:00Z');
        INSERT INTO decision_log(term_id, status, concept_id, concept_name, comment, reviewer, decided_at)
            VALUES (1, 'approved', 'C1', 'Headache', 'checked', 'ana', '2024-01-02T00:00:00Z');
        COMMIT;""")
    conn.close()


def test_a_format_1_project_opens_upgraded_with_its_decisions_exact(tmp_path):
    path = tmp_path / "old.tlproj"
    _format_1_project(path)
    with Project.open(path) as upgraded:
        assert upgraded.info().schema_version == 2
        row = upgraded.row("headache")
        assert (row.status, row.concept_id, row.comment, row.reviewer) == (Status.APPROVED, "C1", "checked", "ana")
        assert row.predicate is Predicate.EXACT and row.extra_targets == ()
        upgraded.add_target("headache", "C2", "Migraine", predicate="broad")
    with Project.open(path) as again:
        assert [t.concept_id for t in again.row("headache").targets] == ["C1", "C2"]


def test_a_format_1_project_holding_foreign_sql_is_refused_before_the_upgrade(tmp_path):
    import sqlite3

    path = tmp_path / "old.tlproj"
    _format_1_project(path)
    conn = sqlite3.connect(path)
    conn.execute("CREATE VIEW sneaky AS SELECT 1")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(ForeignSchemaError):
        Project.open(path)
    assert path.read_bytes() == before


def test_a_project_from_a_newer_termlinker_is_refused(project, project_path, monkeypatch):
    from termlinker.project import schema

    project.close()
    monkeypatch.setattr(schema, "SCHEMA_VERSION", 1)
    with pytest.raises(NewerSchemaError):
        Project.open(project_path)
