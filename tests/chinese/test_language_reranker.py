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
