"""A review project or label store from elsewhere is data, never code.

An SQLite file can carry triggers and views that run inside our own statements. Such a file is
refused, unopened and unchanged, with one line of error; so is one whose tables or pages are
damaged, and damage found only while the file is in use becomes the same one-line error."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from termlinker.distill.label_store import LabelStore
from termlinker.errors import StorageError
from termlinker.project import Project
from termlinker.project import schema as project_schema
from termlinker.types import Candidate, LinkResult

TRIGGER = ("CREATE TRIGGER sneaky AFTER UPDATE ON meta BEGIN "
           "UPDATE decisions SET concept_id = 'T:666', concept_name = 'Not what you approved'; END")
FOREIGN = {
    "trigger": TRIGGER,
    "view": "CREATE VIEW leak AS SELECT * FROM decisions",
    "table": "CREATE TABLE extra (x)",
    "index": "CREATE INDEX terms_by_count ON terms(count)",
}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def plant(path: Path, sql: str) -> None:
    """What a hostile sender does with any SQLite tool."""
    conn = sqlite3.connect(path)
    conn.executescript(sql)
    conn.close()


@pytest.fixture
def approved_project(tmp_path: Path) -> Path:
    path = tmp_path / "review.tlproj"
    with Project.create(path, "tiny") as project:
        project.add_terms([("headache", 2), ("leg pain", 1)])
        project.store_results([LinkResult("headache", 2, (Candidate("T:001", "Headache", 0.97),)),
                               LinkResult("leg pain", 1, (Candidate("T:003", "Pain in lower limb", 0.8),))])
        project.decide("headache", "approved")
    return path


@pytest.mark.parametrize("kind", FOREIGN)
def test_a_project_holding_sql_of_its_own_is_refused_untouched(cli, approved_project: Path, kind: str) -> None:
    plant(approved_project, FOREIGN[kind])
    before = digest(approved_project)

    for command in (["status"], ["approve", "--min-score", "0.5"], ["rows", "--json"]):
        result = cli("project", command[0], str(approved_project), *command[1:])
        assert f'{kind} "' in result.error and "TermLinker did not create" in result.error

    assert digest(approved_project) == before


def test_the_planted_trigger_never_changes_an_approved_concept(cli, approved_project: Path) -> None:
    plant(approved_project, TRIGGER)
    cli("project", "decide", str(approved_project), "--term", "leg pain", "--status", "flagged")
    conn = sqlite3.connect(approved_project)
    assert conn.execute("SELECT concept_id FROM decisions WHERE status = 'approved'").fetchall() == [("T:001",)]
    conn.close()


def test_a_project_connection_does_not_trust_its_schema(approved_project: Path) -> None:
    conn = project_schema.connect(approved_project, create=False)
    try:
        assert conn.execute("PRAGMA trusted_schema").fetchone()[0] == 0
    finally:
        conn.close()


def test_a_project_with_a_table_of_other_columns_is_refused_as_damaged(cli, approved_project: Path) -> None:
    plant(approved_project, "ALTER TABLE terms RENAME COLUMN count TO how_many")
    assert "is damaged" in cli("project", "status", str(approved_project)).error


def test_garbage_in_a_projects_pages_is_one_line_and_the_file_is_kept(cli, tmp_path: Path) -> None:
    path = tmp_path / "big.tlproj"
    with Project.create(path, "tiny") as project:
        project.add_terms([(f"term {i}", 1) for i in range(400)])
    data = bytearray(path.read_bytes())
    for i in range(3 * 4096, len(data), 7):  # leave the header and schema page, spoil the rest
        data[i] = 0xAB
    path.write_bytes(data)

    result = cli("project", "status", str(path))

    assert "is damaged" in result.error and "Restore it from a backup" in result.error
    assert path.read_bytes() == bytes(data)


def test_damage_met_while_the_project_is_used_is_one_line(cli, approved_project: Path) -> None:
    """Text that is not UTF-8 passes SQLite's own page check; reading it is where it shows."""
    plant(approved_project, "UPDATE candidates SET name = CAST(X'48ff61' AS TEXT) WHERE concept_id = 'T:003'")
    assert cli("project", "status", str(approved_project)).code == 0  # counts only: nothing damaged is read
    assert "is damaged" in cli("project", "rows", str(approved_project), "--json").error


def test_a_label_store_holding_a_trigger_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "labels.sqlite"
    with LabelStore(path):
        pass
    plant(path, "CREATE TRIGGER free_money AFTER INSERT ON spend BEGIN DELETE FROM spend; END")
    before = digest(path)
    with pytest.raises(StorageError, match='trigger "free_money".*TermLinker did not create'):
        LabelStore(path)
    assert digest(path) == before


def test_a_damaged_answer_in_a_label_store_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "labels.sqlite"
    with LabelStore(path):
        pass
    plant(path, "INSERT INTO labels VALUES ('k', 'headache', '{not json', 'v1', 't', '[]', '[]', NULL, NULL, NULL, "
                "'ok', '', 0, 0, 0, 'now', 'now')")
    with LabelStore(path) as store, pytest.raises(StorageError, match="damaged answer"):
        store.get("k")


def test_a_new_or_empty_label_store_is_still_set_up(tmp_path: Path) -> None:
    for path in (tmp_path / "new.sqlite", tmp_path / "empty.sqlite"):
        if path.name == "empty.sqlite":
            path.write_bytes(b"")
        with LabelStore(path) as store:
            assert store.spent() == 0.0
