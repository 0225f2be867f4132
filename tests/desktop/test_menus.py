"""The menus reach the window's controllers: Open Recent, Import Vocabulary, Settings."""

from __future__ import annotations

from dataclasses import replace

from .conftest import wait_for_run


def menu_action(window, menu: str, text: str):
    return next(a for m in window.menuBar().actions() if m.text() == menu for a in m.menu().actions()
                if a.text() == text)


def test_open_recent_lists_the_projects_and_opens_one(window, tmp_path):
    window.save_path = tmp_path / "first"
    window.new_project()
    window.save_path = tmp_path / "second"
    window.new_project()
    window.recent_menu.aboutToShow.emit()
    texts = [a.text() for a in window.recent_menu.actions()]
    assert texts[:2] == [str(tmp_path / "second.tlproj"), str(tmp_path / "first.tlproj")]
    window.recent_menu.actions()[1].trigger()
    assert window.project.path == tmp_path / "first.tlproj"
    assert window.windowTitle() == "first.tlproj — TermLinker"


def test_import_vocabulary_runs_in_the_background_and_selects_it(qtbot, window, tiny_vocab_path, dialogs):
    window.open_path = tiny_vocab_path
    window.ask_text = lambda title, label, default="": "mine"
    menu_action(window, "&File", "Import &Vocabulary…").trigger()
    assert window.running or window._op is not None
    wait_for_run(qtbot, window)
    assert dialogs.errors == []
    assert window.vocab_combo.currentData() == "mine"
    assert window.run_button.isEnabled() and not window.progress.isVisible()


def test_the_settings_dialog_applies_what_was_chosen(window):
    window.choose_settings = lambda settings, rerankers: replace(settings, top_k=3, bulk_approve_min=0.75)
    menu_action(window, "&File", "&Settings…").trigger()
    assert window.settings.top_k == 3 and window.bulk_min.value() == 0.75
