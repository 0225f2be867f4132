"""Projects: one SQLite file, saved after every decision, reopened whole, never half-lost."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from termlinker.project import Project, Status
from termlinker_desktop.export_dialog import ExportChoice
from termlinker_desktop.settings import load_settings

from .conftest import paste_and_run, wait_for_run
from .test_menus import menu_action


def test_reopening_a_project_restores_every_decision(qtbot, make_window, tmp_path):
    first = make_window()
    paste_and_run(qtbot, first, "headache\ninsomnia\nleg pain\nzzzz\n")
    decisions = {"headache": Status.APPROVED, "insomnia": Status.FLAGGED, "leg pain": Status.NO_MATCH}
    for term, status in decisions.items():
        first.select_term(term)
        first.decide(status.value)
    first.select_term("insomnia")
    first.comment("ask Dr Li")
    first.select_term("zzzz")
    first.approve_candidate(3)
    manual = first.project.row("zzzz").concept_id
    path = first.project.path
    first.close()

    second = make_window()
    assert second.open_project(path)
    rows = {r.term: r for r in second.model.rows}
    assert {t: rows[t].status for t in decisions} == decisions
    assert rows["insomnia"].comment == "ask Dr Li"
    assert (rows["zzzz"].status, rows["zzzz"].concept_id) == (Status.APPROVED, manual)
    assert str(path.resolve()) in load_settings(tmp_path / "config" / "desktop.json").recent_projects


def test_save_as_copies_the_project_and_continues_in_the_copy(qtbot, window, tmp_path):
    paste_and_run(qtbot, window, "headache\n")
    window.select_term("headache")
    window.decide(Status.APPROVED.value)
    window.save_path = tmp_path / "saved.tlproj"
    window.save_project_as()
    assert window.project.path == tmp_path / "saved.tlproj"
    assert window.project.row("headache").status is Status.APPROVED


def test_new_project_starts_empty_at_the_chosen_path(qtbot, window, tmp_path):
    paste_and_run(qtbot, window, "headache\n")
    window.save_path = tmp_path / "fresh"
    window.new_project()
    assert window.project.path == tmp_path / "fresh.tlproj"
    assert window.model.rows == []


def test_a_file_that_is_not_a_project_is_refused_with_a_dialog(window, tmp_path, dialogs):
    path = tmp_path / "notes.tlproj"
    path.write_text("hello", encoding="utf-8")
    assert not window.open_project(path)
    assert "not a TermLinker project" in dialogs.errors[0][1]


def big_list(n: int) -> str:
    return "\n".join(f"symptom number {i} in the leg" for i in range(n))


def test_closing_mid_run_asks_and_keeps_what_was_linked(qtbot, window, dialogs):
    window.paste_box.setPlainText(big_list(5000))
    window.run()
    # Wait for a stored batch: progress from the index build can still be in the queue.
    qtbot.waitUntil(lambda: window.project.stats().linked > 0, timeout=60_000)
    path = window.project.path
    dialogs.answers.append(True)

    assert window.close()

    assert dialogs.questions and "Stop linking" in dialogs.questions[-1][1]
    with Project.open(path) as project:
        stats = project.stats()
    assert stats.terms == 5000
    assert 0 < stats.linked < 5000, "the run stopped early and kept its finished batches"
    assert dialogs.errors == []


def test_declining_to_close_keeps_the_run_going(qtbot, window, dialogs):
    window.paste_box.setPlainText(big_list(600))
    window.run()
    dialogs.answers.append(False)
    assert not window.close()
    wait_for_run(qtbot, window)
    assert window.project.stats().linked == 600


# --- issue 18, item 10 ---------------------------------------------------------------------------

def test_the_last_project_reopens_at_start(qtbot, make_window, dialogs):
    first = make_window()
    paste_and_run(qtbot, first, "headache\n")
    path = first.project.path
    first.close()

    second = make_window(recent_projects=(str(path),))

    assert second.project is not None and second.project.path == path
    assert [r.term for r in second.model.rows] == ["headache"]
    assert second.windowTitle().startswith(path.name)
    assert dialogs.errors == []


def test_a_last_project_that_no_longer_opens_starts_empty_without_a_word(make_window, tmp_path, dialogs):
    broken = tmp_path / "broken.tlproj"
    broken.write_text("hello", encoding="utf-8")
    for last in (broken, tmp_path / "gone.tlproj"):
        window = make_window(recent_projects=(str(last),))
        assert window.project is None
    assert dialogs.errors == [] and dialogs.infos == []


def test_save_as_of_an_untitled_project_takes_its_place(qtbot, window, tmp_path):
    paste_and_run(qtbot, window, "headache\n")
    untitled = window.project.path
    assert untitled.parent == window.dirs.projects and untitled.name.startswith("untitled-")
    window.save_path = tmp_path / "saved.tlproj"

    window.save_project_as()

    assert window.project.path == tmp_path / "saved.tlproj"
    assert not untitled.exists(), "the temporary untitled project is gone once saved elsewhere"
    recent = load_settings(tmp_path / "config" / "desktop.json").recent_projects
    assert recent[0] == str((tmp_path / "saved.tlproj").resolve()) and str(untitled.resolve()) not in recent
    window.recent_menu.aboutToShow.emit()
    assert [a.text() for a in window.recent_menu.actions()] == [str((tmp_path / "saved.tlproj").resolve())]


def test_save_as_of_a_named_project_keeps_the_original(qtbot, window, tmp_path):
    window.save_path = tmp_path / "named.tlproj"
    window.new_project()
    paste_and_run(qtbot, window, "headache\n")
    window.save_path = tmp_path / "copy.tlproj"
    window.save_project_as()
    assert (tmp_path / "named.tlproj").exists() and window.project.path == tmp_path / "copy.tlproj"
    assert {str((tmp_path / n).resolve()) for n in ("named.tlproj", "copy.tlproj")} <= set(window.settings.recent_projects)


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize("umask", [0o002, 0o022, 0o077])
def test_new_and_saved_as_projects_get_the_mode_of_any_new_file(qtbot, window, tmp_path, umask):
    old = os.umask(umask)
    try:
        window.save_path = tmp_path / "new.tlproj"
        window.new_project()
        window.save_path = tmp_path / "saved.tlproj"
        window.save_project_as()
        (tmp_path / "plain.txt").write_text("x", encoding="utf-8")
    finally:
        os.umask(old)
    expected = 0o666 & ~umask
    modes = {name: stat.S_IMODE((tmp_path / name).stat().st_mode) for name in ("new.tlproj", "saved.tlproj",
                                                                                 "plain.txt")}
    assert modes == dict.fromkeys(modes, expected)


def test_file_dialogs_remember_their_folders_and_the_export_format(qtbot, window, tmp_path):
    elsewhere, lists, out = tmp_path / "elsewhere", tmp_path / "lists", tmp_path / "out"
    for folder in (elsewhere, lists, out):
        folder.mkdir()
    Project.create(elsewhere / "p.tlproj", "tiny").close()
    window.open_path = elsewhere / "p.tlproj"
    window.projects.open_project_dialog()
    assert window.folders[-1] == window.dirs.projects  # the first time: the data folder's projects
    window.save_path = None
    window.new_project()
    assert window.suggested[-1].parent == elsewhere

    (lists / "terms.txt").write_text("headache\n", encoding="utf-8")
    window.open_path = lists / "terms.txt"
    window.projects.import_dialog()
    window.open_path = None
    window.projects.import_dialog()
    assert window.folders[-1] == lists
    menu_action(window, "&File", "Import &Vocabulary…").trigger()
    assert window.folders[-1] == lists

    paste_and_run(qtbot, window, "insomnia\n")
    window.export_choice = ExportChoice("json", False, out / "mine.json")
    window.export()
    wait_for_run(qtbot, window)  # exports run in the background
    assert (out / "mine.json").exists()
    assert window.export_dialog().choice().fmt == "json"
    assert window.projects.export_suggestion(ExportChoice("json", True)) == out / "p-json.json"

    saved = load_settings(tmp_path / "config" / "desktop.json")
    assert (saved.export_format, Path(saved.export_folder), Path(saved.import_folder),
            Path(saved.project_folder)) == ("json", out, lists, elsewhere)


def test_a_new_project_clears_the_detail_panel(qtbot, window, tmp_path):
    paste_and_run(qtbot, window, "headache\n")
    window.select_term("headache")
    assert window.detail.row is not None and window.detail.approve_button.isEnabled()
    window.save_path = tmp_path / "fresh.tlproj"
    window.new_project()
    assert window.detail.row is None
    assert not window.detail.approve_button.isEnabled()
    assert window.detail.term_label.text() == "Select a term"
