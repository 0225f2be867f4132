"""Review: the table of terms and their candidates, the counts under it, and the decisions a
reviewer records (each committed to the project at once)."""

from __future__ import annotations

import getpass
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex

from termlinker.api import ReviewRow, Status, TermLinkerError

if TYPE_CHECKING:
    from .main_window import MainWindow


class ReviewController:
    """Keeps the review table in step with the open project and records decisions on it."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.last_refresh = 0.0  # time.monotonic() of the last re-read (a run paces its refreshes by it)

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
            f"{by.get('unchecked', 0):,} unchecked   —   Enter approves · 1–9, 0 pick · F flag · N no match · "
            "U undo")

    def current_row(self) -> ReviewRow | None:
        w = self.window
        index = w.table.currentIndex()
        if not index.isValid():
            return None
        return w.model.row_at(w.proxy.mapToSource(index).row())

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
        try:
            updated = w.project.decide(row.term, status, concept_id, concept_name, reviewer=_reviewer())
        except TermLinkerError as exc:
            w.report("Cannot record the decision", exc)
            return
        w.model.update_row(updated)
        self.update_counts()
        moved = status != Status.UNCHECKED.value and next_term is not None and self.select_term(next_term)
        if not moved:
            self.select_term(updated.term)
            w.detail.show_row(self.current_row())

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
            updated = w.project.comment(row.term, text, reviewer=_reviewer())
        except TermLinkerError as exc:
            w.report("Cannot save the comment", exc)
            return
        w.model.update_row(updated)
        w.detail.update_row(updated)  # what the panel compares the next edit with

    def bulk_approve(self, min_score: float) -> int:
        w = self.window
        if w.project is None:
            return 0
        if not w.ask_yes_no("Approve in bulk", f"Approve the best candidate of every unchecked term scoring "
                                               f"at least {min_score:.2f}?"):
            return 0
        try:
            count = w.project.bulk_approve(min_score, reviewer=_reviewer())
        except TermLinkerError as exc:
            w.report("Cannot approve", exc)
            return 0
        self.refresh_rows()
        w.statusBar().showMessage(f"Approved {count:,} terms scoring at least {min_score:.2f}.", 10000)
        return count


def _reviewer() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return ""
