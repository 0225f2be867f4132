"""The detail panel's concept browser (issue 18, B3): the highlighted candidate's broader and narrower
concepts, clickable, usable as the term's concept; the manual search shows scores and can be limited
to a branch. The vocabulary update check (B5): offered when a project opens whose vocabulary was
updated, and from Review ▸ Check Against Installed Vocabulary…; it lists the reasons first, then flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from termlinker.paths import DataDirs
from termlinker.project import Project
from termlinker.types import Candidate, LinkResult
from termlinker.vocab.store import VocabularyStore
from termlinker_desktop.settings import Settings

from ..project.test_revalidate import NEW, OLD, TERMS
from .conftest import RUN_TIMEOUT_MS, ScriptedWindow
from .test_menus import menu_action

# Insomnia under Seizure, so that Seizure has a parent (All) and a child (Insomnia).
OLD_TREE = OLD.replace("name: Insomnia\nis_a: HP:0000001", "name: Insomnia\nis_a: HP:0001250")


@pytest.fixture
def data(tmp_path: Path) -> DataDirs:
    """A data folder with 'mini' (2024-01-01) imported; no encoder: nothing here links."""
    dirs = DataDirs(tmp_path / "data").ensure()
    old = tmp_path / "old.obo"
    old.write_text(OLD_TREE, encoding="utf-8")
    VocabularyStore(dirs).import_file(old, "mini")
    return dirs


@pytest.fixture
def project_path(tmp_path: Path, data: DataDirs) -> Path:
    path = tmp_path / "review.tlproj"
    with Project.create(path, "mini", vocabulary_version="2024-01-01") as project:
        project.add_terms([(term, 1) for term in TERMS])
        project.store_results([LinkResult(t, 1, (Candidate(cid, name, 0.9),)) for t, (cid, name) in TERMS.items()])
        for term in ("fits", "sore head", "odd"):
            project.decide(term, "approved")
    return path


@pytest.fixture
def open_window(qtbot, data: DataDirs, tmp_path: Path):
    def make(project: Path) -> ScriptedWindow:
        settings = Settings(vocabulary="mini", data_folder=str(data.root))
        window = ScriptedWindow(settings, settings_file=tmp_path / "config" / "desktop.json", reopen_last=False)
        window.previews, window.suggested, window.folders = [], [], []
        qtbot.addWidget(window)
        window.show()
        assert window.open_project(project)
        qtbot.waitUntil(lambda: window.detail._vocabulary is not None, timeout=RUN_TIMEOUT_MS)
        return window

    return make


def select(window, term: str) -> None:
    row = next(i for i in range(window.proxy.rowCount())
               if window.model.row_at(window.proxy.mapToSource(window.proxy.index(i, 0)).row()).term == term)
    window.table.selectRow(row)


def texts(view) -> list[str]:
    return [view.item(i).text() for i in range(view.count())]


def test_the_browser_shows_the_candidates_parents_and_children_and_a_click_goes_there(
        qtbot, open_window, project_path) -> None:
    window = open_window(project_path)
    select(window, "fit")
    browser = window.detail.browser
    assert not browser.isHidden()
    assert browser.current == "HP:0001250"
    assert texts(browser.parent_list) == ["All   ·   HP:0000001"]
    assert texts(browser.child_list) == ["Insomnia   ·   HP:0000012"]

    browser.child_list.itemClicked.emit(browser.child_list.item(0))
    assert browser.current == "HP:0000012" and "Insomnia" in browser.node_label.text()
    assert texts(browser.parent_list) == ["Seizure   ·   HP:0001250"]
    browser.back_button.click()
    assert browser.current == "HP:0001250"
    browser.parent_list.itemClicked.emit(browser.parent_list.item(0))
    assert browser.current == "HP:0000001"

    assert browser.use_button.isEnabled()
    browser.use_button.click()  # as the manual search's "Use this concept"
    row = window.project.row("fit")
    assert (row.status.value, row.concept_id, row.concept_name) == ("approved", "HP:0000001", "All")


def test_a_branch_among_the_concepts_types_is_named(qtbot, open_window, project_path) -> None:
    """An OBO concept's types are the top-level branches it falls under: ids a reviewer cannot read alone."""
    window = open_window(project_path)
    select(window, "cannot sleep")
    assert "Types:</b> Seizure (HP:0001250)" in window.detail._concept_html("HP:0000012", "Insomnia")
    assert "Seizure (HP:0001250)" in window.detail.concept_view.toPlainText()


