"""What the review records and shows (issue 18): flagging keeps the chosen concept, and a cut-off
status shows in full as a tooltip."""

from __future__ import annotations

from PySide6.QtCore import Qt

from termlinker.api import Status
from termlinker_desktop.results_model import Column

from .conftest import paste_and_run


def test_flagging_keeps_the_chosen_concept(qtbot, window):
    paste_and_run(qtbot, window, "headache\ninsomnia\n")
    window.table.setFocus()
    for key in (Qt.Key.Key_3, Qt.Key.Key_F):  # approve the third candidate, then flag the term
        window.select_term("headache")
        qtbot.keyClick(window.table, key)
    third = window.project.row("headache").candidates[2]
    row = window.project.row("headache")
    assert (row.status, row.concept_id, row.concept_name) == (Status.FLAGGED, third.concept_id, third.name)
    position = window.proxy.mapFromSource(window.model.index(window.model.position_of("headache"), 0)).row()
    assert window.proxy.index(position, Column.CONCEPT_ID).data() == third.concept_id

    window.select_term("headache")
    window.detail.flag_button.click()  # flagging a flagged term again keeps it too
    assert window.project.row("headache").concept_id == third.concept_id


def test_flagging_a_manual_concept_keeps_it(qtbot, window):
    paste_and_run(qtbot, window, "head pain\ninsomnia\n")
    window.select_term("head pain")
    window.decide(Status.APPROVED.value, "T:020", "Memory impairment")
    window.select_term("head pain")
    window.decide(Status.FLAGGED.value)
    row = window.project.row("head pain")
    assert (row.status, row.concept_id, row.concept_name) == (Status.FLAGGED, "T:020", "Memory impairment")


def test_status_cells_show_their_full_text_as_a_tooltip(qtbot, window):
    paste_and_run(qtbot, window, "headache\ninsomnia\n")
    window.select_term("headache")
    window.approve_candidate(2)
    for i in range(window.proxy.rowCount()):
        cell = window.proxy.index(i, Column.STATUS)
        assert cell.data(Qt.ItemDataRole.ToolTipRole) == cell.data(Qt.ItemDataRole.DisplayRole)
    texts = {window.proxy.index(i, Column.STATUS).data(Qt.ItemDataRole.ToolTipRole)
             for i in range(window.proxy.rowCount())}
    assert texts == {"Approved (replaced)", "Unchecked"}
