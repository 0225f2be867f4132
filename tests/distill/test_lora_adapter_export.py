"""The distilled re-ranker as a GGUF LoRA adapter that llama.cpp applies over the unchanged base file.

The adapter route must give the scores of the merged torch model: names, the rotary layout of
the query/key rows and the alpha/r scaling are all checked against a real peft adapter with
random (non-zero) factors, through real llama.cpp.
"""

from __future__ import annotations

import numpy as np
import pytest

from termlinker.cli import main
from termlinker.distill.gguf_export import write_lora_adapter
from termlinker.distill.train_reranker import RerankerTrainConfig, output_folder, train_reranker
from termlinker.distill.validate_reranker import validate_and_register
from termlinker.errors import ModelError
from termlinker.linker import Linker, LinkerConfig
from termlinker.rerank.prompt import load_template
from termlinker.rerank.registry import DEFAULT_RERANKER, RerankerRegistry
from termlinker.rerank.reranker import RerankerConfig
from termlinker.rerank.scorer import LlamaScorer

from .random_lora import random_adapter as random_adapter_for
from .test_train_reranker import TINY, base_model, tiny_dataset  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow
PAIRS = [("my head is pounding", "Headache"), ("my head is pounding", "Insomnia"),
         ("cannot sleep at night", "Insomnia"), ("cannot sleep at night", "Leg pain"),
         ("legs are killing me", "Leg pain"), ("legs are killing me", "Headache")]


@pytest.fixture(scope="module")
def random_adapter(tmp_path_factory):
    """A peft adapter on q/k/v/o whose factors are all random, so every layout mistake shows."""
    from termlinker.paths import DataDirs

    folder = tmp_path_factory.mktemp("adapter")
    base = RerankerRegistry(DataDirs(folder / "home").ensure()).resolve(DEFAULT_RERANKER)
    made = random_adapter_for(base, folder, PAIRS, r=8, alpha=24, std=0.06)
    return base, made.peft_dir, made.reference


def llama_margins(model_path, adapter=None) -> np.ndarray:
    template = load_template()
    scorer = LlamaScorer(model_path, template, adapter_path=adapter)
    try:
        return np.asarray([scorer.score_prompt(template.render(t, c)) for t, c in PAIRS])
    finally:
        scorer.close()


def test_llama_cpp_with_the_adapter_scores_as_the_merged_torch_model(random_adapter, tmp_path, monkeypatch):
    import gguf

    from termlinker.distill import gguf_export

    base, peft_dir, reference = random_adapter
    path = write_lora_adapter(base.path, peft_dir, tmp_path / "a.LoRA.gguf", name="a")
    fields = gguf.GGUFReader(str(path)).fields
    assert fields["general.type"].contents() == "adapter" and fields["adapter.type"].contents() == "lora"
    assert fields["adapter.lora.alpha"].contents() == pytest.approx(24.0)
    without = llama_margins(base.path)
    with_adapter = llama_margins(base.path, path)
    # The random update moves every score by about 2.4; llama.cpp with the adapter lands within
    # its own rounding of torch's merged model (activations are quantized for the Q4_1 base).
    shift = np.abs(reference - without).mean()
    error = np.abs(reference - with_adapter).mean()
    assert shift > 1.5 and error < 0.2 * shift
    assert np.corrcoef(reference, with_adapter)[0, 1] > 0.95
    # Control: the same factors without the rotary interleave of the q/k rows land twice as far.
    monkeypatch.setattr(gguf_export, "permute_rotary", lambda rows, n_head: rows)
    unpermuted = write_lora_adapter(base.path, peft_dir, tmp_path / "unpermuted.LoRA.gguf")
    assert np.abs(reference - llama_margins(base.path, unpermuted)).mean() > 1.5 * error


def test_a_wrong_or_foreign_adapter_is_refused_with_advice(random_adapter, tmp_path):
    base, peft_dir, _ = random_adapter
    with pytest.raises(ModelError, match="could not apply the LoRA adapter"):
        LlamaScorer(base.path, load_template(), adapter_path=base.path)  # a model file, not an adapter
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "adapter_config.json").write_text((peft_dir / "adapter_config.json").read_text())
    (tmp_path / "broken" / "adapter_model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(ModelError, match="Train the re-ranker again"):
        write_lora_adapter(base.path, tmp_path / "broken", tmp_path / "b.gguf")
    assert not (tmp_path / "b.gguf").exists() and not (tmp_path / "b.gguf.partial").exists()


def test_distilling_to_an_adapter_registers_base_plus_adapter_and_links_with_it(tiny_dataset, tiny_vocab_path):
    home, vocab, ds = tiny_dataset
    config = RerankerTrainConfig(**{**TINY.__dict__, "quantizations": ("LoRA",)})
    report = train_reranker(ds, home, "rr-lora", config)
    adapter = output_folder(home, "rr-lora") / "rr-lora.LoRA.gguf"
    assert report.files == {"LoRA": str(adapter)} and report.base_path == base_model(home).path
    assert adapter.stat().st_size < 10 * 2**20  # the factors only; the base file is not copied
    assert not list(output_folder(home, "rr-lora").glob("*.F16.gguf"))
    check = report.checks[0]
    assert check.quantization == "LoRA" and check.mean_abs_diff < 0.5 and check.top1_agreement >= 0.5

    validation = validate_and_register(ds, vocab, home, "rr-lora", report.files, "SmolLM2-135M-Instruct",
                                       "pointwise-v1", activate=False, base_path=report.base_path)
    assert validation.chosen.label == "LoRA" and validation.chosen.terms_per_s > 0
    model = RerankerRegistry(home).get("rr-lora")
    assert model.path == report.base_path and model.adapter == str(adapter) and model.adapter_sha256
    linker = Linker(LinkerConfig(vocabulary=str(tiny_vocab_path), rerank=True,
                                 reranker=RerankerConfig(model="rr-lora")), dirs=home)
    assert linker.reranker is not None and linker.reranker.scorer.adapter_path == adapter
    assert linker.link_terms(["my head hurts"])[0].best is not None
    linker.reranker.scorer.close()

    adapter.write_bytes(adapter.read_bytes()[:-64] + bytes(64))  # damaged after registration
    with pytest.raises(ModelError, match="does not match its registered checksum"):
        RerankerRegistry(home).resolve("rr-lora")


def test_cli_exports_merged_and_adapter_and_registers_an_adapter_by_hand(tiny_dataset, tiny_vocab_path, capsys):
    home, _, ds = tiny_dataset
    code = main(["--home", str(home.root), "-q", "--threads", "2", "distill", "train-reranker", str(ds),
                 "--vocab", str(tiny_vocab_path), "--name", "rr-both", "--max-examples", "8",
                 "--quantize", "Q8_0,LoRA", "--no-activate"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "LoRA:" in out.out and "Q8_0:" in out.out and "new LoRA" in out.out and "terms/s" in out.out
    adapter = output_folder(home, "rr-both") / "rr-both.LoRA.gguf"
    base = base_model(home).path
    assert main(["--home", str(home.root), "models", "register", "by-hand", base, "--adapter", str(adapter)]) == 0
    assert main(["--home", str(home.root), "models", "list"]) == 0
    assert f"+ LoRA adapter {adapter}" in capsys.readouterr().out
    assert main(["--home", str(home.root), "models", "register", "missing", base,
                 "--adapter", str(adapter) + ".nope"]) == 2
    assert "does not exist" in capsys.readouterr().err
