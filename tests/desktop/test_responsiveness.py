"""All work runs off the GUI thread: the event loop keeps turning during a long run."""

from __future__ import annotations

from PySide6.QtCore import QTimer

from .conftest import wait_for_run


def test_the_event_loop_keeps_turning_during_a_5000_term_run(qtbot, window):
    window.paste_box.setPlainText("\n".join(f"pain number {i} in my head" for i in range(5000)))
    ticks = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(window.running))
    timer.start()

    window.run()
    assert window.running, "run() returns at once; the work is in the background"
    progress_seen = []
    window._op._worker.progressed.connect(lambda d, t: progress_seen.append((d, t)))
    wait_for_run(qtbot, window)
    timer.stop()

    ticks_while_running = sum(ticks)
    assert ticks_while_running >= 10, f"only {ticks_while_running} timer ticks while linking"
    assert window.project.stats().linked == 5000
    assert progress_seen and progress_seen[-1] == (5000, 5000)


def test_cancel_stops_the_run_and_keeps_finished_batches(qtbot, window, dialogs):
    window.paste_box.setPlainText("\n".join(f"pain number {i} in my head" for i in range(3000)))
    window.run()
    # Wait for a stored batch: progress from the index build can still be in the queue.
    qtbot.waitUntil(lambda: window.project.stats().linked > 0, timeout=60_000)
    window.cancel_run()
    wait_for_run(qtbot, window)
    stats = window.project.stats()
    assert 0 < stats.linked < 3000
    assert dialogs.errors == [], "cancelling is not an error"
    assert "Cancelled" in window.eta_label.text()
    assert window.run_button.isEnabled()


def test_an_export_runs_in_the_background_and_says_what_it_left_out(qtbot, window, tmp_path):
    from termlinker_desktop.export_dialog import ExportChoice

    window.paste_box.setPlainText("\n".join(f"pain number {i} in my head" for i in range(2000)))
    window.run()
    wait_for_run(qtbot, window)
    out = tmp_path / "all.csv"
    window.export_choice = ExportChoice("csv", approved_only=False, path=out)
    window.export()
    assert window.running, "export() returns at once; the file is written in the background"
    assert window.eta_label.text().startswith("Exporting csv")
    wait_for_run(qtbot, window)
    assert out.read_text(encoding="utf-8").count("\n") == 2001
    assert "Exported 2,000 terms" in window.statusBar().currentMessage()
    assert window.eta_label.text() == ""
