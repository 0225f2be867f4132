"""Desktop fixtures: an offscreen Qt, a data folder with the tiny vocabulary imported, and a
window whose dialogs are answered by the test instead of a person."""

from __future__ import annotations

import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import

from collections import deque  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

from termlinker.paths import DataDirs  # noqa: E402
from termlinker.vocab.store import VocabularyStore  # noqa: E402
from termlinker_desktop.export_dialog import ExportChoice  # noqa: E402
from termlinker_desktop.main_window import MainWindow  # noqa: E402
from termlinker_desktop.settings import Settings  # noqa: E402
from termlinker_desktop.term_sources import ColumnChoice, TablePreview  # noqa: E402

RUN_TIMEOUT_MS = 60_000


@dataclass
class Dialogs:
    """What the app showed, and the answers queued for its questions."""

    errors: list[tuple[str, str]] = field(default_factory=list)
    infos: list[tuple[str, str]] = field(default_factory=list)
    questions: list[tuple[str, str]] = field(default_factory=list)
    answers: deque = field(default_factory=deque)  # True = Yes; an empty queue answers Yes


@pytest.fixture(autouse=True)
def dialogs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Dialogs:
    captured = Dialogs()
    ok, yes, no = QMessageBox.StandardButton.Ok, QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No

    def critical(_parent, title, text, *args, **kwargs):
        captured.errors.append((title, text))
        return ok

    def information(_parent, title, text, *args, **kwargs):
        captured.infos.append((title, text))
        return ok

    def question(_parent, title, text, *args, **kwargs):
        captured.questions.append((title, text))
        return yes if (captured.answers.popleft() if captured.answers else True) else no

    monkeypatch.setattr(QMessageBox, "critical", critical)
    monkeypatch.setattr(QMessageBox, "warning", critical)
    monkeypatch.setattr(QMessageBox, "information", information)
    monkeypatch.setattr(QMessageBox, "question", question)
    monkeypatch.setenv("TERMLINKER_CONFIG_HOME", str(tmp_path / "config"))
    return captured


@pytest.fixture
def tiny_home(home: DataDirs, tiny_vocab_path: Path) -> DataDirs:
    VocabularyStore(home).import_file(tiny_vocab_path, "tiny")
    return home


class ScriptedWindow(MainWindow):
    """The main window with its file and choice dialogs answered from attributes."""

    column_choice: ColumnChoice | None = ColumnChoice(0, True)
    export_choice: ExportChoice | None = None
    save_path: Path | None = None
    open_path: Path | None = None
    previews: list[TablePreview]
    suggested: list[Path]
    folders: list[Path | None]

    def choose_column(self, path: Path, preview: TablePreview) -> ColumnChoice | None:
        self.previews.append(preview)
        return self.column_choice

    def choose_export(self) -> ExportChoice | None:
        return self.export_choice

    def choose_save_file(self, title: str, file_filter: str, suggested: Path) -> Path | None:
        self.suggested.append(suggested)
        return self.save_path

    def choose_open_file(self, title: str, file_filter: str, folder: Path | None = None) -> Path | None:
        self.folders.append(folder)
        return self.open_path

    def bulk_approve(self, min_score: float) -> int:
        """As the menu does, then waits for the background approval, as a user watching the bar would."""
        count = super().bulk_approve(min_score)
        deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
        while self._op is not None and time.monotonic() < deadline:
            QApplication.processEvents()
            time.sleep(0.005)
        return count


@pytest.fixture
def make_window(qtbot, tiny_home: DataDirs, tmp_path: Path):
    def make(**settings) -> ScriptedWindow:
        values = {"vocabulary": "tiny", "data_folder": str(tiny_home.root), **settings}
        window = ScriptedWindow(Settings(**values), settings_file=tmp_path / "config" / "desktop.json")
        window.previews = []
        window.suggested = []  # where each save dialog would have opened
        window.folders = []  # and each open dialog
        qtbot.addWidget(window)
        window.show()
        return window

    return make


@pytest.fixture
def window(make_window) -> ScriptedWindow:
    return make_window()


def wait_for_run(qtbot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: window._op is None, timeout=RUN_TIMEOUT_MS)


def paste_and_run(qtbot, window: MainWindow, text: str) -> None:
    window.paste_box.setPlainText(text)
    window.run()
    wait_for_run(qtbot, window)
