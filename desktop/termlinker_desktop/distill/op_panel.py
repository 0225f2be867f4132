"""A page's long operation: progress bar, stage and time left, a Cancel/Pause button, a message line.

The work runs through the app's ``BackgroundOp``; the panel only shows it. ``stage`` is set by the
work (from its thread) and read on the GUI thread with each progress report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from termlinker.api import Cancelled, TermLinkerError

from ..eta import Eta
from ..ops import BackgroundOp

ERROR_STYLE = "color: #b71c1c;"
OK_STYLE = "color: #2e7d32;"
# The backend's messages name command-line options and commands; the wizard names its own fields.
_CLI_WORDS = {"Run the same command again to continue": "Start again to continue",
              "--base-url": "the base URL", "--model": "the model", "--concurrency": "Parallel requests",
              "--budget": "the budget", "--allow-partial": "a higher budget", "--val-share": "more labels",
              "--name": "the name"}


def for_the_wizard(message: str) -> str:
    for cli, gui in _CLI_WORDS.items():
        message = message.replace(cli, gui)
    return message


class OpPanel(QWidget):
    """Runs one operation at a time; ``finished`` fires after its success or failure callback."""

    finished = Signal()
    progressed = Signal(int, int)  # after the bar and the message are updated

    def __init__(self, cancel_text: str = "Cancel", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.stage = ""
        self.cancellable = True
        self.op: BackgroundOp | None = None
        self._eta = Eta()
        self._last_stage = ""
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.cancel_button = QPushButton(cancel_text)
        self.cancel_button.setVisible(False)  # shown only while something runs
        self.cancel_button.clicked.connect(self.cancel)
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.status)
        # The work changes ``stage`` from its thread; a new stage shows at once, before its first progress.
        self._stage_timer = QTimer(self)
        self._stage_timer.setInterval(300)
        self._stage_timer.timeout.connect(self._check_stage)

    @property
    def running(self) -> bool:
        return self.op is not None

    def start(self, work: Callable, success: Callable[[Any], None], failure: Callable[[BaseException], None],
              stage: str = "Working", parent: QObject | None = None) -> None:
        self.stage = stage
        self._last_stage = ""
        self._eta.restart()
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(self.cancellable)
        self.cancel_button.setEnabled(True)
        self.show_message(stage + "…")
        op = BackgroundOp(parent or self, work, success=success, failure=failure, progress=self._on_progress)
        op.finished.connect(lambda: self._done(op))
        self.op = op
        self._stage_timer.start()
        op.start()

    def cancel(self) -> None:
        if self.op is not None:
            self.op.cancel()
            self.cancel_button.setEnabled(False)
            self.show_message("Stopping after the current step…")

    def stop_and_wait(self) -> None:
        """Cancel and block until the work has stored what it finished (the wizard is closing)."""
        op = self.op
        if op is not None:
            op.cancel()
            op.wait()
            self._done(op)  # its queued callbacks may still arrive; they only update this panel's text

    def show_message(self, text: str, style: str = "") -> None:
        self.status.setStyleSheet(style)
        self.status.setText(text)

    def show_failure(self, exc: BaseException, what: str) -> None:
        """A message a user can act on; a cancel is not a failure."""
        if isinstance(exc, Cancelled):
            self.show_message(for_the_wizard(str(exc)) or f"{what} was cancelled; what was finished is kept.")
        elif isinstance(exc, TermLinkerError):
            self.show_message(for_the_wizard(str(exc)), ERROR_STYLE)
        else:
            self.show_message(f"{what} failed unexpectedly: {type(exc).__name__}: {exc}", ERROR_STYLE)

    def _check_stage(self) -> None:
        if self.op is not None and self.stage != self._last_stage and self.cancel_button.isEnabled():
            self._last_stage = self.stage
            self._eta.restart()
            self.progress.setRange(0, 0)  # busy until the stage reports progress
            self.show_message(self.stage + "…")

    def _on_progress(self, done: int, total: int) -> None:
        if self.stage != self._last_stage:
            self._last_stage = self.stage
            self._eta.restart()
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.show_message(f"{self.stage}: {self._eta.text(done, total)}")
        self.progressed.emit(done, total)

    def _done(self, op: BackgroundOp) -> None:
        if self.op is not op:  # a callback already started the next operation
            return
        self.op = None
        self._stage_timer.stop()
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self.finished.emit()
