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
from .distill.learn_retriever import LEARNED_SUFFIX
from .distill.learn_retriever import MIN_TERMS as RETRIEVER_MIN_TERMS
from .distill.learn_retriever import RetrieverLearningPlan, learned_encoder_name, retriever_learning_plan
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
from .linker import Linker, LinkerConfig, TermCount, planned_retriever
from .models import encoder_folder
from .paths import DataDirs, is_safe_name
from .progress import CancelToken, ProgressFn, no_progress
from .project import (BulkApproval, LinkSummary, Predicate, Project, RecallSummary, Remembered, ReviewRow, Status,
                      Target)
from .project.memory import MappingMemory, MemoryImport
from .project.exports import OmopVocabularyError, export_project
from .project.report import ReviewReport, review_report
from .project.report import write_report as write_review_report
from .project.revalidate import Finding, check_mappings, needs_check, revalidate, summary_line
from .rerank.feature_ranker import saved_ranker_path
from .rerank.reranker import RerankerConfig
from .types import LinkResult
from .vocab.builtin import DEFAULT_BUILTIN
from .vocab.hierarchy import ConceptRef, Hierarchy, Neighbourhood, hierarchy_of
from .vocab.model import Concept, ObsoleteConcept, Vocabulary
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
    set_rules: str | None = None  # rules naming further concepts (rerank.set_rules), a file or a saved name


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
                        split_multi=options.split_multi, set_rules=options.set_rules)


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


def retriever_learning_plan_for(dirs: DataDirs, vocabulary: str, terms: int) -> RetrieverLearningPlan:
    """What learning the retriever of the installed ``vocabulary`` from ``terms`` labelled terms will
    train and about how long it takes, before any work (Tools ▸ Learn the Retriever asks with it)."""
    summary = _installed_summary(dirs, vocabulary)
    return retriever_learning_plan(summary.language if summary else "", terms, summary.names if summary else None)


def browse_concept(vocabulary: Vocabulary, concept_id: str) -> Neighbourhood:
    """A concept (or an ICD-10-CM block or chapter) with its parents and children; an unknown id is a
    ``VocabularyError`` (naming the replacement when the id is obsolete)."""
    return hierarchy_of(vocabulary).neighbourhood(concept_id.strip())


def installed_vocabulary_version(dirs: DataDirs, vocabulary: str) -> str:
    """The version of the vocabulary ``vocabulary`` names as installed now, read cheaply (a built-in's
    package, an imported file's header); "" when unknown (a vocabulary file named by its path, or gone)."""
    summary = _installed_summary(dirs, vocabulary)
    return summary.version if summary else ""


def _installed_summary(dirs: DataDirs, vocabulary: str) -> VocabularySummary | None:
    """The listing of the installed vocabulary ``vocabulary`` names, matched as the CLI matches names
    (ignoring case); None for a path or a name not installed."""
    key = vocabulary.casefold()
    return next((s for s in VocabularyStore(dirs).list() if s.name.casefold() == key), None)


@dataclass(frozen=True)
class VocabularyCheck:
    """What checking a project against its installed vocabulary found (``revalidate_project``)."""

    vocabulary: str
    old_version: str  # the project's before the check
    new_version: str  # the installed vocabulary's
    findings: tuple[Finding, ...]
    dry_run: bool

    @property
    def summary(self) -> str:
        return summary_line(self.findings, f"{self.vocabulary} {self.new_version}".strip())


def revalidate_project(project: str | Path, dirs: DataDirs, *, dry_run: bool = False, reviewer: str | None = None,
                       progress: ProgressFn = no_progress, cancel: CancelToken | None = None) -> VocabularyCheck:
    """Check the project's approved mappings against its vocabulary as installed now and, unless
    ``dry_run``, flag the obsolete, renamed and missing ones with the reason (``project revalidate``).
    Opens its own connection, so it may run on a background thread."""
    with Project.open(project) as opened:
        info = opened.info()
        vocabulary = VocabularyStore(dirs).get(info.vocabulary)
        if cancel is not None:
            cancel.raise_if_cancelled()
        findings = revalidate(opened, vocabulary, dry_run=dry_run, reviewer=reviewer, progress=progress,
                              cancel=cancel)
    return VocabularyCheck(vocabulary.info.name, info.vocabulary_version, vocabulary.info.version,
                           tuple(findings), dry_run)


__all__ = [
    # options and operations
    "LinkOptions", "linker_config", "saved_ranking_for", "learned_encoder_for", "learned_encoder_name",
    "reranker_names", "learn_ranking_from_project", "learn_retriever_from_project", "RETRIEVER_MIN_TERMS", "read_terms", "preview_table",
    "guess_header", "guess_term_column", "terms_from_text", "is_table", "TablePreview", "export_project", "script_warning",
    "review_report", "write_review_report", "ReviewReport",
    "detect_file_encoding", "read_review_decisions", "read_labelled_pairs", "check_name", "check_budget",
    # the concept browser and the vocabulary update check
    "browse_concept", "hierarchy_of", "installed_vocabulary_version", "revalidate_project", "revalidate",
    "check_mappings", "needs_check", "ConceptRef", "Finding", "Hierarchy", "Neighbourhood", "ObsoleteConcept",
    "VocabularyCheck",
    # the mapping memory
    "MappingMemory", "MemoryImport", "RecallSummary", "Remembered",
    # the wizard's steps
    "activate", "check_connection", "discard", "fine_tune", "free_name", "label", "learn_ranking_from_labels",
    "make_plan", "open_linker", "plan_records", "request_preview", "retrieve", "review_sample", "terms_from_file",
    "planned_retriever", "training_pairs", "unreviewed_terms", "validate",
    "retriever_learning_plan_for", "RetrieverLearningPlan",
    # data types
    "BulkApproval", "Concept", "Corrections", "DataDirs", "FineTuneConfig", "FineTuneReport", "LabelledPair", "LabelPlan",
    "LabelRecord", "LabelStore", "LinkResult", "LinkSummary", "Linker", "LinkerConfig", "NO_MATCH", "Project",
    "PROJECT_SUFFIX", "RerankerConfig", "RetrieverTrainReport", "ReviewRow", "Status", "Predicate", "Target", "TeacherConfig", "TermCount",
    "TermList", "ValidationReport", "Vocabulary", "VocabularyStore", "VocabularySummary", "WizardPaths",
    "CancelToken", "ProgressFn", "DEFAULT_BUILTIN",
    # errors and file helpers
    "BudgetError", "Cancelled", "InputError", "OmopVocabularyError", "TermLinkerError", "VocabularyError",
    "atomic_open", "write_text",
    "is_safe_name", "saved_ranker_path", "encoder_folder",
    # the cluster path (the scale extra), loaded on first use: importing this module never imports ray
    "link_dataset",
]


def __getattr__(name: str):
    """``link_dataset`` (:mod:`termlinker.scale`), imported when first asked for."""
    if name == "link_dataset":
        from .scale.job import link_dataset

        return link_dataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
