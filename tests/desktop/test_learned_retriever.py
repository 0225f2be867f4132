"""Tools ▸ Learn the Retriever: the open project's approved mappings fine-tune the encoder; it is saved
as ``<vocabulary>-learned``, switched on, and the next Run retrieves with it."""

from __future__ import annotations

from dataclasses import replace

from termlinker.distill.learn_retriever import MIN_TERMS
from termlinker.models import encoder_folder

from ..distill.test_train_retriever import PAIRS
from .conftest import paste_and_run, wait_for_run


def test_approved_mappings_teach_a_retriever_the_next_run_uses(qtbot, window, dialogs, tiny_home):
    paste_and_run(qtbot, window, "\n".join(PAIRS))
    assert window.bulk_approve(0.0) == len(PAIRS)

    window.learn_retriever()
    wait_for_run(qtbot, window)

    assert dialogs.errors == []
    assert f"{len(PAIRS)} approved mappings" in dialogs.questions[-1][1]
    assert "It fine-tunes the MiniLM encoder" in dialogs.questions[-1][1], "the question says what will learn"
    title, message = dialogs.infos[-1]
    assert title == "Retriever learned" and "tiny-learned" in message and "after (val)" in message
    assert "MiniLM fine-tuned" in message
    assert (encoder_folder(tiny_home, "tiny-learned") / "encoder.json").is_file()
    assert window.settings.learned_retriever, "the learned retriever is switched on at once"

    paste_and_run(qtbot, window, "head pounding all day\n")
    assert window._linker.config.encoder == "tiny-learned"
    assert any("tiny-learned" in text for text in window.status_line.texts)


def test_too_few_approved_mappings_are_refused_and_nothing_is_learned(qtbot, window, dialogs, tiny_home):
    window.learn_retriever()
    assert dialogs.errors and "Approve some mappings first" in dialogs.errors[-1][1]
    paste_and_run(qtbot, window, "headache\ninsomnia\n")
    window.bulk_approve(0.0)
    asked = len(dialogs.questions)

    window.learn_retriever()

    assert f"at least {MIN_TERMS}" in dialogs.errors[-1][1]
    assert len(dialogs.questions) == asked, "too few approved mappings are refused before the question is asked"
    assert window._op is None
    assert not encoder_folder(tiny_home, "tiny-learned").exists()
    assert not window.settings.learned_retriever


def test_declining_the_confirmation_starts_nothing(qtbot, window, dialogs):
    paste_and_run(qtbot, window, "\n".join(PAIRS))
    window.bulk_approve(0.0)
    dialogs.answers.append(False)
    window.learn_retriever()
    assert window._op is None


def test_the_setting_uses_the_default_encoder_for_a_vocabulary_without_a_learned_one(window):
    settings = replace(window.settings, learned_retriever=True)
    assert settings.linker_config("tiny").encoder is None
    assert settings.linker_config("../escape").encoder is None
