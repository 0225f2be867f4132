"""Progress text for a long operation: done/total, rate and time left."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Eta:
    clock: Callable[[], float] = time.monotonic
    _start: float = field(init=False)
    _first_done: int = field(init=False, default=-1)

    def __post_init__(self) -> None:
        self._start = self.clock()

    def restart(self) -> None:
        self._start = self.clock()
        self._first_done = -1

    def text(self, done: int, total: int) -> str:
        """"1,024 / 5,000 · about 12 s left"; no guess until some work has been timed."""
        if self._first_done < 0:
            # Resumed runs start part-way: time only the work done in this run.
            self._first_done = done
            self._start = self.clock()
        elapsed = self.clock() - self._start
        finished = done - self._first_done
        head = f"{done:,} / {total:,}"
        if finished <= 0 or elapsed < 0.5 or done >= total:
            return head
        left = elapsed / finished * (total - done)
        return f"{head} · about {format_seconds(left)} left"


def format_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
