"""The wizard's backend steps (``distill.wizard_api``), usable from Python as the desktop uses them."""

from __future__ import annotations

import json

import pytest

from termlinker.distill.errors import TeacherConfigError, TeacherUnreachable
from termlinker.distill.dataset import DatasetConfig
from termlinker.distill.label_store import LabelRecord, LabelStore
from termlinker.distill.teacher import TeacherClient, TeacherConfig
from termlinker.distill.train_reranker import RerankerTrainConfig, output_folder
from termlinker.distill.train_retriever import RetrieverTrainConfig
from termlinker.distill.wizard_api import (NO_MATCH, Corrections, FineTuneConfig, WizardPaths, check_connection,
                                           discard, fine_tune, free_name, label, make_plan, open_linker, plan_records,
                                           request_preview, retrieve, review_sample, terms_from_file,
                                           training_pairs, unreviewed_terms, validate)
from termlinker.errors import InputError, ModelError
from termlinker.linker import Linker, LinkerConfig, TermCount
from termlinker.models import encoder_folder
from termlinker.project import Project
from termlinker.rerank.registry import DEFAULT_RERANKER, RerankerRegistry
from termlinker.vocab.store import VocabularyStore

from .conftest import API_KEY, TERMS, chat, free_port

TINY_TRAINING = FineTuneConfig(retriever=RetrieverTrainConfig(epochs=1, batch_size=4, threads=2),
                               reranker=RerankerTrainConfig(max_examples=8, batch_size=8, quantizations=("Q8_0",),
                                                            threads=2),
                               dataset=DatasetConfig(val_share=0.25))
LABELLED = {"my head hurts": ("T:001", "Headache"), "pounding head": ("T:001", "Headache"),
            "can't sleep at night": ("T:002", "Insomnia"), "awake all night": ("T:002", "Insomnia"),
            "sore legs": ("T:003", "Pain in lower limb"), "legs ache": ("T:003", "Pain in lower limb"),
            "feel like throwing up": ("T:004", "Nausea"), "queasy": ("T:004", "Nausea"),
            "blood pressure up": ("T:005", "Hypertension"), "always tired": ("T:008", "Fatigue")}


def record(term: str, concept_id: str | None, name: str | None = None, status: str = "ok") -> LabelRecord:
    return LabelRecord(f"key-{term}", term, (("T:001", "Headache"), ("T:002", "Insomnia")), "teacher-v1", "t",
                       (), ("{}",), "A" if status == "ok" else None, concept_id, name, status)


@pytest.fixture
def tiny_linker(home, tiny_vocab_path):
    VocabularyStore(home).import_file(tiny_vocab_path, "tiny")
    return Linker(LinkerConfig(vocabulary="tiny", top_k=4, threads=2), dirs=home)


# --- the key in memory -------------------------------------------------------------------------------


def test_a_key_given_in_memory_reaches_the_teacher_and_nothing_else(fake_teacher, tmp_path, tiny_linker,
                                                                    monkeypatch):
    monkeypatch.delenv("TERMLINKER_TEST_TEACHER_KEY", raising=False)
    fake_teacher.script = [chat('{"label": "A"}')]
    config = TeacherConfig(fake_teacher.url, "fake-model", "", api_key=API_KEY, backoff_s=0.01)
    assert API_KEY not in repr(config) and API_KEY not in str(config)
    results = retrieve(tiny_linker, [TermCount("my head hurts")], top_k=3)
    with LabelStore(tmp_path / "labels.sqlite") as store:
        plan = make_plan(results, store, config)
        assert "my head hurts" in request_preview(plan, config) and API_KEY not in request_preview(plan, config)
        summary = label(plan, config, store)
        assert summary.ok == 1 and plan_records(plan, store)[0].concept_id == plan.jobs[0].candidates[0][0]
    headers = {name.lower(): value for name, value in fake_teacher.headers[0].items()}
    assert headers["authorization"] == f"Bearer {API_KEY}"
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert API_KEY.encode() not in path.read_bytes(), path


def test_no_key_at_all_says_to_enter_one():
    with pytest.raises(TeacherConfigError, match="Enter the key"):
        TeacherClient(TeacherConfig("http://127.0.0.1:9/v1", "m", ""), env={})


