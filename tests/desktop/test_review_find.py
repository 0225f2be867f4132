"""The find box above the review table narrows the table to the terms containing what is typed
(issue 18: it filtered nothing), and Enter in it goes on to the first match."""

from __future__ import annotations

from PySide6.QtCore import Qt

from termlinker.api import Status

from .conftest import paste_and_run

MANY = ["headache", "feeling dizzy", "insomnia", "leg pain", "Dizziness on standing", "nausea",
        "high blood pressure", "ringing in ears", "tired all the time", "dizzy spells", "joint pain",
        "hair loss", "low mood", "nosebleed", "itchy skin", "swollen ankles"]


def visible_terms(window) -> list[str]:
    return [window.model.row_at(window.proxy.mapToSource(window.proxy.index(i, 0)).row()).term
            for i in range(window.proxy.rowCount())]


def test_typing_in_the_find_box_and_enter_keeps_only_matching_terms(qtbot, window):
    paste_and_run(qtbot, window, "\n".join(MANY) + "\n")
    assert window.proxy.rowCount() == len(MANY)
    window.select_term("headache")

    window.text_filter.setFocus()
    qtbot.keyClicks(window.text_filter, "dizz")
    qtbot.keyClick(window.text_filter, Qt.Key.Key_Return)

    assert sorted(visible_terms(window)) == ["Dizziness on standing", "dizzy spells", "feeling dizzy"]
    assert window.table.hasFocus(), "Enter goes on to the matches"
    assert "dizz" in window.current_row().term.casefold()
    assert window.detail.row is not None and window.detail.row.term == window.current_row().term


def test_the_find_box_works_with_the_other_filters_and_clears(qtbot, window):
    paste_and_run(qtbot, window, "\n".join(MANY) + "\n")
    window.select_term("dizzy spells")
    window.decide(Status.FLAGGED.value)

    window.text_filter.setText("  DIZZ ")
    assert len(visible_terms(window)) == 3
    window.status_filter.setCurrentIndex(window.status_filter.findData(Status.FLAGGED.value))
    assert visible_terms(window) == ["dizzy spells"]
    window.status_filter.setCurrentIndex(0)
    window.text_filter.clear()
    assert window.proxy.rowCount() == len(MANY)
