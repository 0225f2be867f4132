"""The detail panel: one term's candidates, the chosen concept's synonyms and definition,
the review buttons, a comment and a search over the whole vocabulary."""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (QComboBox, QFrame, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QPushButton, QSizePolicy, QTextBrowser, QVBoxLayout, QWidget)

from termlinker.api import Concept, Predicate, ReviewRow, Status, Vocabulary, VocabularyError

from .concept_browser import ConceptBrowser
from .results_model import STATUS_LABELS
from .vocab_search import VocabularySearch

CONCEPT_ROLE = Qt.ItemDataRole.UserRole + 1  # (concept id, name)
REMEMBERED_ROLE = Qt.ItemDataRole.UserRole + 2  # the remembered relation of a mapping memory proposal
CANDIDATE_DIGITS = {str(number % 10): number for number in range(1, 11)}  # 1-9, then 0 for the tenth
ENTER_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)
PREDICATE_LABELS = {Predicate.EXACT: "Exact match", Predicate.CLOSE: "Close match",
                    Predicate.BROAD: "Broader concept", Predicate.NARROW: "Narrower concept",
                    Predicate.RELATED: "Related concept"}
PREDICATE_HELP = ("How the concept relates to the term (SKOS): exact, close, broader (the term is a kind of the "
                  "concept), narrower (the concept is a kind of the term) or related. Carried into every export.")


