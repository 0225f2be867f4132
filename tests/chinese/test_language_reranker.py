"""A re-ranker distilled for Chinese diagnoses is weighed against, and activated for, Chinese
vocabularies only: validation compares with the model a Chinese vocabulary uses now, and English
vocabularies keep theirs."""

from __future__ import annotations

import shutil

from termlinker.distill.dataset import DatasetConfig, build_dataset
from termlinker.distill.validate_reranker import validate_and_register
from termlinker.labels import LabelledPair
from termlinker.linker import Linker, LinkerConfig
from termlinker.rerank.prompt import DEFAULT_PROMPT
from termlinker.rerank.registry import DEFAULT_RERANKER, RerankerRegistry, builtin_models
from termlinker.vocab.model import Concept, Vocabulary, VocabularyInfo

CONCEPTS = [Concept("R51", "头痛"), Concept("J18", "肺炎"), Concept("K29", "胃炎"), Concept("I63", "脑梗死"),
            Concept("J45", "哮喘"), Concept("E11", "2型糖尿病")]
LABELLED = [("头疼", "R51"), ("脑袋疼", "R51"), ("头部疼痛", "R51"), ("肺部感染", "J18"), ("肺炎症", "J18"),
            ("胃部炎症", "K29"), ("慢性胃炎", "K29"), ("脑梗", "I63"), ("脑梗塞", "I63"), ("哮喘病", "J45"),
            ("气喘", "J45"), ("二型糖尿病", "E11"), ("糖尿病2型", "E11"), ("头痛欲裂", "R51"), ("胃痛发炎", "K29")]


def test_validation_on_a_chinese_vocabulary_compares_with_and_registers_for_chinese(home, tmp_path):
    vocab = Vocabulary(VocabularyInfo("zh-rr", language="zh"), CONCEPTS)
    smollm2 = builtin_models()[DEFAULT_RERANKER].path
    current, new = tmp_path / "zh-current.gguf", tmp_path / "zh-new.gguf"
    shutil.copy(smollm2, current)
    shutil.copy(smollm2, new)
    registry = RerankerRegistry(home)
    registry.register("zh-current", current, "SmolLM2-135M-Instruct")
    registry.activate("zh-current", language="zh")

    linker = Linker(LinkerConfig(encoder="minilm"), dirs=home, vocabulary=vocab)
    build_dataset([LabelledPair(t, c) for t, c in LABELLED], linker, tmp_path / "ds", DatasetConfig(val_share=0.5))
    report = validate_and_register(tmp_path / "ds", vocab, home, "zh-new", {"Q8_0": str(new)},
                                   "SmolLM2-135M-Instruct", DEFAULT_PROMPT, encoder="minilm", threads=1)

    assert report.current_name == "zh-current" and report.language == "zh"
    # The same weights score the same: not better, so registered and left inactive everywhere.
    assert report.registered is not None and not report.activated
    assert registry.active_name("zh") == "zh-current" and registry.active_name() == DEFAULT_RERANKER
    assert any("--language zh" in line for line in report.lines())


def test_a_chinese_evaluation_with_a_reranker_scores_the_reranked_results_beside_the_retrievers(home):
    from termlinker.evaluation.datasets import MultiExample
    from termlinker.evaluation.runner import evaluate_multi
    from termlinker.rerank.fusion import RerankRules
    from termlinker.rerank.reranker import RerankerConfig

    vocab = Vocabulary(VocabularyInfo("zh-eval", language="zh"), CONCEPTS)
    examples = [MultiExample("头疼", ("头痛",)), MultiExample("肺部感染", ("肺炎",)),
                MultiExample("脑梗;胃炎", ("脑梗死", "胃炎"))]
    # Named explicitly, and with rules that send every term to the LLM: the scores must come from it.
    config = LinkerConfig(encoder="minilm", rerank=True,
                          reranker=RerankerConfig(model=DEFAULT_RERANKER, threads=1, rules=RerankRules(skip_exact=False,
                                                                                                      skip_margin=2.0)))
    linker = Linker(config, dirs=home, vocabulary=vocab)
    assert linker.reranker is not None

    report = evaluate_multi(linker, examples, "zh-eval")

    assert set(report.scores) == {"single", "set", "rerank single", "rerank set"}
    assert report.scores["rerank single"].n == report.scores["single"].n == 2
    assert report.scores["rerank set"].n == 3


