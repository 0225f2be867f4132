"""Background operations in the spirit of Anki's ``QueryOp``.

The work runs on a ``QThread``; its result, its failure and its ``progress(done, total)``
reports come back to the GUI thread as queued signals, so callbacks may touch widgets. With
``stage``, each report also carries the stage the work was in when it made the report (read on
the worker thread): a report still queued when the work moves on is not shown under the next stage.
Cancelling sets a :class:`termlinker.progress.CancelToken` that the engine checks between
batches; the engine then raises ``Cancelled`` after keeping what it finished.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QObject, QThread, Signal

from termlinker.api import CancelToken, ProgressFn

T = TypeVar("T")
Work = Callable[[ProgressFn, CancelToken], T]


class _Worker(QThread):
    progressed = Signal(int, int)
    staged = Signal(str, int, int)  # (stage, done, total) when the op was given ``stage``
    succeeded = Signal(object)
    failed = Signal(object)

    def __init__(self, work: Work, cancel: CancelToken, parent: QObject | None,
                 stage: Callable[[], str] | None = None) -> None:
        super().__init__(parent)
        self._work = work
        self._cancel = cancel
        self._stage = stage

    def _report(self, done: int, total: int) -> None:
        self.progressed.emit(done, total)
        if self._stage is not None:
            self.staged.emit(self._stage(), done, total)

    def run(self) -> None:
        try:
            result = self._work(self._report, self._cancel)
        except BaseException as exc:  # every failure must reach the GUI as a dialog, not kill the thread
            self.failed.emit(exc)
        else:
            self.succeeded.emit(result)


class BackgroundOp(QObject, Generic[T]):
    """``BackgroundOp(parent, work, success=..., failure=..., progress=...).start()``.

    ``work(progress, cancel)`` runs off the GUI thread and must not touch widgets. With ``stage`` (read
    on the worker thread at each report), ``progress`` is called as ``progress(stage, done, total)``.
    ``finished`` fires after the success or failure callback, whichever ran.
    """

    finished = Signal()

    def __init__(self, parent: QObject, work: Work, *, success: Callable[[T], Any],
                 failure: Callable[[BaseException], Any],
                 progress: Callable[..., Any] | None = None, stage: Callable[[], str] | None = None) -> None:
        super().__init__(parent)
        self.cancel_token = CancelToken()
        self._success = success
        self._failure = failure
        self._worker = _Worker(work, self.cancel_token, self, stage)
        if progress is not None:
            (self._worker.staged if stage is not None else self._worker.progressed).connect(progress)
        self._worker.succeeded.connect(self._on_success)
        self._worker.failed.connect(self._on_failure)

    def start(self) -> "BackgroundOp[T]":
        self._worker.start()
        return self

    def cancel(self) -> None:
        self.cancel_token.cancel()

    @property
    def running(self) -> bool:
        return self._worker.isRunning()

    def wait(self, msecs: int = -1) -> bool:
        """Block until the work returns (used when the window closes mid-run)."""
        return self._worker.wait() if msecs < 0 else self._worker.wait(msecs)

    def _on_success(self, result: T) -> None:
        try:
            self._success(result)
        finally:
            self._done()

    def _on_failure(self, exc: BaseException) -> None:
        try:
            self._failure(exc)
        finally:
            self._done()

    def _done(self) -> None:
        self._worker.wait()
        self.finished.emit()
