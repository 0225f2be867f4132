"""The review by keyboard (issue 18): letters do not jump the selection, Ctrl+F finds, the manual
vocabulary search works with Down and Enter and is cleared for the next term, and 0 picks the
tenth candidate."""

from __future__ import annotations

from PySide6.QtCore import Qt

from termlinker.api import Status

from .conftest import paste_and_run


def test_letters_that_are_not_shortcuts_leave_the_selection_where_it_is(qtbot, window):
    paste_and_run(qtbot, window, "headache\ninsomnia\nleg pain\n")
    window.table.setFocus()
    window.select_term("headache")
    for key in (Qt.Key.Key_I, Qt.Key.Key_L, Qt.Key.Key_E):
        qtbot.keyClick(window.table, key)
    assert window.current_row().term == "headache"

    window.detail.comment.setText("ask the clinic")
    window.detail.comment.editingFinished.emit()
    assert window.project.row("headache").comment == "ask the clinic"
    assert window.project.row("insomnia").comment == window.project.row("leg pain").comment == ""


def test_ctrl_f_goes_to_the_find_box(qtbot, window):
    paste_and_run(qtbot, window, "headache\ninsomnia\n")
    window.activateWindow()
    window.text_filter.setText("ins")
    window.table.setFocus()
    window.select_term("insomnia")

    qtbot.keyClick(window.table, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)

    assert window.text_filter.hasFocus()
    assert window.text_filter.selectedText() == "ins", "typing replaces what was there"
    assert window.project.row("insomnia").status is Status.UNCHECKED, "Ctrl+F is not F (flag)"


def test_down_moves_into_the_manual_search_results_and_enter_uses_one(qtbot, window):
    paste_and_run(qtbot, window, "head pain\nleg pain\n")
    window.select_term("head pain")
    detail = window.detail
    detail.search_box.setFocus()
    qtbot.keyClicks(detail.search_box, "insom")
    assert detail.search_results.count() >= 1

    qtbot.keyClick(detail.search_box, Qt.Key.Key_Down)
    assert detail.search_results.hasFocus()
    assert detail.search_results.currentRow() == 0

    qtbot.keyClick(detail.search_results, Qt.Key.Key_Return)
    row = window.project.row("head pain")
    assert (row.status, row.concept_id, row.concept_name) == (Status.APPROVED, "T:002", "Insomnia")
    assert window.project.row("leg pain").status is Status.UNCHECKED, "one Enter, one decision"


def test_the_manual_search_is_cleared_for_the_next_term(qtbot, window):
    paste_and_run(qtbot, window, "head pain\nleg pain\n")
    window.select_term("head pain")
    detail = window.detail
    assert not detail.use_button.isEnabled(), "nothing to use before a search"
    detail.search_box.setText("insom")
    detail.search_results.setCurrentRow(0)
    assert detail.use_button.isEnabled()

    window.select_term("leg pain")

    assert detail.search_box.text() == ""
    assert detail.search_results.count() == 0
    assert not detail.use_button.isEnabled()
    detail.use_button.click()
    assert window.project.row("leg pain").status is Status.UNCHECKED


def test_the_manual_search_results_take_room_only_while_there_is_a_search(qtbot, window):
    """An empty results list under the search box took the room the candidates and the concept's synonyms
    and definition need (seen in the docs' screenshots): it shows only while something is searched."""
    paste_and_run(qtbot, window, "head pain\n")
    window.select_term("head pain")
    detail = window.detail
    assert not detail.search_results.isVisibleTo(detail)
    detail.search_box.setText("insom")
    assert detail.search_results.isVisibleTo(detail) and detail.search_results.count() >= 1
    detail.search_box.setText("   ")
    assert not detail.search_results.isVisibleTo(detail)


def test_the_manual_search_stays_while_the_term_stays(qtbot, window):
    paste_and_run(qtbot, window, "head pain\n")
    window.select_term("head pain")
    window.detail.search_box.setText("insom")
    window.review.refresh_rows()  # as a run does while the reviewer works
    assert window.detail.search_box.text() == "insom"
    assert window.detail.search_results.count() >= 1


def test_zero_picks_the_tenth_candidate_and_the_numbers_show(qtbot, window):
    paste_and_run(qtbot, window, "headache\ninsomnia\nleg pain\n")
    window.select_term("headache")
    candidates = window.current_row().candidates
    assert len(candidates) >= 10
    labels = [window.detail.candidates.item(i).text().split()[0] for i in range(10)]
    assert labels == ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"]

    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_0)
    assert window.project.row("headache").concept_id == candidates[9].concept_id

    window.select_term("insomnia")
    tenth = window.current_row().candidates[9]
    window.detail.candidates.setFocus()
    qtbot.keyClick(window.detail.candidates, Qt.Key.Key_0)
    assert window.project.row("insomnia").concept_id == tenth.concept_id
