"""Runs: work off the GUI thread, one operation at a time (linking, importing a vocabulary, learning),
its progress with an ETA, Cancel, what a finished or failed run leaves behind, the linker kept for
the next run, and the vocabulary the detail panel shows."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from termlinker.api import (Cancelled, InputError, Linker, LinkerConfig, LinkSummary, MappingMemory, Project,
                            TermLinkerError, Vocabulary, VocabularyStore, script_warning)

from .eta import Eta
from .ops import BackgroundOp, Work
from .term_sources import terms_from_text

if TYPE_CHECKING:
    from .main_window import MainWindow

REFRESH_SECONDS = 1.0  # how often the table re-reads the project while a run stores batches


@dataclass
class RunState:
    """Shared with the worker thread: what it is doing and the linker it built."""

    stage: str = "Preparing"
    linker: Linker | None = None
    script_warning: str | None = None  # terms in a script the vocabulary does not use (头痛 against HPO)


class RunsController:
    """The Run and Cancel buttons, the progress bar and the ETA line, over one ``BackgroundOp``."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.op: BackgroundOp | None = None
        self.state = RunState()
        self.linker: Linker | None = None  # kept for the next run while its config stays the same
        self.linker_config: LinkerConfig | None = None
        self.vocabulary: Vocabulary | None = None  # the detail panel's concepts
        self.closing = False  # once set, callbacks leave the widgets alone
        self._eta = Eta()
        self._last_stage = ""
        self._refresh_every = REFRESH_SECONDS
        self._vocab_op: BackgroundOp | None = None

    @property
    def running(self) -> bool:
        return self.op is not None and self.op.running

    def busy(self) -> bool:
        """Whether an operation is under way (and if so, says so): they run one at a time."""
        if self.op is None:
            return False
        self.window.show_info("Linking is running", "Wait for the run to finish, or press Cancel first.")
        return True

    def forget_linker(self) -> None:
        """The settings changed: the next run builds its linker afresh."""
        self.linker = self.linker_config = None

    def linker_for(self, vocabulary: str) -> Linker | None:
        """The kept linker, if the next run against ``vocabulary`` would use it: built with the
        settings as they are now (a re-ranker switched on since is not loaded yet)."""
        if self.linker is None or self.linker_config is None:
            return None
        return self.linker if self.linker_config == self.window.settings.linker_config(vocabulary) else None

    # --- linking ---------------------------------------------------------------------

    def run(self) -> None:
        """Link the pasted and imported terms not linked yet."""
        w = self.window
        if self.busy():
            return
        try:
            project = w.projects.ensure_project()
            vocabulary = self._vocabulary_of(project)
            text = w.paste_box.toPlainText()
            if text.strip():
                project.add_terms(terms_from_text(text))
                w.paste_box.clear()
            stats = project.stats()
            if stats.terms == 0:
                raise InputError("There are no terms to link. Paste one term per line, or use File > Import.")
        except TermLinkerError as exc:
            w.report("Nothing to link", exc)
            return
        w.review.refresh_rows()
        if stats.pending == 0:
            w.show_info("Nothing to link", f"All {stats.terms:,} terms are linked. Paste or import more terms.")
            return
        self._link(project, vocabulary)

    def relink(self, selected: bool) -> None:
        """Run ▸ Re-link Selected / Re-link All: link terms again, already linked or not, with the
        current settings (encoder, ranking, re-ranker). Decisions are kept as they are."""
        w = self.window
        if self.busy():
            return
        what = "Re-link" if selected else "Re-link all"
        terms = w.review.selected_terms() if selected else None
        if w.project is None or w.project.stats().terms == 0:
            w.show_info(what, "The project has no terms yet. Paste or import terms and Run.")
            return
        if terms == []:
            w.show_info(what, "Select a term in the table first.")
            return
        if terms is None and not w.ask_yes_no(what, f"Link all {w.project.stats().terms:,} terms again with the "
                                              "current settings? Decisions already made are kept; Cancel keeps "
                                              "each term's earlier candidates until its new ones are stored."):
            return
        try:
            vocabulary = self._vocabulary_of(w.project)
        except TermLinkerError as exc:
            w.report("Cannot re-link", exc)
            return
        self._link(w.project, vocabulary, relink=True, terms=terms)

    def _vocabulary_of(self, project: Project) -> str:
        """The vocabulary the project links against now: once linked its own, before that the box's."""
        w = self.window
        vocabulary = w.models.run_vocabulary()
        if w.models.project_vocabulary() is None:
            project.set_vocabulary(vocabulary)  # not linked yet: it takes the box's choice
        return vocabulary

    def _link(self, project: Project, vocabulary: str, relink: bool = False, terms: list[str] | None = None) -> None:
        """Link in the background with a linker of the current settings (kept from the last run while
        they are the same): the pending terms, all (``relink``), or just ``terms``."""
        w = self.window
        w.settings = replace(w.settings, vocabulary=vocabulary)
        w.save_settings()
        config = w.settings.linker_config(vocabulary)
        state = RunState(linker=self.linker_for(vocabulary))
        dirs, path = w.dirs, project.path
        propose, auto_approve = w.settings.propose_remembered, w.settings.auto_approve_remembered

        def work(progress, cancel) -> LinkSummary:
            if state.linker is None:
                state.stage = "Loading the vocabulary and index"

                def indexing(done: int, total: int) -> None:  # the Linker reports only a first-use index build
                    state.stage = "Indexing the vocabulary"
                    progress(done, total)

                state.linker = Linker(config, dirs=dirs, progress=indexing, cancel=cancel)
            state.stage = "Linking"
            # The engine's rule: one Project per thread; this thread opens its own.
            with Project.open(path) as own:
                todo = (terms if terms is not None else [t for t, _c in own.pending_terms()] if not relink
                        else [r.term for r in own.iter_rows()])
                state.script_warning = script_warning(todo, state.linker.vocabulary, dirs)
                if not propose:
                    return own.link(state.linker, progress=progress, cancel=cancel, relink=relink, terms=terms)
                with MappingMemory.in_data_folder(dirs.ensure()) as memory:  # this thread's own connection too
                    return own.link(state.linker, progress=progress, cancel=cancel, relink=relink, terms=terms,
                                    memory=memory, auto_approve_remembered=auto_approve)

        self.start(state, work, self._run_done, self._run_failed)

    def cancel(self) -> None:
        if self.op is not None:
            self.op.cancel()
            self.window.eta_label.setText("Cancelling after the current batch…")

    def _run_ended(self) -> None:
        """Done, cancelled or failed: keep the linker the run built, and show what it stored."""
        w = self.window
        if self.state.linker is not None:
            self.linker = self.state.linker
            self.linker_config = self.linker.config  # kept while the settings give the same config
            self.vocabulary = self.linker.vocabulary
            w.detail.set_vocabulary(self.vocabulary)
        w.review.refresh_rows()
        w.models.follow_project()

    def _run_done(self, summary: LinkSummary) -> None:
        if self.closing:
            return
        self._run_ended()
        w = self.window
        w.eta_label.setText(f"Linked {summary.linked:,} terms.")
        warnings = [*(self.linker.warnings if self.linker else []), *filter(None, [self.state.script_warning])]
        if warnings:
            w.statusBar().showMessage(" ".join(warnings))
        else:
            w.statusBar().clearMessage()
        if w.table.currentIndex().row() < 0 and w.proxy.rowCount():
            w.table.selectRow(0)
        w.table.setFocus()

    def _run_failed(self, exc: BaseException) -> None:
        if self.closing:
            return
        self._run_ended()
        w = self.window
        if isinstance(exc, Cancelled):
            w.eta_label.setText("Cancelled; what was linked is saved.")
            return
        w.eta_label.setText("")
        w.report("Linking failed", exc)

    # --- any background operation ----------------------------------------------------

    def start(self, state: RunState, work: Work, success: Callable[[Any], Any],
              failure: Callable[[BaseException], Any]) -> None:
        """Start ``work`` off the GUI thread; ``state.stage`` names what it is doing in the ETA line."""
        w = self.window
        self.state = state
        self._eta.restart()
        self._last_stage = ""
        w.progress.setRange(0, 0)
        w.progress.setVisible(True)
        w.eta_label.setText(state.stage + "…")
        w.run_button.setEnabled(False)
        w.vocab_combo.setEnabled(False)  # the operation's vocabulary is chosen; the box says which
        w.cancel_button.setEnabled(True)
        # Each report carries the stage it was made in: one still queued when the worker moves on (the
        # index build's last) was shown under the next stage, whose bar then ran to a total twice.
        self.op = BackgroundOp(w, work, success=success, failure=failure, progress=self._on_progress,
                               stage=lambda: state.stage)
        self.op.finished.connect(self._op_finished)
        self.op.start()

    def _on_progress(self, stage: str, done: int, total: int) -> None:
        """A report from the worker, with the stage it was in then (``state.stage`` may be further on)."""
        if self.closing:
            return
        w = self.window
        if stage != self._last_stage:
            self._last_stage = stage
            self._eta.restart()
        w.progress.setRange(0, max(total, 1))
        w.progress.setValue(done)
        w.eta_label.setText(f"{stage}: {self._eta.text(done, total)}")
        if stage == "Linking" and time.monotonic() - w.review.last_refresh >= self._refresh_every:
            # Show the batches already stored, spending at most a tenth of the GUI thread's time on it.
            started = time.monotonic()
            w.review.refresh_rows()
            self._refresh_every = max(REFRESH_SECONDS, 10 * (time.monotonic() - started))

    def _op_finished(self) -> None:
        self.op = None
        if self.closing:
            return
        w = self.window
        w.progress.setVisible(False)
        w.run_button.setEnabled(True)
        w.cancel_button.setEnabled(False)
        w.models.follow_project()

    def stop_for_close(self) -> None:
        """The window closes: from now on callbacks leave the widgets alone, and a running operation
        stops (the engine stores the finished batches before it does)."""
        self.closing = True
        op = self.op
        if op is not None and op.running:
            op.cancel()
            op.wait()

    # --- the detail panel's vocabulary -----------------------------------------------

    def load_vocabulary(self, name: str) -> None:
        """Load the project's vocabulary in the background for the detail panel."""
        w = self.window
        if self.vocabulary is not None and self.vocabulary.info.name == name:
            w.detail.set_vocabulary(self.vocabulary)
            return
        dirs = w.dirs

        def loaded(vocabulary: Vocabulary) -> None:
            if not self.closing:
                self.vocabulary = vocabulary
                w.detail.set_vocabulary(vocabulary)

        def failed(exc: BaseException) -> None:
            if not self.closing:
                w.statusBar().showMessage(f"Concept details are unavailable: {exc}")

        op = BackgroundOp(w, lambda _p, _c: VocabularyStore(dirs).get(name), success=loaded, failure=failed)
        self._vocab_op = op.start()
