"""The one door front ends use into the engine: the desktop imports nothing else of ``termlinker``
(tests/desktop/test_front_door.py holds it to that), and the CLI builds its linkers here too.

What lives here: turning a user's options into a ``LinkerConfig`` (``LinkOptions``), reading term
sources and labelled pairs, learning a ranking or a retriever from a review project, the wizard's
steps, and the plain data types and errors a front end passes around. Everything else stays behind
this door and may move without front ends noticing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

# Plain data types, errors and helpers a front end holds or catches.
from .atomic import atomic_open, write_text
from .labels import LabelledPair, read_labelled_pairs, read_review_decisions
from .distill.errors import BudgetError
from .distill.label_store import LabelRecord, LabelStore
from .distill.labelling import LabelPlan, check_budget
from .distill.learn_retriever import LEARNED_SUFFIX, learned_encoder_name
from .distill.teacher import TeacherConfig
from .distill.train_retriever import RetrieverTrainReport, check_name
from .distill.validate_reranker import ValidationReport
from .distill.wizard_api import (NO_MATCH, Corrections, FineTuneConfig, FineTuneReport, WizardPaths, activate,
                                 check_connection, discard, fine_tune, free_name, label, learn_ranking_from_labels,
                                 make_plan, open_linker, plan_records, request_preview, retrieve, review_sample,
                                 terms_from_file, training_pairs, unreviewed_terms, validate)
from .errors import Cancelled, InputError, TermLinkerError, VocabularyError
from .io.encoding import detect_file_encoding
from .io.terms import (TablePreview, TermList, guess_header, guess_term_column, is_table, preview_table, read_terms,
                       terms_from_text)
from .linker import Linker, LinkerConfig, TermCount
from .models import encoder_folder
from .paths import DataDirs, is_safe_name
from .progress import CancelToken, ProgressFn, no_progress
from .project import BulkApproval, LinkSummary, Project, ReviewRow, Status
from .project.exports import OmopVocabularyError, export_project
from .rerank.feature_ranker import saved_ranker_path
from .rerank.reranker import RerankerConfig
from .types import LinkResult
from .vocab.builtin import DEFAULT_BUILTIN
from .vocab.model import Concept, Vocabulary
from .vocab.scripts import language_script, script_mismatch
from .vocab.store import VocabularyStore, VocabularySummary

if TYPE_CHECKING:
    from .rerank.feature_ranker import FeatureRanker

PROJECT_SUFFIX = ".tlproj"
RERANKER_THREADS = 2  # llama.cpp's threads when the user left "threads" to the machine


@dataclass(frozen=True)
class LinkOptions:
    """What a user chooses for linking, in whichever front end: the CLI's flags, the desktop's settings."""

    vocabulary: str = DEFAULT_BUILTIN
    threads: int | None = None  # None: onnxruntime decides (and llama.cpp takes RERANKER_THREADS)
    top_k: int = 10
    rerank: bool = False
    reranker: str | None = None  # a registered re-ranker; None: the active one
    gpu_layers: int = 0
    encoder: str | None = None  # a registered encoder or a folder; None: see learned_retriever
    ranker: str | None = None  # a ranking file or name; None: see learned_ranking
    learned_ranking: bool = False  # the vocabulary's saved ranking (models/rankers/<vocabulary>.json), if any
    learned_retriever: bool = False  # the vocabulary's learned encoder (<vocabulary>-learned), if any
    enrich_from: tuple[str, ...] = ()
    aliases_from: tuple[str, ...] = ()  # label files (gold TSV, .tlproj, teacher .jsonl) learned as synonyms
    split_multi: bool = False


def linker_config(options: LinkOptions, dirs: DataDirs) -> LinkerConfig:
    """The engine's configuration for ``options``: the one place the front ends' choices become it."""
    reranker = RerankerConfig(model=options.reranker, threads=options.threads or RERANKER_THREADS,
                              n_gpu_layers=options.gpu_layers)
    ranker = options.ranker or (saved_ranking_for(dirs, options.vocabulary) if options.learned_ranking else None)
    encoder = options.encoder or (learned_encoder_for(dirs, options.vocabulary)
                                  if options.learned_retriever else None)
    return LinkerConfig(vocabulary=options.vocabulary, threads=options.threads, top_k=options.top_k,
                        rerank=options.rerank, reranker=reranker, encoder=encoder, ranker=ranker,
                        enrich_from=options.enrich_from, aliases=tuple(read_labelled_pairs(options.aliases_from)),
                        split_multi=options.split_multi)


def saved_ranking_for(dirs: DataDirs, vocabulary: str) -> str | None:
    """The vocabulary's learned ranking file, when one was saved; a vocabulary file has none."""
    if not is_safe_name(vocabulary):
        return None
    path = saved_ranker_path(dirs, vocabulary)
    return str(path) if path.is_file() else None


