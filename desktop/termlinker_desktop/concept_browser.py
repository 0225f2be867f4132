"""The concept browser in the detail panel: the highlighted concept's broader and narrower concepts
(OBO is_a; ICD-10 codes under their category, block and chapter), each a click away.

Clicking a parent or child moves the browser there; "Use this concept" approves the browsed concept
for the term, as the manual search's button does. "Search in this branch" limits the manual search
to the browsed concept and everything under it; the bar it shows beside the search box
(:attr:`ConceptBrowser.branch_bar`) says so and lifts the limit. ICD-10-CM's blocks and chapters
can be browsed and searched under, but are no codes, so they cannot be used. The browser hides itself
for a vocabulary without a hierarchy (a plain list).
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QGroupBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton,
                               QVBoxLayout, QWidget)

from termlinker.api import Vocabulary, VocabularyError, hierarchy_of

NODE_ROLE = Qt.ItemDataRole.UserRole + 2  # concept id
DEFINITION_CHARS = 220


class BranchBar(QWidget):
    """'Searching within: Seizure (HP:0001250) [Search everywhere]', shown while a branch is chosen."""

    cleared = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.clear_button = QPushButton("Search everywhere")
        self.clear_button.clicked.connect(self.cleared.emit)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label, 1)
        row.addWidget(self.clear_button)
        self.setVisible(False)


class ConceptBrowser(QGroupBox):
    concept_chosen = Signal(str, str)  # concept id, name: use it as the term's concept
    branch_changed = Signal()  # the manual search's branch was chosen or lifted: search again

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Broader and narrower concepts", parent)
        self._vocabulary: Vocabulary | None = None
        self._current: str | None = None
        self._history: list[str] = []
        self._branch: frozenset[str] | None = None
        self.branch_id: str | None = None

        self.node_label = QLabel()
        self.node_label.setWordWrap(True)
        self.node_label.setTextFormat(Qt.TextFormat.RichText)
        self.parent_list = QListWidget()
        self.child_list = QListWidget()
        for view, tip in ((self.parent_list, "Broader concepts: click one to go there"),
                          (self.child_list, "Narrower concepts: click one to go there")):
            view.setMaximumHeight(96)
            view.setToolTip(tip)
            view.setWordWrap(True)
            view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            view.itemClicked.connect(self._go_item)
            view.itemActivated.connect(self._go_item)
        self.back_button = QPushButton("Back")
        self.back_button.setToolTip("The concept browsed before")
        self.back_button.clicked.connect(self.back)
        self.use_button = QPushButton("Use this concept")
        self.use_button.setToolTip("Approve the browsed concept for the term")
        self.use_button.clicked.connect(self._use)
        self.branch_button = QPushButton("Search in this branch")
        self.branch_button.setToolTip("Limit the manual search to the browsed concept and all concepts under it")
        self.branch_button.clicked.connect(self.limit_search_to_current)
        self.branch_bar = BranchBar()
        self.branch_bar.cleared.connect(self.clear_branch)

        lists = QHBoxLayout()
        for title, view in (("Broader:", self.parent_list), ("Narrower:", self.child_list)):
            column = QVBoxLayout()
            column.addWidget(QLabel(title))
            column.addWidget(view)
            lists.addLayout(column, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.back_button)
        buttons.addStretch(1)
        buttons.addWidget(self.branch_button)
        buttons.addWidget(self.use_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.node_label)
        layout.addLayout(lists)
        layout.addLayout(buttons)
        self.term_open = False
        self._refresh()

    # --- what is shown ---------------------------------------------------------------

    @property
    def current(self) -> str | None:
        """The browsed concept's id."""
        return self._current

    @property
    def branch(self) -> frozenset[str] | None:
        """The concept ids the manual search is limited to, or None for the whole vocabulary."""
        return self._branch

    def set_vocabulary(self, vocabulary: Vocabulary | None) -> None:
        if vocabulary is self._vocabulary:
            return
        self._vocabulary = vocabulary
        self._current, self._history = None, []
        had_branch = self._branch is not None
        self._branch, self.branch_id = None, None
        self.branch_bar.setVisible(False)
        self._refresh()
        if had_branch:
            self.branch_changed.emit()

    def set_term_open(self, is_open: bool) -> None:
        """Whether a term is selected (a concept can be used only for one)."""
        self.term_open = is_open
        self._update_buttons()

    def show_concept(self, concept_id: str | None) -> None:
        """Browse ``concept_id`` afresh (the highlighted candidate or search result): no way back."""
        self._history = []
        self._current = concept_id
        self._refresh()

    def go(self, concept_id: str) -> None:
        """Move to ``concept_id`` (a parent or child clicked), remembering where the browser was."""
        if self._current is not None and concept_id != self._current:
            self._history.append(self._current)
        self._current = concept_id
        self._refresh()

    def back(self) -> None:
        if self._history:
            self._current = self._history.pop()
            self._refresh()

    def _go_item(self, item: QListWidgetItem | None) -> None:
        if item is not None and item.data(NODE_ROLE):
            self.go(item.data(NODE_ROLE))

    def _refresh(self) -> None:
        self.parent_list.clear()
        self.child_list.clear()
        tree = hierarchy_of(self._vocabulary) if self._vocabulary is not None else None
        self.setVisible(tree is not None and tree.has_hierarchy)
        if tree is None or self._current is None:
            self.node_label.setText("<i>Highlight a candidate to see its broader and narrower concepts.</i>")
            self._update_buttons()
            return
        try:
            near = tree.neighbourhood(self._current)
        except VocabularyError as exc:
            self.node_label.setText(f"<i>{html.escape(str(exc))}</i>")
            self._update_buttons()
            return
        node = near.node
        text = f"<b>{html.escape(node.name)}</b> <span style='color:gray'>{html.escape(node.concept_id)}</span>"
        if node.is_group:
            text += " <i>(a block or chapter: browse and search under it; it is no code to use)</i>"
        elif self._vocabulary is not None and self._vocabulary.get(node.concept_id).definition:
            definition = self._vocabulary.get(node.concept_id).definition
            if len(definition) > DEFINITION_CHARS:
                definition = definition[:DEFINITION_CHARS].rsplit(" ", 1)[0] + " …"
            text += f"<br><span style='color:gray'>{html.escape(definition)}</span>"
        self.node_label.setText(text)
        for view, refs, empty in ((self.parent_list, near.parents, "(top of the hierarchy)"),
                                  (self.child_list, near.children, "(none)")):
            for ref in refs:
                item = QListWidgetItem(f"{ref.name}   ·   {ref.concept_id}")
                item.setData(NODE_ROLE, ref.concept_id)
                if ref.is_group:
                    item.setToolTip("A block or chapter")
                view.addItem(item)
            if not refs:
                placeholder = QListWidgetItem(empty)
                placeholder.setFlags(Qt.ItemFlag.NoItemFlags)
                view.addItem(placeholder)
        self._update_buttons()

    def _update_buttons(self) -> None:
        tree = hierarchy_of(self._vocabulary) if self._vocabulary is not None else None
        known = tree is not None and self._current is not None and self._current in tree
        self.back_button.setEnabled(bool(self._history))
        self.branch_button.setEnabled(known)
        self.use_button.setEnabled(known and self.term_open and not tree.is_group(self._current))

    # --- actions ---------------------------------------------------------------------

    def _use(self) -> None:
        tree = hierarchy_of(self._vocabulary) if self._vocabulary is not None else None
        if tree is None or self._current is None or self._current not in tree or tree.is_group(self._current):
            return
        self.concept_chosen.emit(self._current, tree.name(self._current))

    def limit_search_to_current(self) -> None:
        if self._vocabulary is None or self._current is None:
            return
        tree = hierarchy_of(self._vocabulary)
        if self._current not in tree:
            return
        self._branch = tree.branch(self._current)
        self.branch_id = self._current
        self.branch_bar.label.setText(f"Searching within <b>{html.escape(tree.name(self._current))}</b> "
                                      f"({html.escape(self._current)}): {len(self._branch):,} concepts")
        self.branch_bar.setVisible(True)
        self.branch_changed.emit()

    def clear_branch(self) -> None:
        self._branch, self.branch_id = None, None
        self.branch_bar.setVisible(False)
        self.branch_changed.emit()
