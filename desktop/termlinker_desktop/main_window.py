"""The main window: terms in, a run in the background, review, export.

The window is the shell: it builds the widgets (``layout``) and menus, opens every dialog, and
wires the widgets to four controllers, each given the window: ``projects`` (new, open, save as,
recent files, importing terms, export), ``runs`` (work off the GUI thread, progress, Cancel, the
linker kept between runs), ``review`` (the table, decisions, bulk approval) and ``models``
(vocabularies, settings, the distillation wizard, learning). The window holds the state they
share, ``settings``, ``dirs`` and the open ``project``; each controller keeps the rest of its own.

Every dialog is opened through a small method (``show_error``, ``ask_yes_no``,
``choose_open_file``, ``choose_column``, ...) so that tests can answer it.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMainWindow, QMessageBox

from termlinker.api import DataDirs, Linker, Project, ReviewRow, Status, TermLinkerError

from . import help_menu as help_text
from .export_dialog import ExportChoice, ExportDialog
from .import_dialog import ImportDialog
from .layout import build_widgets
from .models import ModelsController
from .ops import BackgroundOp
from .projects import ProjectsController
from .review import ReviewController
from .runs import RunsController
from .settings import Settings, save_settings as write_settings
from .settings_dialog import SettingsDialog
from .term_sources import ColumnChoice, TablePreview
from .mapping_memory import MemoryController
from .vocab_check import VocabularyCheckController

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    distill_training = None  # the wizard's FineTuneConfig; None = the backend's defaults (tests shrink it)

    def __init__(self, settings: Settings, settings_file: Path | None = None, dirs: DataDirs | None = None,
                 reopen_last: bool = True) -> None:
        super().__init__()
        self.settings = settings
        self._settings_file = settings_file
        self.dirs = dirs or settings.data_dirs()
        self.project: Project | None = None
        self.projects = ProjectsController(self)
        self.runs = RunsController(self)
        self.review = ReviewController(self)
        self.models = ModelsController(self)
        self.vocab_check = VocabularyCheckController(self)
        self.memory = MemoryController(self)
        self.setWindowTitle("TermLinker")
        self.setAcceptDrops(True)
        self.resize(1380, 860)
        build_widgets(self)
        self._wire()
        self._build_menus()
        self.models.reload_vocabularies()
        self.projects.update_title()
        self.models.update_status_line()
        if reopen_last:
            self.projects.reopen_last()

    # --- wiring ----------------------------------------------------------------------

    def _wire(self) -> None:
        review, runs = self.review, self.runs
        self.vocab_combo.currentIndexChanged.connect(lambda _i: self.models.follow_project())
        self.run_button.clicked.connect(runs.run)
        self.cancel_button.clicked.connect(runs.cancel)
        self.table.selectionModel().currentRowChanged.connect(review.on_current_changed)
        self.table.approve_requested.connect(lambda: review.decide(Status.APPROVED.value))
        self.table.candidate_requested.connect(review.approve_candidate)
        self.table.status_requested.connect(lambda status: review.decide(status))
        self.bulk_button.clicked.connect(lambda: review.bulk_approve(self.bulk_min.value()))
        self.detail.decided.connect(review.decide)
        self.detail.commented.connect(review.comment)
        self.detail.predicate_chosen.connect(review.set_predicate)
        self.detail.target_added.connect(review.add_target)
        self.detail.target_removed.connect(review.remove_target)

    def _build_menus(self) -> None:
        projects, runs, review, models = self.projects, self.runs, self.review, self.models
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&New Project…", projects.new_project, QKeySequence.StandardKey.New)
        self._action(file_menu, "&Open Project…", projects.open_project_dialog, QKeySequence.StandardKey.Open)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(projects.fill_recent_menu)
        self._action(file_menu, "Save Project &As…", projects.save_project_as, QKeySequence.StandardKey.SaveAs)
        file_menu.addSeparator()
        self._action(file_menu, "&Import Terms…", projects.import_dialog, "Ctrl+I")
        self._action(file_menu, "Import &Vocabulary…", models.import_vocabulary)
        self._action(file_menu, "Import &Mappings…", lambda: self.memory.import_mappings())
        self._action(file_menu, "&Export…", projects.export, "Ctrl+E")
        file_menu.addSeparator()
        self._action(file_menu, "&Settings…", models.edit_settings_dialog, QKeySequence.StandardKey.Preferences)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        run_menu = self.menuBar().addMenu("&Run")
        self._action(run_menu, "&Link Terms", runs.run, "Ctrl+R")
        self._action(run_menu, "&Cancel", runs.cancel, "Esc")
        run_menu.addSeparator()
        self._action(run_menu, "Re-link &Selected", lambda: runs.relink(selected=True))
        self._action(run_menu, "Re-link &All…", lambda: runs.relink(selected=False))
        review_menu = self.menuBar().addMenu("Re&view")
        self._action(review_menu, "&Approve (Enter)", lambda: review.decide(Status.APPROVED.value))
        self._action(review_menu, "&Flag (F)", lambda: review.decide(Status.FLAGGED.value))
        self._action(review_menu, "&No Match (N)", lambda: review.decide(Status.NO_MATCH.value))
        self._action(review_menu, "&Unchecked (U)", lambda: review.decide(Status.UNCHECKED.value))
        review_menu.addSeparator()
        self._action(review_menu, "Approve All Unchecked Above the Threshold…",
                     lambda: review.bulk_approve(self.bulk_min.value()))
        self.undo_bulk_action = self._action(review_menu, "&Undo Bulk Approve", review.undo_bulk_approve)
        self.undo_bulk_action.setEnabled(False)
        self._action(review_menu, "&Report…", review.report)
        review_menu.addSeparator()
        self._action(review_menu, "Check Against Installed &Vocabulary…", self.vocab_check.check)
        tools = self.menuBar().addMenu("&Tools")
        self._action(tools, "&Distil a Re-ranker…", models.distill)
        self._action(tools, "&Learn a Ranking from Approved Mappings", models.learn_ranking)
        self._action(tools, "Learn the &Retriever from Approved Mappings…", models.learn_retriever)
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "&User Guide", self.show_user_guide, QKeySequence.StandardKey.HelpContents)
        self._action(help_menu, "&About TermLinker…",
                     lambda: self.show_about("About TermLinker", help_text.about_html(self.dirs)))

    def _action(self, menu, text: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        return action

    # --- dialogs (overridden in tests) -----------------------------------------------

    def show_error(self, title: str, message: str) -> None:
        QMessageBox.critical(self, title, message)

    def show_info(self, title: str, message: str) -> None:
        QMessageBox.information(self, title, message)

    def ask_yes_no(self, title: str, question: str) -> bool:
        answer = QMessageBox.question(self, title, question,
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def ask_text(self, title: str, label: str, default: str = "") -> str | None:
        text, ok = QInputDialog.getText(self, title, label, text=default)
        return text.strip() if ok and text.strip() else None

    def show_about(self, title: str, text: str) -> None:
        QMessageBox.about(self, title, text)

    def open_file(self, path: Path) -> None:
        """Open ``path`` in the program the system uses for it."""
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

    def choose_open_file(self, title: str, file_filter: str, folder: Path | None = None) -> Path | None:
        name, _ = QFileDialog.getOpenFileName(self, title, str(folder or self.dirs.projects), file_filter)
        return Path(name) if name else None

    def choose_save_file(self, title: str, file_filter: str, suggested: Path) -> Path | None:
        name, _ = QFileDialog.getSaveFileName(self, title, str(suggested), file_filter)
        return Path(name) if name else None

    def choose_column(self, path: Path, preview: TablePreview) -> ColumnChoice | None:
        dialog = ImportDialog(path, preview, self)
        return dialog.choice() if dialog.exec() else None

    def export_dialog(self) -> ExportDialog:
        return ExportDialog(self, self.settings.export_format)

    def choose_export(self) -> ExportChoice | None:
        dialog = self.export_dialog()
        if not dialog.exec():
            return None
        choice = dialog.choice()
        path = self.choose_save_file("Export mappings", choice.file_filter, self.projects.export_suggestion(choice))
        return replace(choice, path=path) if path else None

    def choose_settings(self, settings: Settings, rerankers: list[str]) -> Settings | None:
        dialog = SettingsDialog(settings, rerankers, self)
        return dialog.result_settings() if dialog.exec() else None

    def run_wizard(self, wizard) -> None:
        """Modal; tests override it to drive the pages themselves."""
        wizard.exec()

    def report(self, title: str, exc: BaseException) -> None:
        """Every failure ends here: a dialog with a message a user can act on, never a traceback."""
        if isinstance(exc, TermLinkerError):
            self.show_error(title, str(exc))
        else:
            log.error("%s", title, exc_info=exc)
            self.show_error(title, f"Something went wrong that TermLinker did not expect:\n\n"
                                   f"{type(exc).__name__}: {exc}\n\nYour project is saved up to the last decision.")

    def show_user_guide(self) -> None:
        """Help ▸ User Guide: docs/user-guide.md where it is beside the install, else where to find it."""
        guide = help_text.user_guide()
        if guide is None:
            self.show_info("User guide", help_text.GUIDE_MISSING)
        else:
            self.open_file(guide)

    # --- shared state, window events -------------------------------------------------

    def save_settings(self) -> None:
        try:
            write_settings(self.settings, self._settings_file)
        except TermLinkerError as exc:
            self.statusBar().showMessage(f"Settings not saved: {exc}")

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        self.projects.drag_enter(event)

    def dropEvent(self, event: QDropEvent) -> None:
        self.projects.drop(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.running and not self.ask_yes_no("Linking is running", "Stop linking and close? Every term linked "
                                                "so far is saved in the project; Run links the rest later."):
            event.ignore()
            return
        self.runs.stop_for_close()  # the engine stores the finished batches before it stops
        self.save_settings()
        if self.project is not None:
            self.memory.remember(self.project)
            self.project.close()
            self.project = None
        event.accept()

    # --- what the window does, by the controller that does it (tests and scripts call these)

    @property
    def running(self) -> bool:
        return self.runs.running

    @property
    def _op(self) -> BackgroundOp | None:
        return self.runs.op

    @property
    def _linker(self) -> Linker | None:
        return self.runs.linker

    def run(self) -> None:
        self.runs.run()

    def cancel_run(self) -> None:
        self.runs.cancel()

    def new_project(self) -> None:
        self.projects.new_project()

    def open_project(self, path: str | Path) -> bool:
        return self.projects.open_project(path)

    def _set_project(self, project: Project | None) -> None:
        self.projects.set_project(project)

    def save_project_as(self) -> None:
        self.projects.save_project_as()

    def import_file(self, path: str | Path) -> bool:
        return self.projects.import_file(path)

    def export(self) -> None:
        self.projects.export()

    def current_row(self) -> ReviewRow | None:
        return self.review.current_row()

    def select_term(self, term: str) -> bool:
        return self.review.select_term(term)

    def decide(self, status: str, concept_id: str | None = None, concept_name: str | None = None) -> None:
        self.review.decide(status, concept_id, concept_name)

    def approve_candidate(self, number: int) -> None:
        self.review.approve_candidate(number)

    def comment(self, text: str) -> None:
        self.review.comment(text)

    def bulk_approve(self, min_score: float) -> int:
        return self.review.bulk_approve(min_score)

    def apply_settings(self, settings: Settings) -> None:
        self.models.apply_settings(settings)

    def distill(self) -> None:
        self.models.distill()

    def learn_ranking(self) -> None:
        self.models.learn_ranking()

    def learn_retriever(self) -> None:
        self.models.learn_retriever()
