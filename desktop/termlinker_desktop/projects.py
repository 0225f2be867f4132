"""Projects: new, open, save as, the recent files, the window title, and what goes in and out of a
project (a term file imported or dropped on the window, the mappings exported)."""

from __future__ import annotations

import contextlib
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QDragEnterEvent, QDropEvent

from termlinker.api import DEFAULT_BUILTIN, PROJECT_SUFFIX, Project, TermLinkerError, atomic_open, export_project

from .export_dialog import ExportChoice
from .runs import RunState
from .term_sources import FILE_FILTER, is_table, preview_table, read_file

if TYPE_CHECKING:
    from .main_window import MainWindow

PROJECT_FILTER = f"TermLinker projects (*{PROJECT_SUFFIX});;All files (*)"
UNTITLED = re.compile(rf"untitled-\d{{8}}-\d{{6}}(-\d+)?{re.escape(PROJECT_SUFFIX)}")


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
            w.memory.remember(w.project)  # its approvals are proposed in the projects that follow
            w.project.close()
        w.project = project
        w.review.set_last_bulk(None)  # an undo belongs to the project it was made in
        if project is not None:
            w.settings = w.settings.with_recent(project.path)
            w.save_settings()
        w.review.refresh_rows()
        w.detail.show_row(w.review.current_row())  # a reset table selects nothing, and says nothing of it
        w.models.follow_project()
        self.update_title()

    def reopen_last(self) -> None:
        """At start: the project open when the app last closed, if it still opens; else nothing, silently."""
        w = self.window
        recent = w.settings.recent_projects
        if not recent or not Path(recent[0]).is_file():
            return
        try:
            project = Project.open(recent[0])
            vocabulary = project.info().vocabulary
        except (TermLinkerError, OSError):
            return
        self._opened(project, vocabulary)

    def new_project(self) -> None:
        w = self.window
        if w.runs.busy():
            return
        path = self._choose_save("New project", self.folder("project") / f"project{PROJECT_SUFFIX}")
        if path is None:
            return
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
        self._with_chosen_file("Open project", PROJECT_FILTER, "project", self.open_project)

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
        self._opened(project, vocabulary)
        return True

    def _opened(self, project: Project, vocabulary: str) -> None:
        self.set_project(project)
        self.window.models.reload_vocabularies(select=vocabulary)
        self.window.runs.load_vocabulary(vocabulary)
        self.window.vocab_check.offer(project)  # its vocabulary updated since it was linked: check it?

    def save_project_as(self) -> None:
        w = self.window
        if w.project is None:
            w.show_error("Save As", "There is no project yet. Paste or import terms first.")
            return
        if w.runs.busy():
            return
        old = w.project.path
        path = self._choose_save("Save project as", self.folder("project") / old.name)
        if path is None or path.resolve() == old.resolve():
            return
        untitled = self.is_untitled(old)
        # Every decision is already committed, so a copy of the closed file is the whole project.
        w.project.close()
        w.project = None
        try:
            if path.exists():
                path.unlink()  # the file dialog asked; the copy is a new file, with a new file's mode
            _copy_atomically(old, path)
            project = Project.open(path)
        except (TermLinkerError, OSError) as exc:
            w.report("Cannot save the project", exc)
            project = Project.open(old)
        else:
            if untitled:
                # The untitled project was a stand-in until the user named one: the copy replaces it.
                w.settings = replace(w.settings, recent_projects=tuple(
                    p for p in w.settings.recent_projects if Path(p) != old.resolve()))
                with contextlib.suppress(OSError):
                    old.unlink()
        self.set_project(project)

    def is_untitled(self, path: Path) -> bool:
        """Whether ``path`` is an untitled project made when terms came in with no project open (and
        never saved under a name: Save As makes a copy)."""
        return (UNTITLED.fullmatch(path.name) is not None
                and path.parent.resolve() == self.window.dirs.projects.resolve())

    # --- the file dialogs' folders ---------------------------------------------------

    def folder(self, kind: str) -> Path:
        """Where the file dialog for ``kind`` ("project", "import", "export") opens: the folder used
        last time, while it exists; else the data folder (its projects folder for projects)."""
        w = self.window
        last = getattr(w.settings, f"{kind}_folder")
        if last and Path(last).is_dir():
            return Path(last)
        return w.dirs.ensure().projects if kind in ("project", "import") else w.dirs.root

    def remember(self, kind: str, path: Path) -> None:
        w = self.window
        w.settings = replace(w.settings, **{f"{kind}_folder": str(path.parent)})
        w.save_settings()

    def _choose_save(self, title: str, suggested: Path) -> Path | None:
        """A project file to write, with the suffix added when left out; its folder is remembered."""
        path = self.window.choose_save_file(title, PROJECT_FILTER, suggested)
        if path is None:
            return None
        if path.suffix == "":
            path = path.with_suffix(PROJECT_SUFFIX)
        self.remember("project", path)
        return path

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

    def choose_open_file(self, title: str, file_filter: str, kind: str) -> Path | None:
        """A file to read, from the folder of ``kind`` used last; its folder is remembered."""
        path = self.window.choose_open_file(title, file_filter, self.folder(kind))
        if path is not None:
            self.remember(kind, path)
        return path

    def _with_chosen_file(self, title: str, file_filter: str, kind: str, then: Callable[[Path], Any]) -> None:
        path = self.choose_open_file(title, file_filter, kind)
        if path is not None:
            then(path)

    # --- terms in, mappings out ------------------------------------------------------

    def import_dialog(self) -> None:
        self._with_chosen_file("Import terms", FILE_FILTER, "import", self.import_file)

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
        """Export in the background (a 15,000-term project took seconds on the GUI thread), with the
        progress bar and Cancel of any background work; the worker opens its own Project on the file."""
        w = self.window
        if w.project is None or w.project.stats().terms == 0:
            w.show_error("Nothing to export", "The project has no terms yet. Paste or import terms and Run.")
            return
        if w.runs.busy():
            return
        choice = w.choose_export()
        if choice is None or choice.path is None:
            return
        w.settings = replace(w.settings, export_format=choice.fmt)
        self.remember("export", choice.path)
        path, dirs, notes = w.project.path, w.dirs, []

        def work(_progress, _cancel) -> int:
            with Project.open(path) as own:  # one Project per thread
                return export_project(own, choice.path, choice.fmt, dirs, approved_only=choice.approved_only,
                                      notes=notes)

        def done(count: int) -> None:
            w.eta_label.setText("")
            w.statusBar().showMessage(f"Exported {count:,} terms to {choice.path}.", 15000)
            if notes:
                w.show_info("Export written", f"Exported {count:,} terms to {choice.path}.\n\n" + "\n".join(notes))

        def failed(exc: BaseException) -> None:
            w.eta_label.setText("")
            w.report("Export failed", exc)

        w.runs.start(RunState(stage=f"Exporting {choice.fmt}"), work, done, failed)

    def export_suggestion(self, choice: ExportChoice) -> Path:
        """The file the export's save dialog proposes: in the folder exported to last, named after the project."""
        stem = self.window.project.path.stem if self.window.project else "mappings"
        return self.folder("export") / f"{stem}-{choice.fmt}{choice.suffix}"


def _copy_atomically(source: Path, target: Path) -> None:
    with open(source, "rb") as src, atomic_open(target, "wb") as dst:
        shutil.copyfileobj(src, dst)