def test_gemma_reranks_a_chinese_vocabulary_while_the_default_reads_english_only(home):
    from termlinker.rerank.registry import GEMMA_RERANKER
    from termlinker.rerank.reranker import RerankerConfig

    vocab = Vocabulary(VocabularyInfo("zh-gemma", language="zh-CN"), CONCEPTS)
    linker = Linker(LinkerConfig(encoder="minilm", rerank=True), dirs=home, vocabulary=vocab)
    assert linker.reranker is not None and linker.reranker.model.name == GEMMA_RERANKER
    english = Linker(LinkerConfig(encoder="minilm", rerank=True), dirs=home,
                     vocabulary=Vocabulary(VocabularyInfo("en-default", language="en"), [Concept("R51", "Headache")]))
    assert english.reranker.model.name == DEFAULT_RERANKER
    named = Linker(LinkerConfig(encoder="minilm", rerank=True, reranker=RerankerConfig(model=DEFAULT_RERANKER)),
                   dirs=home, vocabulary=vocab)
    assert named.reranker.model.name == DEFAULT_RERANKER  # named: used anyway
    registry = RerankerRegistry(home)  # asking the registry alone gives the same answer as the Linker
    assert registry.resolve(None, "zh-CN").name == GEMMA_RERANKER and registry.resolve().name == DEFAULT_RERANKER


def test_without_a_model_that_reads_chinese_a_chinese_vocabulary_is_not_reranked(home, monkeypatch):
    from termlinker.rerank import registry as registry_module

    monkeypatch.setattr(registry_module, "_GEMMA_PACKAGE", "not_installed_gemma_package")
    vocab = Vocabulary(VocabularyInfo("zh-off", language="zh-CN"), CONCEPTS)
    linker = Linker(LinkerConfig(encoder="minilm", rerank=True), dirs=home, vocabulary=vocab)
    assert linker.reranker is None
    assert any(w.startswith("re-ranking is off") and "zh-CN" in w for w in linker.warnings)
    assert [r.candidates[0].concept_id for r in linker.link_terms(["头疼"])] == ["R51"]


def test_validation_on_a_chinese_vocabulary_that_no_model_serves_compares_with_the_retriever_alone(
        home, tmp_path, monkeypatch):
    from termlinker.distill.validate_reranker import RETRIEVER_ALONE
    from termlinker.rerank import registry as registry_module

    monkeypatch.setattr(registry_module, "_GEMMA_PACKAGE", "not_installed_gemma_package")

    vocab = Vocabulary(VocabularyInfo("zh-rr", language="zh"), CONCEPTS)
    new = tmp_path / "zh-new.gguf"
    shutil.copy(builtin_models()[DEFAULT_RERANKER].path, new)
    linker = Linker(LinkerConfig(encoder="minilm"), dirs=home, vocabulary=vocab)
    build_dataset([LabelledPair(t, c) for t, c in LABELLED], linker, tmp_path / "ds", DatasetConfig(val_share=0.5))
    steps = []
    report = validate_and_register(tmp_path / "ds", vocab, home, "zh-new", {"Q8_0": str(new)},
                                   "SmolLM2-135M-Instruct", DEFAULT_PROMPT, encoder="minilm", threads=1,
                                   activate=False, progress=lambda done, total: steps.append((done, total)))

    assert report.current_name == RETRIEVER_ALONE
    assert report.current.reranked == report.retriever  # no LLM scored for "current"
    assert steps[-1] == (report.terms, report.terms)  # only the new model was scored
    assert report.registered is not None
