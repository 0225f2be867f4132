"""After a run, the desktop says (without a dialog) when terms are in a script the vocabulary does not
use: the engine's rule, the command line's words."""

from __future__ import annotations

from .conftest import paste_and_run


def test_a_run_of_chinese_terms_against_an_english_vocabulary_warns_in_the_status_bar(qtbot, window, dialogs):
    paste_and_run(qtbot, window, "头痛\n发烧\nheadache\n")
    message = window.statusBar().currentMessage()
    assert "2 of 3 terms" in message and "tiny" in message, message
    assert dialogs.errors == [] and dialogs.infos == [], "the warning does not block"


def test_a_run_of_english_terms_says_nothing_of_scripts(qtbot, window):
    paste_and_run(qtbot, window, "headache\nfever\n")
    assert "script" not in window.statusBar().currentMessage()
