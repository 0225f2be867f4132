"""An index rebuilt for a few more names (learned aliases, an edited vocabulary) encodes only
those names: vectors of the same encoder are taken from the bundles already built."""

from __future__ import annotations

import numpy as np

from termlinker.labels import LabelledPair
from termlinker.linker import Linker, LinkerConfig
from termlinker.vocab.aliases import learn_aliases
from termlinker.vocab.loaders import load_vocabulary_file


def _encoded(home, vocab) -> tuple[Linker, int]:
    totals = []
    linker = Linker(LinkerConfig(), dirs=home, vocabulary=vocab, progress=lambda done, total: totals.append(total))
    return linker, max(totals, default=0)


def test_a_rebuild_encodes_only_the_new_names(home, tiny_vocab_path):
    vocab = load_vocabulary_file(tiny_vocab_path)
    plain, encoded = _encoded(home, vocab)
    assert encoded == len(vocab.names)
    concept = vocab.concepts[0].concept_id
    learned, _ = learn_aliases(vocab, [LabelledPair("my head is pounding", concept)])
    linker, encoded = _encoded(home, learned)
    assert linker.index_rebuilt and encoded == 1
    fresh = linker.encoder.encode_passages(learned.names)
    stored = np.asarray(linker.retriever.bundle.vectors, dtype=np.float32)
    # The same vectors: float16 copies, and int8 activations are quantised per batch (cosine ~0.99).
    assert float(np.min(np.sum(stored * fresh, axis=1))) > 0.98
    assert linker.link_terms(["my head is pounding"])[0].best.concept_id == concept


def test_a_damaged_bundle_is_not_reused(home, tiny_vocab_path):
    vocab = load_vocabulary_file(tiny_vocab_path)
    plain, _ = _encoded(home, vocab)
    (plain.retriever.bundle.folder / "names.json").write_text("[]", encoding="utf-8")
    learned, _ = learn_aliases(vocab, [LabelledPair("my head is pounding", vocab.concepts[0].concept_id)])
    _, encoded = _encoded(home, learned)
    assert encoded == len(learned.names)
