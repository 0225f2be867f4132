"""The Vocabulary box follows the open project (issue 18, item 3): a project linked against one
vocabulary shows it and links only with it; a new or empty project takes the box's choice; the
status line names the vocabulary the next Run uses."""

from __future__ import annotations

import pytest

from termlinker.api import VocabularyStore

from .conftest import paste_and_run, wait_for_run
from .test_menus import menu_action


@pytest.fixture
def two_vocabularies(tiny_home, tiny_vocab_path):
    VocabularyStore(tiny_home).import_file(tiny_vocab_path, "other")
    return tiny_home


def pick(window, name: str) -> None:
    window.vocab_combo.setCurrentIndex(window.vocab_combo.findData(name))


def status_vocabulary(window) -> str:
    return next(t for t in window.status_line.texts if t.startswith("Vocabulary:"))


def test_a_linked_project_keeps_its_vocabulary_and_run_uses_it(qtbot, two_vocabularies, make_window, dialogs):
    window = make_window()
    paste_and_run(qtbot, window, "headache\n")
    assert window.project.info().vocabulary_name == "tiny"

    assert not window.vocab_combo.isEnabled()
    assert "linked against 'tiny'" in window.vocab_combo.toolTip()
    assert "new project" in window.vocab_combo.toolTip()
    pick(window, "other")  # as a script or a stale signal might
    assert window.vocab_combo.currentData() == "tiny"
    assert "Vocabulary: tiny" in status_vocabulary(window)

    paste_and_run(qtbot, window, "insomnia\n")
    assert dialogs.errors == []
    assert window.project.row("insomnia").linked


def test_a_new_project_takes_the_boxs_choice(qtbot, two_vocabularies, make_window, tmp_path, dialogs):
    window = make_window()
    paste_and_run(qtbot, window, "headache\n")
    window.save_path = tmp_path / "fresh.tlproj"
    window.new_project()
    assert window.vocab_combo.isEnabled()
    pick(window, "other")
    assert "Vocabulary: other" in status_vocabulary(window)

    paste_and_run(qtbot, window, "insomnia\n")

    assert dialogs.errors == []
    info = window.project.info()
    assert (info.vocabulary, info.vocabulary_name) == ("other", "other")
    assert not window.vocab_combo.isEnabled() and window.vocab_combo.currentData() == "other"


def test_importing_a_vocabulary_leaves_a_linked_project_on_its_own(qtbot, two_vocabularies, make_window,
                                                                    tiny_vocab_path, dialogs):
    window = make_window()
    paste_and_run(qtbot, window, "headache\n")
    window.open_path = tiny_vocab_path
    window.ask_text = lambda title, label, default="": "mine"
    menu_action(window, "&File", "Import &Vocabulary…").trigger()
    wait_for_run(qtbot, window)
    assert dialogs.errors == []
    assert window.vocab_combo.currentData() == "tiny"
    assert "Vocabulary: tiny" in status_vocabulary(window)
    assert window.vocab_combo.findData("mine") >= 0
    assert "mine" in window.statusBar().currentMessage()


def test_reopening_a_linked_project_locks_the_box_to_it(qtbot, two_vocabularies, make_window, tmp_path):
    first = make_window()
    pick(first, "other")
    paste_and_run(qtbot, first, "headache\n")
    path = first.project.path
    first.close()

    second = make_window()  # the box starts on 'tiny' from the settings
    assert second.vocab_combo.isEnabled()
    assert second.open_project(path)
    assert second.vocab_combo.currentData() == "other" and not second.vocab_combo.isEnabled()
    assert "Vocabulary: other" in status_vocabulary(second)
