"""Paste, run, review with the keyboard, export: the app's main path, end to end."""

from __future__ import annotations

import csv
import json

from PySide6.QtCore import Qt

from termlinker.project import Project, Status
from termlinker_desktop.export_dialog import ExportChoice
from termlinker_desktop.results_model import Column

from .conftest import paste_and_run, wait_for_run

TERMS = "headache\ncan't sleep\nheadache\nmy legs hurt\n"


def test_paste_run_approve_export(qtbot, window, tmp_path, dialogs):
    paste_and_run(qtbot, window, TERMS)

    assert dialogs.errors == []
    assert window.paste_box.toPlainText() == ""
    rows = {r.term: r for r in window.model.rows}
    assert set(rows) == {"headache", "can't sleep", "my legs hurt"}
    assert rows["headache"].count == 2
    assert rows["headache"].best.concept_id == "T:001"
    assert window.proxy.rowCount() == 3

    window.table.setFocus()
    window.select_term("headache")
    qtbot.keyClick(window.table, Qt.Key.Key_Return)

    assert window.project.row("headache").status is Status.APPROVED
    assert window.current_row().term != "headache", "Enter moves on to the next term"

    out = tmp_path / "approved.csv"
    window.export_choice = ExportChoice("csv", approved_only=True, path=out)
    window.export()
    wait_for_run(qtbot, window)  # exports run in the background
    with open(out, encoding="utf-8") as fh:
        exported = list(csv.DictReader(fh))
    assert [(r["term"], r["status"], r["concept_id"]) for r in exported] == [("headache", "approved", "T:001")]


def test_every_export_format_is_written_by_the_engine(qtbot, window, dialogs, tmp_path):
    paste_and_run(qtbot, window, TERMS)
    for fmt, name in (("json", "all.json"), ("fhir", "map.json"), ("omop", "omop.csv")):
        window.export_choice = ExportChoice(fmt, approved_only=False, path=tmp_path / name)
        window.export()
        wait_for_run(qtbot, window)  # exports run in the background
    assert len(json.loads((tmp_path / "all.json").read_text(encoding="utf-8"))["mappings"]) == 3
    assert json.loads((tmp_path / "map.json").read_text(encoding="utf-8"))["resourceType"] == "ConceptMap"
    # OMOP needs target concept_ids: a vocabulary that is not an Athena import is refused, nothing written.
    assert dialogs.errors[-1][0] == "Export failed" and "Athena" in dialogs.errors[-1][1]
    assert not (tmp_path / "omop.csv").exists()


def test_number_keys_pick_another_candidate_and_letters_set_the_status(qtbot, window):
    paste_and_run(qtbot, window, "headache\ninsomnia\nleg pain\n")
    window.table.setFocus()
    window.select_term("headache")
    second = window.current_row().candidates[1]

    qtbot.keyClick(window.table, Qt.Key.Key_2)
    row = window.project.row("headache")
    assert (row.status, row.concept_id) == (Status.APPROVED, second.concept_id)
    assert row.replaced

    window.select_term("insomnia")
    qtbot.keyClick(window.table, Qt.Key.Key_F)
    assert window.project.row("insomnia").status is Status.FLAGGED
    window.select_term("leg pain")
    qtbot.keyClick(window.table, Qt.Key.Key_N)
    assert window.project.row("leg pain").status is Status.NO_MATCH
    window.select_term("leg pain")
    qtbot.keyClick(window.table, Qt.Key.Key_U)
    assert window.project.row("leg pain").status is Status.UNCHECKED


def test_detail_panel_shows_synonyms_and_definition_and_takes_a_manual_concept(qtbot, window):
    paste_and_run(qtbot, window, "head pain\n")
    window.select_term("head pain")
    text = window.detail.concept_view.toPlainText()
    assert "Headache" in text and "Cephalalgia" in text and "Pain in the head." in text

    window.detail.search_box.setText("insom")
    assert window.detail.search_results.count() >= 1
    window.detail.search_results.setCurrentRow(0)
    window.detail.use_button.click()
    row = window.project.row("head pain")
    assert (row.status, row.concept_id, row.concept_name) == (Status.APPROVED, "T:002", "Insomnia")


def test_comments_are_saved_at_once(qtbot, window):
    paste_and_run(qtbot, window, "headache\n")
    window.select_term("headache")
    window.detail.comment.setText("check with the clinic")
    window.detail.comment.editingFinished.emit()
    assert window.project.row("headache").comment == "check with the clinic"


def test_bulk_approve_takes_the_best_candidate_above_the_score(qtbot, window, dialogs):
    paste_and_run(qtbot, window, "headache\ninsomnia\nzzzz qqqq\n")
    approved = window.bulk_approve(0.99)
    assert approved == 2  # the exact matches score 1.0; the nonsense term does not
    assert dialogs.questions, "bulk approval asks first"
    statuses = {r.term: r.status for r in window.model.rows}
    assert statuses == {"headache": Status.APPROVED, "insomnia": Status.APPROVED, "zzzz qqqq": Status.UNCHECKED}


def test_the_table_filters_by_status_and_score_and_sorts(qtbot, window):
    paste_and_run(qtbot, window, "headache\ninsomnia\nzzzz qqqq\n")
    window.select_term("headache")
    window.decide(Status.APPROVED.value)

    window.status_filter.setCurrentIndex(window.status_filter.findData(Status.APPROVED.value))
    assert window.proxy.rowCount() == 1
    window.status_filter.setCurrentIndex(0)
    window.min_score.setValue(0.99)
    assert window.proxy.rowCount() == 2
    window.min_score.setValue(0.0)

    window.table.sortByColumn(Column.SCORE, Qt.SortOrder.AscendingOrder)
    first = window.proxy.index(0, Column.TERM).data()
    assert first == "zzzz qqqq"


def test_the_status_bar_names_the_vocabulary_and_says_offline(qtbot, window):
    paste_and_run(qtbot, window, "headache\n")
    texts = " | ".join(window.status_line.texts)
    assert "Offline" in texts and "Re-ranker: off" in texts and "Retriever:" in texts
    assert "tiny" in texts and "20 concepts" in texts


def test_rerunning_never_overwrites_a_decision(qtbot, window):
    paste_and_run(qtbot, window, "headache\n")
    window.select_term("headache")
    window.approve_candidate(2)
    chosen = window.project.row("headache").concept_id

    paste_and_run(qtbot, window, "headache\ninsomnia\n")

    with Project.open(window.project.path) as project:
        row = project.row("headache")
        assert (row.status, row.concept_id, row.count) == (Status.APPROVED, chosen, 2)
        assert project.stats().linked == 2


def test_enter_on_a_row_with_a_chosen_concept_keeps_that_concept(qtbot, window):
    paste_and_run(qtbot, window, "headache\ninsomnia\n")
    window.select_term("headache")
    third = window.current_row().candidates[2]
    window.approve_candidate(3)
    window.select_term("headache")
    window.decide(Status.FLAGGED.value, third.concept_id)
    window.select_term("headache")
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_Return)
    row = window.project.row("headache")
    assert (row.status, row.concept_id) == (Status.APPROVED, third.concept_id)
