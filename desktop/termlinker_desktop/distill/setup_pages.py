"""Pages 1 and 2: which terms to label, and which teacher to ask (with a connection test)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QRadioButton, QSpinBox, QVBoxLayout,
                               QWizardPage)

from termlinker.api import (TeacherConfig, TermLinkerError, VocabularyStore, check_connection, terms_from_file,
                            unreviewed_terms)

from ..term_sources import FILE_FILTER
from .context import WizardContext, keyring_available, keyring_get, keyring_set
from .op_panel import ERROR_STYLE, OK_STYLE, OpPanel, for_the_wizard


class TermsPage(QWizardPage):
    def __init__(self, ctx: WizardContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.setTitle("1. Terms to label")
        self.setSubTitle("A teacher model will label these terms once; what it teaches is then distilled into the "
                         "local models, which keep working offline.")
        self.from_project = QRadioButton("Unreviewed terms of the open project")
        self.from_file = QRadioButton("Terms from a file (.txt, one term a line; .csv or .tsv, first column)")
        group = QButtonGroup(self)
        group.addButton(self.from_project)
        group.addButton(self.from_file)
        self.file_path = QLineEdit()
        self.file_path.setPlaceholderText("a term file")
        self.file_path.textChanged.connect(lambda _t: self.from_file.setChecked(True))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        file_row = QHBoxLayout()
        file_row.addSpacing(24)
        file_row.addWidget(self.file_path, 1)
        file_row.addWidget(browse)
        if ctx.project_path is not None:
            self.from_project.setText(f"Unreviewed terms of the open project ({ctx.project_path.name})")
            self.from_project.setChecked(True)
        else:
            self.from_project.setEnabled(False)
            self.from_project.setText("Unreviewed terms of the open project (no project is open)")
            self.from_file.setChecked(True)
        self.vocabulary = QComboBox()
        self._fill_vocabularies()
        self.top_k = QSpinBox()
        self.top_k.setRange(1, 26)
        self.top_k.setValue(10)
        self.top_k.setMaximumWidth(120)
        self.top_k.setToolTip("How many retriever candidates the teacher chooses from (lettered A, B, C…)")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Vocabulary:", self.vocabulary)
        form.addRow("Candidates per term:", self.top_k)
        layout = QVBoxLayout(self)
        layout.addWidget(self.from_project)
        layout.addWidget(self.from_file)
        layout.addLayout(file_row)
        layout.addSpacing(8)
        layout.addLayout(form)
        layout.addStretch(1)
        layout.addWidget(self.message)

    def _fill_vocabularies(self) -> None:
        try:
            names = [s.name for s in VocabularyStore(self.ctx.dirs).list() if s.available]
        except TermLinkerError:
            names = []
        wanted = self.ctx.default_vocabulary
        if wanted and wanted not in names:
            names.append(wanted)  # a project made from a vocabulary file
        self.vocabulary.addItems(names)
        self.vocabulary.setCurrentText(wanted)

    def _browse(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Terms to label", str(self.ctx.dirs.root), FILE_FILTER)
        if name:
            self.file_path.setText(name)

    def validatePage(self) -> bool:
        try:
            if self.from_project.isChecked() and self.ctx.project_path is not None:
                terms = unreviewed_terms(self.ctx.project_path)
                source = f"the unreviewed terms of {self.ctx.project_path.name}"
            else:
                text = self.file_path.text().strip()
                if not text:
                    raise_input("Choose a term file, or open a project first.")
                terms = terms_from_file(Path(text))
                source = Path(text).name
            if not terms:
                raise_input(f"There are no terms to label in {source}. Choose another file or project.")
        except TermLinkerError as exc:
            self.message.setStyleSheet(ERROR_STYLE)
            self.message.setText(str(exc))
            return False
        self.message.setText("")
        self.ctx.terms, self.ctx.terms_source = terms, source
        self.ctx.vocabulary = self.vocabulary.currentText()
        self.ctx.top_k = self.top_k.value()
        return True


def raise_input(message: str) -> None:
    from termlinker.api import InputError

    raise InputError(message)


class TeacherPage(QWizardPage):
    """Base URL, model, key, price and budget. The key stays in memory (or the OS keyring, if asked)."""

    def __init__(self, ctx: WizardContext, base_url: str = "", model: str = "", price: float = 0.0,
                 budget: float = 0.0, options: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.options = dict(options or {})  # other TeacherConfig fields (timeouts, retries)
        self.setTitle("2. Teacher")
        self.setSubTitle("Any OpenAI-compatible chat endpoint: a cloud model, or one on your own network.")
        self.base_url = QLineEdit(base_url)
        self.base_url.setPlaceholderText("https://api.example.com/v1")
        self.model = QLineEdit(model)
        self.model.setPlaceholderText("model name, e.g. gpt-4o-mini")
        self.api_key = QLineEdit()
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key.setPlaceholderText("kept in memory only; never written to a file")
        self.remember_key = QCheckBox("Remember the key in the system keyring")
        self._keyring = keyring_available()
        self.remember_key.setVisible(self._keyring)
        self.price = QDoubleSpinBox()
        self.price.setDecimals(4)
        self.price.setRange(0.0, 1000.0)
        self.price.setSingleStep(0.001)
        self.price.setValue(price)
        self.price.setSuffix(" per 1,000 tokens")
        self.budget = QDoubleSpinBox()
        self.budget.setDecimals(2)
        self.budget.setRange(0.0, 1_000_000.0)
        self.budget.setSpecialValueText("no budget")
        self.budget.setValue(budget)
        self.concurrency = QSpinBox()
        self.concurrency.setRange(1, 16)
        self.concurrency.setValue(2)
        self.test_button = QPushButton("Test Connection")
        self.test_button.setToolTip("Asks the endpoint for its model list (or, if it lists none, one test "
                                    "question); no term is sent")
        self.test_button.clicked.connect(self.test_connection)
        self.test_failed = False  # the last test failed: Next waits for one that succeeds
        self.op = OpPanel()
        self.op.cancellable = False  # one quick request with its own timeout
        self.op.finished.connect(self._tested)
        for box in (self.price, self.budget, self.concurrency):
            box.setMaximumWidth(260)
        form = QFormLayout()
        form.addRow("Base URL:", self.base_url)
        form.addRow("Model:", self.model)
        form.addRow("API key:", self.api_key)
        form.addRow("", self.remember_key)
        form.addRow("Price:", self.price)
        form.addRow("Budget:", self.budget)
        form.addRow("Parallel requests:", self.concurrency)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addStretch(1)
        layout.addLayout(test_row)
        layout.addWidget(self.op)
        layout.addStretch(1)
        for edit in (self.base_url, self.model, self.api_key):
            edit.textChanged.connect(self._edited)
        self.base_url.editingFinished.connect(self._key_from_keyring)
        self._key_from_keyring()

    def _key_from_keyring(self) -> None:
        if not self.api_key.text():
            key = keyring_get(self.base_url.text().strip())
            if key:
                self.api_key.setText(key)
                self.remember_key.setChecked(True)

    def config(self) -> TeacherConfig:
        # api_key_env "" : the key is given directly and is never looked up in (or put in) the environment.
        return TeacherConfig(self.base_url.text().strip(), self.model.text().strip(), "",
                             api_key=self.api_key.text().strip(), **self.options)

    def filled(self) -> bool:
        return bool(self.base_url.text().strip() and self.model.text().strip() and self.api_key.text().strip())

    def isComplete(self) -> bool:
        """Testing is optional, but a test that failed (or one still running) holds Next until one succeeds."""
        return self.filled() and not self.test_failed and not self.op.running

    def _edited(self, _text: str) -> None:
        if self.test_failed and not self.op.running:
            self.op.show_message("The last connection test failed. Test the connection again to continue.",
                                 ERROR_STYLE)
        self.completeChanged.emit()

    def _tested(self) -> None:
        self.test_button.setEnabled(True)
        self.completeChanged.emit()

    def test_connection(self) -> None:
        if not self.filled():
            self.op.show_message("Fill in the base URL, the model and the API key first.", ERROR_STYLE)
            return
        if self.op.running:
            return
        config = self.config()
        self.test_button.setEnabled(False)

        def done(check) -> None:
            self.test_failed = not check.ok
            self.op.show_message(for_the_wizard(check.message), OK_STYLE if check.ok else ERROR_STYLE)

        def failed(exc: BaseException) -> None:
            self.test_failed = True
            self.op.show_failure(exc, "The connection test")

        self.op.start(lambda _p, _c: check_connection(config), done, failed, "Connecting to the teacher")
        self.completeChanged.emit()

    def validatePage(self) -> bool:
        self.ctx.teacher = self.config()
        self.ctx.price_per_1k = self.price.value()
        self.ctx.budget = self.budget.value() or None
        self.ctx.concurrency = self.concurrency.value()
        if self._keyring and self.remember_key.isChecked():
            keyring_set(self.ctx.teacher.base_url, self.ctx.teacher.api_key or "")
        return True
