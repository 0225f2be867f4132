"""Progress reporting and cancellation for long operations.

Long operations take a ``progress(done, total)`` callback and a :class:`CancelToken`.
The CLI draws a bar on stderr; the GUI forwards both across threads.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

from .errors import Cancelled

ProgressFn = Callable[[int, int], None]


def no_progress(done: int, total: int) -> None:  # noqa: ARG001 - the callback signature
    return None


class CancelToken:
    """Thread-safe flag checked between batches of work."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()


class ProgressBar:
    """A text progress bar for stderr, redrawn at most ten times a second."""

    def __init__(self, label: str, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self._last = 0.0
        self._start = time.monotonic()
        self._drawn = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        width = 30
        frac = done / total if total else 1.0
        filled = int(width * frac)
        elapsed = now - self._start
        eta = (elapsed / frac - elapsed) if frac > 0 else 0.0
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] "
                          f"{done}/{total} eta {eta:4.0f}s")
        self._drawn = True
        if done >= total:
            self.stream.write("\n")
            self._drawn = False
        self.stream.flush()

    def close(self) -> None:
        if self._drawn and self.enabled:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
