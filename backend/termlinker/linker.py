"""``Linker``: the one façade the CLI, the GUI and the benchmarks call."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .paths import DataDirs
from .progress import CancelToken, ProgressFn, no_progress
from .retrieval.retriever import FusionConfig, Retriever
from .types import LinkResult
from .vocab.model import Vocabulary

MAX_TERM_CHARS = 256


@dataclass(frozen=True)
class LinkerConfig:
    vocabulary: str = "hpo"
    encoder: str | None = None  # name in the model store or a folder; None = default
    encoder_variant: str = "int8"
    threads: int | None = None
    top_k: int = 10
    batch_size: int = 256
    enrich_from: tuple[str, ...] = ()  # vocabularies whose synonyms are borrowed on exact name match
    fusion: FusionConfig = field(default_factory=FusionConfig)


@dataclass(frozen=True)
class TermCount:
    term: str
    count: int = 1


class Linker:
    """Opens (or builds) everything needed to link terms against one vocabulary."""

    def __init__(self, config: LinkerConfig = LinkerConfig(), dirs: DataDirs | None = None,
                 vocabulary: Vocabulary | None = None, progress: ProgressFn = no_progress,
                 cancel: CancelToken | None = None) -> None:
        from .models import ensure_encoder
        from .retrieval.encoder import OnnxEncoder
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
        self.vocabulary = vocabulary
        folder = ensure_encoder(self.dirs, config.encoder)
        self.encoder = OnnxEncoder(folder, variant=config.encoder_variant, threads=config.threads)
        bundle, self.index_rebuilt = open_or_build(self.dirs.indexes, self.vocabulary, self.encoder,
                                                   progress=progress, cancel=cancel, threads=config.threads)
        if self.index_rebuilt:
            remove_other_bundles(self.dirs.indexes, bundle.folder)
        self.retriever = Retriever(self.vocabulary, self.encoder, bundle, config.fusion)

    def link_terms(self, terms: list[str], top_k: int | None = None) -> list[LinkResult]:
        """Link a small list of distinct terms; each counted once."""
        return list(self.link([TermCount(t) for t in terms], top_k=top_k))

    def link(self, items: Iterable[TermCount], top_k: int | None = None, progress: ProgressFn = no_progress,
             cancel: CancelToken | None = None, total: int | None = None) -> Iterator[LinkResult]:
        """Stream results in input order, one batch at a time."""
        k = top_k or self.config.top_k
        batch: list[TermCount] = []
        done = 0
        for item in items:
            batch.append(item)
            if len(batch) >= self.config.batch_size:
                if cancel is not None:
                    cancel.raise_if_cancelled()
                yield from self._link_batch(batch, k)
                done += len(batch)
                progress(done, total or done)
                batch = []
        if batch:
            if cancel is not None:
                cancel.raise_if_cancelled()
            yield from self._link_batch(batch, k)
            done += len(batch)
            progress(done, total or done)

    def _link_batch(self, batch: list[TermCount], k: int) -> Iterator[LinkResult]:
        texts = []
        notes = []
        for item in batch:
            text = item.term
            if len(text) > MAX_TERM_CHARS:
                notes.append((f"term truncated to {MAX_TERM_CHARS} characters",))
                text = text[:MAX_TERM_CHARS]
            else:
                notes.append(())
            texts.append(text)
        for item, note, candidates in zip(batch, notes, self.retriever.search(texts, k)):
            yield LinkResult(item.term, item.count, tuple(candidates), warnings=note)

    @property
    def description(self) -> str:
        info = self.vocabulary.info
        return f"{info.name} {info.version}".strip()

