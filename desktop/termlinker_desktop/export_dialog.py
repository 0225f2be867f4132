"""The export dialog: which format, approved rows only or all."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import QCheckBox, QComboBox, QDialog, QFormLayout, QVBoxLayout, QWidget

from .dialog_buttons import ok_cancel

# (backend format, label, file suffix, file-dialog filter); the first is the default for new users.
FORMATS = (
    ("sssom", "SSSOM/TSV mapping set (for exchange)", ".sssom.tsv", "SSSOM/TSV files (*.sssom.tsv *.tsv)"),
    ("csv", "CSV (one row per term)", ".csv", "CSV files (*.csv)"),
    ("json", "JSON", ".json", "JSON files (*.json)"),
    ("fhir", "FHIR R4 ConceptMap", ".json", "FHIR ConceptMap (*.json)"),
    ("omop", "OMOP source_to_concept_map", ".csv", "CSV files (*.csv)"),
)

@dataclass(frozen=True)
class ExportChoice:
    fmt: str
    approved_only: bool
    path: Path | None = None  # filled in after the file dialog

    @property
    def suffix(self) -> str:
        return next(f[2] for f in FORMATS if f[0] == self.fmt)

    @property
    def file_filter(self) -> str:
        return next(f[3] for f in FORMATS if f[0] == self.fmt)


class ExportDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, fmt: str = FORMATS[0][0]) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export mappings")
        self.format = QComboBox()
        for value, label, _suffix, _filter in FORMATS:
            self.format.addItem(label, value)
        self.format.setCurrentIndex(max(0, self.format.findData(fmt)))  # the format exported last
        self.approved_only = QCheckBox("Approved terms only")
        self.approved_only.setChecked(True)
        form = QFormLayout()
        form.addRow("Format:", self.format)
        form.addRow("", self.approved_only)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(ok_cancel(self))

    def choice(self) -> ExportChoice:
        return ExportChoice(self.format.currentData(), self.approved_only.isChecked())