# --- connection test -----------------------------------------------------------------------------------


def test_the_connection_test_lists_models_and_sends_no_term(llama_teacher):
    check = check_connection(TeacherConfig(llama_teacher, "nonexistent-model", "", api_key=API_KEY))
    assert check.ok and check.models and "does not list the model 'nonexistent-model'" in check.message
    assert check_connection(TeacherConfig(llama_teacher, check.models[0], "", api_key=API_KEY)).message.startswith(
        "Connected to")


def test_an_unreachable_teacher_is_a_clear_typed_error():
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(TeacherUnreachable, match="Cannot reach the teacher at"):
        check_connection(TeacherConfig(url, "m", "", api_key=API_KEY, timeout_s=2))


# --- terms in ------------------------------------------------------------------------------------------


def test_a_projects_unreviewed_terms_leave_out_decided_ones(tmp_path, tiny_linker):
    path = tmp_path / "p.tlproj"
    with Project.create(path, "tiny") as project:
        project.add_terms({t: 1 for t in TERMS})
        project.link(tiny_linker)
        project.decide(TERMS[0], "approved", "T:001", "Headache")
        project.decide(TERMS[1], "no_match")
    assert [t.term for t in unreviewed_terms(path)] == TERMS[2:]


def test_terms_come_from_a_file_with_counts(tmp_path):
    path = tmp_path / "terms.txt"
    path.write_text("headache\nheadache\ninsomnia\n", encoding="utf-8")
    assert terms_from_file(path) == [TermCount("headache", 2), TermCount("insomnia", 1)]


def test_a_terms_candidates_do_not_depend_on_the_other_terms(home, tiny_vocab_path):
    """So a run over a grown term list finds every earlier answer in the label store."""
    VocabularyStore(home).import_file(tiny_vocab_path, "tiny")
    linker = open_linker(home, "tiny", top_k=10, threads=2)
    alone = retrieve(linker, [TermCount(t) for t in TERMS[:3]], top_k=10)
    grown = retrieve(linker, [TermCount(t) for t in [*TERMS, "ringing in my ears", "sore legs"]], top_k=10)
    assert [r.candidates for r in alone] == [r.candidates for r in grown[:3]]


def test_retrieve_refuses_no_terms_and_too_many_letters(tiny_linker):
    with pytest.raises(InputError, match="no terms"):
        retrieve(tiny_linker, [])
    with pytest.raises(InputError, match="between 1 and 26"):
        retrieve(tiny_linker, [TermCount("x")], top_k=27)


# --- review and training pairs ----------------------------------------------------------------------------


def test_corrections_outrank_the_teacher_and_no_match_drops_the_term():
    records = [record("head pain", "T:002", "Insomnia"), record("no sleep", "T:002", "Insomnia"),
               record("blorp", "T:001", "Headache"), record("meh", None, status="none"),
               record("garbage", None, status="invalid")]
    corrections = {"head pain": "T:001", "Blorp": NO_MATCH, "meh": "T:002"}
    pairs = {(p.term, p.concept_id, p.source) for p in training_pairs(records, corrections)}
    assert pairs == {("head pain", "T:001", "review"), ("meh", "T:002", "review"), ("no sleep", "T:002", "teacher")}


def test_corrections_are_saved_at_once_and_read_back(tmp_path):
    path = WizardPaths(tmp_path).corrections("/some/dir/my vocab.jsonl")
    assert path.name == "corrections-my_vocab.json"
    corrections = Corrections.load(path)
    corrections.set("head pain", "T:001")
    corrections.set("blorp", NO_MATCH)
    corrections.set("gone", "T:009")
    corrections.set("gone", None)
    assert Corrections.load(path).by_term == {"head pain": "T:001", "blorp": NO_MATCH}
    path.write_text("{broken", encoding="utf-8")
    with pytest.raises(InputError, match="Move the file away"):
        Corrections.load(path)


def test_the_review_sample_is_reproducible_and_keeps_order():
    records = [record(f"t{i}", "T:001") for i in range(50)]
    sample = review_sample(records, 10, seed=3)
    assert sample == review_sample(records, 10, seed=3) and len(sample) == 10
    assert [records.index(r) for r in sample] == sorted(records.index(r) for r in sample)
    assert review_sample(records[:4], 10) == records[:4]


