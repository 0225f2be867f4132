"""Projects: one SQLite file, saved after every decision, reopened whole, never half-lost."""

from __future__ import annotations

from termlinker.project import Project, Status
from termlinker_desktop.settings import load_settings

from .conftest import paste_and_run, wait_for_run


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
