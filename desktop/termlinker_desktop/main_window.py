"""The main window: terms in, a run in the background, review, export.

Every dialog is opened through a small method (``show_error``, ``ask_yes_no``,
``choose_open_file``, ``choose_column``, ...) so that tests can answer it.
"""

from __future__ import annotations

import getpass
import logging
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QHBoxLayout, QInputDialog, QLabel, QLineEdit,
                               QMainWindow, QMessageBox, QPlainTextEdit, QProgressBar, QPushButton, QSizePolicy, QSplitter,
                               QVBoxLayout, QWidget)

from termlinker.api import (DEFAULT_BUILTIN, PROJECT_SUFFIX, Cancelled, DataDirs, InputError, Linker, LinkerConfig,
                            LinkSummary, Project, ReviewRow, Status, TermLinkerError, Vocabulary, VocabularyStore,
                            VocabularySummary, atomic_open, is_safe_name, learn_ranking_from_project,
                            learn_retriever_from_project, reranker_names)

from .detail_panel import DetailPanel
from .eta import Eta
from .export_dialog import ExportChoice, ExportDialog
from .import_dialog import ImportDialog
from .ops import BackgroundOp
from .results_model import STATUS_LABELS, ResultsFilter, ResultsModel
from .review_table import ReviewTable
from .settings import Settings, save_settings
from .settings_dialog import SettingsDialog
from .status_line import StatusLine
from .term_sources import FILE_FILTER, ColumnChoice, TablePreview, is_table, preview_table, read_file, terms_from_text

log = logging.getLogger(__name__)

PROJECT_FILTER = f"TermLinker projects (*{PROJECT_SUFFIX});;All files (*)"
REFRESH_SECONDS = 1.0  # how often the table re-reads the project while a run stores batches


@dataclass
class RunState:
    """Shared with the worker thread: what it is doing and the linker it built."""

    stage: str = "Preparing"
    linker: Linker | None = None