def learned_encoder_for(dirs: DataDirs, vocabulary: str) -> str | None:
    """The vocabulary's learned encoder (Tools ▸ Learn the Retriever), when one was saved."""
    name = f"{vocabulary}{LEARNED_SUFFIX}"
    if not is_safe_name(vocabulary) or not is_safe_name(name):
        return None
    return name if encoder_folder(dirs, name).is_dir() else None


def script_warning(terms: Iterable[str], vocabulary: Vocabulary, dirs: DataDirs) -> str | None:
    """One line when some terms are written in a script the vocabulary's names do not use (头痛
    against the English HPO), naming the vocabularies of ``dirs`` (built-in or imported) written in
    that script; None when all is well. The rule is in :mod:`termlinker.vocab.scripts`; the CLI
    prints the line on stderr, the desktop in its status bar."""
    found = script_mismatch(terms, vocabulary)
    if found is None:
        return None
    try:
        summaries = VocabularyStore(dirs).list()
    except TermLinkerError:  # an unreadable data folder only costs the suggestion
        summaries = []
    fitting = [s for s in summaries if s.language and language_script(s.language) == found.script
               and s.name != vocabulary.info.name]
    named = [s.name for s in fitting if s.available]
    named += [f"{s.name} (built in, once its package is installed)" for s in fitting if not s.available]
    return found.message(named)


def reranker_names(dirs: DataDirs) -> list[str]:
    from .rerank.registry import RerankerRegistry

    return sorted(RerankerRegistry(dirs).models())


def learn_ranking_from_project(linker: Linker, project: str | Path, dirs: DataDirs,
                               progress: ProgressFn = no_progress,
                               cancel: CancelToken | None = None) -> tuple["FeatureRanker", Path]:
    """A ranking learned from the project's approved mappings over ``linker`` (give it no ranking and no
    re-ranker), saved as the vocabulary's (``termlinker ranker train --pairs PROJECT``). Returns (ranker, path)."""
    from .rerank.learn_ranking import learn_and_save

    path = saved_ranker_path(dirs, linker.vocabulary.info.name)
    pairs = read_review_decisions(project)
    return learn_and_save(linker, pairs, path, [str(project)], progress=progress, cancel=cancel), path


def learn_retriever_from_project(linker: Linker, project: str | Path, dirs: DataDirs,
                                 progress: ProgressFn = no_progress,
                                 cancel: CancelToken | None = None) -> RetrieverTrainReport:
    """The encoder fine-tuned on the project's approved mappings, saved as ``<vocabulary>-learned``
    (``termlinker distill train-retriever --project PROJECT``); ``linker`` is the plain retriever."""
    from .distill.learn_retriever import learn_retriever

    return learn_retriever(read_review_decisions(project), linker, dirs, progress=progress, cancel=cancel)


__all__ = [
    # options and operations
    "LinkOptions", "linker_config", "saved_ranking_for", "learned_encoder_for", "learned_encoder_name",
    "reranker_names", "learn_ranking_from_project", "learn_retriever_from_project", "read_terms", "preview_table",
    "guess_header", "guess_term_column", "terms_from_text", "is_table", "TablePreview", "export_project", "script_warning",
    "detect_file_encoding", "read_review_decisions", "read_labelled_pairs", "check_name", "check_budget",
    # the wizard's steps
    "activate", "check_connection", "discard", "fine_tune", "free_name", "label", "learn_ranking_from_labels",
    "make_plan", "open_linker", "plan_records", "request_preview", "retrieve", "review_sample", "terms_from_file",
    "training_pairs", "unreviewed_terms", "validate",
    # data types
    "BulkApproval", "Concept", "Corrections", "DataDirs", "FineTuneConfig", "FineTuneReport", "LabelledPair", "LabelPlan",
    "LabelRecord", "LabelStore", "LinkResult", "LinkSummary", "Linker", "LinkerConfig", "NO_MATCH", "Project",
    "PROJECT_SUFFIX", "RerankerConfig", "RetrieverTrainReport", "ReviewRow", "Status", "TeacherConfig", "TermCount",
    "TermList", "ValidationReport", "Vocabulary", "VocabularyStore", "VocabularySummary", "WizardPaths",
    "CancelToken", "ProgressFn", "DEFAULT_BUILTIN",
    # errors and file helpers
    "BudgetError", "Cancelled", "InputError", "OmopVocabularyError", "TermLinkerError", "VocabularyError",
    "atomic_open", "write_text",
    "is_safe_name", "saved_ranker_path", "encoder_folder",
]
