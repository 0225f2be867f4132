"""Character n-gram TF-IDF: catches misspellings and shared word pieces that a dense
encoder misses, and needs no word segmentation, so it serves Chinese too."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..atomic import atomic_open
from ..text import normalise


def char_ngrams(text: str, lo: int, hi: int) -> Counter[str]:
    key = f" {normalise(text)} "
    grams: Counter[str] = Counter()
    for n in range(lo, hi + 1):
        for i in range(len(key) - n + 1):
            gram = key[i:i + n]
            if gram.strip():
                grams[gram] += 1
    return grams


@dataclass
class LexicalIndex:
    """Rows of ``matrix`` are L2-normalised TF-IDF vectors of the vocabulary's names."""

    ngram_range: tuple[int, int]
    features: dict[str, int]
    idf: np.ndarray
    matrix: sp.csr_matrix
    _transposed: sp.csr_matrix | None = field(default=None, repr=False)

    @classmethod
    def build(cls, names: list[str], ngram_range: tuple[int, int] = (1, 3),
              max_df: float = 0.02, min_max_df: int = 100) -> "LexicalIndex":
        """``max_df``: n-grams in more than this share of names (and more than ``min_max_df``
        names) are dropped. They carry almost no information (single letters, "in", "of")
        yet would make every query touch every name, which costs more than all else."""
        lo, hi = ngram_range
        per_name = [char_ngrams(name, lo, hi) for name in names]
        df: Counter[str] = Counter()
        for grams in per_name:
            df.update(grams.keys())
        n = len(names)
        limit = max(min_max_df, int(max_df * n))
        kept = [g for g, d in df.items() if d <= limit]
        features = {g: i for i, g in enumerate(kept)}
        idf = np.asarray([math.log((1 + n) / (1 + df[g])) + 1.0 for g in kept], dtype=np.float32)
        rows, cols, vals = [], [], []
        for r, grams in enumerate(per_name):
            for gram, tf in grams.items():
                c = features.get(gram)
                if c is not None:
                    rows.append(r)
                    cols.append(c)
                    vals.append((1.0 + math.log(tf)) * float(idf[c]))
        matrix = sp.csr_matrix((np.asarray(vals, dtype=np.float32), (rows, cols)), shape=(n, len(features)))
        return cls(ngram_range, features, idf, _l2_rows(matrix))

    def vectorise(self, texts: list[str]) -> sp.csr_matrix:
        lo, hi = self.ngram_range
        rows, cols, vals = [], [], []
        for r, text in enumerate(texts):
            for gram, tf in char_ngrams(text, lo, hi).items():
                c = self.features.get(gram)
                if c is not None:
                    rows.append(r)
                    cols.append(c)
                    vals.append((1.0 + math.log(tf)) * float(self.idf[c]))
        q = sp.csr_matrix((np.asarray(vals, dtype=np.float32), (rows, cols)), shape=(len(texts), len(self.features)))
        return _l2_rows(q)

    def prepare(self) -> None:
        """Build the (features x names) matrix queries are multiplied with."""
        if self._transposed is None:
            self._transposed = self.matrix.T.tocsr()

    def scores(self, texts: list[str]) -> sp.csr_matrix:
        """Cosine similarity of each text with each name (texts x names, zeros left out)."""
        self.prepare()
        return (self.vectorise(texts) @ self._transposed).tocsr()

    def save(self, folder: Path) -> list[str]:
        with atomic_open(folder / "lexical.json", "w", encoding="utf-8") as fh:
            json.dump({"ngram_range": list(self.ngram_range), "features": list(self.features)}, fh, ensure_ascii=False)
        with atomic_open(folder / "lexical.npz", "wb") as fh:
            np.savez(fh, idf=self.idf, data=self.matrix.data, indices=self.matrix.indices,
                     indptr=self.matrix.indptr, shape=np.asarray(self.matrix.shape))
        return ["lexical.json", "lexical.npz"]

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        meta = json.loads((folder / "lexical.json").read_text(encoding="utf-8"))
        with np.load(folder / "lexical.npz", allow_pickle=False) as arrays:
            matrix = sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=tuple(arrays["shape"]))
            idf = arrays["idf"]
        features = {g: i for i, g in enumerate(meta["features"])}
        return cls(tuple(meta["ngram_range"]), features, idf, matrix)


def _l2_rows(m: sp.spmatrix) -> sp.csr_matrix:
    m = sp.csr_matrix(m)
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ m)