def test_the_manual_search_shows_scores_and_can_be_limited_to_a_branch(qtbot, open_window, project_path) -> None:
    window = open_window(project_path)
    select(window, "fit")
    detail = window.detail
    detail.search_box.setText("in")
    # a name starting with the query first, scored by how much of the name it covers
    assert texts(detail.search_results) == ["Insomnia   ·   HP:0000012   ·   0.62",
                                            "Odd feeling   ·   HP:0000011   ·   0.09"]
    detail.search_box.setText("s")
    everywhere = texts(detail.search_results)
    assert {t.split("   ·   ")[1] for t in everywhere} >= {"HP:0001250", "HP:0000010", "HP:0000012"}
    assert all(float(t.rsplit("·", 1)[1]) > 0 for t in everywhere)

    detail.browser.branch_button.click()  # the branch under Seizure
    assert detail.browser.branch_bar.isVisibleTo(detail)
    assert "Seizure" in detail.browser.branch_bar.label.text()
    assert [t.split("   ·   ")[1] for t in texts(detail.search_results)] == ["HP:0001250", "HP:0000012"]
    detail.browser.branch_bar.clear_button.click()
    assert texts(detail.search_results) == everywhere
    assert not detail.browser.branch_bar.isVisibleTo(detail)


def test_a_flat_vocabulary_hides_the_browser(qtbot, data, tmp_path, tiny_vocab_path, open_window) -> None:
    VocabularyStore(data).import_file(tiny_vocab_path, "flat")
    path = tmp_path / "flat.tlproj"
    with Project.create(path, "flat") as project:
        project.add_terms([("headache", 1)])
        project.store_results([LinkResult("headache", 1, (Candidate("T:001", "Headache", 0.9),))])
    window = open_window(path)
    select(window, "headache")
    assert window.detail.browser.isHidden()


def install_new_release(data: DataDirs, tmp_path: Path) -> None:
    new = tmp_path / "new.obo"
    new.write_text(NEW, encoding="utf-8")
    VocabularyStore(data).import_file(new, "mini", replace=True)


def test_opening_a_project_after_a_vocabulary_update_offers_the_check_and_flags_with_reasons(
        qtbot, open_window, project_path, data, tmp_path, dialogs) -> None:
    install_new_release(data, tmp_path)
    window = open_window(project_path)  # questions are answered Yes
    qtbot.waitUntil(lambda: window.project.info().vocabulary_version == "2025-03-01", timeout=RUN_TIMEOUT_MS)
    first, second = dialogs.questions[:2]
    assert first[0] == "Vocabulary updated" and "mini 2025-03-01 is installed" in first[1]
    assert "linked against 2024-01-01" in first[1]
    assert second[0] == "Vocabulary check"
    assert "3 approved terms need a look against mini 2025-03-01: 1 obsolete, 1 renamed, 1 missing." in second[1]
    assert ("• fits: HP:0000009 (obsolete Fits) is obsolete in mini 2025-03-01; replaced by HP:0001250 (Seizure)."
            in second[1])
    assert "• odd: HP:0000011 (Odd feeling) is no longer in mini 2025-03-01; choose another concept." in second[1]
    qtbot.waitUntil(lambda: window.project.row("odd").status.value == "flagged", timeout=RUN_TIMEOUT_MS)
    qtbot.waitUntil(lambda: not window.running, timeout=RUN_TIMEOUT_MS)
    for term, concept in (("fits", "HP:0000009"), ("sore head", "HP:0000010"), ("odd", "HP:0000011")):
        row = window.project.row(term)
        assert (row.status.value, row.concept_id) == ("flagged", concept)
        assert row.comment.startswith("Vocabulary check: ")
    assert window.project.row("fit").status.value == "unchecked"
    assert dialogs.errors == []


def test_declining_changes_nothing_and_the_menu_offers_the_check_again(
        qtbot, open_window, project_path, data, tmp_path, dialogs) -> None:
    install_new_release(data, tmp_path)
    dialogs.answers.extend([False])  # not now
    window = open_window(project_path)
    assert dialogs.questions[0][0] == "Vocabulary updated" and len(dialogs.questions) == 1
    dialogs.answers.extend([False])  # see the findings, flag nothing
    menu_action(window, "Re&view", "Check Against Installed &Vocabulary…").trigger()
    qtbot.waitUntil(lambda: len(dialogs.questions) == 2, timeout=RUN_TIMEOUT_MS)
    qtbot.waitUntil(lambda: not window.running, timeout=RUN_TIMEOUT_MS)
    assert window.vocab_check.last is not None and len(window.vocab_check.last.findings) == 3
    assert window.project.stats().by_status["flagged"] == 0
    assert window.project.info().vocabulary_version == "2024-01-01"


def test_no_question_when_the_installed_version_is_the_projects(qtbot, open_window, project_path, dialogs) -> None:
    open_window(project_path)
    assert dialogs.questions == []
