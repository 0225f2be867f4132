"""The retriever: exact-match short cut, dense (hnswlib) and lexical channels, fused per concept."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..text import normalise
from ..types import Candidate
from ..vocab.model import Vocabulary
from .encoder import OnnxEncoder
from .index import IndexBundle


@dataclass(frozen=True)
class FusionConfig:
    """How the channels are combined. Defaults were tuned on AAP validation folds."""

    dense_weight: float = 0.6
    dense_candidates: int = 64  # names fetched from hnswlib per term
    lexical_candidates: int = 64  # names taken from the lexical channel per term
    ef: int = 128
    exact_bonus: float = 1.0  # exact matches outrank everything else


class Retriever:
    def __init__(self, vocab: Vocabulary, encoder: OnnxEncoder, bundle: IndexBundle,
                 fusion: FusionConfig = FusionConfig()) -> None:
        self.vocab = vocab
        self.encoder = encoder
        self.bundle = bundle
        self.fusion = fusion
        self._name_concept = np.asarray(vocab.name_concept, dtype=np.int64)
        self._concept_names: list[list[int]] = [[] for _ in vocab.concepts]
        for name_idx, concept_idx in enumerate(vocab.name_concept):
            self._concept_names[concept_idx].append(name_idx)
        self._exact: dict[str, list[int]] = {}
        for name_idx, name in enumerate(vocab.names):
            ids = self._exact.setdefault(normalise(name), [])
            concept_idx = vocab.name_concept[name_idx]
            if concept_idx not in ids:
                ids.append(concept_idx)
        bundle.dense.set_ef(max(fusion.ef, fusion.dense_candidates))

    def search(self, terms: list[str], top_k: int = 10) -> list[list[Candidate]]:
        if not terms:
            return []
        vectors = self.encoder.encode_queries(terms)
        n_names = len(self.vocab.names)
        k_dense = min(self.fusion.dense_candidates, n_names)
        labels, distances = self.bundle.dense.knn_query(vectors, k=k_dense)
        lexical = self.bundle.lexical.scores(terms)
        return [self._fuse(term, vectors[row], labels[row], 1.0 - distances[row], lexical.getrow(row), top_k)
                for row, term in enumerate(terms)]

    def _fuse(self, term: str, vector: np.ndarray, name_ids: np.ndarray, dense_sims: np.ndarray,
              lexical_row, top_k: int) -> list[Candidate]:
        fusion = self.fusion
        dense: dict[int, tuple[float, int]] = {}
        for name_idx, sim in zip(name_ids.tolist(), dense_sims.tolist()):
            concept = int(self._name_concept[name_idx])
            if concept not in dense or sim > dense[concept][0]:
                dense[concept] = (sim, name_idx)
        lex_all: dict[int, tuple[float, int]] = {}
        for name_idx, sim in zip(lexical_row.indices.tolist(), lexical_row.data.tolist()):
            concept = int(self._name_concept[name_idx])
            if concept not in lex_all or sim > lex_all[concept][0]:
                lex_all[concept] = (sim, name_idx)
        lex_top = sorted(lex_all, key=lambda c: -lex_all[c][0])[:fusion.lexical_candidates]
        exact = self._exact.get(normalise(term), [])
        pool = set(dense) | set(lex_top) | set(exact)
        missing = [c for c in pool if c not in dense]
        if missing:
            # Lexical-only candidates still deserve a real dense score, read back from the index.
            ids = [n for c in missing for n in self._concept_names[c]]
            sims = np.asarray(self.bundle.dense.get_items(ids), dtype=np.float32) @ vector
            pos = 0
            for c in missing:
                count = len(self._concept_names[c])
                block = sims[pos:pos + count]
                best = int(np.argmax(block))
                dense[c] = (float(block[best]), self._concept_names[c][best])
                pos += count
        w = fusion.dense_weight
        scored = []
        for c in pool:
            d, d_name = dense[c]
            lx, l_name = lex_all.get(c, (0.0, d_name))
            score = w * d + (1.0 - w) * lx
            is_exact = c in exact
            if is_exact:
                score += fusion.exact_bonus
            matched = l_name if lx > d else d_name
            scored.append((score, c, matched, is_exact))
        scored.sort(key=lambda item: (-item[0], item[1]))
        out = []
        for score, c, matched, is_exact in scored[:top_k]:
            concept = self.vocab.concepts[c]
            out.append(Candidate(concept.concept_id, concept.canonical_name, float(score), float(score),
                                 self.vocab.names[matched], is_exact))
        return out
