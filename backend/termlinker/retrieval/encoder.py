"""Run a sentence encoder exported to ONNX with onnxruntime and the tokenizers library.

An encoder folder holds ``encoder.json`` (the manifest), ``tokenizer.json`` and one or
more ONNX graphs (``model.onnx`` and the int8 ``model.int8.onnx``, with per-token scales
so that a text's vector does not depend on the other texts of its batch). The manifest records
each file's sha256; a file that does not match is refused before onnxruntime sees it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..atomic import sha256_file, write_text
from ..errors import ModelCorruptError, ModelError

MANIFEST = "encoder.json"
PER_TOKEN = "per-token"  # retrieval.quantize.SCHEME, without importing onnx on the link path


@dataclass(frozen=True)
class EncoderManifest:
    name: str
    dim: int
    max_length: int
    pooling: str  # "mean" or "cls"; the graph already pools and L2-normalises
    source: str
    files: dict[str, str] = field(default_factory=dict)  # file name -> sha256
    query_prefix: str = ""
    passage_prefix: str = ""
    # How model.int8.onnx scales activations: "per-token" (retrieval.quantize; a text's vector
    # does not depend on its batch) or "dynamic" (one scale per batch; folders exported before it).
    int8_scheme: str = "dynamic"

    def save(self, folder: Path) -> None:
        write_text(folder / MANIFEST, json.dumps(asdict(self), indent=2, ensure_ascii=False))

    @classmethod
    def load(cls, folder: Path) -> "EncoderManifest":
        path = folder / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**data)
        except FileNotFoundError:
            raise ModelError(f"No encoder manifest at {path}. Run `termlinker models prepare` to export the encoder.") from None
        except (ValueError, TypeError) as exc:
            raise ModelError(f"The encoder manifest {path} is damaged ({exc}). Run `termlinker models prepare --force`.") from exc


def session_options(threads: int | None, per_token: bool):
    """onnxruntime options for an encoder graph on ``threads`` threads (its default when None)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    # Idle onnxruntime threads would otherwise spin and starve the Python thread that
    # fuses the previous batch meanwhile (measured: 2 threads ran at half the speed of 1).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # The extended fusions would merge per-token scales into one (retrieval.quantize).
    options.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_BASIC if per_token
                                        else ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
    return options


class OnnxEncoder:
    """Encodes texts into L2-normalised vectors; batches are sorted by length to cut padding."""

    def __init__(self, folder: str | os.PathLike[str], variant: str = "int8", threads: int | None = None,
                 verify: bool = True, providers: list[str] | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.folder = Path(folder)
        self.manifest = EncoderManifest.load(self.folder)
        graph = "model.int8.onnx" if variant == "int8" else "model.onnx"
        if graph not in self.manifest.files:
            raise ModelError(f"The encoder at {self.folder} has no {variant} graph. Run `termlinker models prepare --force`.")
        for fname in (graph, "tokenizer.json"):
            path = self.folder / fname
            if not path.exists():
                raise ModelCorruptError(f"Encoder file {path} is missing. Run `termlinker models prepare --force`.")
            if verify and sha256_file(path) != self.manifest.files[fname]:
                raise ModelCorruptError(f"Encoder file {path} is corrupt (checksum mismatch). Run `termlinker models prepare --force`.")
        self.variant = variant
        self.graph_sha256 = self.manifest.files[graph]
        self.tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.manifest.max_length)
        self.tokenizer.no_padding()
        options = session_options(threads, per_token=variant == "int8" and self.manifest.int8_scheme == PER_TOKEN)
        try:
            self.session = ort.InferenceSession(str(self.folder / graph), options,
                                                providers=providers or ["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelError(f"onnxruntime cannot load {self.folder / graph}: {exc}. Run `termlinker models prepare --force`.") from exc
        self._inputs = {i.name for i in self.session.get_inputs()}

    @property
    def dim(self) -> int:
        return self.manifest.dim

    @property
    def identity(self) -> str:
        """What an index built with this encoder depends on."""
        return f"{self.manifest.name}:{self.variant}:{self.graph_sha256[:16]}"

    def encode(self, texts: list[str], batch_size: int = 64, prefix: str = "") -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encodings = self.tokenizer.encode_batch([prefix + t for t in texts])
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            batch = [encodings[i] for i in idx]
            width = max(len(e.ids) for e in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, enc in enumerate(batch):
                ids[row, :len(enc.ids)] = enc.ids
                mask[row, :len(enc.ids)] = 1
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feeds["token_type_ids"] = np.zeros_like(ids)
            out[idx] = self.session.run(None, feeds)[0]
        if not np.isfinite(out).all():
            # Weights damaged in a way the checksum vouches for (a re-signed or re-exported bad
            # graph): NaN vectors would rank names at random while the run exits 0.
            raise ModelError(f"The encoder at {self.folder} gives no finite vectors: its model is damaged. "
                             "Run `termlinker models prepare --force`, or train or copy the encoder again.")
        return out

    def encode_queries(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        return self.encode(texts, batch_size, self.manifest.query_prefix)

    def encode_passages(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        return self.encode(texts, batch_size, self.manifest.passage_prefix)
