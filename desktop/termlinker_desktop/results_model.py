"""The results table: one row per distinct term, over ``Project.rows()``.

The source model holds the rows as the project returned them; the proxy sorts and filters
(status, minimum score) without another database query.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor

from termlinker.api import BulkApproval, Predicate, ReviewRow, Status

STATUS_LABELS = {Status.UNCHECKED: "Unchecked", Status.APPROVED: "Approved", Status.FLAGGED: "Flagged",
                 Status.NO_MATCH: "No match"}
# Muted tints that stay readable on light and dark palettes.
STATUS_COLOURS = {Status.APPROVED: QColor(46, 160, 67, 60), Status.FLAGGED: QColor(219, 171, 9, 70),
                  Status.NO_MATCH: QColor(160, 160, 160, 60)}
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2
AnyIndex = QModelIndex | QPersistentModelIndex


class Column(IntEnum):
    TERM = 0
    COUNT = 1
    CONCEPT_ID = 2
    CONCEPT_NAME = 3
    SCORE = 4
    RERANKED = 5
    STATUS = 6


HEADERS = {Column.TERM: "Term", Column.COUNT: "Count", Column.CONCEPT_ID: "Concept ID",
           Column.CONCEPT_NAME: "Concept", Column.SCORE: "Score", Column.RERANKED: "Re-ranked",
           Column.STATUS: "Status"}


@dataclass(frozen=True)
class Shown:
    """What a row shows as its concept: the reviewer's choice, else the best candidate."""

    concept_id: str
    name: str

    @classmethod
    def of(cls, row: ReviewRow) -> "Shown":
        if row.concept_id:
            return cls(row.concept_id, row.concept_name or row.concept_id)
        if row.best is not None and row.status is not Status.NO_MATCH:
            return cls(row.best.concept_id, row.best.name)
        return cls("", "")


class ResultsModel(QAbstractTableModel):
    def __init__(self, low_score: float = 0.5, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[ReviewRow] = []
        self._where: dict[str, int] = {}
        self.low_score = low_score

    # --- content ---------------------------------------------------------------------

    def set_rows(self, rows: list[ReviewRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._where = {r.term: i for i, r in enumerate(self._rows)}
        self.endResetModel()

    def update_row(self, row: ReviewRow) -> None:
        """Replace one row after a decision, keeping selection and scroll position."""
        i = self._where.get(row.term)
        if i is None:
            return
        self._rows[i] = row
        self.dataChanged.emit(self.index(i, 0), self.index(i, len(Column) - 1))

    def apply_bulk(self, approval: BulkApproval) -> None:
        """Show a bulk approval's terms approved with their best candidate, without reading the project
        again (15,000 rows took seconds to re-read)."""
        for change in approval.changes:
            i = self._where.get(change.term)
            if i is None:
                continue
            row = self._rows[i]
            name = next((c.name for c in row.candidates if c.concept_id == change.approved_id), change.approved_id)
            self._rows[i] = replace(row, status=Status.APPROVED, concept_id=change.approved_id, concept_name=name,
                                    reviewer=approval.reviewer, decided_at=approval.decided_at,
                                    predicate=Predicate.EXACT, extra_targets=())
        if approval.changes and self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(Column) - 1))

    def row_at(self, i: int) -> ReviewRow:
        return self._rows[i]

    def position_of(self, term: str) -> int | None:
        return self._where.get(term)

    @property
    def rows(self) -> list[ReviewRow]:
        return list(self._rows)

    # --- Qt model --------------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[Column(section)]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == SORT_ROLE:
            return self._sort_key(row, column)
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.BackgroundRole and row.status in STATUS_COLOURS:
            return QBrush(STATUS_COLOURS[row.status])
        if role == Qt.ItemDataRole.ForegroundRole and column == Column.SCORE:
            score = row.best_score
            if score is not None and score < self.low_score:
                return QBrush(QColor(200, 40, 40))
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (Column.COUNT, Column.SCORE):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and column == Column.TERM and row.comment:
            return row.comment
        if role == Qt.ItemDataRole.ToolTipRole and column in (Column.STATUS, Column.CONCEPT_NAME):
            return self._display(row, column)  # "Approved (replaced)" or a long name is cut off in a narrow column
        return None

    def _display(self, row: ReviewRow, column: Column) -> str:
        if column == Column.TERM:
            return row.term + ("  ✎" if row.comment else "")
        if column == Column.COUNT:
            return str(row.count)
        if column == Column.CONCEPT_ID:
            return Shown.of(row).concept_id if row.linked else ""
        if column == Column.CONCEPT_NAME:
            return Shown.of(row).name if row.linked else "(not linked yet)"
        if column == Column.SCORE:
            return "" if row.best_score is None else f"{row.best_score:.3f}"
        if column == Column.RERANKED:
            return "yes" if row.reranked else ""
        return STATUS_LABELS[row.status] + (" (replaced)" if row.replaced else "")

    def _sort_key(self, row: ReviewRow, column: Column):
        if column == Column.COUNT:
            return row.count
        if column == Column.SCORE:
            return -1.0 if row.best_score is None else row.best_score
        if column == Column.RERANKED:
            return int(row.reranked)
        if column == Column.STATUS:
            return list(Status).index(row.status)
        return self._display(row, column).casefold()


class ResultsFilter(QSortFilterProxyModel):
    """Sort by any column; show only one status, rows scoring at least a minimum, and terms
    containing a text (case and spacing ignored)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self._status: Status | None = None
        self._min_score = 0.0
        self._text = ""

    def set_status(self, status: Status | str | None) -> None:
        # Combo boxes hand back the plain string of a str-enum, so normalise here.
        self._status = None if status is None else Status(status)
        self.invalidateFilter()

    def set_min_score(self, value: float) -> None:
        self._min_score = value
        self.invalidateFilter()

    def set_text(self, text: str) -> None:
        self._text = " ".join(text.split()).casefold()
        self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        row: ReviewRow = self.sourceModel().row_at(source_row)
        if self._text and self._text not in " ".join(row.term.split()).casefold():
            return False
        if self._status is not None and row.status is not self._status:
            return False
        if self._min_score > 0 and (row.best_score is None or row.best_score < self._min_score):
            return False
        return True

    def lessThan(self, left: AnyIndex, right: AnyIndex) -> bool:
        return left.data(SORT_ROLE) < right.data(SORT_ROLE)