class DetailPanel(QWidget):
    # status, concept id or None, concept name or None
    decided = Signal(str, object, object)
    commented = Signal(str)
    predicate_chosen = Signal(str)  # for the term's own concept
    target_added = Signal(str, str, str)  # concept id, name, predicate
    target_removed = Signal(str)  # concept id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._row: ReviewRow | None = None
        self._highlighted: tuple[str, str] | None = None  # (id, name) of the concept shown below the lists
        self._vocabulary: Vocabulary | None = None
        self._search: VocabularySearch | None = None
        self.setMinimumWidth(340)

        self.term_label = QLabel("Select a term")
        self.term_label.setWordWrap(True)
        font = self.term_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        self.term_label.setFont(font)
        self.state_label = QLabel("")
        self.state_label.setWordWrap(True)
        self.state_label.setTextFormat(Qt.TextFormat.RichText)

        self.candidates = QListWidget()
        self.candidates.setAlternatingRowColors(True)
        _wrap_items(self.candidates)
        self.candidates.currentItemChanged.connect(lambda item, _old: self._show_item(item))
        self.candidates.itemDoubleClicked.connect(self._approve_item)
        self.candidates.installEventFilter(self)

        self.concept_view = QTextBrowser()
        self.concept_view.setOpenLinks(False)
        self.concept_view.setFrameShape(QFrame.Shape.StyledPanel)

        self.approve_button = QPushButton("&Approve")
        self.approve_button.setToolTip("Approve the highlighted candidate (Enter; 1–9 picks a candidate, "
                                       "0 the tenth)")
        self.flag_button = QPushButton("&Flag")
        self.no_match_button = QPushButton("&No match")
        self.reset_button = QPushButton("&Unchecked")
        self.approve_button.clicked.connect(lambda: self._approve_item(self.candidates.currentItem()))
        self.flag_button.clicked.connect(lambda: self.decided.emit(Status.FLAGGED.value, None, None))
        self.no_match_button.clicked.connect(lambda: self.decided.emit(Status.NO_MATCH.value, None, None))
        self.reset_button.clicked.connect(lambda: self.decided.emit(Status.UNCHECKED.value, None, None))
        buttons = QHBoxLayout()
        for button in (self.approve_button, self.flag_button, self.no_match_button, self.reset_button):
            buttons.addWidget(button)

        self.predicate_box = QComboBox()
        for predicate, label in PREDICATE_LABELS.items():
            self.predicate_box.addItem(label, predicate.value)
        self.predicate_box.setToolTip(PREDICATE_HELP)
        self.predicate_box.activated.connect(lambda _i: self._relation_chosen())
        self.add_target_button = QPushButton("Add as &Further Target")
        self.add_target_button.setToolTip("Map the term to the highlighted concept too, beside its approved one, "
                                          "with the relation chosen on the left")
        self.add_target_button.clicked.connect(self._add_target)
        self.targets_view = QListWidget()
        self.targets_view.setMaximumHeight(72)
        self.targets_view.setToolTip("Further concepts the term maps to; Delete removes the selected one")
        self.targets_view.installEventFilter(self)
        self.targets_view.currentItemChanged.connect(lambda item, _old: self._show_item(item))
        self.remove_target_button = QPushButton("Remove")
        self.remove_target_button.clicked.connect(self._remove_target)
        mapping = QHBoxLayout()
        mapping.addWidget(QLabel("Relation:"))
        mapping.addWidget(self.predicate_box, 1)
        mapping.addWidget(self.add_target_button)
        further = QHBoxLayout()
        further.addWidget(self.targets_view, 1)
        further.addWidget(self.remove_target_button, alignment=Qt.AlignmentFlag.AlignTop)

        self.comment = QLineEdit()
        self.comment.setPlaceholderText("Comment (saved when you press Enter or leave the box)")
        self.comment.editingFinished.connect(self._comment_done)

        self.search_box = QLineEdit()
        self.search_box.setPlaceholderText("Search the whole vocabulary for another concept…")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.textChanged.connect(self._run_search)
        self.search_box.setToolTip("Down goes to the results; Enter on a result uses that concept")
        self.search_box.installEventFilter(self)
        self.search_results = QListWidget()
        self.search_results.setMaximumHeight(140)
        _wrap_items(self.search_results)
        self.search_results.currentItemChanged.connect(lambda item, _old: self._show_item(item))
        self.search_results.itemDoubleClicked.connect(self._approve_item)
        self.search_results.installEventFilter(self)
        self.search_results.setVisible(False)  # shown while there is a search: its room goes to the candidates
        self.use_button = QPushButton("Use this concept")
        self.use_button.clicked.connect(self._use_search_result)
        self.search_results.currentItemChanged.connect(lambda _item, _old: self._update_use_button())
        search_group = QGroupBox("Manual choice")
        search_layout = QVBoxLayout(search_group)
        search_layout.addWidget(self.search_box)
        search_layout.addWidget(self.search_results)
        search_layout.addWidget(self.use_button, alignment=Qt.AlignmentFlag.AlignRight)
        self.browser = ConceptBrowser()  # the highlighted concept's parents and children
        self.browser.concept_chosen.connect(lambda cid, name: self._row and self.decided.emit(
            Status.APPROVED.value, cid, name))
        self.browser.branch_changed.connect(lambda: self._run_search(self.search_box.text()))
        search_layout.insertWidget(1, self.browser.branch_bar)

        layout = QVBoxLayout(self)
        layout.addWidget(self.term_label)
        layout.addWidget(self.state_label)
        layout.addWidget(QLabel("Candidates (1–9, 0 for the tenth, or double-click to approve):"))
        layout.addWidget(self.candidates, 3)
        layout.addWidget(self.concept_view, 2)
        layout.addLayout(buttons)
        layout.addLayout(mapping)
        layout.addLayout(further)
        layout.addWidget(self.comment)
        layout.addWidget(self.browser)
        layout.addWidget(search_group)
        self.concept_view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.show_row(None)

    # --- content ---------------------------------------------------------------------

    def set_vocabulary(self, vocabulary: Vocabulary | None) -> None:
        if vocabulary is self._vocabulary:
            return
        self._vocabulary = vocabulary
        self._search = None  # built on first search: casefolding every name takes a moment
        self.browser.set_vocabulary(vocabulary)
        self._run_search(self.search_box.text())
        self._show_item(self.candidates.currentItem())

    @property
    def row(self) -> ReviewRow | None:
        return self._row

    def show_row(self, row: ReviewRow | None) -> None:
        new_term = row is None or self._row is None or row.term != self._row.term
        self._row = row
        self._highlighted = None
        self.candidates.clear()
        if new_term:
            self.search_box.clear()  # a manual search was for the term before
        enabled = row is not None
        for widget in (self.approve_button, self.flag_button, self.no_match_button, self.reset_button,
                       self.comment, self.search_box, self.predicate_box):
            widget.setEnabled(enabled)
        self._update_use_button()
        self._show_targets(row)
        self.browser.set_term_open(enabled)
        self.browser.show_concept(None)
        if row is None:
            self.term_label.setText("Select a term")
            self.state_label.setText("Paste terms or import a file, then press Run.")
            self.comment.clear()
            self.concept_view.clear()
            return
        self.term_label.setText(row.term)
        self.state_label.setText(self._state_html(row))
        # The mapping memory's proposals come first, unnumbered; a term without a concept highlights the
        # first of them, so Enter approves it (with its remembered relation).
        for hit in row.remembered:
            relation = "" if hit.predicate is Predicate.EXACT else f" [{hit.predicate.value}]"
            item = QListWidgetItem(f"★   {hit.concept_name}   ·   {hit.concept_id}{relation}   ·   "
                                   f"remembered from {hit.origin}")
            item.setData(CONCEPT_ROLE, (hit.concept_id, hit.concept_name))
            item.setData(REMEMBERED_ROLE, hit.predicate.value)
            item.setToolTip(f"Approved for this term before, in {hit.origin}")
            self.candidates.addItem(item)
        for number, cand in enumerate(row.candidates, start=1):
            prefix = str(number % 10) if number <= len(CANDIDATE_DIGITS) else " "  # its key
            item = QListWidgetItem(f"{prefix}   {cand.name}   ·   {cand.concept_id}   ·   {cand.score:.3f}")
            item.setData(CONCEPT_ROLE, (cand.concept_id, cand.name))
            self.candidates.addItem(item)
        chosen = None
        for index in range(self.candidates.count()):
            item = self.candidates.item(index)
            if row.concept_id is not None and item.data(CONCEPT_ROLE)[0] == row.concept_id:
                chosen = index if chosen is None else chosen
                font = item.font()
                font.setBold(True)
                item.setFont(font)
        if self.candidates.count():
            self.candidates.setCurrentRow(chosen or 0)
        else:
            self.concept_view.setHtml("<i>No candidates yet: press Run to link this term.</i>"
                                      if not row.linked else "<i>No candidates.</i>")
        if not self.comment.hasFocus():
            self.comment.setText(row.comment)

    def predicate(self) -> Predicate:
        """The relation chosen in the box: what an approval records, and the term's own concept's."""
        return Predicate(self.predicate_box.currentData())

    def _show_targets(self, row: ReviewRow | None) -> None:
        self.predicate_box.setCurrentIndex(self.predicate_box.findData((row.predicate if row else Predicate.EXACT).value))
        self.targets_view.clear()
        for target in row.extra_targets if row else ():
            item = QListWidgetItem(f"{PREDICATE_LABELS[target.predicate]}:  {target.concept_name}  ·  "
                                   f"{target.concept_id}")
            item.setData(CONCEPT_ROLE, (target.concept_id, target.concept_name))
            self.targets_view.addItem(item)
        has_concept = row is not None and row.concept_id is not None
        self.targets_view.setVisible(bool(row and row.extra_targets))
        self.remove_target_button.setVisible(bool(row and row.extra_targets))
        self.add_target_button.setEnabled(has_concept)

    def update_row(self, row: ReviewRow) -> None:
        """The shown term as just saved (a comment, a relation, a further target), without re-filling
        the candidates."""
        if self._row is None or row.term != self._row.term:
            return
        self._row = row
        self._show_targets(row)
        self.state_label.setText(self._state_html(row))
        if not self.comment.hasFocus():
            self.comment.setText(row.comment)

    def _state_html(self, row: ReviewRow) -> str:
        parts = [f"<b>{STATUS_LABELS[row.status]}</b>"]
        if row.concept_id:
            relation = "" if row.predicate is Predicate.EXACT else f" [{row.predicate.value}]"
            parts.append(f"→ {html.escape(row.concept_name or '')} ({html.escape(row.concept_id)}){relation}")
        if row.extra_targets:
            parts.append(f"+ {len(row.extra_targets)} further")
        parts.append(f"· seen {row.count}×")
        if row.reranked:
            parts.append("· re-ranked")
        if row.no_match:
            parts.append("· the linker found no good match")
        for warning in row.warnings:
            parts.append(f"<br><i>{html.escape(warning)}</i>")
        return " ".join(parts)

    def _show_item(self, item: QListWidgetItem | None) -> None:
        if item is None:
            return
        concept_id, name = item.data(CONCEPT_ROLE)
        self._highlighted = (concept_id, name)
        self.concept_view.setHtml(self._concept_html(concept_id, name))
        self.browser.show_concept(concept_id)
        # The box shows the highlighted concept's relation when the term maps to it.
        mapped = {t.concept_id: t.predicate.value for t in self._row.targets} if self._row else {}
        relation = mapped.get(concept_id) or item.data(REMEMBERED_ROLE)
        if relation:
            self.predicate_box.setCurrentIndex(self.predicate_box.findData(relation))

    def _relation_chosen(self) -> None:
        """A relation picked for the highlighted concept: stored at once when the term maps to it,
        else kept for the next approval or further target."""
        if self._row is None or self._highlighted is None:
            return
        concept_id, name = self._highlighted
        if concept_id == self._row.concept_id:
            self.predicate_chosen.emit(self.predicate().value)
        elif any(t.concept_id == concept_id for t in self._row.extra_targets):
            self.target_added.emit(concept_id, name, self.predicate().value)

    def _concept_html(self, concept_id: str, name: str) -> str:
        concept: Concept | None = None
        if self._vocabulary is not None:
            try:
                concept = self._vocabulary.get(concept_id)
            except VocabularyError:
                concept = None
        out = [f"<h3 style='margin:0'>{html.escape(name)}</h3><p style='color:gray'>{html.escape(concept_id)}</p>"]
        if concept is None:
            out.append("<p><i>Details appear once the vocabulary is loaded.</i></p>")
            return "".join(out)
        synonyms = [s for s in concept.names if s != concept.canonical_name]
        if synonyms:
            out.append("<p><b>Synonyms:</b> " + html.escape("; ".join(synonyms)) + "</p>")
        if concept.definition:
            out.append("<p><b>Definition:</b> " + html.escape(concept.definition) + "</p>")
        if concept.types:
            out.append("<p><b>Types:</b> " + html.escape(", ".join(map(self._type_label, concept.types))) + "</p>")
        return "".join(out)

    def _type_label(self, type_: str) -> str:
        """A type as shown: an ontology's branch is a concept of it ('Phenotypic abnormality (HP:0000118)'),
        anything else (a semantic type, a category) as it is."""
        try:
            branch = self._vocabulary.get(type_) if self._vocabulary is not None else None
        except VocabularyError:
            branch = None
        return f"{branch.canonical_name} ({type_})" if branch is not None and branch.canonical_name != type_ else type_

    # --- actions ---------------------------------------------------------------------

    def approve_current(self) -> None:
        self._approve_item(self.candidates.currentItem())

    def approve_number(self, number: int) -> bool:
        """Approve candidate ``number`` (1-based; remembered proposals above are not counted); False when
        there is none."""
        if self._row is None or not 1 <= number <= min(len(CANDIDATE_DIGITS), len(self._row.candidates)):
            return False
        index = len(self._row.remembered) + number - 1
        self.candidates.setCurrentRow(index)
        self._approve_item(self.candidates.item(index))
        return True

    def _use_search_result(self) -> None:
        item = self.search_results.currentItem()
        if item is not None:  # never the best candidate in its place
            self._approve_item(item)

    def _update_use_button(self) -> None:
        self.use_button.setEnabled(self._row is not None and self.search_results.currentItem() is not None)

    def _approve_item(self, item: QListWidgetItem | None) -> None:
        if self._row is None:
            return
        if item is None:
            self.decided.emit(Status.APPROVED.value, None, None)
            return
        concept_id, name = item.data(CONCEPT_ROLE)
        self.decided.emit(Status.APPROVED.value, concept_id, name)

    def _add_target(self) -> None:
        """The highlighted concept (a candidate or a search result) as a further target."""
        if self._row is None or self._highlighted is None:
            return
        concept_id, name = self._highlighted
        self.target_added.emit(concept_id, name, self.predicate().value)

    def _remove_target(self) -> None:
        item = self.targets_view.currentItem() or self.targets_view.item(0)
        if self._row is not None and item is not None:
            self.target_removed.emit(item.data(CONCEPT_ROLE)[0])

    def _comment_done(self) -> None:
        """Save the comment when it changed; an empty box (or only spaces) clears it."""
        text = self.comment.text().strip()
        if self._row is not None and text != self._row.comment:
            self.commented.emit(text)

    def _run_search(self, text: str) -> None:
        self.search_results.clear()
        self.search_results.setVisible(bool(text.strip()))
        self._update_use_button()
        if self._vocabulary is None or not text.strip():
            return
        if self._search is None:
            self._search = VocabularySearch(self._vocabulary)
        for hit in self._search.search(text, within=self.browser.branch):
            concept, matched = hit.concept, hit.matched
            label = concept.canonical_name if matched == concept.canonical_name else \
                f"{concept.canonical_name}  (“{matched}”)"
            item = QListWidgetItem(f"{label}   ·   {concept.concept_id}   ·   {hit.score:.2f}")
            item.setData(CONCEPT_ROLE, (concept.concept_id, concept.canonical_name))
            self.search_results.addItem(item)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        number = _candidate_number(event)
        if number and not self.search_box.hasFocus() and not self.comment.hasFocus():
            if self.approve_number(number):
                return
        super().keyPressEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Keys the lists and the search box would otherwise swallow or ignore: Down from the
        search box into its results, Enter on a result or a candidate, a digit on a candidate."""
        if event.type() != QEvent.Type.KeyPress or self._row is None:
            return super().eventFilter(watched, event)
        key = event.key()
        if watched is self.search_box and key == Qt.Key.Key_Down and self.search_results.count():
            self.search_results.setFocus(Qt.FocusReason.OtherFocusReason)
            if self.search_results.currentRow() < 0:
                self.search_results.setCurrentRow(0)
            return True
        if watched in (self.search_results, self.candidates) and key in ENTER_KEYS:
            item = watched.currentItem()
            if item is not None:
                self._approve_item(item)
                return True
        if watched is self.candidates:
            number = _candidate_number(event)
            if number and self.approve_number(number):
                return True
        if watched is self.targets_view and key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self._remove_target()
            return True
        return super().eventFilter(watched, event)


def _candidate_number(event: QKeyEvent) -> int | None:
    """The candidate a digit key picks (0 the tenth), or None."""
    if event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier):
        return None
    return CANDIDATE_DIGITS.get(event.text())


def _wrap_items(view: QListWidget) -> None:
    """Long concept names wrap instead of hiding behind a horizontal scroll bar."""
    view.setWordWrap(True)
    view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    view.setResizeMode(QListWidget.ResizeMode.Adjust)
