"""Fixtures for the vocabulary tests: small files written into tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from termlinker.paths import DataDirs
from termlinker.vocab.store import VocabularyStore

WriteFile = Callable[..., Path]


@pytest.fixture
def write(tmp_path: Path) -> WriteFile:
    """write("name.tsv", "text", encoding="utf-8") -> path of the new file in tmp_path."""

    def _write(name: str, text: str, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return path

    return _write


@pytest.fixture
def store(tmp_path: Path) -> VocabularyStore:
    return VocabularyStore(DataDirs(tmp_path / "data"))
