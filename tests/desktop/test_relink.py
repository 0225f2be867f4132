"""The re-ranker's state in the status line, and re-linking terms already linked (issue 18, item 7)."""

from __future__ import annotations

from dataclasses import replace

from termlinker.api import Status

from .conftest import paste_and_run, wait_for_run
from .test_menus import menu_action


def reranker_text(window) -> str:
    return next(t for t in window.status_line.texts if t.startswith("Re-ranker:"))


def test_switching_the_reranker_on_says_it_loads_at_the_next_run(qtbot, window):
    window.apply_settings(replace(window.settings, rerank=True))
    assert reranker_text(window) == "Re-ranker: on, loads at the next Run"

    window.apply_settings(replace(window.settings, rerank=False))
    paste_and_run(qtbot, window, "headache\n")  # a linker without a re-ranker is kept for the next run
    assert reranker_text(window) == "Re-ranker: off"
    window.apply_settings(replace(window.settings, rerank=True, reranker="mine"))
    assert reranker_text(window) == "Re-ranker: on (mine), loads at the next Run"
    assert "could not be loaded" not in " ".join(window.status_line.texts)
    assert "Vocabulary: tiny" in " ".join(window.status_line.texts)


def test_relink_all_uses_the_current_settings_and_keeps_every_decision(qtbot, window, dialogs):
    paste_and_run(qtbot, window, "headache\ninsomnia\nleg pain\n")
    window.select_term("headache")
    window.approve_candidate(2)
    chosen = window.project.row("headache").concept_id
    window.select_term("insomnia")
    window.decide(Status.FLAGGED.value)
    assert {len(r.candidates) for r in window.model.rows} == {10}
    window.apply_settings(replace(window.settings, top_k=3))

    menu_action(window, "&Run", "Re-link &All…").trigger()
    assert window.running or window._op is not None, "off the GUI thread"
    wait_for_run(qtbot, window)

    assert dialogs.errors == []
    assert "3 terms" in dialogs.questions[-1][1]
    rows = {r.term: r for r in window.model.rows}
    assert {len(r.candidates) for r in rows.values()} == {3}
    assert (rows["headache"].status, rows["headache"].concept_id) == (Status.APPROVED, chosen)
    assert rows["insomnia"].status is Status.FLAGGED
    assert window.run_button.isEnabled() and not window.progress.isVisible()


def test_relink_selected_links_only_the_selected_term(qtbot, window, dialogs):
    paste_and_run(qtbot, window, "headache\ninsomnia\n")
    window.apply_settings(replace(window.settings, top_k=2))
    window.select_term("insomnia")

    menu_action(window, "&Run", "Re-link &Selected").trigger()
    wait_for_run(qtbot, window)

    assert dialogs.errors == []
    rows = {r.term: r for r in window.model.rows}
    assert (len(rows["insomnia"].candidates), len(rows["headache"].candidates)) == (2, 10)
    assert window.current_row().term == "insomnia" and len(window.detail.row.candidates) == 2


def test_relink_can_be_cancelled_and_keeps_what_was_there(qtbot, window, dialogs):
    paste_and_run(qtbot, window, "headache\ninsomnia\n")
    window.select_term("headache")
    window.decide(Status.APPROVED.value)
    window.apply_settings(replace(window.settings, top_k=2))

    menu_action(window, "&Run", "Re-link &All…").trigger()
    window.cancel_run()
    wait_for_run(qtbot, window)

    assert dialogs.errors == []
    assert window.eta_label.text().startswith("Cancelled")
    rows = {r.term: r for r in window.model.rows}
    assert rows["headache"].status is Status.APPROVED and all(r.linked for r in rows.values())


def test_relink_selected_without_a_selection_says_so(qtbot, window, dialogs):
    paste_and_run(qtbot, window, "headache\n")
    window.table.clearSelection()
    window.table.setCurrentIndex(window.proxy.index(-1, -1))
    menu_action(window, "&Run", "Re-link &Selected").trigger()
    assert window._op is None and "Select" in dialogs.infos[-1][1]
