"""Write a fine-tuned re-ranker back to GGUF (merged, or as a LoRA adapter) and quantize it with llama.cpp.

The base GGUF is the source of truth for everything but the weights: every metadata field
(tokenizer, chat template, licence, hyper-parameters) is copied from it unchanged, and the
tensors are written in its order under its names. Weights come from the merged torch model
(transformers names), mapped back to GGUF names; llama.cpp stores the query and key
projections of llama-architecture models with the rotary halves interleaved, which
transformers undid on loading (``permute_rotary``) and this module redoes.

A LoRA adapter GGUF (``write_lora_adapter``) holds only the low-rank factors, under the base
tensor's GGUF name plus ``.lora_a``/``.lora_b``; llama.cpp adds ``alpha/r * B(Ax)`` to each
projection at run time, over the unchanged (quantized) base file. The rotary interleave of the
query and key rows is applied to B, whose rows are the projection's output rows.

Two architectures are supported, each with its own ``Layout``: ``llama`` (SmolLM2, Llama, most
small instruct models) and ``gemma3`` (Gemma 3 270M). Gemma's GGUF is not rotary-interleaved,
names its four per-layer norms differently, and stores every RMS-norm weight as ``1 + w``
(Gemma multiplies by ``1 + w``; transformers subtracts the 1 on loading and this module adds it
back). Other architectures are refused before any training.
"""

from __future__ import annotations

import ctypes
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ModelError, StorageError

# llama.cpp quantization names -> its file-type constants (llama.h, LLAMA_FTYPE_MOSTLY_*)
QUANTIZATIONS = {"Q8_0": 7, "Q4_K_M": 15, "Q5_K_M": 17, "Q4_0": 2}
ADAPTER = "LoRA"  # the export kind that keeps the base file and writes only the adapter
EXPORT_KINDS = (*QUANTIZATIONS, ADAPTER)
_F16_FILE_TYPE = 1

_GLOBAL = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
           "lm_head.weight": "output.weight"}
_PROJECTIONS = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
                "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
                "mlp.down_proj": "ffn_down"}
_LAYER_NAME = re.compile(r"^model\.layers\.(\d+)\.(.+)\.weight$")


@dataclass(frozen=True)
class Layout:
    """How one architecture's transformers parameters sit in its GGUF file."""
    layer_names: Mapping[str, str]  # transformers' per-layer module -> GGUF's
    rotary_interleaved: bool  # q/k rows stored interleaved (llama.cpp's converter permutes llama only)
    norm_offset: float  # added to every norm weight on the way to GGUF


LAYOUTS = {
    "llama": Layout({**_PROJECTIONS, "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm"},
                    rotary_interleaved=True, norm_offset=0.0),
    "gemma3": Layout({**_PROJECTIONS, "input_layernorm": "attn_norm",
                      "post_attention_layernorm": "post_attention_norm", "pre_feedforward_layernorm": "ffn_norm",
                      "post_feedforward_layernorm": "post_ffw_norm", "self_attn.q_norm": "attn_q_norm",
                      "self_attn.k_norm": "attn_k_norm"},
                     rotary_interleaved=False, norm_offset=1.0),
}
SUPPORTED_ARCHITECTURES = tuple(LAYOUTS)


@dataclass(frozen=True)
class BaseInfo:
    architecture: str
    n_head: int
    n_head_kv: int
    tensor_names: tuple[str, ...]

    @property
    def layout(self) -> Layout:
        return LAYOUTS[self.architecture]


def gguf_name(hf_name: str, layout: Layout = LAYOUTS["llama"]) -> str | None:
    """The GGUF tensor name of a transformers parameter, or None when GGUF has no such tensor."""
    if hf_name in _GLOBAL:
        return _GLOBAL[hf_name]
    match = _LAYER_NAME.match(hf_name)
    if match and match.group(2) in layout.layer_names:
        return f"blk.{match.group(1)}.{layout.layer_names[match.group(2)]}.weight"
    return None


def permute_rotary(weights: np.ndarray, n_head: int) -> np.ndarray:
    """transformers' [q0..q(d/2), q(d/2)..qd] rotary layout per head -> llama.cpp's interleaved one."""
    rows = weights.shape[0]
    half = rows // n_head // 2
    return weights.reshape(n_head, 2, half, *weights.shape[1:]).swapaxes(1, 2).reshape(weights.shape)


