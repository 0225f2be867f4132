"""The relation of a mapping and further targets in the detail panel (issue 18 B1, B2): the relation
chosen before approving is recorded, changing it later changes the decision, and a term can map to
several concepts, each with its relation; all of it reaches the export."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt

from termlinker.api import Predicate
from termlinker_desktop.detail_panel import PREDICATE_LABELS
from termlinker_desktop.export_dialog import ExportChoice

from .conftest import paste_and_run, wait_for_run


def choose_relation(qtbot, window, predicate: Predicate) -> None:
    box = window.detail.predicate_box
    box.setCurrentIndex(box.findData(predicate.value))
    box.activated.emit(box.currentIndex())  # as a user's pick does


def test_every_relation_is_offered_exact_first(window):
    box = window.detail.predicate_box
    assert [box.itemData(i) for i in range(box.count())] == [p.value for p in Predicate]
    assert box.itemText(0) == PREDICATE_LABELS[Predicate.EXACT]


def test_the_relation_chosen_before_approving_is_recorded(qtbot, window):
    paste_and_run(qtbot, window, "headache\ninsomnia\n")
    window.select_term("headache")
    choose_relation(qtbot, window, Predicate.BROAD)  # no concept yet: nothing is written
    assert window.project.row("headache").status.value == "unchecked"
    window.detail.approve_current()
    assert window.project.row("headache").predicate is Predicate.BROAD
    window.select_term("insomnia")
    assert window.detail.predicate() is Predicate.EXACT  # each term shows its own


def test_changing_the_relation_of_an_approved_term_stays_on_it(qtbot, window):
    paste_and_run(qtbot, window, "headache\ninsomnia\n")
    window.select_term("headache")
    window.detail.approve_current()
    window.select_term("headache")
    window.detail.candidates.setCurrentRow(0)  # the approved concept
    choose_relation(qtbot, window, Predicate.CLOSE)
    row = window.project.row("headache")
    assert row.predicate is Predicate.CLOSE and row.status.value == "approved"
    assert window.detail.row.term == "headache"
    assert "[close]" in window.detail.state_label.text()


def test_a_further_target_is_added_listed_and_removed(qtbot, window, tmp_path):
    paste_and_run(qtbot, window, "headache\n")
    window.select_term("headache")
    detail = window.detail
    assert not detail.add_target_button.isEnabled()  # first approve a concept
    detail.approve_current()
    window.select_term("headache")
    assert detail.add_target_button.isEnabled()
    detail.candidates.setCurrentRow(1)
    other = detail.candidates.currentItem().data(Qt.ItemDataRole.UserRole + 1)[0]
    choose_relation(qtbot, window, Predicate.RELATED)  # for the highlighted concept, not the approved one
    assert window.project.row("headache").predicate is Predicate.EXACT
    qtbot.mouseClick(detail.add_target_button, Qt.MouseButton.LeftButton)
    row = window.project.row("headache")
    assert [(t.concept_id, t.predicate) for t in row.extra_targets] == [(other, Predicate.RELATED)]
    choose_relation(qtbot, window, Predicate.NARROW)  # the highlighted concept is now a target: changed
    assert window.project.row("headache").extra_targets[0].predicate is Predicate.NARROW
    detail.candidates.setCurrentRow(0)
    assert detail.predicate() is Predicate.EXACT  # the box follows the highlighted concept
    assert detail.targets_view.count() == 1 and detail.targets_view.isVisibleTo(detail)
    assert "+ 1 further" in detail.state_label.text()

    out = tmp_path / "map.json"
    window.export_choice = ExportChoice("json", approved_only=True, path=out)
    window.export()
    wait_for_run(qtbot, window)  # exports run in the background
    mapping = json.loads(out.read_text(encoding="utf-8"))["mappings"][0]
    assert [t["predicate"] for t in mapping["targets"]] == ["exact", "narrow"]

    detail.targets_view.setCurrentRow(0)
    qtbot.keyClick(detail.targets_view, Qt.Key.Key_Delete)
    assert window.project.row("headache").extra_targets == ()
    assert detail.targets_view.count() == 0