class MainWindow(QMainWindow):
    distill_training = None  # the wizard's FineTuneConfig; None = the backend's defaults (tests shrink it)

    def __init__(self, settings: Settings, settings_file: Path | None = None, dirs: DataDirs | None = None) -> None:
        super().__init__()
        self.settings = settings
        self._settings_file = settings_file
        self.dirs = dirs or settings.data_dirs()
        self.project: Project | None = None
        self._linker: Linker | None = None
        self._linker_config: LinkerConfig | None = None
        self._vocabulary: Vocabulary | None = None
        self._op: BackgroundOp | None = None
        self._run_state = RunState()
        self._eta = Eta()
        self._last_refresh = 0.0
        self._refresh_every = REFRESH_SECONDS
        self._closing = False
        self.setWindowTitle("TermLinker")
        self.setAcceptDrops(True)
        self.resize(1380, 860)
        self._build_widgets()
        self._build_menus()
        self.reload_vocabularies()
        self._update_title()
        self._update_status_line()

    # --- building --------------------------------------------------------------------

    def _build_widgets(self) -> None:
        self.paste_box = QPlainTextEdit()
        self.paste_box.setPlaceholderText("Paste terms here, one per line…\n\nor File ▸ Import, or drop a .txt, "
                                          ".csv, .tsv or .xlsx file on the window.")
        self.paste_box.setAcceptDrops(False)  # a dropped file is imported by the window, not pasted as a URL
        self.vocab_combo = QComboBox()
        self.vocab_combo.setMinimumWidth(220)
        self.vocab_combo.currentIndexChanged.connect(lambda _i: self._update_status_line())
        self.run_button = QPushButton("▶  Run")
        self.run_button.setDefault(True)
        self.run_button.setToolTip("Link the pasted and imported terms not linked yet (Ctrl+R)")
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_run)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.eta_label = QLabel("")

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(QLabel("<b>Terms</b>"))
        left_layout.addWidget(self.paste_box, 1)
        left_layout.addWidget(QLabel("Vocabulary:"))
        left_layout.addWidget(self.vocab_combo)
        run_row = QHBoxLayout()
        run_row.addWidget(self.run_button, 1)
        run_row.addWidget(self.cancel_button)
        left_layout.addLayout(run_row)
        left_layout.addWidget(self.progress)
        left_layout.addWidget(self.eta_label)

        self.model = ResultsModel(self.settings.low_score, self)
        self.proxy = ResultsFilter(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(0)
        self.table = ReviewTable()
        self.table.setModel(self.proxy)
        self.table.fit_columns()
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # first-seen order
        self.table.selectionModel().currentRowChanged.connect(self._on_current_changed)
        self.table.approve_requested.connect(lambda: self.decide(Status.APPROVED.value))
        self.table.candidate_requested.connect(self.approve_candidate)
        self.table.status_requested.connect(lambda status: self.decide(status))

        self.status_filter = QComboBox()
        self.status_filter.addItem("All statuses", None)
        for status in Status:
            self.status_filter.addItem(STATUS_LABELS[status], status.value)
        self.status_filter.currentIndexChanged.connect(
            lambda _i: self.proxy.set_status(self.status_filter.currentData()))
        self.min_score = QDoubleSpinBox()
        self.min_score.setRange(0.0, 1.0)
        self.min_score.setSingleStep(0.05)
        self.min_score.setPrefix("score ≥ ")
        self.min_score.valueChanged.connect(self.proxy.set_min_score)
        self.text_filter = QLineEdit()
        self.text_filter.setPlaceholderText("Find a term…")
        self.text_filter.setClearButtonEnabled(True)
        self.text_filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.bulk_min = QDoubleSpinBox()
        self.bulk_min.setRange(0.0, 1.0)
        self.bulk_min.setSingleStep(0.05)
        self.bulk_min.setValue(self.settings.bulk_approve_min)
        self.bulk_button = QPushButton("Approve all unchecked ≥")
        self.bulk_button.clicked.connect(lambda: self.bulk_approve(self.bulk_min.value()))
        self.counts_label = QLabel("")
        # A long count line must not widen the window past a laptop screen.
        self.counts_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.counts_label.setToolTip("Enter approves, 1–9 approves candidate n, F flags, N no match, U undoes")
        filters = QHBoxLayout()
        filters.addWidget(self.text_filter, 2)
        filters.addWidget(self.status_filter)
        filters.addWidget(self.min_score)
        filters.addStretch(1)
        filters.addWidget(self.bulk_button)
        filters.addWidget(self.bulk_min)
        centre = QWidget()
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(0, 0, 0, 0)
        centre_layout.addLayout(filters)
        centre_layout.addWidget(self.table, 1)
        centre_layout.addWidget(self.counts_label)

        self.detail = DetailPanel()
        self.detail.decided.connect(self.decide)
        self.detail.commented.connect(self.comment)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(centre)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setStretchFactor(2, 0)
        splitter.setSizes([250, 730, 400])
        splitter.setContentsMargins(8, 8, 8, 0)
        self.setCentralWidget(splitter)

        self.status_line = StatusLine(self.statusBar())

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&New Project…", self.new_project, QKeySequence.StandardKey.New)
        self._action(file_menu, "&Open Project…", self.open_project_dialog, QKeySequence.StandardKey.Open)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self._action(file_menu, "Save Project &As…", self.save_project_as, QKeySequence.StandardKey.SaveAs)
        file_menu.addSeparator()
        self._action(file_menu, "&Import Terms…", self.import_dialog, "Ctrl+I")
        self._action(file_menu, "Import &Vocabulary…", self.import_vocabulary)
        self._action(file_menu, "&Export…", self.export, "Ctrl+E")
        file_menu.addSeparator()
        self._action(file_menu, "&Settings…", self.edit_settings_dialog, QKeySequence.StandardKey.Preferences)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        run_menu = self.menuBar().addMenu("&Run")
        self._action(run_menu, "&Link Terms", self.run, "Ctrl+R")
        self._action(run_menu, "&Cancel", self.cancel_run, "Esc")
        review = self.menuBar().addMenu("Re&view")
        self._action(review, "&Approve (Enter)", lambda: self.decide(Status.APPROVED.value))
        self._action(review, "&Flag (F)", lambda: self.decide(Status.FLAGGED.value))
        self._action(review, "&No Match (N)", lambda: self.decide(Status.NO_MATCH.value))
        self._action(review, "&Unchecked (U)", lambda: self.decide(Status.UNCHECKED.value))
        review.addSeparator()
        self._action(review, "Approve All Unchecked Above the Threshold…",
                     lambda: self.bulk_approve(self.bulk_min.value()))
        tools = self.menuBar().addMenu("&Tools")
        self._action(tools, "&Distil a Re-ranker…", self.distill)
        self._action(tools, "&Learn a Ranking from Approved Mappings", self.learn_ranking)
        self._action(tools, "Learn the &Retriever from Approved Mappings…", self.learn_retriever)

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

    def choose_open_file(self, title: str, file_filter: str) -> Path | None:
        name, _ = QFileDialog.getOpenFileName(self, title, str(self.dirs.projects), file_filter)
        return Path(name) if name else None

    def choose_save_file(self, title: str, file_filter: str, suggested: Path) -> Path | None:
        name, _ = QFileDialog.getSaveFileName(self, title, str(suggested), file_filter)
        return Path(name) if name else None

    def choose_column(self, path: Path, preview: TablePreview) -> ColumnChoice | None:
        dialog = ImportDialog(path, preview, self)
        return dialog.choice() if dialog.exec() else None

    def choose_export(self) -> ExportChoice | None:
        dialog = ExportDialog(self)
        if not dialog.exec():
            return None
        choice = dialog.choice()
        stem = self.project.path.stem if self.project else "mappings"
        path = self.choose_save_file("Export mappings", choice.file_filter,
                                     self.dirs.root / f"{stem}-{choice.fmt}{choice.suffix}")
        return replace(choice, path=path) if path else None

    def choose_settings(self, settings: Settings, rerankers: list[str]) -> Settings | None:
        dialog = SettingsDialog(settings, rerankers, self)
        return dialog.result_settings() if dialog.exec() else None

    def report(self, title: str, exc: BaseException) -> None:
        """Every failure ends here: a dialog with a message a user can act on, never a traceback."""
        if isinstance(exc, TermLinkerError):
            self.show_error(title, str(exc))
        else:
            log.error("%s", title, exc_info=exc)
            self.show_error(title, f"Something went wrong that TermLinker did not expect:\n\n"
                                   f"{type(exc).__name__}: {exc}\n\nYour project is saved up to the last decision.")

    # --- vocabularies and status line ------------------------------------------------

    def reload_vocabularies(self, select: str | None = None) -> None:
        wanted = select or self.vocab_combo.currentData() or self.settings.vocabulary
        self.vocab_combo.blockSignals(True)
        self.vocab_combo.clear()
        try:
            summaries = VocabularyStore(self.dirs).list()
        except TermLinkerError as exc:
            summaries = []
            self.statusBar().showMessage(str(exc))
        for summary in summaries:
            self.vocab_combo.addItem(_vocab_label(summary), summary.name)
            if not summary.available:
                item = self.vocab_combo.model().item(self.vocab_combo.count() - 1)
                item.setEnabled(False)
                item.setToolTip(summary.problem)
        index = self.vocab_combo.findData(wanted)
        if index < 0:
            self.vocab_combo.addItem(Path(wanted).name, wanted)  # a project made from a vocabulary file
            index = self.vocab_combo.count() - 1
        self.vocab_combo.setCurrentIndex(index)
        self.vocab_combo.blockSignals(False)
        self._summaries = {s.name: s for s in summaries}
        self._update_status_line()

    def _update_status_line(self) -> None:
        name = self.vocab_combo.currentData() or ""
        linker = self._linker if self._linker and self._linker_config and \
            self._linker_config.vocabulary == name else None
        self.status_line.update(self.settings, getattr(self, "_summaries", {}).get(name), name, linker)

    # --- projects --------------------------------------------------------------------

    def _ensure_project(self) -> Project:
        """The open project; an untitled one in the data folder when none is open yet."""
        if self.project is None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            path = self.dirs.ensure().projects / f"untitled-{stamp}{PROJECT_SUFFIX}"
            n = 1
            while path.exists():
                n += 1
                path = path.with_name(f"untitled-{stamp}-{n}{PROJECT_SUFFIX}")
            self._set_project(Project.create(path, self.vocab_combo.currentData() or DEFAULT_BUILTIN,
                                             top_k=self.settings.top_k))
        return self.project

    def _set_project(self, project: Project | None) -> None:
        if self.project is not None and self.project is not project:
            self.project.close()
        self.project = project
        if project is not None:
            self._remember(project.path)
        self.refresh_rows()
        self._update_title()

    def _remember(self, path: Path) -> None:
        self.settings = self.settings.with_recent(path)
        self._save_settings()

    def new_project(self) -> None:
        if self._busy():
            return
        suggested = self.dirs.ensure().projects / f"project{PROJECT_SUFFIX}"
        path = self.choose_save_file("New project", PROJECT_FILTER, suggested)
        if path is None:
            return
        if path.suffix == "":
            path = path.with_suffix(PROJECT_SUFFIX)
        try:
            if path.exists():
                # The file dialog already asked whether to replace it.
                path.unlink()
            project = Project.create(path, self.vocab_combo.currentData() or DEFAULT_BUILTIN, top_k=self.settings.top_k)
        except (TermLinkerError, OSError) as exc:
            self.report("Cannot create the project", exc)
            return
        self.paste_box.clear()
        self._set_project(project)

    def open_project_dialog(self) -> None:
        path = self.choose_open_file("Open project", PROJECT_FILTER)
        if path is not None:
            self.open_project(path)

    def open_project(self, path: str | Path) -> bool:
        if self._busy():
            return False
        try:
            project = Project.open(path)
            vocabulary = project.info().vocabulary
        except TermLinkerError as exc:
            self.report("Cannot open the project", exc)
            return False
        self._set_project(project)
        self.reload_vocabularies(select=vocabulary)
        self._load_vocabulary(vocabulary)
        return True

    def save_project_as(self) -> None:
        if self.project is None:
            self.show_error("Save As", "There is no project yet. Paste or import terms first.")
            return
        if self._busy():
            return
        path = self.choose_save_file("Save project as", PROJECT_FILTER, self.project.path)
        if path is None or path.resolve() == self.project.path.resolve():
            return
        if path.suffix == "":
            path = path.with_suffix(PROJECT_SUFFIX)
        old = self.project.path
        # Every decision is already committed, so a copy of the closed file is the whole project.
        self.project.close()
        self.project = None
        try:
            _copy_atomically(old, path)
            project = Project.open(path)
        except (TermLinkerError, OSError) as exc:
            self.report("Cannot save the project", exc)
            project = Project.open(old)
        self._set_project(project)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = [p for p in self.settings.recent_projects if Path(p).exists()]
        if not recent:
            self.recent_menu.addAction("(none)").setEnabled(False)
        for text in recent:
            action = self.recent_menu.addAction(text)
            action.triggered.connect(lambda _checked=False, p=text: self.open_project(p))

    def _update_title(self) -> None:
        name = self.project.path.name if self.project else "no project"
        self.setWindowTitle(f"{name} — TermLinker")

    # --- terms in --------------------------------------------------------------------

    def import_dialog(self) -> None:
        path = self.choose_open_file("Import terms", FILE_FILTER)
        if path is not None:
            self.import_file(path)

    def import_file(self, path: str | Path) -> bool:
        """Add a file's terms to the project (they show as "not linked yet" until Run)."""
        if self._busy():
            return False
        path = Path(path)
        try:
            choice = None
            if is_table(path):
                choice = self.choose_column(path, preview_table(path))
                if choice is None:
                    return False
            terms = read_file(path, choice)
            new = self._ensure_project().add_terms(terms)
        except (TermLinkerError, OSError) as exc:
            self.report(f"Cannot import {path.name}", exc)
            return False
        self.refresh_rows()
        notes = " ".join(terms.warnings)
        self.statusBar().showMessage(f"Imported {len(terms):,} distinct terms ({new:,} new) from {path.name}, "
                                     f"read as {terms.encoding}. {notes} Press Run to link them.")
        return True

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if files:
            event.acceptProposedAction()
            # After the drop returns: a modal column picker inside a drop handler confuses some platforms.
            QTimer.singleShot(0, lambda: [self.import_file(f) for f in files])

    # --- running ---------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._op is not None and self._op.running

    def _busy(self) -> bool:
        if self._op is None:
            return False
        self.show_info("Linking is running", "Wait for the run to finish, or press Cancel first.")
        return True

    def run(self) -> None:
        if self._busy():
            return
        try:
            project = self._ensure_project()
            text = self.paste_box.toPlainText()
            if text.strip():
                project.add_terms(terms_from_text(text))
                self.paste_box.clear()
            stats = project.stats()
            if stats.terms == 0:
                raise InputError("There are no terms to link. Paste one term per line, or use File > Import.")
        except TermLinkerError as exc:
            self.report("Nothing to link", exc)
            return
        self.refresh_rows()
        if stats.pending == 0:
            self.show_info("Nothing to link", f"All {stats.terms:,} terms are linked. Paste or import more terms.")
            return
        vocabulary = self.vocab_combo.currentData() or DEFAULT_BUILTIN
        self.settings = replace(self.settings, vocabulary=vocabulary)
        self._save_settings()
        config = self.settings.linker_config(vocabulary)
        cached = self._linker if config == self._linker_config else None
        state = self._run_state = RunState(linker=cached)
        dirs, path = self.dirs, project.path

        def work(progress, cancel) -> LinkSummary:
            if state.linker is None:
                state.stage = "Loading the vocabulary and index"
                state.linker = Linker(config, dirs=dirs, progress=progress, cancel=cancel)
            state.stage = "Linking"
            # The engine's rule: one Project per thread; this thread opens its own.
            with Project.open(path) as own:
                return own.link(state.linker, progress=progress, cancel=cancel)

        self._linker_config = config
        self._start(work, self._run_done, self._run_failed)

    def _start(self, work, success, failure) -> None:
        self._eta.restart()
        self._last_stage = ""
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.eta_label.setText(self._run_state.stage + "…")
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self._op = BackgroundOp(self, work, success=success, failure=failure, progress=self._on_progress)
        self._op.finished.connect(self._op_finished)
        self._op.start()

    def _on_progress(self, done: int, total: int) -> None:
        if self._closing:
            return
        stage = self._run_state.stage
        if stage != self._last_stage:
            self._last_stage = stage
            self._eta.restart()
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.eta_label.setText(f"{stage}: {self._eta.text(done, total)}")
        if stage == "Linking" and time.monotonic() - self._last_refresh >= self._refresh_every:
            # Show the batches already stored, spending at most a tenth of the GUI thread's time on it.
            started = time.monotonic()
            self.refresh_rows()
            self._refresh_every = max(REFRESH_SECONDS, 10 * (time.monotonic() - started))

    def cancel_run(self) -> None:
        if self._op is not None:
            self._op.cancel()
            self.eta_label.setText("Cancelling after the current batch…")

    def _op_finished(self) -> None:
        self._op = None
        if self._closing:
            return
        self.progress.setVisible(False)
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def _take_linker(self) -> None:
        if self._run_state.linker is not None:
            self._linker = self._run_state.linker
            self._vocabulary = self._linker.vocabulary
            self.detail.set_vocabulary(self._vocabulary)

    def _run_done(self, summary: LinkSummary) -> None:
        if self._closing:
            return
        self._take_linker()
        self.refresh_rows()
        self._update_status_line()
        self.eta_label.setText(f"Linked {summary.linked:,} terms.")
        warnings = self._linker.warnings if self._linker else []
        if warnings:
            self.statusBar().showMessage(" ".join(warnings))
        else:
            self.statusBar().clearMessage()
        if self.table.currentIndex().row() < 0 and self.proxy.rowCount():
            self.table.selectRow(0)
        self.table.setFocus()

    def _run_failed(self, exc: BaseException) -> None:
        if self._closing:
            return
        self._take_linker()
        self.refresh_rows()
        self._update_status_line()
        if isinstance(exc, Cancelled):
            self.eta_label.setText("Cancelled; what was linked is saved.")
            return
        self.eta_label.setText("")
        self.report("Linking failed", exc)

    def _load_vocabulary(self, name: str) -> None:
        """Load the project's vocabulary in the background for the detail panel."""
        if self._vocabulary is not None and self._vocabulary.info.name == name:
            self.detail.set_vocabulary(self._vocabulary)
            return
        dirs = self.dirs

        def loaded(vocabulary: Vocabulary) -> None:
            if not self._closing:
                self._vocabulary = vocabulary
                self.detail.set_vocabulary(vocabulary)

        def failed(exc: BaseException) -> None:
            if not self._closing:
                self.statusBar().showMessage(f"Concept details are unavailable: {exc}")

        op = BackgroundOp(self, lambda _p, _c: VocabularyStore(dirs).get(name), success=loaded, failure=failed)
        self._vocab_op = op.start()

    # --- review ----------------------------------------------------------------------

    def refresh_rows(self) -> None:
        self._last_refresh = time.monotonic()
        current = self.current_row()
        self.model.low_score = self.settings.low_score
        self.model.set_rows(self.project.rows() if self.project else [])
        if current is not None:
            self.select_term(current.term)
        self._update_counts()

    def _update_counts(self) -> None:
        if self.project is None:
            self.counts_label.setText("")
            return
        stats = self.project.stats()
        by = stats.by_status
        self.counts_label.setText(
            f"{stats.terms:,} terms · {stats.linked:,} linked · {by.get('approved', 0):,} approved · "
            f"{by.get('flagged', 0):,} flagged · {by.get('no_match', 0):,} no match · "
            f"{by.get('unchecked', 0):,} unchecked   —   Enter approves · 1–9 picks · F flag · N no match · U undo")

    def current_row(self) -> ReviewRow | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        return self.model.row_at(self.proxy.mapToSource(index).row())

    def select_term(self, term: str) -> bool:
        position = self.model.position_of(term)
        if position is None:
            return False
        index = self.proxy.mapFromSource(self.model.index(position, 0))
        if not index.isValid():
            return False
        self.table.selectRow(index.row())
        self.table.scrollTo(index)
        return True

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.detail.show_row(self.current_row() if current.isValid() else None)

    def decide(self, status: str, concept_id: str | None = None, concept_name: str | None = None) -> None:
        """Record a decision for the selected term (committed at once), then move to the next term."""
        row = self.current_row()
        if row is None or self.project is None:
            return
        if status == Status.APPROVED.value and concept_id is None and row.concept_id:
            # Enter on a row whose concept was already chosen (by hand or by 1-9) keeps that choice.
            concept_id, concept_name = row.concept_id, row.concept_name
        if status == Status.APPROVED.value and concept_id is None and not row.candidates:
            self.show_error("Cannot approve", f"{row.term!r} has no candidates yet. Press Run first, or search "
                                              "the vocabulary for a concept.")
            return
        next_term = self._neighbour_term()
        try:
            updated = self.project.decide(row.term, status, concept_id, concept_name, reviewer=_reviewer())
        except TermLinkerError as exc:
            self.report("Cannot record the decision", exc)
            return
        self.model.update_row(updated)
        self._update_counts()
        moved = status != Status.UNCHECKED.value and next_term is not None and self.select_term(next_term)
        if not moved:
            self.select_term(updated.term)
            self.detail.show_row(self.current_row())

    def approve_candidate(self, number: int) -> None:
        row = self.current_row()
        if row is not None and 1 <= number <= len(row.candidates):
            cand = row.candidates[number - 1]
            self.decide(Status.APPROVED.value, cand.concept_id, cand.name)

    def _neighbour_term(self) -> str | None:
        """The term to select after deciding the current one: the next visible row, or the previous."""
        r = self.table.currentIndex().row()
        for candidate in (r + 1, r - 1):
            if 0 <= candidate < self.proxy.rowCount():
                source = self.proxy.mapToSource(self.proxy.index(candidate, 0))
                return self.model.row_at(source.row()).term
        return None

    def comment(self, text: str) -> None:
        row = self.current_row()
        if row is None or self.project is None:
            return
        try:
            updated = self.project.comment(row.term, text, reviewer=_reviewer())
        except TermLinkerError as exc:
            self.report("Cannot save the comment", exc)
            return
        self.model.update_row(updated)

    def bulk_approve(self, min_score: float) -> int:
        if self.project is None:
            return 0
        if not self.ask_yes_no("Approve in bulk", f"Approve the best candidate of every unchecked term scoring "
                                                  f"at least {min_score:.2f}?"):
            return 0
        try:
            count = self.project.bulk_approve(min_score, reviewer=_reviewer())
        except TermLinkerError as exc:
            self.report("Cannot approve", exc)
            return 0
        self.refresh_rows()
        self.statusBar().showMessage(f"Approved {count:,} terms scoring at least {min_score:.2f}.", 10000)
        return count

    # --- export, vocabularies, settings ----------------------------------------------

    def export(self) -> None:
        if self.project is None or self.project.stats().terms == 0:
            self.show_error("Nothing to export", "The project has no terms yet. Paste or import terms and Run.")
            return
        choice = self.choose_export()
        if choice is None or choice.path is None:
            return
        try:
            count = self.project.export(choice.path, choice.fmt, approved_only=choice.approved_only)
        except TermLinkerError as exc:
            self.report("Export failed", exc)
            return
        self.statusBar().showMessage(f"Exported {count:,} terms to {choice.path}.", 15000)

    def import_vocabulary(self) -> None:
        if self._busy():
            return
        path = self.choose_open_file("Import a vocabulary", "Vocabularies (*.jsonl *.tsv *.csv *.obo);;All files (*)")
        if path is None:
            return
        name = self.ask_text("Vocabulary name", "Name for the imported vocabulary:", path.stem)
        if name is None:
            return
        dirs = self.dirs
        self._run_state = RunState(stage="Importing the vocabulary")

        def done(vocabulary: Vocabulary) -> None:
            self.reload_vocabularies(select=vocabulary.info.name)
            self.statusBar().showMessage(f"Imported {len(vocabulary):,} concepts as {vocabulary.info.name!r}.")

        self._start(lambda _p, _c: VocabularyStore(dirs).import_file(path, name), done,
                    lambda exc: self.report("Cannot import the vocabulary", exc))

    def edit_settings_dialog(self) -> None:
        try:
            rerankers = reranker_names(self.dirs)
        except TermLinkerError as exc:
            self.report("Cannot read the re-ranker registry", exc)
            rerankers = []
        chosen = self.choose_settings(self.settings, rerankers)
        if chosen is not None:
            self.apply_settings(chosen)

    def apply_settings(self, settings: Settings) -> None:
        folder_changed = settings.data_folder != self.settings.data_folder
        self.settings = settings
        self._save_settings()
        self.bulk_min.setValue(settings.bulk_approve_min)
        if folder_changed:
            self.dirs = settings.data_dirs()
            self._linker = self._linker_config = None
            self.reload_vocabularies()
        self.refresh_rows()
        self._update_status_line()

    def make_distill_wizard(self):
        from .distill.wizard import DistillWizard

        vocabulary = self.project.info().vocabulary if self.project else self.vocab_combo.currentData()
        return DistillWizard(self.settings, self.dirs, self.project.path if self.project else None, vocabulary,
                             training=self.distill_training, parent=self)

    def run_wizard(self, wizard) -> None:
        """Modal; tests override it to drive the pages themselves."""
        wizard.exec()

    def distill(self) -> None:
        """Tools ▸ Distil a Re-ranker: the wizard reads the project's terms but never changes the project."""
        if self._busy():
            return
        wizard = self.make_distill_wizard()
        self.run_wizard(wizard)
        self.settings = wizard.teacher_settings(self.settings)  # URL, model, price, budget; never the key
        if wizard.ctx.ranking_path is not None:
            self.settings = replace(self.settings, learned_ranking=True)
        self._save_settings()
        self._linker = self._linker_config = None  # the active re-ranker may have changed
        self._update_status_line()

    def learn_ranking(self) -> None:
        """Tools ▸ Learn a Ranking: the project's approved mappings teach how to order candidates
        (the engine's ``learn_ranking``, as ``termlinker ranker train --pairs PROJECT``); the result
        is saved for the project's vocabulary and switched on."""
        if self._busy():
            return
        if self.project is None or not self.project.stats().by_status.get(Status.APPROVED.value):
            self.show_error("Nothing to learn from", "Approve some mappings first: the ranking is learned from "
                                                     "the approved mappings of the open project.")
            return
        vocabulary = self.project.info().vocabulary
        if not is_safe_name(vocabulary):  # a file path: rankings are saved under a vocabulary's name
            self.show_error("Cannot learn a ranking", f"The project links to the file {vocabulary!r}; rankings "
                                                      "are kept per vocabulary name. Import the file first.")
            return
        # Learned over the plain retriever, never over an earlier ranking's order.
        config = replace(self.settings.linker_config(vocabulary), ranker=None, rerank=False)
        dirs, path = self.dirs, self.project.path
        state = self._run_state = RunState(stage="Indexing the vocabulary")

        def work(progress, cancel):
            linker = Linker(config, dirs=dirs, progress=progress, cancel=cancel)
            state.stage = "Learning from the approved mappings"
            return learn_ranking_from_project(linker, path, dirs, progress=progress, cancel=cancel)

        def done(learned) -> None:
            ranker, target = learned
            self.apply_settings(replace(self.settings, learned_ranking=True))
            self._linker = self._linker_config = None
            self._update_status_line()
            self.eta_label.setText("Learned a ranking.")
            self.show_info("Ranking learned", f"{ranker.held_out_text('approved')} Saved to {target}; the next "
                                              "Run uses it (Settings can switch it off).")

        self._start(work, done, lambda exc: self.report("Cannot learn a ranking", exc))

    def learn_retriever(self) -> None:
        """Tools ▸ Learn the Retriever: the project's approved mappings fine-tune the encoder that finds
        candidates (the engine's ``learn_retriever``, as ``termlinker distill train-retriever --project``).
        It is saved as ``<vocabulary>-learned`` and switched on; terms linked from then on use it."""
        if self._busy():
            return
        approved = self.project.stats().by_status.get(Status.APPROVED.value, 0) if self.project else 0
        if not approved:
            self.show_error("Nothing to learn from", "Approve some mappings first: the retriever learns from the "
                                                     "approved mappings of the open project.")
            return
        vocabulary = self.project.info().vocabulary
        if not is_safe_name(vocabulary):
            self.show_error("Cannot learn the retriever", f"The project links to the file {vocabulary!r}; learned "
                                                          "retrievers are kept per vocabulary name. Import the "
                                                          "file first.")
            return
        if not self.ask_yes_no("Learn the retriever", f"Fine-tune the retriever on {approved:,} approved mappings? "
                               "It runs in the background (about 2 minutes per 1,500 terms on 2 cores); Cancel "
                               "keeps what is done and the next try continues."):
            return
        # Hard negatives are mined from the plain default retriever, and training starts from it.
        config = replace(self.settings.linker_config(vocabulary), ranker=None, rerank=False, encoder=None)
        dirs, path = self.dirs, self.project.path
        state = self._run_state = RunState(stage="Indexing the vocabulary")

        def work(progress, cancel):
            linker = Linker(config, dirs=dirs, progress=progress, cancel=cancel)
            state.stage = "Learning the retriever"
            return learn_retriever_from_project(linker, path, dirs, progress=progress, cancel=cancel)

        def done(report) -> None:
            self.apply_settings(replace(self.settings, learned_retriever=True))
            self._linker = self._linker_config = None
            self._update_status_line()
            self.eta_label.setText("Learned the retriever.")
            lines = [line for line in report.lines()[1:]]
            ranking = (" Learn the ranking again too (Tools ▸ Learn a Ranking), so that it orders this "
                       "retriever's candidates." if self.settings.ranker_for(vocabulary) else "")
            self.show_info("Retriever learned", f"Saved as {report.name}. " + " ".join(lines)
                           + " Terms linked from now on use it; Settings can switch it off." + ranking)

        def failed(exc: BaseException) -> None:
            if isinstance(exc, Cancelled):
                self.eta_label.setText("Stopped learning the retriever.")
                self.show_info("Stopped", "Learning the retriever stopped. What it did is kept: Learn the "
                                          "Retriever again continues from there.")
            else:
                self.report("Cannot learn the retriever", exc)

        self._start(work, done, failed)

    def _save_settings(self) -> None:
        try:
            save_settings(self.settings, self._settings_file)
        except TermLinkerError as exc:
            self.statusBar().showMessage(f"Settings not saved: {exc}")

    # --- closing ---------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.running:
            if not self.ask_yes_no("Linking is running", "Stop linking and close? Every term linked so far "
                                                         "is saved in the project; Run links the rest later."):
                event.ignore()
                return
            self._closing = True
            self._op.cancel()
            self._op.wait()  # the engine stores the finished batches before it stops
        self._closing = True
        self._save_settings()
        if self.project is not None:
            self.project.close()
            self.project = None
        event.accept()


def _vocab_label(summary: VocabularySummary) -> str:
    size = f" · {summary.concepts:,} concepts" if summary.concepts else ""
    kind = f" — {summary.description}" if summary.builtin and summary.description else " (imported)"
    return f"{summary.name}{kind}{size}"


def _reviewer() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return ""


def _copy_atomically(source: Path, target: Path) -> None:
    with open(source, "rb") as src, atomic_open(target, "wb") as dst:
        shutil.copyfileobj(src, dst)
