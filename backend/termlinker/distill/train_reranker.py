"""Distil the teacher's labels into the local re-ranker: LoRA on the GGUF base, merged, back to GGUF.

Training-only: torch, transformers and peft are imported inside the functions. The base GGUF
is loaded into torch by transformers (dequantized), LoRA adapters train on the attention
projections, and the loss is on the re-ranker's own score: the yes-minus-no logit margin at the
prompt's last token (``logsumexp`` over the template's label tokens, as ``LlamaScorer`` does),
either as a softmax over each term's candidates (listwise, the default) or under a logistic loss
against each label (pointwise). Prompts are tokenized by llama.cpp's tokenizer of the
base file, so training sees exactly the tokens inference will.

Work lives in ``<data>/models/training/<name>/``: ``checkpoint/`` (adapter, optimizer, step)
is rewritten every few steps and on cancel, so an interrupted run resumes; ``adapter/`` with
``training.json`` is the finished adapter, and a rerun goes straight to the export. The
export (``gguf_export``, into ``<data>/models/rerankers/<name>/``) is one or more of: the
adapter merged into the base, written as F16 GGUF with the base file's metadata and quantized
by llama.cpp (Q8_0, Q4_K_M, ...); and the adapter alone as a GGUF LoRA adapter (``LoRA``) that
llama.cpp applies over the unchanged base file. Every exported file is compared with the
merged torch model; validation (``validate_reranker``) then picks one by accuracy, then speed.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from ..atomic import replace_folder, staging_folder, write_text
from ..errors import Cancelled, InputError, ModelError
from ..paths import DataDirs
from ..progress import CancelToken, ProgressFn, no_progress
from ..rerank.prompt import load_template
from ..rerank.registry import GEMMA_RERANKER, RerankerModel, RerankerRegistry, is_model_file
from .dataset import DatasetManifest, read_jsonl
from .train_retriever import check_name, finished_run, read_training_state, run_fingerprint

DONE_MARKER = "training.json"


@dataclass(frozen=True)
class RerankerTrainConfig:
    epochs: int = 1
    batch_size: int = 8
    learning_rate: float = 2e-4
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    max_tokens: int = 160  # a prompt is ~60-90 tokens; longer ones are cut at the front of the term
    max_examples: int | None = None  # cap for quick runs (a deterministic sample)
    warmup_share: float = 0.05
    checkpoint_every: int = 25  # steps
    seed: int = 0
    threads: int | None = None
    quantizations: tuple[str, ...] = ("Q8_0", "Q4_K_M")  # export kinds: gguf_export.EXPORT_KINDS
    keep_f16: bool = False
    # "listwise": a softmax over one term's candidates' margins, the gold against the rest: only
    # the order within a term matters at inference. On AAP validation (3 folds) it beat
    # "pointwise" (each margin against its yes/no label, logistic loss) by +0.032 Acc@1.
    loss: str = "listwise"


LOSSES = ("pointwise", "listwise")


@dataclass
class ExportCheck:
    """How closely a GGUF file's margins follow the merged torch model's on held-out examples."""
    quantization: str
    path: str
    size_mb: float
    mean_abs_diff: float
    pair_order_agreement: float  # share of same-term candidate pairs ordered alike
    top1_agreement: float  # share of terms whose best candidate is the same
    pairs_per_s: float


@dataclass
class RerankerTrainReport:
    name: str
    base: str
    examples: int
    steps: int
    train_seconds: float
    export_seconds: float = 0.0
    resumed_from_step: int = 0
    reused_adapter: bool = False
    final_loss: float | None = None
    files: dict[str, str] = field(default_factory=dict)  # quantization -> GGUF path
    checks: list[ExportCheck] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    base_path: str = ""  # the model file trained from (a LoRA export applies over it)

    def lines(self) -> list[str]:
        out = [f"re-ranker {self.name} (LoRA on {self.base})",
               f"trained on {self.examples} examples, {self.steps} steps"
               + (" (reused the finished adapter)" if self.reused_adapter else f" in {self.train_seconds:.1f} s")
               + (f", resumed at step {self.resumed_from_step}" if self.resumed_from_step else "")
               + (f", last loss {self.final_loss:.3f}" if self.final_loss is not None else "")]
        for c in self.checks:
            out.append(f"{c.quantization}: {c.path} ({c.size_mb:.0f} MB); vs torch: mean |diff| {c.mean_abs_diff:.3f}, "
                       f"pair order {c.pair_order_agreement:.1%}, top-1 {c.top1_agreement:.1%}, "
                       f"{c.pairs_per_s:.0f} pairs/s")
        return out


def base_template(dirs: DataDirs, base: str | None = None, language: str | None = None):
    """The prompt a re-ranker trained from ``base`` (default: ``RerankerRegistry.training_base`` for
    the vocabulary's ``language``) reads, so that the training data is rendered in it; a bare .gguf
    path records no prompt and gets the default."""
    if is_model_file(base):
        return load_template()
    registry = RerankerRegistry(dirs)
    return load_template(registry.get(base or registry.training_base(language)).prompt_version)


def default_name(today: date | None = None, base: str | None = None) -> str:
    """``<family>-ft-<date>``: gemma3 for a model trained from Gemma 3 270M, else smollm2."""
    family = "gemma3" if base == GEMMA_RERANKER else "smollm2"
    return f"{family}-ft-{(today or date.today()).isoformat()}"


def work_folder(dirs: DataDirs, name: str) -> Path:
    return dirs.training / check_name(name)


def output_folder(dirs: DataDirs, name: str) -> Path:
    # check_name here too: the wizard deletes this folder by name (wizard_api.discard).
    return dirs.rerankers / check_name(name)


@dataclass(frozen=True)
class _Example:
    prompt: str
    match: bool
    term: str


def load_examples(dataset_dir: str | Path, split: str) -> list[_Example]:
    return [_Example(r["prompt"], bool(r["match"]), r["term"])
            for r in read_jsonl(Path(dataset_dir) / f"rerank_{split}.jsonl")]


def train_reranker(dataset_dir: str | Path, dirs: DataDirs, name: str | None = None,
                   config: RerankerTrainConfig = RerankerTrainConfig(), base: str | None = None,
                   progress: ProgressFn = no_progress, cancel: CancelToken | None = None,
                   language: str | None = None) -> RerankerTrainReport:
    """Train (or resume, or reuse) the adapter, export + quantize, and check the GGUF files against torch.

    ``base`` defaults to ``RerankerRegistry.training_base(language)``, the vocabulary's language.
    The new model is neither registered nor activated here: ``validate_and_register`` decides."""
    from .gguf_export import read_base

    registry = RerankerRegistry(dirs)
    base = base or registry.training_base(language)
    name = check_name(name or default_name(base=base))
    base_model = registry.resolve(base)
    read_base(base_model.path)  # refuses unsupported architectures before any work
    notes = []
    if base_model.adapter:
        notes.append(f"{base_model.name} is a LoRA adapter over {base_model.path}; training starts from that "
                     "base file's weights, without the adapter.")
    manifest = DatasetManifest.load(Path(dataset_dir))
    template = load_template(base_model.prompt_version)
    if manifest.prompt_version != template.version:
        raise InputError(f"The data in {dataset_dir} was rendered with prompt {manifest.prompt_version!r} but "
                         f"{base_model.name!r} uses {template.version!r}. Build the data again for this model: "
                         f"`termlinker distill dataset ... --reranker {base_model.name}`.")
    if config.epochs < 1 or config.batch_size < 1:
        raise InputError("--epochs and --batch-size must be at least 1.")
    if config.loss not in LOSSES:
        raise InputError(f"Unknown loss {config.loss!r}: choose one of {', '.join(LOSSES)}.")
    examples = load_examples(dataset_dir, "train")
    if config.loss == "listwise":
        examples = [e for group in rankable_groups(examples) for e in group]
    if config.max_examples and len(examples) > config.max_examples:
        examples = sample_examples(examples, config)
    if not examples or not any(e.match for e in examples):
        raise InputError(f"{dataset_dir} has no re-ranker training examples with a positive label"
                         + (" and a negative one for the same term" if config.loss == "listwise" else "")
                         + ". Label more terms, then run `termlinker distill dataset` again.")
    work = work_folder(dirs, name)
    adapter_dir = work / "adapter"
    report = RerankerTrainReport(name, base_model.name, len(examples), 0, 0.0, warnings=notes,
                                 base_path=base_model.path)
    fingerprint = run_fingerprint([(e.prompt, e.match) for e in examples], config,
                                  f"{base_model.name}:{base_model.sha256 or base_model.path}")
    info = finished_run(adapter_dir / DONE_MARKER, fingerprint)
    if info is not None:
        report.steps, report.reused_adapter, report.final_loss = info["steps"], True, info.get("final_loss")
    else:
        trainer = _LoraTrainer(base_model, template, config)
        report.steps, report.resumed_from_step, report.train_seconds, report.final_loss = trainer.train(
            examples, work, progress, cancel)
        write_text(adapter_dir / DONE_MARKER, json.dumps(
            {"fingerprint": fingerprint, "base": base_model.name, "base_path": base_model.path, "prompt_version": template.version,
             "examples": len(examples), "steps": report.steps, "final_loss": report.final_loss,
             "dataset": str(Path(dataset_dir).resolve()), "config": asdict(config),
             "train_seconds": round(report.train_seconds, 1)}, indent=2))
        shutil.rmtree(work / "checkpoint", ignore_errors=True)
    if cancel is not None:
        cancel.raise_if_cancelled()
    began = time.monotonic()
    check_examples = load_examples(dataset_dir, "val")[:32] or examples[:32]
    report.files, report.checks = export_reranker(base_model, template, adapter_dir, output_folder(dirs, name),
                                                  name, config, check_examples, cancel)
    report.export_seconds = time.monotonic() - began
    return report


# --- training ---------------------------------------------------------------------------------------


class _LoraTrainer:
    def __init__(self, base: RerankerModel, template, config: RerankerTrainConfig) -> None:
        self.base = base
        self.template = template
        self.config = config
        self.tokenizer = LlamaTokenizer(base.path)
        self.positive = self.tokenizer.label_ids(template.positive)
        self.negative = self.tokenizer.label_ids(template.negative)

    def train(self, examples: list[_Example], work: Path, progress: ProgressFn,
              cancel: CancelToken | None) -> tuple[int, int, float, float | None]:
        import warnings

        import torch
        from peft import set_peft_model_state_dict

        cfg = self.config
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        if cfg.loss == "listwise":
            batches = plan_group_batches(examples, cfg.batch_size, cfg.epochs, cfg.seed)
        else:
            batches = plan_batches(len(examples), cfg.batch_size, cfg.epochs, cfg.seed)
        total = len(batches)
        plan = hashlib.sha256(json.dumps([[examples[i].prompt for i in b] for b in batches]).encode()).hexdigest()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # transformers' deprecation notes from inside peft
            model = lora_model(self.base, cfg)
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=cfg.learning_rate)
        warmup = max(1, int(total * cfg.warmup_share))
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup))))
        checkpoint = work / "checkpoint"
        state = _load_checkpoint(checkpoint, plan)
        start = 0
        if state:
            set_peft_model_state_dict(model, state["adapter"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            start = int(state["step"])
        tokens = [self.tokenizer.encode(e.prompt, cfg.max_tokens) for e in examples]
        listwise = cfg.loss == "listwise"
        model.train()
        began = time.monotonic()
        progress(start, total)
        loss_value = None
        for step in range(start, total):
            if cancel is not None and cancel.cancelled:
                _save_checkpoint(_adapter_state(model), optimizer, scheduler, step, plan, checkpoint)
                raise Cancelled(f"Re-ranker training stopped at step {step} of {total}; the progress is saved in "
                                f"{checkpoint}. Run the same command again to continue.")
            batch = batches[step]
            margins = margin_batch(model, [tokens[i] for i in batch], self.positive, self.negative)
            labels = torch.tensor([1.0 if examples[i].match else 0.0 for i in batch])
            if listwise:
                loss = listwise_loss(margins, labels, [examples[i].term for i in batch])
            else:
                loss = torch.nn.functional.binary_cross_entropy_with_logits(margins, labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            loss_value = float(loss.detach())
            done = step + 1
            progress(done, total)
            if done % cfg.checkpoint_every == 0 and done < total:
                _save_checkpoint(_adapter_state(model), optimizer, scheduler, done, plan, checkpoint)
        seconds = time.monotonic() - began
        _save_adapter(model, work / "adapter")
        return total, start, seconds, loss_value


def plan_batches(n: int, batch_size: int, epochs: int, seed: int) -> list[list[int]]:
    """Shuffled example indices, deterministic for a seed so a resumed run replays the same order."""
    rng = random.Random(seed)
    out = []
    for _ in range(epochs):
        order = list(range(n))
        rng.shuffle(order)
        out += [order[i:i + batch_size] for i in range(0, n, batch_size)]
    return out


def rankable_groups(examples: list[_Example]) -> list[list[_Example]]:
    """Each term's examples in file order, kept only when there is a gold and a rival to rank."""
    groups: dict[str, list[_Example]] = {}
    for e in examples:
        groups.setdefault(e.term, []).append(e)
    return [g for g in groups.values() if any(e.match for e in g) and not all(e.match for e in g)]


def sample_examples(examples: list[_Example], config: RerankerTrainConfig) -> list[_Example]:
    """A seeded sample of at most ``max_examples``; listwise samples whole terms, never part of one."""
    rng = random.Random(config.seed)
    if config.loss != "listwise":
        return rng.sample(examples, config.max_examples)
    groups = rankable_groups(examples)
    rng.shuffle(groups)
    out: list[_Example] = []
    for group in groups:
        if len(out) + len(group) <= config.max_examples:
            out += group
    return out


def plan_group_batches(examples: list[_Example], batch_size: int, epochs: int, seed: int) -> list[list[int]]:
    """Like ``plan_batches``, but a term's examples stay together: terms are shuffled and packed
    into batches of about ``batch_size`` examples (a term larger than that goes alone)."""
    groups: dict[str, list[int]] = {}
    for i, e in enumerate(examples):
        groups.setdefault(e.term, []).append(i)
    members = list(groups.values())
    rng = random.Random(seed)
    out = []
    for _ in range(epochs):
        order = list(range(len(members)))
        rng.shuffle(order)
        batch: list[int] = []
        for g in order:
            if batch and len(batch) + len(members[g]) > batch_size:
                out.append(batch)
                batch = []
            batch += members[g]
        if batch:
            out.append(batch)
    return out


def listwise_loss(margins, labels, terms: list[str]):
    """Mean over terms of -log(softmax mass on the gold candidates among that term's candidates)."""
    import torch

    losses = []
    for term in dict.fromkeys(terms):
        rows = torch.tensor([i for i, t in enumerate(terms) if t == term])
        m, y = margins[rows], labels[rows]
        losses.append(torch.logsumexp(m, 0) - torch.logsumexp(m.masked_fill(y < 0.5, float("-inf")), 0))
    return torch.stack(losses).mean()


def load_torch_base(base: RerankerModel):
    """The base GGUF as a float32 transformers model (transformers dequantizes it)."""
    import contextlib
    import io
    import warnings

    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    path = Path(base.path)
    try:
        # transformers draws its own progress bar while dequantizing; ours reports the training.
        with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name)
    except (ValueError, OSError, KeyError, RuntimeError) as exc:
        raise ModelError(f"transformers could not load {path} for training ({exc}). Fine-tuning needs a "
                         "llama or gemma3 GGUF such as the built-in smollm2-135m or gemma3-270m.") from exc


