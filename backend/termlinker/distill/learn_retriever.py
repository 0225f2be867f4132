"""Teach the retriever a vocabulary's labelled terms: the desktop's Tools ▸ Learn the Retriever and
``termlinker distill train-retriever --project P.tlproj``, in one call.

The labelled pairs (approved mappings, a gold file) become training data against the plain
retriever, whose best wrong candidates are the hard negatives; the default encoder is then
fine-tuned with the shipped recipe (``RetrieverTrainConfig``) and registered under one name per
vocabulary, ``<vocabulary>-learned``, which a later call replaces. Training always starts from the
default encoder, so a rerun after more approvals learns from all of them afresh instead of drifting.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from ..errors import InputError
from ..paths import DataDirs
from ..progress import CancelToken, ProgressFn, no_progress
from .dataset import DatasetConfig, build_dataset, merge_gold
from ..labels import LabelledPair
from .train_retriever import RetrieverTrainConfig, RetrieverTrainReport, check_name, train_retriever, work_folder

if TYPE_CHECKING:
    from ..linker import Linker

LEARNED_SUFFIX = "-learned"
MIN_TERMS = 20  # fewer distinct terms teach the encoder nothing measurable, and the held-out share is empty


def learned_encoder_name(vocabulary: str) -> str:
    """The encoder learned for ``vocabulary`` (a vocabulary name, not a file path)."""
    return check_name(f"{vocabulary}{LEARNED_SUFFIX}")


def learn_retriever(pairs: Iterable[LabelledPair], linker: "Linker", dirs: DataDirs, name: str | None = None,
                    config: RetrieverTrainConfig = RetrieverTrainConfig(), progress: ProgressFn = no_progress,
                    cancel: CancelToken | None = None) -> RetrieverTrainReport:
    """Fine-tune and register an encoder from ``pairs``; ``linker`` is the plain retriever (default
    encoder, no ranking, no re-ranker) that mines the hard negatives. The report holds held-out
    Acc@1/Acc@5 before and after. Fewer than ``MIN_TERMS`` usable terms raise InputError, saving nothing."""
    vocab = linker.vocabulary
    name = check_name(name) if name else learned_encoder_name(vocab.info.name)
    merged, stats = merge_gold(pairs, vocab)
    if len(merged) < MIN_TERMS:
        unknown = sum(s["unknown_concept"] for s in stats.values())
        raise InputError(f"{len(merged)} labelled terms with a concept in {vocab.info.name!r}"
                         + (f" ({unknown} others name concepts it does not have)" if unknown else "")
                         + f"; the retriever learns from at least {MIN_TERMS}. Approve more mappings and try again.")
    dataset: Path = work_folder(dirs, name) / "dataset"
    build_dataset(merged, linker, dataset, DatasetConfig(), source_stats=stats)
    if cancel is not None:
        cancel.raise_if_cancelled()
    return train_retriever(dataset, vocab, dirs, name, config, progress=progress, cancel=cancel)
