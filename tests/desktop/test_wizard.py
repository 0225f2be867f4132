"""The distillation wizard, driven page by page as a user would, against real teachers on loopback.

The real teacher is llama.cpp's server with SmolLM2-135M: it mostly answers "none" or nothing
valid, so the review page is where the training labels come from (as the corrections a person
makes). A stdlib teacher stands in where a test needs slow or vanishing answers.
"""

from __future__ import annotations

import pytest

from termlinker.distill.dataset import DatasetConfig
from termlinker.distill.label_store import LabelStore
from termlinker.distill.train_reranker import RerankerTrainConfig
from termlinker.distill.train_retriever import RetrieverTrainConfig
from termlinker.distill.wizard_api import NO_MATCH, FineTuneConfig, WizardPaths
from termlinker.rerank.registry import DEFAULT_RERANKER, RerankerRegistry
from termlinker_desktop.distill import wizard as W
from termlinker_desktop.distill.op_panel import OK_STYLE
from termlinker_desktop.distill.wizard import DistillWizard
from termlinker_desktop.settings import load_settings

from ..distill.conftest import API_KEY, chat, fake_teacher, free_port, llama_teacher  # noqa: F401 - fixtures
from .conftest import paste_and_run

TINY = FineTuneConfig(retriever=RetrieverTrainConfig(epochs=1, batch_size=4, threads=2),
                      reranker=RerankerTrainConfig(max_examples=8, batch_size=8, quantizations=("Q8_0",), threads=2),
                      dataset=DatasetConfig(val_share=0.25))
FAST_TEACHER = {"timeout_s": 5.0, "max_attempts": 2, "backoff_s": 0.01, "backoff_max_s": 0.05}
GOLD = {"my head hurts": "T:001", "pounding head": "T:001", "can't sleep at night": "T:002",
        "awake all night": "T:002", "sore legs": "T:003", "legs ache": "T:003", "feel like throwing up": "T:004",
        "queasy": "T:004", "blood pressure up": "T:005", "ears ringing": "T:007"}
LONG = 120_000


@pytest.fixture
def project_window(qtbot, window):
    paste_and_run(qtbot, window, "\n".join(GOLD))
    return window


def open_wizard(qtbot, window, teacher_options=FAST_TEACHER) -> DistillWizard:
    wizard = DistillWizard(window.settings, window.dirs, window.project.path, "tiny", training=TINY,
                           teacher_options=teacher_options)
    qtbot.addWidget(wizard)
    wizard.show()
    return wizard


def fill_teacher(wizard: DistillWizard, url: str, model: str = "smollm2-135m", budget: float = 0.0) -> None:
    page = wizard.teacher_page
    page.base_url.setText(url)
    page.model.setText(model)
    page.api_key.setText(API_KEY)
    page.price.setValue(0.5)
    page.budget.setValue(budget)


def to_labelling(qtbot, wizard: DistillWizard, url: str) -> None:
    """Terms page (the project's unreviewed terms) → teacher → consent → labelling starts."""
    assert wizard.terms_page.from_project.isChecked()
    wizard.next()
    assert wizard.currentId() == W.TEACHER
    fill_teacher(wizard, url)
    wizard.next()
    assert wizard.currentId() == W.PRIVACY
    privacy = wizard.privacy_page
    qtbot.waitUntil(lambda: wizard.ctx.plan is not None and not privacy.op.running, timeout=LONG)
    assert not privacy.isComplete(), "nothing is sent without consent"
    privacy.consent.setChecked(True)
    wizard.next()
    assert wizard.currentId() == W.LABELLING


def label_slowly(qtbot, window, fake_teacher) -> DistillWizard:
    """Labelling one term at a time from a teacher that takes 0.3 s an answer; returns after two answers."""
    fake_teacher.script = [(*chat('{"label": "A"}'), {"sleep": 0.3})]
    wizard = open_wizard(qtbot, window)
    wizard.teacher_page.concurrency.setValue(1)
    to_labelling(qtbot, wizard, fake_teacher.url)
    qtbot.waitUntil(lambda: wizard.labelling_page.answered >= 2, timeout=LONG)
    return wizard


