"""Tools ▸ Learn a Ranking: the open project's approved mappings teach the linker how to order
candidates; the ranking is saved for the project's vocabulary, switched on, and used by the next Run."""

from __future__ import annotations

from termlinker.rerank.feature_ranker import FeatureRanker
from termlinker.rerank.learn_ranking import MIN_TERMS

from .conftest import paste_and_run, wait_for_run

WORDS = ("morning evening night daily weekly sudden constant mild severe dull sharp throbbing "
         "recurring chronic new old frequent rare left right").split()


def test_approved_mappings_become_a_ranking_the_next_run_uses(qtbot, window, dialogs, tiny_home):
    terms = [f"{w} headache" for w in WORDS] + [f"{w} insomnia" for w in WORDS[:4]]
    paste_and_run(qtbot, window, "\n".join(terms))
    assert window.bulk_approve(0.0) == len(terms)

    window.learn_ranking()
    wait_for_run(qtbot, window)

    assert dialogs.errors == []
    title, message = dialogs.infos[-1]
    assert title == "Ranking learned" and f"{len(terms)} approved terms" in message
    saved = tiny_home.models / "rankers" / "tiny.json"
    assert FeatureRanker.load(saved).vocabulary == "tiny"
    assert window.settings.learned_ranking, "a learned ranking is switched on at once"

    paste_and_run(qtbot, window, "headache at night\n")
    assert window._linker.ranker is not None
    assert any("learned ranking" in text for text in window.status_line.texts)


def test_too_few_approved_mappings_are_refused_and_nothing_is_saved(qtbot, window, dialogs, tiny_home):
    window.learn_ranking()
    assert dialogs.errors and "Approve some mappings first" in dialogs.errors[-1][1]
    paste_and_run(qtbot, window, "headache\ninsomnia\n")
    window.bulk_approve(0.0)

    window.learn_ranking()
    wait_for_run(qtbot, window)

    assert f"at least {MIN_TERMS}" in dialogs.errors[-1][1]
    assert not (tiny_home.models / "rankers").exists()
    assert not window.settings.learned_ranking


def test_the_setting_is_ignored_for_a_vocabulary_without_a_ranking(window):
    from dataclasses import replace

    settings = replace(window.settings, learned_ranking=True)
    assert settings.linker_config("tiny").ranker is None
