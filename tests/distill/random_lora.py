"""A peft LoRA adapter with random (non-zero) factors, and the merged torch model's scores.

With every factor non-zero, a wrong name, layout or scaling in an export moves llama.cpp's
scores far from torch's, so the export tests compare the two directly."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from termlinker.distill.train_reranker import LlamaTokenizer, load_torch_base, margin_batch
from termlinker.rerank.prompt import load_template
from termlinker.rerank.registry import RerankerModel


@dataclass
class RandomAdapter:
    peft_dir: Path
    reference: np.ndarray  # the merged torch model's margin for each (term, candidate) pair
    merged_state: dict[str, np.ndarray]


def random_adapter(base: RerankerModel, folder: Path, pairs: list[tuple[str, str]], r: int, alpha: int,
                   std: float) -> RandomAdapter:
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    model = get_peft_model(load_torch_base(base), LoraConfig(
        r=r, lora_alpha=alpha, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], init_lora_weights=False))
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_" in name:
                param.normal_(0.0, std)
    model.save_pretrained(str(folder / "peft"), safe_serialization=True)
    template = load_template(base.prompt_version)
    tokenizer = LlamaTokenizer(base.path)
    positive, negative = tokenizer.label_ids(template.positive), tokenizer.label_ids(template.negative)
    merged = model.merge_and_unload().eval()
    with torch.no_grad():
        reference = [float(margin_batch(merged, [tokenizer.encode(template.render(t, c), 160)], positive, negative)[0])
                     for t, c in pairs]
        state = {k: v.detach().float().numpy() for k, v in merged.state_dict().items()}
    return RandomAdapter(folder / "peft", np.asarray(reference), state)