def lora_model(base: RerankerModel, config: RerankerTrainConfig):
    from peft import LoraConfig, get_peft_model

    model = load_torch_base(base)
    lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules=list(config.target_modules), bias="none", task_type="CAUSAL_LM")
    return get_peft_model(model, lora)


def margin_batch(model, sequences: list[list[int]], positive: list[int], negative: list[int]):
    """The re-ranker's score for each sequence: yes-minus-no logit margin after its last token.

    Left padding puts every sequence's last token in the last column; explicit positions keep
    the real tokens at the positions they have when scored alone."""
    import torch

    width = max(len(s) for s in sequences)
    ids = torch.zeros((len(sequences), width), dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, width - len(seq):] = torch.tensor(seq)
        mask[row, width - len(seq):] = 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    out = model(input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=1)
    logits = out.logits[:, -1, :].float()
    return torch.logsumexp(logits[:, positive], -1) - torch.logsumexp(logits[:, negative], -1)


class LlamaTokenizer:
    """llama.cpp's tokenizer of a GGUF file (vocabulary only): the tokens inference will see."""

    def __init__(self, path: str) -> None:
        from ..rerank.scorer import _import_llama

        llama_cpp, internals = _import_llama()
        params = llama_cpp.llama_model_default_params()
        params.vocab_only = True
        self._model = internals.LlamaModel(path_model=str(path), params=params, verbose=False)
        self._bos = [self._model.token_bos()] if self._model.add_bos_token() else []

    def tokens(self, text: str) -> list[int]:
        return list(self._model.tokenize(text.encode("utf-8"), False, True)) if text else []

    def encode(self, prompt: str, max_tokens: int) -> list[int]:
        ids = self._bos + self.tokens(prompt)
        return ids[-max_tokens:] if len(ids) > max_tokens else ids

    def label_ids(self, labels: tuple[str, ...]) -> list[int]:
        from ..rerank.scorer import single_token_ids

        return single_token_ids(self.tokens, labels, "this model")


