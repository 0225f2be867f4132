"""Bulk approval (issue 18, item 8): the question says how many terms and from which score, the
reviewer's name comes from Settings (the login when left empty), and Review ▸ Undo Bulk Approve
returns exactly those terms to where they were."""

from __future__ import annotations

import getpass
from dataclasses import replace

from termlinker.api import Status
from termlinker_desktop.settings_dialog import SettingsDialog

from .conftest import paste_and_run
from .test_menus import menu_action

UNDO = "&Undo Bulk Approve"


def test_the_question_names_the_count_and_the_threshold(qtbot, window, dialogs):
    paste_and_run(qtbot, window, "headache\ninsomnia\nzzzz qqqq\n")
    assert window.bulk_approve(0.99) == 2
    question = dialogs.questions[-1][1]
    assert "2 unchecked terms" in question and "0.99" in question


def test_nothing_to_approve_asks_nothing(qtbot, window, dialogs):
    paste_and_run(qtbot, window, "zzzz qqqq\n")
    assert window.bulk_approve(0.99) == 0
    assert dialogs.questions == []
    assert "0.99" in dialogs.infos[-1][1]


def test_undo_returns_exactly_the_bulk_approved_terms(qtbot, window, dialogs):
    paste_and_run(qtbot, window, "headache\ninsomnia\nleg pain\nzzzz qqqq\n")
    window.select_term("leg pain")
    window.decide(Status.FLAGGED.value)
    undo = menu_action(window, "Re&view", UNDO)
    assert not undo.isEnabled()
    before = {r.term: (r.status, r.concept_id) for r in window.model.rows}

    assert window.bulk_approve(0.99) == 2
    assert undo.isEnabled()
    window.select_term("insomnia")
    window.decide(Status.NO_MATCH.value)  # decided again after the bulk approval: the undo leaves it

    undo.trigger()

    after = {r.term: (r.status, r.concept_id) for r in window.model.rows}
    assert after["headache"] == before["headache"] == (Status.UNCHECKED, None)
    assert after["insomnia"] == (Status.NO_MATCH, None)
    assert after["leg pain"] == before["leg pain"] and after["zzzz qqqq"] == before["zzzz qqqq"]
    assert not undo.isEnabled()
    assert "1" in window.statusBar().currentMessage()


def test_decisions_carry_the_reviewer_name_from_the_settings(qtbot, window):
    paste_and_run(qtbot, window, "headache\ninsomnia\nzzzz qqqq\n")
    window.select_term("zzzz qqqq")
    window.decide(Status.FLAGGED.value)
    assert window.project.row("zzzz qqqq").reviewer == getpass.getuser()  # empty: the login, as before

    window.apply_settings(replace(window.settings, reviewer="Dr Li"))
    window.bulk_approve(0.99)
    window.select_term("zzzz qqqq")
    window.comment("odd")
    rows = {r.term: r for r in window.project.rows()}
    assert {rows[t].reviewer for t in ("headache", "insomnia", "zzzz qqqq")} == {"Dr Li"}


def test_the_settings_dialog_edits_the_reviewer_name(qtbot, window):
    dialog = SettingsDialog(window.settings, [])
    qtbot.addWidget(dialog)
    assert dialog.reviewer.text() == "" and getpass.getuser() in dialog.reviewer.placeholderText()
    dialog.reviewer.setText("  Ann Smith ")
    assert dialog.result_settings().reviewer == "Ann Smith"


def test_the_table_after_a_bulk_approval_is_what_the_project_holds(qtbot, window, monkeypatch, dialogs):
    paste_and_run(qtbot, window, "headache\ninsomnia\nnausea\nsomething odd\n")
    # The table is updated from what the engine changed, not by reading every row again.
    monkeypatch.setattr(window.project, "rows", lambda *a, **k: (_ for _ in ()).throw(AssertionError("re-read")))
    approved = window.bulk_approve(0.5)  # in the background; the scripted window waits for it
    monkeypatch.undo()
    assert approved > 0
    shown = [(r.term, r.status, r.concept_id, r.concept_name, r.reviewer, r.decided_at) for r in window.model.rows]
    held = [(r.term, r.status, r.concept_id, r.concept_name, r.reviewer, r.decided_at) for r in window.project.rows()]
    assert shown == held


def test_a_bulk_approval_runs_in_the_background(qtbot, window, dialogs):
    from termlinker_desktop.main_window import MainWindow

    paste_and_run(qtbot, window, "headache\ninsomnia\n")
    count = MainWindow.bulk_approve(window, 0.5)  # the window's own, not the scripted one that waits
    assert count > 0 and window.running and window.eta_label.text().startswith(f"Approving {count}")
    qtbot.waitUntil(lambda: window._op is None, timeout=60_000)
    assert window.project.stats().by_status["approved"] == count
