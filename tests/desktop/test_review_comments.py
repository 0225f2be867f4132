"""Comments (issue 18): clearing a comment (select all, Delete, Enter) clears it in the project
and in the export, even right after it was typed."""

from __future__ import annotations

import csv

from PySide6.QtCore import Qt

from termlinker_desktop.export_dialog import ExportChoice

from .conftest import paste_and_run, wait_for_run


def type_comment(qtbot, window, text: str) -> None:
    box = window.detail.comment
    box.setFocus()
    qtbot.keyClick(box, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(box, Qt.Key.Key_Delete)
    qtbot.keyClicks(box, text)
    qtbot.keyClick(box, Qt.Key.Key_Return)


def test_clearing_a_comment_clears_it_in_the_project_and_the_export(qtbot, window, tmp_path):
    paste_and_run(qtbot, window, "headache\ninsomnia\n")
    window.select_term("headache")
    type_comment(qtbot, window, "check with the clinic")
    assert window.project.row("headache").comment == "check with the clinic"

    type_comment(qtbot, window, "")  # select all, Delete, Enter

    assert {r.term: r.comment for r in window.project.rows()} == {"headache": "", "insomnia": ""}
    assert window.model.row_at(window.model.position_of("headache")).comment == ""
    out = tmp_path / "all.csv"
    window.export_choice = ExportChoice("csv", approved_only=False, path=out)
    window.export()
    wait_for_run(qtbot, window)  # exports run in the background
    with open(out, encoding="utf-8") as fh:
        assert {r["term"]: r["comment"] for r in csv.DictReader(fh)} == {"headache": "", "insomnia": ""}


def test_a_comment_of_spaces_is_no_comment(qtbot, window):
    paste_and_run(qtbot, window, "headache\n")
    window.select_term("headache")
    type_comment(qtbot, window, "recheck")
    type_comment(qtbot, window, "   ")
    assert window.project.row("headache").comment == ""