def _save_adapter(model, folder: Path) -> None:
    """peft's safetensors adapter, written beside and renamed into place."""
    import warnings

    tmp = staging_folder(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # peft notes the GGUF base folder has no config.json: it never has
        model.save_pretrained(str(tmp), safe_serialization=True)
    replace_folder(tmp, folder)


def _adapter_state(model) -> dict:
    import warnings

    from peft import get_peft_model_state_dict

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the same note about the GGUF base folder's missing config.json
        return get_peft_model_state_dict(model)


def _save_checkpoint(adapter_state: dict, optimizer, scheduler, step: int, plan: str, checkpoint: Path) -> None:
    """Tensors and plain numbers only (loaded back with ``weights_only=True``: no pickled code)."""
    import torch

    tmp = staging_folder(checkpoint)
    torch.save({"adapter": adapter_state, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "step": step, "plan": plan}, tmp / "state.pt")
    replace_folder(tmp, checkpoint)


def _load_checkpoint(checkpoint: Path, plan: str) -> dict | None:
    return read_training_state(checkpoint / "state.pt", plan)


# --- export -----------------------------------------------------------------------------------------


def export_reranker(base: RerankerModel, template, adapter_dir: Path, out_dir: Path, name: str,
                    config: RerankerTrainConfig, check_examples: list[_Example],
                    cancel: CancelToken | None = None) -> tuple[dict[str, str], list[ExportCheck]]:
    """Merge, write F16 GGUF, quantize each requested type, and compare each file with torch.

    ``cancel`` is honoured between stages (a stage itself is a few seconds); the adapter is kept."""

    def stop_if_cancelled() -> None:
        if cancel is not None and cancel.cancelled:
            raise Cancelled("The export was stopped; the trained adapter is kept. Run the same command again "
                            "to export it (training is not repeated).")

    import warnings

    import torch
    from peft import PeftModel

    from .gguf_export import ADAPTER, quantize, read_base, to_gguf_tensors, write_f16_gguf, write_lora_adapter

    info = read_base(base.path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # peft notes the base folder has no config.json: GGUF bases never do
        model = PeftModel.from_pretrained(load_torch_base(base), str(adapter_dir)).merge_and_unload()
    model.eval()
    tokenizer = LlamaTokenizer(base.path)
    positive, negative = tokenizer.label_ids(template.positive), tokenizer.label_ids(template.negative)
    with torch.no_grad():
        reference = [float(margin_batch(model, [tokenizer.encode(e.prompt, config.max_tokens)], positive, negative)[0])
                     for e in check_examples]
        state = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    del model
    stop_if_cancelled()
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    checks = []
    threads = config.threads or 2
    if ADAPTER in config.quantizations:
        path = write_lora_adapter(base.path, adapter_dir, out_dir / f"{name}.{ADAPTER}.gguf", name=name)
        files[ADAPTER] = str(path)
        checks.append(check_export(path, ADAPTER, template, check_examples, reference, threads, base=base.path))
    merged = [k for k in config.quantizations if k != ADAPTER]
    if not merged and not config.keep_f16:
        return files, checks
    f16 = write_f16_gguf(base.path, to_gguf_tensors(state, info), out_dir / f"{name}.F16.gguf", name=name)
    del state
    try:
        for kind in merged:
            stop_if_cancelled()
            path = quantize(f16, out_dir / f"{name}.{kind}.gguf", kind, config.threads)
            files[kind] = str(path)
            checks.append(check_export(path, kind, template, check_examples, reference, threads))
    finally:
        if not config.keep_f16:
            f16.unlink(missing_ok=True)  # 2 bytes a weight: the largest file of all, and rebuilt in seconds
    if config.keep_f16:
        files["F16"] = str(f16)
    return files, checks


def check_export(path: Path, kind: str, template, examples: list[_Example], reference: list[float],
                 threads: int, base: str | None = None) -> ExportCheck:
    """Score the examples with llama.cpp (one term, one candidate at a time) and compare with torch.

    ``base``: ``path`` is a LoRA adapter, applied over this model file."""
    from ..rerank.scorer import LlamaScorer, ScorerConfig

    scorer = LlamaScorer(base or path, template, ScorerConfig(threads=threads), adapter_path=path if base else None)
    try:
        began = time.monotonic()
        got = [float(scorer.score_prompt(e.prompt)) for e in examples]
        seconds = time.monotonic() - began
    finally:
        scorer.close()
    ref, out = np.asarray(reference), np.asarray(got)
    by_term: dict[str, list[int]] = {}
    for i, e in enumerate(examples):
        by_term.setdefault(e.term, []).append(i)
    pairs = agree = top1 = 0
    for idx in by_term.values():
        for a in range(len(idx)):
            for b in range(a + 1, len(idx)):
                pairs += 1
                agree += (ref[idx[a]] - ref[idx[b]]) * (out[idx[a]] - out[idx[b]]) > 0
        top1 += int(np.argmax(ref[idx]) == np.argmax(out[idx]))
    return ExportCheck(kind, str(path), path.stat().st_size / 2**20,
                       float(np.mean(np.abs(ref - out))) if len(ref) else 0.0,
                       agree / pairs if pairs else 1.0, top1 / max(1, len(by_term)),
                       len(examples) / seconds if seconds > 0 else 0.0)