def read_base(path: str | os.PathLike[str]) -> BaseInfo:
    reader = _reader(path)
    arch = _field(reader, "general.architecture")
    if arch not in SUPPORTED_ARCHITECTURES:
        raise ModelError(f"{path} is a {arch!r} model; fine-tuning and GGUF export support "
                         f"{', '.join(SUPPORTED_ARCHITECTURES)} models such as SmolLM2-135M or Gemma 3 270M. "
                         "Choose such a base.")
    return BaseInfo(arch, int(_field(reader, f"{arch}.attention.head_count")),
                    int(_field(reader, f"{arch}.attention.head_count_kv")),
                    tuple(t.name for t in reader.tensors))


def to_gguf_tensors(state: Mapping[str, np.ndarray], base: BaseInfo) -> dict[str, np.ndarray]:
    """transformers state dict (float arrays) -> {GGUF name: array in llama.cpp's layout}."""
    out = {}
    layout = base.layout
    for hf_name, array in state.items():
        name = gguf_name(hf_name, layout)
        if name is None or name not in base.tensor_names:
            continue  # e.g. lm_head when the embeddings are tied
        if layout.rotary_interleaved and name.endswith("attn_q.weight"):
            array = permute_rotary(array, base.n_head)
        elif layout.rotary_interleaved and name.endswith("attn_k.weight"):
            array = permute_rotary(array, base.n_head_kv)
        elif layout.norm_offset and name.endswith("norm.weight"):
            array = array + np.float32(layout.norm_offset)
        out[name] = array
    missing = [n for n in base.tensor_names if n not in out]
    if missing:
        raise ModelError(f"The fine-tuned model lacks {len(missing)} tensors of the base GGUF (first: {missing[0]}); "
                         "it was not trained from this base.")
    return out


def write_f16_gguf(base_path: str | os.PathLike[str], tensors: Mapping[str, np.ndarray],
                   out_path: str | os.PathLike[str], name: str | None = None) -> Path:
    """A full-precision GGUF (matrices F16, vectors F32) with the base file's metadata; written atomically."""
    import gguf

    reader = _reader(base_path)
    out_path = Path(out_path)
    tmp = out_path.with_name(out_path.name + ".partial")
    writer = gguf.GGUFWriter(str(tmp), _field(reader, "general.architecture"))
    for field in reader.fields.values():
        if field.name.startswith("GGUF.") or field.name == "general.architecture":
            continue  # the header and the architecture: the writer makes its own
        if field.name == "general.file_type":
            writer.add_uint32(field.name, _F16_FILE_TYPE)
        elif field.name == "general.name" and name:
            writer.add_string(field.name, name)
        else:
            vtype = field.types[0]
            sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
            writer.add_key_value(field.name, field.contents(), vtype, sub_type=sub)
    for tensor in reader.tensors:
        array = np.asarray(tensors[tensor.name], dtype=np.float32)
        writer.add_tensor(tensor.name, array if array.ndim == 1 else array.astype(np.float16))
    _write_out(writer, tmp, out_path)
    return out_path


def _write_out(writer, tmp: Path, out_path: Path) -> None:
    try:
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StorageError(f"Could not write {out_path} ({exc.strerror or exc}). Free some disk space and run "
                           "the same command again: training is kept and only the export is redone.") from exc
    finally:
        writer.close()
    os.replace(tmp, out_path)


