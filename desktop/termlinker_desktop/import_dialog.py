"""The column picker shown when a table (.csv, .tsv, .xlsx) is imported."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QFormLayout, QLabel, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from .dialog_buttons import ok_cancel
from .term_sources import ColumnChoice, TablePreview


class ImportDialog(QDialog):
    def __init__(self, path: Path, preview: TablePreview, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Import {path.name}")
        self.resize(720, 460)
        self._preview = preview
        self.column = QComboBox()
        self.header = QCheckBox("The first row is a header")
        self.header.setChecked(preview.has_header)
        self.header.toggled.connect(self._refresh)
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.currentCellChanged.connect(lambda _r, c, _pr, _pc: self.column.setCurrentIndex(c) if c >= 0 else None)
        form = QFormLayout()
        form.addRow("Terms are in:", self.column)
        form.addRow("", self.header)
        encoding = "Excel workbook (first sheet)" if preview.encoding == "xlsx" else f"Text encoding: {preview.encoding}"
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel(f"{encoding}. The first {len(preview.rows)} rows:"))
        layout.addWidget(self.table)
        layout.addWidget(ok_cancel(self))
        self._refresh()

    def _refresh(self) -> None:
        preview = TablePreview(self._preview.rows, self.header.isChecked(), self._preview.encoding)
        current = max(0, self.column.currentIndex())
        labels = preview.column_labels()
        self.column.clear()
        self.column.addItems(labels)
        self.column.setCurrentIndex(min(current, len(labels) - 1))
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
        return ColumnChoice(max(0, self.column.currentIndex()), self.header.isChecked())