def files_under(*roots):
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                yield path


@pytest.mark.slow
def test_end_to_end_with_a_real_llama_cpp_teacher(qtbot, project_window, llama_teacher, tmp_path):  # noqa: F811
    window = project_window
    # A 135M model on 2 busy cores can take seconds an answer: the default patience, fast backoff.
    wizard = open_wizard(qtbot, window, {"backoff_s": 0.1, "backoff_max_s": 1.0})
    wizard.next()
    fill_teacher(wizard, llama_teacher)
    page = wizard.teacher_page
    page.test_connection()
    qtbot.waitUntil(lambda: not page.op.running, timeout=LONG)
    assert page.op.status.text().startswith(("Connected to", "Reached")), page.op.status.text()
    assert page.op.status.styleSheet() == OK_STYLE
    wizard.back()
    to_labelling(qtbot, wizard, llama_teacher)

    privacy_text = wizard.privacy_page.preview.toPlainText()
    assert "my head hurts" in privacy_text and API_KEY not in privacy_text and "T:001" not in privacy_text
    labelling = wizard.labelling_page
    qtbot.waitUntil(lambda: not labelling.op.running, timeout=LONG)
    store = wizard.ctx.store
    served = store.request_count()
    assert labelling.answered == len(GOLD) and served >= len(GOLD), labelling.op.status.text()
    assert "Cost so far" in labelling.cost.text() and f"{len(GOLD)} of {len(GOLD)} terms answered" in \
        labelling.counts.text()
    labelling.resume()  # everything is stored: a rerun asks nothing
    assert not labelling.op.running and store.request_count() == served
    assert "All 10 terms are labelled" in labelling.op.status.text()

    wizard.next()
    review = wizard.review_page
    assert wizard.currentId() == W.REVIEW and len(review.sample) == len(GOLD)
    for term, concept_id in GOLD.items():
        record = next(r for r in review.sample if r.term == term)
        offered = [cid for cid, _ in record.candidates]
        review.set_correction(term, concept_id if concept_id in offered else NO_MATCH)
    assert review.isComplete()
    saved = WizardPaths.of(window.dirs).corrections("tiny").read_text(encoding="utf-8")
    assert "my head hurts" in saved  # saved as made, not at the end

    wizard.next()
    tune = wizard.fine_tune_page
    assert tune.name.text().startswith("smollm2-ft-")
    tune.start()
    qtbot.waitUntil(lambda: not tune.op.running, timeout=LONG * 3)
    assert wizard.ctx.fine_tune is not None, tune.op.status.text()
    name = wizard.ctx.fine_tune.name

    wizard.next()
    validation = wizard.validation_page
    qtbot.waitUntil(lambda: not validation.op.running, timeout=LONG * 3)
    assert wizard.ctx.validation is not None, validation.op.status.text()
    assert "Current re-ranker (smollm2-135m)" in validation.table.text() and name in validation.table.text()
    assert not validation.isComplete()
    validation.activate()
    assert validation.isComplete() and RerankerRegistry(window.dirs).active_name() == name
    validation.learn_ranking()  # ten labelled terms are too few for a ranking: said, nothing saved
    qtbot.waitUntil(lambda: not validation.op.running, timeout=LONG)
    assert "at least 20" in validation.op.status.text() and wizard.ctx.ranking_path is None
    wizard.accept()

    window.settings = wizard.teacher_settings(window.settings)
    window.save_settings()
    assert load_settings(tmp_path / "config" / "desktop.json").teacher_base_url == llama_teacher
    for path in files_under(tmp_path):
        assert API_KEY.encode() not in path.read_bytes(), path


