"""Fixtures for reliability tests: the real command line over a fresh data folder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from termlinker.cli import main
from termlinker.paths import DataDirs


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    @property
    def error(self) -> str:
        """The one error line of a refused command (an assertion error when there is not exactly one)."""
        lines = self.err.splitlines()
        assert self.code == 2 and len(lines) == 1 and lines[0].startswith("termlinker: error: "), self
        return lines[0]


@pytest.fixture
def cli(home: DataDirs, capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """``cli("link", ...)`` runs ``termlinker --home HOME -q link ...`` in this process."""

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main(["--home", str(home.root), "-q", *args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
