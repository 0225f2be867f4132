"""The retriever: exact-match short cut, dense (hnswlib) and lexical channels, fused per concept.

hnswlib and the lexical channel each nominate names; every concept owning a nominated name
is then scored exactly on both channels over all of its names (max per channel), and the
two maxima are combined linearly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..text import normalise
from ..types import Candidate
from ..vocab.model import Vocabulary
from .encoder import OnnxEncoder
from .index import IndexBundle

_LEXICAL_ROWS = 64  # rows of the dense lexical score block held at once


@dataclass(frozen=True)
class FusionConfig:
    """How the channels are combined. Defaults were tuned on AAP validation folds."""

    dense_weight: float = 0.8
    dense_candidates: int = 24  # names fetched from hnswlib per term
    lexical_candidates: int = 24  # names taken from the lexical channel per term
    ef: int = 96
    exact_bonus: float = 1.0  # added for ranking only: exact matches outrank everything else
    # On each channel a concept scores T·log Σ exp(s/T) over those of its names that scored s > 0
    # (0: its best name alone), so several close names (learned aliases) count for more than one.
    # At 0.01, with the train labels as aliases: Ask A Patient +0.005 validation / +0.0065 test
    # Acc@1 (10 folds), CHIP-CDN single Acc@1 +0.010 through the Linker (5 folds); zero-shot
    # unchanged. Larger values let the concepts with the most aliases swamp the rest
    # (docs/experiments.md, "How a concept's names add up").
    pooling_temperature: float = 0.01


@dataclass(frozen=True)
class Channels:
    vectors: np.ndarray  # one encoding per term
    dense_names: np.ndarray  # hnswlib's nearest names per term
    lexical: list[sp.csr_matrix]  # lexical scores, in blocks of _LEXICAL_ROWS terms


class Retriever:
    def __init__(self, vocab: Vocabulary, encoder: OnnxEncoder, bundle: IndexBundle,
                 fusion: FusionConfig = FusionConfig()) -> None:
        self.vocab = vocab
        self.encoder = encoder
        self.bundle = bundle
        self.fusion = fusion
        self._name_concept = np.asarray(vocab.name_concept, dtype=np.int64)
        groups: list[list[int]] = [[] for _ in vocab.concepts]
        for name_idx, concept_idx in enumerate(vocab.name_concept):
            groups[concept_idx].append(name_idx)
        self._concept_names = [np.asarray(g, dtype=np.int64) for g in groups]
        self._exact: dict[str, list[int]] = {}
        self._exact_name: dict[str, int] = {}  # the first name of each normalised form
        for name_idx, name in enumerate(vocab.names):
            key = normalise(name)
            ids = self._exact.setdefault(key, [])
            self._exact_name.setdefault(key, name_idx)
            concept_idx = vocab.name_concept[name_idx]
            if concept_idx not in ids:
                ids.append(concept_idx)
        bundle.dense.set_ef(max(fusion.ef, fusion.dense_candidates))
        # float32 in memory: gathering rows from the float16 memory map costs more than the
        # dot products themselves, and 41k HPO names take only 64 MB this way.
        self._vectors = np.asarray(bundle.vectors, dtype=np.float32)
        bundle.lexical.prepare()  # before worker threads share it

    def channels(self, terms: list[str]) -> Channels:
        """The heavy, thread-safe half of a search: encoding, hnswlib and lexical scores.

        Several batches may run this at once on worker threads (onnxruntime, hnswlib and
        scipy release the GIL); :meth:`search` then fuses on the caller's thread."""
        vectors = self.encoder.encode_queries(terms)
        labels, _ = self.bundle.dense.knn_query(vectors, k=min(self.fusion.dense_candidates, len(self.vocab.names)),
                                                num_threads=1)
        lexical = [self.bundle.lexical.scores(terms[i:i + _LEXICAL_ROWS]) for i in range(0, len(terms), _LEXICAL_ROWS)]
        return Channels(vectors, labels, lexical)

    def exact_best(self, term: str) -> Candidate | None:
        """The one concept whose name ``term`` is (after ``normalise``), found without encoding it;
        ``None`` when no name matches or names of several concepts do.

        It is what :meth:`search` ranks first, alone at its score: an exact match ranks above every
        other concept and reports 1.0, which a fused score reaches only for the same normalised
        name. Several exact concepts are left to :meth:`search`: the dense channel orders them."""
        key = normalise(term)
        concepts = self._exact.get(key)
        if concepts is None or len(concepts) != 1:
            return None
        concept = self.vocab.concepts[concepts[0]]
        return Candidate(concept.concept_id, concept.canonical_name, 1.0, 1.0,
                         self.vocab.names[self._exact_name[key]], True, 1.0)

    def search(self, terms: list[str], top_k: int = 10, channels: Channels | None = None) -> list[list[Candidate]]:
        """Top-k candidates per term; ``channels`` when :meth:`channels` already ran for ``terms``."""
        if not terms:
            return []
        if channels is None:
            channels = self.channels(terms)
        vectors, labels = channels.vectors, channels.dense_names
        out: list[list[Candidate]] = []
        k_lex = self.fusion.lexical_candidates
        for block_no, sparse in enumerate(channels.lexical):
            start = block_no * _LEXICAL_ROWS
            block = sparse.toarray()
            for row in range(block.shape[0]):
                # Top lexical names from the row's non-zeros only: far fewer than all names.
                lo, hi = sparse.indptr[row], sparse.indptr[row + 1]
                data, cols = sparse.data[lo:hi], sparse.indices[lo:hi]
                if len(data) > k_lex:
                    cols = cols[np.argpartition(-data, k_lex - 1)[:k_lex]]
                i = start + row
                out.append(self._fuse(terms[i], vectors[i], labels[i], block[row], cols, top_k))
        return out

    def _fuse(self, term: str, vector: np.ndarray, dense_names: np.ndarray, lexical_row: np.ndarray,
              lexical_names: np.ndarray, top_k: int) -> list[Candidate]:
        exact = self._exact.get(normalise(term), [])
        nominated = np.concatenate([dense_names, lexical_names]).astype(np.int64)
        concepts = list(dict.fromkeys([*exact, *self._name_concept[nominated].tolist()]))
        name_ids = np.concatenate([self._concept_names[c] for c in concepts])
        sizes = np.asarray([len(self._concept_names[c]) for c in concepts])
        starts = np.cumsum(sizes) - sizes
        dense = self._vectors[name_ids] @ vector
        lexical = lexical_row[name_ids]
        dense_max = np.maximum.reduceat(dense, starts)
        lexical_max = np.maximum.reduceat(lexical, starts)
        w = self.fusion.dense_weight
        scores = w * dense_max + (1.0 - w) * lexical_max
        is_exact = np.zeros(len(concepts), dtype=bool)
        is_exact[: len(exact)] = True
        pooled = scores
        if self.fusion.pooling_temperature > 0 and len(name_ids) > len(concepts):  # else one name each
            dense_pooled, lexical_pooled = _soft_max(np.stack([dense, lexical]), np.stack([dense_max, lexical_max]),
                                                     starts, sizes, self.fusion.pooling_temperature)
            pooled = w * dense_pooled + (1.0 - w) * lexical_pooled
        # Exact matches rank first and report 1.0; a pooled score is capped there so that the
        # reported scores stay in rank order.
        rank_by = pooled + is_exact * self.fusion.exact_bonus
        best_name_scores = np.where(is_exact, 1.0, scores)
        scores = np.where(is_exact, 1.0, np.minimum(pooled, 1.0))
        order = np.lexsort((np.asarray(concepts), -rank_by))[:top_k]
        best_name = np.where(lexical > dense, lexical, dense)
        out = []
        for j in order.tolist():
            concept = self.vocab.concepts[concepts[j]]
            segment = slice(starts[j], starts[j] + len(self._concept_names[concepts[j]]))
            matched = int(name_ids[segment][int(np.argmax(best_name[segment]))])
            score = float(scores[j])
            out.append(Candidate(concept.concept_id, concept.canonical_name, score, score,
                                 self.vocab.names[matched], bool(is_exact[j]), float(best_name_scores[j])))
        return out


def _soft_max(values: np.ndarray, maxima: np.ndarray, starts: np.ndarray, sizes: np.ndarray,
              temperature: float) -> np.ndarray:
    """T · log Σ exp(v / T) over the positive values of each segment of each row of ``values``
    (segments of ``sizes`` values beginning at ``starts``, with their ``maxima``); a segment with none
    keeps its maximum. A name that matched nothing adds nothing, or a concept would gain from its
    number of names alone. Computed from the maxima so that it cannot overflow; never below them."""
    shifted = np.exp((values - np.repeat(maxima, sizes, axis=-1)) / temperature)
    shifted[values <= 0] = 0.0
    total = np.add.reduceat(shifted, starts, axis=-1)
    return np.where(total > 0, maxima + temperature * np.log(np.maximum(total, 1.0)), maxima)