def write_lora_adapter(base_path: str | os.PathLike[str], adapter_dir: str | os.PathLike[str],
                       out_path: str | os.PathLike[str], name: str | None = None) -> Path:
    """peft's LoRA adapter (``adapter_config.json`` + ``adapter_model.safetensors``) as a GGUF adapter
    that llama.cpp applies over ``base_path``; factors kept in float32; written atomically."""
    import gguf
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    adapter_dir = Path(adapter_dir)
    base = read_base(base_path)
    alpha = _adapter_alpha(adapter_dir)
    try:
        weights = load_file(str(adapter_dir / "adapter_model.safetensors"))
    except (OSError, ValueError, SafetensorError) as exc:
        raise ModelError(f"The trained adapter in {adapter_dir} is unreadable ({exc}). Train the re-ranker "
                         "again.") from exc
    tensors: dict[str, np.ndarray] = {}
    for key, array in weights.items():
        match = _PEFT_NAME.match(key)
        target = gguf_name(f"{match.group(1)}.weight", base.layout) if match else None
        if target is None or target not in base.tensor_names:
            raise ModelError(f"The adapter in {adapter_dir} has a tensor {key!r} that the base model has no "
                             "place for; it was not trained from this base.")
        array = np.asarray(array, dtype=np.float32)
        interleave = base.layout.rotary_interleaved and match.group(2) == "B"
        if interleave and target.endswith("attn_q.weight"):
            array = permute_rotary(array, base.n_head)
        elif interleave and target.endswith("attn_k.weight"):
            array = permute_rotary(array, base.n_head_kv)
        tensors[f"{target}.lora_{match.group(2).lower()}"] = np.ascontiguousarray(array)
    if not tensors:
        raise ModelError(f"The adapter in {adapter_dir} holds no LoRA weights. Train the re-ranker again.")
    out_path = Path(out_path)
    tmp = out_path.with_name(out_path.name + ".partial")
    writer = gguf.GGUFWriter(str(tmp), base.architecture)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
    if name:
        writer.add_name(name)
    for tensor_name in sorted(tensors):
        writer.add_tensor(tensor_name, tensors[tensor_name])
    _write_out(writer, tmp, out_path)
    return out_path


_PEFT_NAME = re.compile(r"^base_model\.model\.(.+)\.lora_([AB])\.weight$")


def _adapter_alpha(adapter_dir: Path) -> float:
    """The alpha that makes llama.cpp's ``alpha / r`` equal peft's scaling for this adapter."""
    import json

    try:
        config = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{adapter_dir} has no readable adapter_config.json ({exc}). Train the re-ranker "
                         "again.") from exc
    if config.get("use_dora") or config.get("rank_pattern") or config.get("alpha_pattern"):
        raise ModelError(f"The adapter in {adapter_dir} uses DoRA or per-layer ranks, which llama.cpp adapters "
                         "cannot express; export it merged instead.")
    if not config.get("r") or config.get("lora_alpha") is None:
        raise ModelError(f"{adapter_dir}/adapter_config.json gives no LoRA rank or alpha. Train the re-ranker again.")
    r, alpha = float(config["r"]), float(config["lora_alpha"])
    scaling = alpha / r ** 0.5 if config.get("use_rslora") else alpha / r
    return scaling * r


def quantize(source: str | os.PathLike[str], out_path: str | os.PathLike[str], kind: str,
             threads: int | None = None) -> Path:
    """llama.cpp's own quantizer (``llama_model_quantize``); written to a temporary name, then renamed."""
    from ..rerank.scorer import _import_llama

    llama_cpp, _ = _import_llama()
    if kind not in QUANTIZATIONS:
        raise ModelError(f"Unknown quantization {kind!r}; choose one of {', '.join(QUANTIZATIONS)}.")
    out_path = Path(out_path)
    tmp = out_path.with_name(out_path.name + ".partial")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = QUANTIZATIONS[kind]
    params.nthread = threads or 0
    rc = llama_cpp.llama_model_quantize(str(source).encode(), str(tmp).encode(), ctypes.byref(params))
    if rc != 0 or not tmp.exists():
        tmp.unlink(missing_ok=True)
        raise StorageError(f"llama.cpp could not quantize {source} to {kind} (code {rc}). Check free disk space "
                           "and run the same command again.")
    os.replace(tmp, out_path)
    return out_path


def dequantized_tensors(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every tensor of a GGUF as float32 in llama.cpp's layout (for checks and tests)."""
    from gguf.quants import dequantize

    return {t.name: np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float32).reshape(
        tuple(int(x) for x in reversed(t.shape)))
        for t in _reader(path).tensors}


def _reader(path: str | os.PathLike[str]):
    import gguf

    try:
        return gguf.GGUFReader(str(path))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path} is not a readable GGUF file ({exc}). Choose another base model.") from exc


def _field(reader, key: str):
    field = reader.fields.get(key)
    if field is None:
        raise ModelError(f"The GGUF file has no {key!r} field; it is not a complete model file.")
    return field.contents()
