"""Review: the table of terms and their candidates, the counts under it, and the decisions a
reviewer records (each committed to the project at once)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from PySide6.QtCore import QModelIndex

from termlinker.api import BulkApproval, Project, ReviewRow, Status, TermLinkerError, write_review_report

from .runs import RunState

if TYPE_CHECKING:
    from .main_window import MainWindow

T = TypeVar("T")


class ReviewController:
    """Keeps the review table in step with the open project and records decisions on it."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.last_refresh = 0.0  # time.monotonic() of the last re-read (a run paces its refreshes by it)
        self.last_bulk: BulkApproval | None = None  # what Undo Bulk Approve takes back

    def refresh_rows(self) -> None:
        """Re-read the project into the table, keeping the selected term selected."""
        w = self.window
        self.last_refresh = time.monotonic()
        current = self.current_row()
        w.model.low_score = w.settings.low_score
        w.model.set_rows(w.project.rows() if w.project else [])
        if current is not None:
            self.select_term(current.term)
        self.update_counts()

    def update_counts(self) -> None:
        w = self.window
        if w.project is None:
            w.counts_label.setText("")
            return
        stats = w.project.stats()
        by = stats.by_status
        w.counts_label.setText(
            f"{stats.terms:,} terms · {stats.linked:,} linked · {by.get('approved', 0):,} approved · "
            f"{by.get('flagged', 0):,} flagged · {by.get('no_match', 0):,} no match · "
            f"{by.get('unchecked', 0):,} unchecked\nEnter approves · 1–9, 0 pick · F flag · N no match · "
            "U undo")

    def current_row(self) -> ReviewRow | None:
        w = self.window
        index = w.table.currentIndex()
        if not index.isValid():
            return None
        return w.model.row_at(w.proxy.mapToSource(index).row())

    def selected_terms(self) -> list[str]:
        """The terms selected in the table (the current one when the selection is empty)."""
        w = self.window
        rows = [w.proxy.mapToSource(index).row() for index in w.table.selectionModel().selectedRows()]
        terms = [w.model.row_at(r).term for r in sorted(rows)]
        current = self.current_row()
        return terms or ([current.term] if current is not None else [])

    def select_term(self, term: str) -> bool:
        w = self.window
        position = w.model.position_of(term)
        if position is None:
            return False
        index = w.proxy.mapFromSource(w.model.index(position, 0))
        if not index.isValid():
            return False
        w.table.selectRow(index.row())
        w.table.scrollTo(index)
        return True

    def on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.window.detail.show_row(self.current_row() if current.isValid() else None)

    def decide(self, status: str, concept_id: str | None = None, concept_name: str | None = None) -> None:
        """Record a decision for the selected term (committed at once), then move to the next term."""
        w = self.window
        row = self.current_row()
        if row is None or w.project is None:
            return
        if status in (Status.APPROVED.value, Status.FLAGGED.value) and concept_id is None and row.concept_id:
            # Enter (or F) on a row whose concept was already chosen (by hand or by 1-9) keeps that
            # choice: the engine stores a flag without a concept as no concept.
            concept_id, concept_name = row.concept_id, row.concept_name
        if status == Status.APPROVED.value and concept_id is None and not row.candidates:
            w.show_error("Cannot approve", f"{row.term!r} has no candidates yet. Press Run first, or search "
                                           "the vocabulary for a concept.")
            return
        next_term = self._neighbour_term()
        # An approval records the relation chosen in the panel; other decisions keep or reset it.
        predicate = w.detail.predicate().value if status == Status.APPROVED.value else None
        try:
            updated = w.project.decide(row.term, status, concept_id, concept_name, reviewer=self.reviewer(),
                                       predicate=predicate)
        except TermLinkerError as exc:
            w.report("Cannot record the decision", exc)
            return
        w.model.update_row(updated)
        self.update_counts()
        moved = status != Status.UNCHECKED.value and next_term is not None and self.select_term(next_term)
        if not moved:
            self.select_term(updated.term)
            w.detail.show_row(self.current_row())

    def set_predicate(self, predicate: str) -> None:
        """The relation of the term's own concept, when it has one (else the next approval takes it)."""
        self._change("Cannot change the relation", lambda project, row: project.decide(
            row.term, row.status, row.concept_id, row.concept_name, reviewer=self.reviewer(), predicate=predicate)
            if row.concept_id else None)

    def add_target(self, concept_id: str, name: str, predicate: str) -> None:
        self._change("Cannot add the target", lambda project, row: project.add_target(
            row.term, concept_id, name, predicate=predicate, reviewer=self.reviewer()))

    def remove_target(self, concept_id: str) -> None:
        self._change("Cannot remove the target", lambda project, row: project.remove_target(
            row.term, concept_id, reviewer=self.reviewer()))

    def _change(self, failure: str, change: Callable) -> None:
        """Apply ``change(project, row)`` to the selected term and show the result, staying on the term."""
        w = self.window
        row = self.current_row()
        if row is None or w.project is None:
            return
        try:
            updated = change(w.project, row)
        except TermLinkerError as exc:
            w.report(failure, exc)
            return
        if updated is not None:
            w.model.update_row(updated)
            w.detail.update_row(updated)

    def approve_candidate(self, number: int) -> None:
        row = self.current_row()
        if row is not None and 1 <= number <= len(row.candidates):
            cand = row.candidates[number - 1]
            self.decide(Status.APPROVED.value, cand.concept_id, cand.name)

    def _neighbour_term(self) -> str | None:
        """The term to select after deciding the current one: the next visible row, or the previous."""
        w = self.window
        r = w.table.currentIndex().row()
        for candidate in (r + 1, r - 1):
            if 0 <= candidate < w.proxy.rowCount():
                source = w.proxy.mapToSource(w.proxy.index(candidate, 0))
                return w.model.row_at(source.row()).term
        return None

    def comment(self, text: str) -> None:
        w = self.window
        row = self.current_row()
        if row is None or w.project is None:
            return
        try:
            updated = w.project.comment(row.term, text, reviewer=self.reviewer())
        except TermLinkerError as exc:
            w.report("Cannot save the comment", exc)
            return
        w.model.update_row(updated)
        w.detail.update_row(updated)  # what the panel compares the next edit with

    def bulk_approve(self, min_score: float) -> int:
        """Approve the best candidate of every unchecked term scoring at least ``min_score``, after a
        question that says how many; Review ▸ Undo Bulk Approve takes the last one back."""
        w = self.window
        if w.project is None:
            return 0
        count = self._engine("Cannot approve", lambda: w.project.bulk_approvable(min_score))
        if count is None:
            return 0
        if count == 0:
            w.show_info("Approve in bulk", f"No unchecked term scores at least {min_score:.2f}.")
            return 0
        if not w.ask_yes_no("Approve in bulk", f"Approve the best candidate of {count:,} unchecked "
                                               f"term{'s' if count != 1 else ''} scoring at least {min_score:.2f}? "
                                               "Review ▸ Undo Bulk Approve takes it back."):
            return 0
        if w.runs.busy():
            return 0
        path, reviewer = w.project.path, self.reviewer()

        def work(_progress, _cancel) -> BulkApproval:
            with Project.open(path) as own:  # one Project per thread; 15,000 approvals take a moment
                return own.approve_in_bulk(min_score, reviewer)

        def done(approval: BulkApproval) -> None:
            w.eta_label.setText("")
            self.set_last_bulk(approval if len(approval) else None)
            w.model.apply_bulk(approval)  # the engine said what changed: no re-reading of every row
            self.update_counts()
            w.detail.show_row(self.current_row())
            w.statusBar().showMessage(f"Approved {len(approval):,} terms scoring at least {min_score:.2f} "
                                      "(Review ▸ Undo Bulk Approve takes it back).", 10000)

        def failed(exc: BaseException) -> None:
            w.eta_label.setText("")
            w.report("Cannot approve", exc)

        w.runs.start(RunState(stage=f"Approving {count:,} terms"), work, done, failed)
        return count

    def undo_bulk_approve(self) -> int:
        """Return the terms of the last bulk approval to their decisions before it; a term decided again
        since keeps that decision."""
        w = self.window
        approval = self.last_bulk
        if approval is None or w.project is None:
            w.show_info("Undo Bulk Approve", "There is no bulk approval to undo in this project.")
            return 0
        undone = self._engine("Cannot undo the bulk approval",
                              lambda: w.project.undo_bulk_approve(approval, self.reviewer()))
        if undone is None:
            return 0
        self.set_last_bulk(None)
        self.refresh_rows()
        w.detail.show_row(self.current_row())
        kept = len(approval) - undone
        w.statusBar().showMessage(
            f"Undid the approval of {undone:,} terms at score ≥ {approval.min_score:.2f}"
            + (f"; {kept:,} decided again since keep that decision." if kept else "."), 15000)
        return undone

    def set_last_bulk(self, approval: BulkApproval | None) -> None:
        """The bulk approval Undo takes back (None: nothing to undo, e.g. another project opened)."""
        self.last_bulk = approval
        action = getattr(self.window, "undo_bulk_action", None)
        if action is not None:
            action.setEnabled(approval is not None)
            action.setStatusTip(f"Return the {len(approval):,} terms approved at score ≥ {approval.min_score:.2f} "
                                "to unchecked" if approval is not None else "")

    def reviewer(self) -> str:
        return self.window.settings.reviewer_name()

    def _engine(self, failure: str, call: Callable[[], T]) -> T | None:
        """``call()``; None after a dialog titled ``failure`` when the engine refuses."""
        try:
            return call()
        except TermLinkerError as exc:
            self.window.report(failure, exc)
            return None

    def report(self) -> None:
        """Review ▸ Report…: the review report saved as one HTML file, then offered to be opened."""
        w = self.window
        if w.project is None or w.project.stats().terms == 0:
            w.show_error("Nothing to report", "The project has no terms yet. Paste or import terms and Run.")
            return
        suggested = w.projects.folder("export") / f"{w.project.path.stem}-report.html"
        path = w.choose_save_file("Save review report", "HTML files (*.html)", suggested)
        if path is None:
            return
        if not path.suffix:
            path = path.with_suffix(".html")
        w.projects.remember("export", path)
        try:
            report = write_review_report(w.project, path)
        except TermLinkerError as exc:
            w.report("Report failed", exc)
            return
        w.statusBar().showMessage(f"Saved the review report of {report.terms:,} terms to {path}.", 15000)
        if w.ask_yes_no("Review report saved", f"The review report is saved as {path}.\n\nOpen it now?"):
            w.open_file(path)