# --- fine-tune, validate, activate or discard ---------------------------------------------------------------


def test_fine_tune_validate_and_discard_leave_the_active_model_alone(tiny_linker, home):
    records = [record(t, cid, name) for t, (cid, name) in LABELLED.items()]
    corrections = {"always tired": "T:008"}
    stages, progress = [], []
    name = free_name(home, "wiz-test")
    report = fine_tune(records, corrections, tiny_linker, home, name, TINY_TRAINING,
                       progress=lambda d, t: progress.append((d, t)), stage=stages.append)
    assert stages == ["Building the training data", "Fine-tuning the retriever", "Fine-tuning the re-ranker"]
    assert progress and report.manifest.sources["review"]["used"] == 1
    assert set(report.reranker.files) == {"Q8_0"} and report.retriever.name == f"{name}-retriever"
    assert (encoder_folder(home, report.encoder_name) / "encoder.json").exists()

    validation = validate(report, tiny_linker, home)
    assert validation.terms > 0 and validation.registered is not None and not validation.activated
    registry = RerankerRegistry(home)
    assert name in registry.models() and registry.active_name() == DEFAULT_RERANKER
    assert free_name(home, name) == f"{name}-2"

    registry.activate(name)
    with pytest.raises(ModelError, match="Roll back"):
        discard(home, name, report.encoder_name)
    registry.rollback()
    discard(home, name, report.encoder_name)
    assert name not in RerankerRegistry(home).models() and RerankerRegistry(home).active_name() == DEFAULT_RERANKER
    assert not output_folder(home, name).exists() and not encoder_folder(home, report.encoder_name).exists()
    history = json.loads((home.models / "rerankers" / "registry.json").read_text())["history"]
    assert name not in history


def test_a_chinese_vocabularys_new_reranker_is_named_for_gemma_which_it_starts_from(home):
    assert free_name(home).startswith("smollm2-ft-")
    assert free_name(home, language="zh-CN").startswith("gemma3-ft-")


def test_the_wizard_activates_for_the_validated_language_and_discard_waits_for_its_rollback(home, tmp_path):
    from termlinker.distill.wizard_api import activate

    model = tmp_path / "zh.gguf"
    model.write_bytes(b"GGUF" + bytes(32))
    registry = RerankerRegistry(home)
    registry.register("wiz-zh", model, "Gemma 3 270M")
    activate(home, "wiz-zh", "zh")
    assert registry.active_name("zh") == "wiz-zh" and registry.active_name() == DEFAULT_RERANKER
    with pytest.raises(ModelError, match="rollback --language zh"):
        discard(home, "wiz-zh")
    registry.rollback("zh")
    discard(home, "wiz-zh")
    assert "wiz-zh" not in registry.models()


# --- a learned ranking from the labels -------------------------------------------------------------------

def test_the_teachers_labels_and_the_corrections_teach_a_ranking_saved_for_the_vocabulary(tiny_linker, home):
    from termlinker.distill.wizard_api import learn_ranking_from_labels
    from termlinker.rerank.feature_ranker import FeatureRanker
    from termlinker.rerank.learn_ranking import MIN_TERMS

    words = "morning evening night daily sudden constant mild severe dull sharp recurring chronic".split()
    records = [record(f"{w} headache", "T:001", "Headache") for w in words]
    records += [record(f"{w} sleeplessness", "T:002", "Insomnia") for w in words]
    records.append(record("nonsense", None, status="none"))
    corrections = {"morning headache": "T:020", "evening headache": NO_MATCH}  # the reviewer outranks the teacher

    ranker, path = learn_ranking_from_labels(records, corrections, tiny_linker, home)

    assert path == home.models / "rankers" / "tiny.json" and FeatureRanker.load(path) == ranker
    assert ranker.trained_on["terms"] == len(records) - 2 >= MIN_TERMS
    assert ranker.prior["T:020"] == 1 and ranker.prior["T:001"] == len(words) - 2
    with pytest.raises(InputError, match=f"at least {MIN_TERMS}"):
        learn_ranking_from_labels(records[:5], {}, tiny_linker, home)
