"""The main window's widgets, laid out: the terms and Run on the left, the review table in the
centre, the selected term's details on the right, the status line at the bottom.

Nothing here acts on a project: ``MainWindow`` wires these widgets to its controllers. Only the
table's filters are connected here, to the table they filter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit,
                               QProgressBar, QPushButton, QSizePolicy, QSplitter, QVBoxLayout, QWidget)

from termlinker.api import Status

from .detail_panel import DetailPanel
from .results_model import STATUS_LABELS, ResultsFilter, ResultsModel
from .review_table import ReviewTable
from .status_line import MessageBar, StatusLine

if TYPE_CHECKING:
    from .main_window import MainWindow


def build_widgets(window: MainWindow) -> None:
    """Make the window's widgets (as its attributes) and lay them out."""
    left, centre = _terms_pane(window), _review_pane(window)
    window.detail = DetailPanel()
    splitter = QSplitter(Qt.Orientation.Horizontal)
    splitter.addWidget(left)
    splitter.addWidget(centre)
    splitter.addWidget(window.detail)
    splitter.setStretchFactor(0, 0)
    splitter.setStretchFactor(1, 1)
    splitter.setStretchFactor(2, 0)
    # At a 1280 px window the centre keeps about 700 px: the table's two name columns stay readable.
    splitter.setSizes([200, 680, 385])
    splitter.setContentsMargins(8, 8, 8, 0)
    window.setCentralWidget(splitter)
    window.setStatusBar(MessageBar())  # long messages elided, with the whole text as the tooltip
    window.status_line = StatusLine(window.statusBar())


def _terms_pane(w: MainWindow) -> QWidget:
    """Paste box, vocabulary, Run and Cancel, progress."""
    w.paste_box = QPlainTextEdit()
    w.paste_box.setPlaceholderText("Paste terms here, one per line…\n\nor File ▸ Import, or drop a .txt, "
                                   ".csv, .tsv or .xlsx file on the window.")
    w.paste_box.setAcceptDrops(False)  # a dropped file is imported by the window, not pasted as a URL
    w.vocab_combo = QComboBox()
    w.vocab_combo.setMinimumWidth(220)
    w.run_button = QPushButton("▶  Run")
    w.run_button.setDefault(True)
    w.run_button.setToolTip("Link the pasted and imported terms not linked yet (Ctrl+R)")
    w.cancel_button = QPushButton("Cancel")
    w.cancel_button.setEnabled(False)
    w.progress = QProgressBar()
    # Hidden between runs, but its place is kept: the text above it never drops to the bottom line.
    policy = w.progress.sizePolicy()
    policy.setRetainSizeWhenHidden(True)
    w.progress.setSizePolicy(policy)
    w.progress.setVisible(False)
    w.eta_label = QLabel("")
    # The stage and time left wrap inside the terms pane, above the progress bar: a long text must
    # neither widen the pane (and the window, past a laptop screen) nor stand on the line of the
    # counts under the table beside it, where the two read as one.
    w.eta_label.setWordWrap(True)
    w.eta_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)

    left = QWidget()
    layout = QVBoxLayout(left)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(QLabel("<b>Terms</b>"))
    layout.addWidget(w.paste_box, 1)
    layout.addWidget(QLabel("Vocabulary:"))
    layout.addWidget(w.vocab_combo)
    run_row = QHBoxLayout()
    run_row.addWidget(w.run_button, 1)
    run_row.addWidget(w.cancel_button)
    layout.addLayout(run_row)
    layout.addWidget(w.eta_label)
    layout.addWidget(w.progress)
    return left


def _review_pane(w: MainWindow) -> QWidget:
    """The filters and bulk approval above the review table, the counts below it."""
    w.model = ResultsModel(w.settings.low_score, w)
    w.proxy = ResultsFilter(w)
    w.proxy.setSourceModel(w.model)
    w.table = ReviewTable()
    w.table.setModel(w.proxy)
    w.table.fit_columns()
    w.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # first-seen order

    w.status_filter = QComboBox()
    w.status_filter.addItem("All statuses", None)
    for status in Status:
        w.status_filter.addItem(STATUS_LABELS[status], status.value)
    w.status_filter.currentIndexChanged.connect(lambda _i: w.proxy.set_status(w.status_filter.currentData()))
    w.min_score = QDoubleSpinBox()
    w.min_score.setRange(0.0, 1.0)
    w.min_score.setSingleStep(0.05)
    w.min_score.setPrefix("score ≥ ")
    w.min_score.valueChanged.connect(w.proxy.set_min_score)
    w.text_filter = QLineEdit()
    w.text_filter.setPlaceholderText("Find a term…")
    w.text_filter.setClearButtonEnabled(True)
    w.text_filter.setToolTip("Show only the terms containing this text (Ctrl+F); Enter goes to the first")
    find = QShortcut(QKeySequence(QKeySequence.StandardKey.Find), w)
    find.activated.connect(lambda: (w.text_filter.setFocus(Qt.FocusReason.ShortcutFocusReason),
                                    w.text_filter.selectAll()))
    w.text_filter.textChanged.connect(w.proxy.set_text)
    w.text_filter.returnPressed.connect(lambda: _go_to_matches(w))
    w.bulk_min = QDoubleSpinBox()
    w.bulk_min.setRange(0.0, 1.0)
    w.bulk_min.setSingleStep(0.05)
    w.bulk_min.setValue(w.settings.bulk_approve_min)
    w.bulk_button = QPushButton("Approve all unchecked ≥")
    w.counts_label = QLabel("")
    # A long count line must not widen the window past a laptop screen; the keys are on a line of their
    # own below the counts, and either wraps rather than being cut off in a narrow pane.
    w.counts_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    w.counts_label.setWordWrap(True)
    w.counts_label.setToolTip("Enter approves, 1–9 approves candidate n (0 the tenth), F flags, N no match, "
                              "U undoes, Ctrl+F finds a term")

    filters = QHBoxLayout()
    filters.addWidget(w.text_filter, 2)
    filters.addWidget(w.status_filter)
    filters.addWidget(w.min_score)
    filters.addStretch(1)
    filters.addWidget(w.bulk_button)
    filters.addWidget(w.bulk_min)
    centre = QWidget()
    layout = QVBoxLayout(centre)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addLayout(filters)
    layout.addWidget(w.table, 1)
    layout.addWidget(w.counts_label)
    return centre


def _go_to_matches(w: MainWindow) -> None:
    """Enter in the find box: on to the table, at the first match unless a match is selected."""
    if w.proxy.rowCount() == 0:
        return
    w.table.setFocus()
    if not w.table.currentIndex().isValid():
        w.table.selectRow(0)