def test_an_unreachable_teacher_gives_clear_messages_and_loses_nothing(qtbot, project_window,
                                                                       fake_teacher):  # noqa: F811
    wizard = label_slowly(qtbot, project_window, fake_teacher)
    labelling = wizard.labelling_page
    labelling.pause()
    qtbot.waitUntil(lambda: not labelling.op.running, timeout=LONG)
    answered = labelling.answered
    assert "Paused with" in labelling.op.status.text() and labelling.resume_button.isEnabled()

    dead = f"http://127.0.0.1:{free_port()}/v1"
    wizard.back()
    wizard.back()
    assert wizard.currentId() == W.TEACHER
    page = wizard.teacher_page
    page.base_url.setText(dead)
    page.test_connection()
    qtbot.waitUntil(lambda: not page.op.running, timeout=LONG)
    assert f"Cannot reach the teacher at {dead}" in page.op.status.text()
    assert page.model.text() == "smollm2-135m" and page.api_key.text() == API_KEY, "what was typed is kept"

    wizard.next()
    qtbot.waitUntil(lambda: wizard.ctx.plan is not None and not wizard.privacy_page.op.running, timeout=LONG)
    assert wizard.ctx.plan.cached == answered, "the answers already paid for are not asked again"
    wizard.privacy_page.consent.setChecked(True)
    wizard.next()
    qtbot.waitUntil(lambda: not labelling.op.running, timeout=LONG)
    assert "Cannot reach the teacher" in labelling.op.status.text()
    assert "Check the base URL" in labelling.op.status.text(), "the wizard's words, not the command line's"
    assert labelling.resume_button.isEnabled() and labelling.answered == answered
    assert labelling.isComplete(), "the answers so far can still be reviewed and used"


def test_closing_mid_labelling_keeps_every_answer(qtbot, project_window, fake_teacher):  # noqa: F811
    wizard = label_slowly(qtbot, project_window, fake_teacher)
    wizard.reject()  # waits for the request in flight to be stored
    assert not wizard.running
    with LabelStore(WizardPaths.of(project_window.dirs).labels) as store:
        kept = len(list(store.records()))
        served = store.request_count()
    assert 2 <= kept < len(GOLD) and served == fake_teacher.posts == kept

    again = open_wizard(qtbot, project_window)
    again.next()
    fill_teacher(again, fake_teacher.url)
    again.next()
    qtbot.waitUntil(lambda: again.ctx.plan is not None and not again.privacy_page.op.running, timeout=LONG)
    assert again.ctx.plan.cached == kept and len(again.ctx.plan.to_ask) == len(GOLD) - kept
    again.reject()


def test_cancelling_the_fine_tune_says_so_and_allows_a_restart(qtbot, project_window, fake_teacher):  # noqa: F811
    fake_teacher.script = [chat('{"label": "A"}')]
    wizard = open_wizard(qtbot, project_window)
    to_labelling(qtbot, wizard, fake_teacher.url)
    qtbot.waitUntil(lambda: not wizard.labelling_page.op.running, timeout=LONG)
    wizard.next()
    wizard.next()
    tune = wizard.fine_tune_page
    assert wizard.currentId() == W.FINE_TUNE and not tune.isComplete()
    tune.start()
    assert tune.op.cancel_button.isVisible()
    tune.op.cancel()  # checked before any training starts
    qtbot.waitUntil(lambda: not tune.op.running, timeout=LONG)
    assert "Fine-tuning was cancelled" in tune.op.status.text()
    assert tune.start_button.isEnabled() and not tune.isComplete() and wizard.ctx.fine_tune is None


def test_the_tools_menu_opens_the_wizard_and_keeps_the_key_out_of_the_settings(qtbot, project_window, tmp_path):
    window = project_window
    seen = []

    def run_wizard(wizard):
        seen.append(wizard)
        fill_teacher(wizard, "http://127.0.0.1:9/v1", budget=5.0)

    window.run_wizard = run_wizard
    action = next(a for m in window.menuBar().actions() if m.text() == "&Tools" for a in m.menu().actions())
    assert action.text() == "&Distil a Re-ranker…"
    action.trigger()
    assert len(seen) == 1 and seen[0].ctx.project_path == window.project.path
    settings = load_settings(tmp_path / "config" / "desktop.json")
    assert (settings.teacher_base_url, settings.teacher_model, settings.teacher_budget) == \
        ("http://127.0.0.1:9/v1", "smollm2-135m", 5.0)
    assert API_KEY not in (tmp_path / "config" / "desktop.json").read_text(encoding="utf-8")
    assert RerankerRegistry(window.dirs).active_name() == DEFAULT_RERANKER


