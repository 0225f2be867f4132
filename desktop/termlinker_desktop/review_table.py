"""The results view, keyboard-driven as in OHDSI Usagi: arrows move, Enter approves,
1–9 approve a candidate (0 the tenth), F flags, N marks no match, U (or Backspace) undoes.
Other letters do nothing: they never move the selection."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from termlinker.api import Status

from .results_model import Column

CANDIDATE_KEYS = {Qt.Key.Key_0 + number % 10: number for number in range(1, 11)}  # 1-9, then 0 for the tenth
STATUS_KEYS = {Qt.Key.Key_F: Status.FLAGGED, Qt.Key.Key_N: Status.NO_MATCH, Qt.Key.Key_U: Status.UNCHECKED,
               Qt.Key.Key_Backspace: Status.UNCHECKED}


class ReviewTable(QTableView):
    approve_requested = Signal()
    candidate_requested = Signal(int)  # 1-based
    status_requested = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSortingEnabled(True)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)

    def fit_columns(self) -> None:
        """The term and the concept name share what the short columns leave (the concept name alone
        stretching was squeezed to '…' at a 1280 px window, behind a 210 px term column); the short
        columns fit their headers. A name cut short shows whole in its tooltip."""
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(40)
        widths = {Column.COUNT: 52, Column.CONCEPT_ID: 90, Column.SCORE: 56, Column.RERANKED: 76, Column.STATUS: 96}
        for column, width in widths.items():
            self.setColumnWidth(column, width)
        for column in (Column.TERM, Column.CONCEPT_NAME):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.approve_requested.emit()
            return
        if key in CANDIDATE_KEYS and not event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.candidate_requested.emit(CANDIDATE_KEYS[key])
            return
        if key in STATUS_KEYS and not event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.status_requested.emit(STATUS_KEYS[Qt.Key(key)].value)
            return
        super().keyPressEvent(event)

    def keyboardSearch(self, search: str) -> None:
        """Off: jumping to the row whose term starts with a typed letter moved the selection
        under a reviewer, whose next decision or comment then landed on another term."""
