"""Background operations: work off the GUI thread, callbacks on it, failures as dialogs."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject

from termlinker.errors import Cancelled
from termlinker_desktop.ops import BackgroundOp

from .conftest import paste_and_run


def test_success_and_progress_arrive_on_the_gui_thread(qtbot):
    parent = QObject()
    gui = threading.get_ident()
    seen: dict = {"progress": []}

    def work(progress, cancel):
        seen["worker"] = threading.get_ident()
        for i in range(1, 4):
            progress(i, 3)
        return "done"

    op = BackgroundOp(parent, work, success=lambda r: seen.update(result=r, on=threading.get_ident()),
                      failure=lambda e: seen.update(error=e),
                      progress=lambda d, t: seen["progress"].append((d, t, threading.get_ident())))
    with qtbot.waitSignal(op.finished, timeout=10_000):
        op.start()
    assert seen["worker"] != gui
    assert (seen["result"], seen["on"]) == ("done", gui)
    assert [(d, t) for d, t, _ in seen["progress"]] == [(1, 3), (2, 3), (3, 3)]
    assert {who for *_, who in seen["progress"]} == {gui}


def test_cancel_reaches_the_work_through_the_token(qtbot):
    parent = QObject()
    started = threading.Event()
    failures = []

    def work(progress, cancel):
        started.set()
        while True:
            cancel.raise_if_cancelled()

    op = BackgroundOp(parent, work, success=lambda r: None, failure=failures.append)
    op.start()
    assert started.wait(10)
    with qtbot.waitSignal(op.finished, timeout=10_000):
        op.cancel()
    assert isinstance(failures[0], Cancelled)


def test_a_failing_run_shows_the_engine_message_in_a_dialog(qtbot, window, dialogs):
    window.vocab_combo.addItem("ghost", "ghost")
    window.vocab_combo.setCurrentIndex(window.vocab_combo.count() - 1)
    paste_and_run(qtbot, window, "headache\n")
    assert len(dialogs.errors) == 1
    title, message = dialogs.errors[0]
    assert title == "Linking failed" and "no vocabulary called 'ghost'" in message
    assert window.run_button.isEnabled()


def test_an_unexpected_error_is_a_dialog_not_a_crash(window, dialogs):
    window.report("Export failed", ValueError("boom"))
    assert "ValueError: boom" in dialogs.errors[0][1]