def test_the_terms_page_says_what_is_wrong(qtbot, window, tmp_path):
    wizard = DistillWizard(window.settings, window.dirs, None, "tiny")
    qtbot.addWidget(wizard)
    wizard.show()
    page = wizard.terms_page
    assert not page.from_project.isEnabled() and page.from_file.isChecked()
    wizard.next()
    assert wizard.currentId() == W.TERMS and "Choose a term file" in page.message.text()
    page.file_path.setText(str(tmp_path / "missing.txt"))
    wizard.next()
    assert wizard.currentId() == W.TERMS and "No such file" in page.message.text()
    good = tmp_path / "terms.txt"
    good.write_text("my head hurts\nqueasy\n", encoding="utf-8")
    page.file_path.setText(str(good))
    wizard.next()
    assert wizard.currentId() == W.TEACHER and [t.term for t in wizard.ctx.terms] == ["my head hurts", "queasy"]
    assert not wizard.teacher_page.isComplete()


def test_the_key_can_live_in_the_os_keyring_when_keyring_is_installed(qtbot, window, monkeypatch):
    import sys
    import types

    vault: dict = {}
    fake = types.SimpleNamespace(get_password=lambda service, user: vault.get((service, user)),
                                 set_password=lambda service, user, key: vault.__setitem__((service, user), key))
    monkeypatch.setitem(sys.modules, "keyring", fake)
    first = DistillWizard(window.settings, window.dirs, None, "tiny")
    qtbot.addWidget(first)
    fill_teacher(first, "http://127.0.0.1:9/v1")
    first.teacher_page.remember_key.setChecked(True)
    assert first.teacher_page.validatePage()
    assert vault == {("TermLinker teacher", "http://127.0.0.1:9/v1"): API_KEY}

    settings = first.teacher_settings(window.settings)
    second = DistillWizard(settings, window.dirs, None, "tiny")
    qtbot.addWidget(second)
    assert second.teacher_page.api_key.text() == API_KEY and second.teacher_page.isComplete()


def test_page_7_learns_a_ranking_from_the_labels_and_the_app_switches_it_on(qtbot, project_window, monkeypatch):
    from termlinker.distill.label_store import LabelRecord
    from termlinker.linker import Linker, LinkerConfig
    from termlinker.rerank.feature_ranker import FeatureRanker
    from termlinker_desktop.distill import training_pages

    window = project_window
    words = "morning evening night daily sudden constant mild severe dull sharp recurring chronic".split()
    records = [LabelRecord(f"k{i}", f"{w} {kind}", (), "teacher-v1", "t", (), (), "A", cid, None, "ok")
               for i, (w, (kind, cid)) in enumerate((w, k) for w in words
                                                    for k in (("headache", "T:001"), ("sleeplessness", "T:002")))]
    monkeypatch.setattr(training_pages, "ctx_records", lambda ctx: records)  # what labelling would have stored

    def run_wizard(wizard):
        wizard.ctx.linker = Linker(LinkerConfig(vocabulary="tiny"), dirs=window.dirs)
        wizard.ctx.plan = object()  # labelling happened
        page = wizard.validation_page
        page._update_buttons()
        assert page.ranking_button.isEnabled()
        page.learn_ranking()
        qtbot.waitUntil(lambda: not page.op.running, timeout=LONG)
        assert wizard.ctx.ranking_path == window.dirs.models / "rankers" / "tiny.json", page.op.status.text()
        assert f"Learned from {len(records)} labelled terms" in page.ranking_note.text()

    window.run_wizard = run_wizard
    window.distill()
    assert FeatureRanker.load(window.dirs.models / "rankers" / "tiny.json").prior == {"T:001": 12, "T:002": 12}
    assert window.settings.learned_ranking and load_settings(window._settings_file).learned_ranking
