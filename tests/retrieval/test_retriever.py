"""The retriever with real onnxruntime and hnswlib over a tiny vocabulary."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from termlinker.errors import Cancelled, ModelError
from termlinker.linker import Linker, LinkerConfig
from termlinker.models import encoder_folder
from termlinker.progress import CancelToken
from termlinker.retrieval.encoder import OnnxEncoder
from termlinker.retrieval.index import IndexParams, bundle_folder
from termlinker.vocab.loaders import load_vocabulary_file


@pytest.fixture
def vocab(tiny_vocab_path):
    return load_vocabulary_file(tiny_vocab_path)


@pytest.fixture
def linker(home, vocab):
    return Linker(LinkerConfig(top_k=5), dirs=home, vocabulary=vocab)


def best(linker, term):
    return linker.link_terms([term])[0].candidates[0]


def test_encoder_vectors_are_unit_length_and_similar_texts_are_close(home):
    encoder = OnnxEncoder(encoder_folder(home), variant="fp32")
    vectors = encoder.encode(["headache", "pain in the head", "broken leg"])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_int8_encoder_agrees_with_fp32(home):
    texts = ["shortness of breath", "my legs are killing me"]
    fp32 = OnnxEncoder(encoder_folder(home), variant="fp32").encode(texts)
    int8 = OnnxEncoder(encoder_folder(home), variant="int8").encode(texts)
    assert ((fp32 * int8).sum(axis=1) > 0.85).all()


def test_exact_synonym_match_comes_first_and_is_marked(linker):
    cand = best(linker, "Sleeplessness")
    assert cand.concept_id == "T:002" and cand.exact


def test_exact_match_ignores_case_punctuation_and_width(linker):
    assert best(linker, "  HIGH-blood  pressure!! ").concept_id == "T:005"
    assert best(linker, "ＨＥＡＤＡＣＨＥ").concept_id == "T:001"


def test_paraphrase_is_found_by_the_dense_channel(linker):
    assert best(linker, "my legs are killing me").concept_id == "T:003"


def test_misspelling_is_found_by_the_lexical_channel(linker):
    assert best(linker, "tinitus").concept_id == "T:007"


def test_chinese_name_matches(linker):
    assert best(linker, "骨质疏松").concept_id == "T:017"


def test_results_are_sorted_best_first_and_unique_per_concept(linker):
    cands = linker.link_terms(["pain"])[0].candidates
    scores = [c.score for c in cands]
    assert scores == sorted(scores, reverse=True)
    assert len({c.concept_id for c in cands}) == len(cands) == 5


def test_index_is_reused_when_nothing_changed(home, vocab, linker):
    again = Linker(LinkerConfig(), dirs=home, vocabulary=vocab)
    assert linker.index_rebuilt and not again.index_rebuilt


def test_changed_vocabulary_gets_a_new_index(home, vocab, linker):
    bigger = vocab.with_extra_aliases([("T:001", "Head ache")])
    assert Linker(LinkerConfig(), dirs=home, vocabulary=bigger).index_rebuilt


def test_switching_encoders_back_and_forth_keeps_both_indexes(home, vocab, linker):
    """The learned retriever switched off and on again must not encode every name each time."""
    other = Linker(LinkerConfig(top_k=5, encoder_variant="fp32"), dirs=home, vocabulary=vocab)
    assert other.index_rebuilt and other.retriever.bundle.folder != linker.retriever.bundle.folder
    assert not Linker(LinkerConfig(top_k=5), dirs=home, vocabulary=vocab).index_rebuilt
    assert not Linker(LinkerConfig(top_k=5, encoder_variant="fp32"), dirs=home, vocabulary=vocab).index_rebuilt


def test_a_new_index_keeps_only_the_most_recently_used_other_index_of_its_vocabulary(tmp_path):
    import os

    from termlinker.retrieval.index import remove_other_bundles

    names = ["tiny-new", "tiny-used", "tiny-older", "tiny-oldest", "hpo-any", "tiny-zh-any", ".tiny-partial"]
    for age, name in enumerate(names):
        (tmp_path / name).mkdir()
        os.utime(tmp_path / name, (1_000_000 - age, 1_000_000 - age))
    remove_other_bundles(tmp_path, tmp_path / "tiny-new")
    # another vocabulary whose name begins with this one's keeps its index
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tiny-partial", "hpo-any", "tiny-new", "tiny-used",
                                                          "tiny-zh-any"]


@pytest.mark.parametrize("victim", ["names.hnsw", "lexical.npz", "manifest.json"])
def test_corrupt_index_file_is_detected_and_rebuilt(home, vocab, linker, victim):
    folder = linker.retriever.bundle.folder
    data = bytearray((folder / victim).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / victim).write_bytes(bytes(data))
    rebuilt = Linker(LinkerConfig(), dirs=home, vocabulary=vocab)
    assert rebuilt.index_rebuilt
    assert best(rebuilt, "Sleeplessness").concept_id == "T:002"


def test_index_manifest_records_its_inputs(linker, vocab):
    manifest = json.loads((linker.retriever.bundle.folder / "manifest.json").read_text())
    assert manifest["vocabulary_hash"] == vocab.content_hash()
    assert manifest["names"] == len(vocab.names)
    assert set(manifest["files"]) == {"names.hnsw", "vectors.npy", "names.json", "lexical.json", "lexical.npz"}


def test_cancelled_build_keeps_encoded_chunks_and_resumes(home, vocab):
    token = CancelToken()
    seen = []

    def progress(done, total):
        seen.append(done)
        if done > 0:
            token.cancel()

    with pytest.raises(Cancelled):
        Linker(LinkerConfig(), dirs=home, vocabulary=vocab, progress=progress, cancel=token)
    encoder = OnnxEncoder(encoder_folder(home))
    partial = bundle_folder(home.indexes, vocab, encoder, IndexParams())
    chunks = list(partial.with_name(f".{partial.name}.partial").glob("*.npy"))
    assert chunks, "the finished chunk was kept"
    resumed = Linker(LinkerConfig(), dirs=home, vocabulary=vocab)
    assert best(resumed, "Sleeplessness").concept_id == "T:002"


def test_corrupt_encoder_file_is_refused_with_advice(home, tmp_path):
    copy = tmp_path / "enc"
    shutil.copytree(encoder_folder(home), copy)
    data = bytearray((copy / "model.int8.onnx").read_bytes())
    data[1000] ^= 0xFF
    (copy / "model.int8.onnx").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="corrupt"):
        OnnxEncoder(copy)


def test_over_long_term_is_truncated_with_a_warning(linker):
    result = linker.link_terms(["headache " * 100])[0]
    assert result.warnings and "truncated" in result.warnings[0]
    assert result.candidates[0].concept_id == "T:001"


def test_corrupt_default_encoder_is_exported_again(tmp_path, vocab):
    from termlinker.paths import DataDirs

    dirs = DataDirs(tmp_path / "own").ensure()
    first = Linker(LinkerConfig(), dirs=dirs, vocabulary=vocab)
    graph = encoder_folder(dirs) / "model.int8.onnx"
    data = bytearray(graph.read_bytes())
    data[2000] ^= 0xFF
    graph.write_bytes(bytes(data))
    again = Linker(LinkerConfig(), dirs=dirs, vocabulary=vocab)
    assert best(again, "Sleeplessness").concept_id == "T:002"
    assert first.encoder.graph_sha256 == again.encoder.graph_sha256


def test_soft_max_pooling_is_the_maximum_plus_what_close_names_add():
    from termlinker.retrieval.retriever import _soft_max

    values = np.array([0.9, 0.2, 0.5, 0.5, 0.5, 0.7, 0.0, 0.0, 0.0, 0.3, 0.0, 0.0])
    starts = np.array([0, 2, 5, 6, 9])
    maxima = np.maximum.reduceat(values, starts)
    sizes = np.diff(np.append(starts, len(values)))
    pooled = _soft_max(values, maxima, starts, sizes, temperature=0.01)
    assert pooled[0] == pytest.approx(0.9, abs=1e-6)  # a far name adds nothing
    assert pooled[1] == pytest.approx(0.5 + 0.01 * np.log(3))  # three equal names: + T·log 3
    assert pooled[2] == pytest.approx(0.7)  # a concept with one name keeps its score
    assert pooled[3] == 0.0  # names that matched nothing add nothing: no gain from their number
    assert pooled[4] == pytest.approx(0.3)
    assert (pooled >= maxima).all()


def test_a_concept_with_several_close_aliases_outranks_one_close_name_and_scores_stay_in_order(home, vocab):
    from dataclasses import replace

    from termlinker.retrieval.retriever import FusionConfig

    learned = vocab.with_extra_aliases([("T:003", "legs hurt a lot"), ("T:003", "legs ache badly"),
                                        ("T:003", "sore legs all day")])
    best_name = Linker(LinkerConfig(top_k=5, fusion=replace(FusionConfig(), pooling_temperature=0.0)),
                       dirs=home, vocabulary=learned)
    pooled = Linker(LinkerConfig(top_k=5), dirs=home, vocabulary=learned)
    assert pooled.retriever.fusion.pooling_temperature > 0  # the default pools
    term = "my legs are hurting"
    plain = {c.concept_id: c.score for c in best_name.link_terms([term])[0].candidates}
    ranked = pooled.link_terms([term])[0].candidates
    assert ranked[0].concept_id == "T:003"
    assert ranked[0].score > plain["T:003"]  # its other close aliases count
    scores = [c.score for c in ranked]
    assert scores == sorted(scores, reverse=True) and max(scores) <= 1.0
