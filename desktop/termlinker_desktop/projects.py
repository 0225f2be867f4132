"""Projects: new, open, save as, the recent files, the window title, and what goes in and out of a
project (a term file imported or dropped on the window, the mappings exported)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QDragEnterEvent, QDropEvent

from termlinker.api import DEFAULT_BUILTIN, PROJECT_SUFFIX, Project, TermLinkerError, atomic_open, export_project

from .term_sources import FILE_FILTER, is_table, preview_table, read_file

if TYPE_CHECKING:
    from .main_window import MainWindow

PROJECT_FILTER = f"TermLinker projects (*{PROJECT_SUFFIX});;All files (*)"


class ProjectsController:
    """Opens and closes the window's ``project``; one is open at a time."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window

    def ensure_project(self) -> Project:
        """The open project; an untitled one in the data folder when none is open yet."""
        w = self.window
        if w.project is None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            path = w.dirs.ensure().projects / f"untitled-{stamp}{PROJECT_SUFFIX}"
            n = 1
            while path.exists():
                n += 1
                path = path.with_name(f"untitled-{stamp}-{n}{PROJECT_SUFFIX}")
            self.set_project(Project.create(path, w.vocab_combo.currentData() or DEFAULT_BUILTIN,
                                            top_k=w.settings.top_k))
        return w.project

    def set_project(self, project: Project | None) -> None:
        w = self.window
        if w.project is not None and w.project is not project:
            w.project.close()
        w.project = project
        w.review.set_last_bulk(None)  # an undo belongs to the project it was made in
        if project is not None:
            w.settings = w.settings.with_recent(project.path)
            w.save_settings()
        w.review.refresh_rows()
        w.models.follow_project()
        self.update_title()

    def new_project(self) -> None:
        w = self.window
        if w.runs.busy():
            return
        suggested = w.dirs.ensure().projects / f"project{PROJECT_SUFFIX}"
        path = w.choose_save_file("New project", PROJECT_FILTER, suggested)
        if path is None:
            return
        if path.suffix == "":
            path = path.with_suffix(PROJECT_SUFFIX)
        try:
            if path.exists():
                # The file dialog already asked whether to replace it.
                path.unlink()
            project = Project.create(path, w.vocab_combo.currentData() or DEFAULT_BUILTIN, top_k=w.settings.top_k)
        except (TermLinkerError, OSError) as exc:
            w.report("Cannot create the project", exc)
            return
        w.paste_box.clear()
        self.set_project(project)

    def open_project_dialog(self) -> None:
        self._with_chosen_file("Open project", PROJECT_FILTER, self.open_project)

    def open_project(self, path: str | Path) -> bool:
        w = self.window
        if w.runs.busy():
            return False
        try:
            project = Project.open(path)
            vocabulary = project.info().vocabulary
        except TermLinkerError as exc:
            w.report("Cannot open the project", exc)
            return False
        self.set_project(project)
        w.models.reload_vocabularies(select=vocabulary)
        w.runs.load_vocabulary(vocabulary)
        return True

    def save_project_as(self) -> None:
        w = self.window
        if w.project is None:
            w.show_error("Save As", "There is no project yet. Paste or import terms first.")
            return
        if w.runs.busy():
            return
        path = w.choose_save_file("Save project as", PROJECT_FILTER, w.project.path)
        if path is None or path.resolve() == w.project.path.resolve():
            return
        if path.suffix == "":
            path = path.with_suffix(PROJECT_SUFFIX)
        old = w.project.path
        # Every decision is already committed, so a copy of the closed file is the whole project.
        w.project.close()
        w.project = None
        try:
            _copy_atomically(old, path)
            project = Project.open(path)
        except (TermLinkerError, OSError) as exc:
            w.report("Cannot save the project", exc)
            project = Project.open(old)
        self.set_project(project)

    def fill_recent_menu(self) -> None:
        menu = self.window.recent_menu
        menu.clear()
        recent = [p for p in self.window.settings.recent_projects if Path(p).exists()]
        if not recent:
            menu.addAction("(none)").setEnabled(False)
        for text in recent:
            action = menu.addAction(text)
            action.triggered.connect(lambda _checked=False, p=text: self.open_project(p))

    def update_title(self) -> None:
        w = self.window
        name = w.project.path.name if w.project else "no project"
        w.setWindowTitle(f"{name} — TermLinker")

    def _with_chosen_file(self, title: str, file_filter: str, then: Callable[[Path], Any]) -> None:
        path = self.window.choose_open_file(title, file_filter)
        if path is not None:
            then(path)

    # --- terms in, mappings out ------------------------------------------------------

    def import_dialog(self) -> None:
        self._with_chosen_file("Import terms", FILE_FILTER, self.import_file)

    def import_file(self, path: str | Path) -> bool:
        """Add a file's terms to the project (they show as "not linked yet" until Run)."""
        w = self.window
        if w.runs.busy():
            return False
        path = Path(path)
        try:
            choice = None
            if is_table(path):
                choice = w.choose_column(path, preview_table(path))
                if choice is None:
                    return False
            terms = read_file(path, choice)
            new = self.ensure_project().add_terms(terms)
        except (TermLinkerError, OSError) as exc:
            w.report(f"Cannot import {path.name}", exc)
            return False
        w.review.refresh_rows()
        notes = " ".join(terms.warnings)
        w.statusBar().showMessage(f"Imported {len(terms):,} distinct terms ({new:,} new) from {path.name}, "
                                  f"read as {terms.encoding}. {notes} Press Run to link them.")
        return True

    def drag_enter(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def drop(self, event: QDropEvent) -> None:
        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if files:
            event.acceptProposedAction()
            # After the drop returns: a modal column picker inside a drop handler confuses some platforms.
            QTimer.singleShot(0, lambda: [self.import_file(f) for f in files])

    def export(self) -> None:
        w = self.window
        if w.project is None or w.project.stats().terms == 0:
            w.show_error("Nothing to export", "The project has no terms yet. Paste or import terms and Run.")
            return
        choice = w.choose_export()
        if choice is None or choice.path is None:
            return
        try:
            count = export_project(w.project, choice.path, choice.fmt, w.dirs, approved_only=choice.approved_only)
        except TermLinkerError as exc:
            w.report("Export failed", exc)
            return
        w.statusBar().showMessage(f"Exported {count:,} terms to {choice.path}.", 15000)


def _copy_atomically(source: Path, target: Path) -> None:
    with open(source, "rb") as src, atomic_open(target, "wb") as dst:
        shutil.copyfileobj(src, dst)
