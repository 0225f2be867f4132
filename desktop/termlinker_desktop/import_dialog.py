"""The column picker shown when a table (.csv, .tsv, .xlsx) is imported: which column holds the terms
(the engine's guess first), whether the first row is a header, an optional count column, and the
sheet of a workbook."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QFormLayout, QLabel, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from termlinker.api import TablePreview, TermLinkerError, guess_term_column, preview_table

from .dialog_buttons import ok_cancel
from .term_sources import ColumnChoice

ONCE_EACH = "(each row counts once)"


class ImportDialog(QDialog):
    def __init__(self, path: Path, preview: TablePreview, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Import {path.name}")
        self.resize(720, 460)
        self._path = path
        self._preview = preview
        self.sheet = QComboBox()
        self.sheet.addItems(list(preview.sheets))
        self.sheet.currentTextChanged.connect(self._load_sheet)
        self.column = QComboBox()
        self.counts = QComboBox()
        self.header = QCheckBox("The first row is a header")
        self.header.setChecked(preview.has_header)
        self.header.toggled.connect(lambda _on: self._refresh())
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.currentCellChanged.connect(lambda _r, c, _pr, _pc: self.column.setCurrentIndex(c) if c >= 0 else None)
        form = QFormLayout()
        if len(preview.sheets) > 1:
            form.addRow("Sheet:", self.sheet)
        form.addRow("Terms are in:", self.column)
        form.addRow("How often each occurred:", self.counts)
        form.addRow("", self.header)
        self.source = QLabel()
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.source)
        layout.addWidget(self.table)
        layout.addWidget(ok_cancel(self))
        self._refresh(guess=True)

    def _load_sheet(self, sheet: str) -> None:
        try:
            self._preview = preview_table(self._path, sheet=sheet)
        except TermLinkerError as exc:
            self.source.setText(str(exc))
            return
        self.header.blockSignals(True)
        self.header.setChecked(self._preview.has_header)
        self.header.blockSignals(False)
        self._refresh(guess=True)

    def _refresh(self, guess: bool = False) -> None:
        preview = TablePreview(self._preview.rows, self.header.isChecked(), self._preview.encoding,
                               self._preview.sheets)
        labels = preview.column_labels()
        current = guess_term_column(preview.rows, preview.has_header) if guess else max(0, self.column.currentIndex())
        count = self.counts.currentIndex()
        self.column.clear()
        self.column.addItems(labels)
        self.column.setCurrentIndex(min(current, len(labels) - 1))
        self.counts.clear()
        self.counts.addItems([ONCE_EACH, *labels])
        self.counts.setCurrentIndex(0 if guess or count < 0 else min(count, len(labels)))
        sheet = f"sheet {self.sheet.currentText()!r}" if preview.sheets else ""
        where = f"Excel workbook, {sheet or 'first sheet'}" if preview.encoding == "xlsx" \
            else f"Text encoding: {preview.encoding}"
        self.source.setText(f"{where}. The first {len(preview.rows)} rows:")
        self.table.clear()
        self.table.setColumnCount(preview.width)
        self.table.setHorizontalHeaderLabels(labels)
        body = preview.rows[1:] if preview.has_header else preview.rows
        self.table.setRowCount(len(body))
        for r, row in enumerate(body):
            for c, value in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(value))
        self.table.resizeColumnsToContents()

    def choice(self) -> ColumnChoice:
        count = self.counts.currentIndex() - 1
        return ColumnChoice(max(0, self.column.currentIndex()), self.header.isChecked(),
                            count_index=count if count >= 0 else None,
                            sheet=self.sheet.currentText() if self._preview.sheets else None)
