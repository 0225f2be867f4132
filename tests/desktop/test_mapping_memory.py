"""The mapping memory in the desktop (issue 18 B4): a closed project's approvals are proposed first in
the next project, marked with where they came from, Enter approves them with their relation; mapping
files are imported from File ▸ Import Mappings…; a setting approves remembered mappings on Run."""

from __future__ import annotations

from PySide6.QtCore import Qt

from termlinker.api import Predicate, Status

from .conftest import paste_and_run


def _approve_legs_as_broad(qtbot, window) -> None:
    paste_and_run(qtbot, window, "my legs are killing me\nheadache\n")
    window.select_term("my legs are killing me")
    row = window.project.row("my legs are killing me")
    window.project.decide(row.term, "approved", concept_id="T:003", concept_name="Pain in lower limb",
                          predicate="broad")


def test_a_closed_projects_approvals_are_proposed_first_in_the_next(qtbot, window):
    _approve_legs_as_broad(qtbot, window)
    window.projects.set_project(None)  # closing remembers
    paste_and_run(qtbot, window, "My legs are killing me!\n")
    window.select_term("My legs are killing me!")
    detail = window.detail
    first = detail.candidates.item(0)
    assert first.text().startswith("★") and "remembered from project untitled-" in first.text()
    assert detail.predicate() is Predicate.BROAD  # the remembered relation is shown with it
    qtbot.keyClick(detail.candidates, Qt.Key.Key_Return)
    row = window.project.row("My legs are killing me!")
    assert (row.status, row.concept_id, row.predicate) == (Status.APPROVED, "T:003", Predicate.BROAD)


def test_digits_still_pick_the_linkers_candidates_below_the_remembered_ones(qtbot, window):
    _approve_legs_as_broad(qtbot, window)
    window.projects.set_project(None)
    paste_and_run(qtbot, window, "my legs are killing me\n")
    window.select_term("my legs are killing me")
    best = window.project.row("my legs are killing me").candidates[0]
    assert window.detail.approve_number(1)
    assert window.project.row("my legs are killing me").concept_id == best.concept_id


def test_auto_approve_on_run(qtbot, make_window):
    window = make_window(auto_approve_remembered=True)
    _approve_legs_as_broad(qtbot, window)
    window.projects.set_project(None)
    paste_and_run(qtbot, window, "my legs are killing me\nheadache\n")
    legs = window.project.row("my legs are killing me")
    assert legs.status is Status.APPROVED and legs.reviewer == "mapping memory"
    assert window.project.row("headache").status is Status.UNCHECKED


def test_no_proposals_when_the_setting_is_off(qtbot, make_window):
    window = make_window(propose_remembered=False)
    _approve_legs_as_broad(qtbot, window)
    window.projects.set_project(None)
    paste_and_run(qtbot, window, "my legs are killing me\n")
    assert window.project.row("my legs are killing me").remembered == ()


def test_an_sssom_file_is_imported_and_proposed_for_the_open_project(qtbot, window, tmp_path, dialogs):
    sssom = tmp_path / "clinic.sssom.tsv"
    sssom.write_text("subject_label\tpredicate_id\tobject_id\tobject_label\tmapping_justification\n"
                     "sore head\tskos:closeMatch\tT:001\tHeadache\tsemapv:ManualMappingCuration\n",
                     encoding="utf-8")
    paste_and_run(qtbot, window, "Sore head\n")
    window.open_path = sssom
    window.memory.import_mappings()
    row = window.project.row("Sore head")
    assert [(m.concept_id, m.predicate, m.origin) for m in row.remembered] == [
        ("T:001", Predicate.CLOSE, "file clinic.sssom.tsv")]
    assert "Remembered 1 mappings" in dialogs.infos[-1][1]
