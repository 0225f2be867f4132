"""Page 5: a sample of the teacher's labels, each correctable; corrections outrank the teacher."""

from __future__ import annotations

from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHeaderView, QLabel, QSpinBox, QTableWidget,
                               QTableWidgetItem, QHBoxLayout, QVBoxLayout, QWizardPage)

from termlinker.api import (Corrections, LabelRecord, NO_MATCH, TermLinkerError, plan_records, review_sample,
                            training_pairs)

from .context import WizardContext
from .op_panel import ERROR_STYLE

KEEP = None  # the combo's data for "the teacher's answer stands"
SAMPLE_SIZE = 25
_STATUS_TEXT = {"none": "none fits", "invalid": "no valid answer"}


class ReviewPage(QWizardPage):
    def __init__(self, ctx: WizardContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.setTitle("5. Review the teacher")
        self.setSubTitle("Check a sample of the teacher's labels and correct any that are wrong. Your corrections "
                         "are saved at once and outrank the teacher in the training data.")
        self.sample_size = QSpinBox()
        self.sample_size.setRange(5, 500)
        self.sample_size.setValue(SAMPLE_SIZE)
        self.sample_size.setSuffix(" terms")
        self.sample_size.valueChanged.connect(lambda _v: self.initializePage())
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Term", "Teacher's label", "Your label"])
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(QLabel("Sample:"))
        top.addWidget(self.sample_size)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)
        self.records: list[LabelRecord] = []
        self.sample: list[LabelRecord] = []

    def initializePage(self) -> None:
        ctx = self.ctx
        try:
            if ctx.corrections is None:
                ctx.corrections = Corrections.load(ctx.paths.corrections(ctx.vocabulary))
        except TermLinkerError as exc:
            self.summary.setStyleSheet(ERROR_STYLE)
            self.summary.setText(str(exc))
            return
        self.records = plan_records(ctx.plan, ctx.store) if ctx.plan is not None and ctx.store is not None else []
        self.sample = review_sample(self.records, self.sample_size.value())
        self.table.setRowCount(len(self.sample))
        for row, record in enumerate(self.sample):
            self.table.setItem(row, 0, QTableWidgetItem(record.term))
            self.table.setItem(row, 1, QTableWidgetItem(teacher_text(record)))
            self.table.setCellWidget(row, 2, self._choice_box(record))
        self._update_summary()

    def _choice_box(self, record: LabelRecord) -> QComboBox:
        box = QComboBox()
        box.addItem("✓ keep the teacher's label", KEEP)
        for letter, (concept_id, name) in zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", record.candidates):
            box.addItem(f"{letter}. {name}", concept_id)
        box.addItem("✗ no match (none of these)", NO_MATCH)
        current = self.ctx.corrections.by_term.get(record.term) if self.ctx.corrections else None
        if current is not None:
            index = box.findData(current)
            box.setCurrentIndex(index if index >= 0 else 0)
        box.currentIndexChanged.connect(lambda _i, t=record.term, b=box: self.set_correction(t, b.currentData()))
        return box

    def set_correction(self, term: str, concept_id: str | None) -> None:
        """``concept_id``: a candidate's id, ``NO_MATCH``, or None to keep the teacher's label."""
        try:
            self.ctx.corrections.set(term, concept_id)
        except TermLinkerError as exc:
            self.summary.setStyleSheet(ERROR_STYLE)
            self.summary.setText(f"The correction was not saved: {exc}")
            return
        for row, record in enumerate(self.sample):
            box = self.table.cellWidget(row, 2)
            if record.term == term and box.currentData() != concept_id:
                box.blockSignals(True)
                box.setCurrentIndex(max(0, box.findData(concept_id)))
                box.blockSignals(False)
        self._update_summary()
        self.completeChanged.emit()

    def pair_count(self) -> tuple[int, int]:
        corrections = self.ctx.corrections.by_term if self.ctx.corrections else {}
        pairs = training_pairs(self.records, corrections)
        return (sum(1 for p in pairs if p.source == "teacher"), sum(1 for p in pairs if p.source == "review"))

    def _update_summary(self) -> None:
        teacher, review = self.pair_count()
        self.summary.setStyleSheet("")
        self.summary.setText(f"Training data: {teacher:,} teacher labels and {review:,} of your corrections "
                             f"({len(self.records):,} answers in all). At least 2 labelled terms are needed.")

    def isComplete(self) -> bool:
        return sum(self.pair_count()) >= 2


def teacher_text(record: LabelRecord) -> str:
    if record.status == "ok":
        return f"{record.label}. {record.concept_name}"
    return _STATUS_TEXT.get(record.status, record.status)
