"""The settings dialog: re-ranking, learned ranking, threads, GPU layers, top-k, thresholds, reviewer name,
data folder."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from .dialog_buttons import ok_cancel
from .settings import Settings, login_name

ACTIVE_MODEL = "(the active model)"


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, rerankers: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._settings = settings
        self.rerank = QCheckBox("Re-rank candidates with the local language model")
        self.rerank.setChecked(settings.rerank)
        self.reranker = QComboBox()
        self.reranker.addItems([ACTIVE_MODEL, *rerankers])
        if settings.reranker in rerankers:
            self.reranker.setCurrentText(settings.reranker)
        self.reranker.setEnabled(settings.rerank)
        self.rerank.toggled.connect(self.reranker.setEnabled)
        self.learned_ranking = QCheckBox("Order candidates by the vocabulary's learned ranking")
        self.learned_ranking.setToolTip("Learned from approved mappings (Tools > Learn a Ranking) or from the "
                                        "teacher's labels (the wizard's page 7); a vocabulary without one "
                                        "is linked as before.")
        self.learned_ranking.setChecked(settings.learned_ranking)
        self.learned_retriever = QCheckBox("Retrieve with the vocabulary's learned retriever")
        self.learned_retriever.setToolTip("Fine-tuned on approved mappings (Tools > Learn the Retriever); a "
                                          "vocabulary without one uses the default encoder.")
        self.learned_retriever.setChecked(settings.learned_retriever)
        self.propose_remembered = QCheckBox("Propose mappings approved before for the same term")
        self.propose_remembered.setToolTip("From earlier projects (remembered when a project is closed) and from "
                                           "File > Import Mappings; shown first, with where they came from")
        self.propose_remembered.setChecked(settings.propose_remembered)
        self.auto_approve_remembered = QCheckBox("Approve unchecked terms with their remembered mappings")
        self.auto_approve_remembered.setToolTip("When terms are linked; recorded under 'mapping memory', the "
                                                "comment saying where each came from")
        self.auto_approve_remembered.setChecked(settings.auto_approve_remembered)
        self.threads = QSpinBox()
        self.threads.setRange(0, 256)
        self.threads.setSpecialValueText("automatic")
        self.threads.setValue(settings.threads)
        self.gpu_layers = QSpinBox()
        self.gpu_layers.setRange(0, 999)
        self.gpu_layers.setSpecialValueText("none (CPU only)")
        self.gpu_layers.setValue(settings.gpu_layers)
        self.top_k = QSpinBox()
        self.top_k.setRange(1, 100)
        self.top_k.setValue(settings.top_k)
        self.bulk_min = _score_box(settings.bulk_approve_min)
        self.low_score = _score_box(settings.low_score)
        self.reviewer = QLineEdit(settings.reviewer)
        self.reviewer.setPlaceholderText(f"your login name ({login_name() or 'unknown'})")
        self.reviewer.setToolTip("Every decision, comment and bulk approval is recorded under this name")
        self.data_folder = QLineEdit(settings.data_folder)
        self.data_folder.setPlaceholderText("default (TERMLINKER_HOME or the user data folder)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.data_folder)
        folder_row.addWidget(browse)

        form = QFormLayout()
        form.addRow(self.rerank)
        form.addRow("Re-ranker model:", self.reranker)
        form.addRow(self.learned_ranking)
        form.addRow(self.learned_retriever)
        form.addRow(self.propose_remembered)
        form.addRow(self.auto_approve_remembered)
        form.addRow("CPU threads:", self.threads)
        form.addRow("GPU layers (re-ranker):", self.gpu_layers)
        form.addRow("Candidates per term (top-k):", self.top_k)
        form.addRow("Bulk approve at score ≥", self.bulk_min)
        form.addRow("Mark scores below", self.low_score)
        form.addRow("Reviewer name:", self.reviewer)
        form.addRow("Data folder:", folder_row)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(ok_cancel(self))

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Data folder", self.data_folder.text())
        if folder:
            self.data_folder.setText(folder)

    def result_settings(self) -> Settings:
        model = self.reranker.currentText()
        return replace(self._settings, rerank=self.rerank.isChecked(),
                       reranker="" if model == ACTIVE_MODEL else model,
                       learned_ranking=self.learned_ranking.isChecked(),
                       learned_retriever=self.learned_retriever.isChecked(), threads=self.threads.value(),
                       propose_remembered=self.propose_remembered.isChecked(),
                       auto_approve_remembered=self.auto_approve_remembered.isChecked(),
                       gpu_layers=self.gpu_layers.value(), top_k=self.top_k.value(),
                       bulk_approve_min=self.bulk_min.value(), low_score=self.low_score.value(),
                       reviewer=self.reviewer.text().strip(), data_folder=self.data_folder.text().strip())


def _score_box(value: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(0.0, 1.0)
    box.setSingleStep(0.05)
    box.setDecimals(2)
    box.setValue(value)
    return box
