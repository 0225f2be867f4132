"""Self-alignment of the default encoder on open vocabularies' synonyms (SapBERT's idea on 2 cores).
Training plus a dense-only check on AAP validation folds; figures, not a test.

    python benchmarks/self_align_encoder.py --out /tmp/sa/run1 --steps 1200 [--lr 3e-5] [--batch 64]
        [--cluster 8] [--lay-weight 3] [--check-every 300] [--data-dir ../shared/data]

What it trains on: every concept of the built-in HPO (all synonym scopes; layperson synonyms drawn
``--lay-weight`` times as often) and ICD-10-CM (inclusion terms) with at least two distinct names.
No benchmark mention is trained on: AAP and CHIP-CDN are read only to score checkpoints, and the 2,000
HPO synonyms that ``benchmarks/retriever_forgetting.py`` holds out (seed 0) are removed from training.

A batch holds one (name, other name) pair per concept, drawn as clusters of ``--cluster`` concepts
that are nearest neighbours under the starting encoder (hard negatives from the start; SapBERT mines
them online inside large random batches, which 2 cores cannot afford). Concepts that share a name
across vocabularies (HPO "Headache", ICD-10-CM R51.9) are masked out of each other's negatives.
Loss: symmetric in-batch softmax at scale 20. Checkpoints are scored dense-only on the 10 AAP
validation folds (phrase -> the 1,036 concept names); the best is kept as ``<out>/best``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np

from retriever_forgetting import held_out
from termlinker.evaluation.datasets import askapatient_dir
from termlinker.text import normalise
from termlinker.vocab.builtin import _hpo_sources, load_icd10cm
from termlinker.vocab.obo import parse_obo


def hpo_names(excluded: set[tuple[str, str]]) -> list[tuple[str, list[str], set[str]]]:
    """(concept id, names, layperson names) for HPO terms, as the OBO file types them."""
    doc = parse_obo(_hpo_sources()[0])
    out = []
    for term in doc.terms:
        if term.obsolete or not term.name:
            continue
        names = [term.name] + [s.text for s in term.synonyms if (term.id, s.text) not in excluded]
        lay = {s.text for s in term.synonyms if s.type == "layperson" and (term.id, s.text) not in excluded}
        out.append((term.id, names, lay))
    return out


def distinct(names: list[str]) -> list[str]:
    seen: set[str] = set()
    kept = []
    for name in names:
        key = normalise(name)
        if key and key not in seen:
            seen.add(key)
            kept.append(name)
    return kept


def training_concepts(excluded: set[tuple[str, str]]) -> list[dict]:
    concepts = []
    for cid, names, lay in hpo_names(excluded):
        names = distinct(names)
        if len(names) >= 2:
            concepts.append({"id": cid, "names": names, "lay": sorted(lay)})
    for concept in load_icd10cm().concepts:
        names = distinct(list(concept.names))
        if len(names) >= 2:
            concepts.append({"id": "ICD10CM:" + concept.concept_id, "names": names, "lay": []})
    return concepts


def draw_pair(concept: dict, rng: random.Random, lay_weight: int) -> tuple[str, str]:
    """Two different names of one concept; a layperson name is the anchor more often."""
    names = concept["names"]
    pool = names + concept["lay"] * (lay_weight - 1)
    anchor = rng.choice(pool)
    positive = rng.choice([n for n in names if n != anchor] or names)
    return anchor, positive


def neighbours(vectors: np.ndarray, k: int) -> np.ndarray:
    out = np.empty((len(vectors), k), dtype=np.int64)
    for start in range(0, len(vectors), 2048):
        sims = vectors[start:start + 2048] @ vectors.T
        for row in range(sims.shape[0]):
            sims[row, start + row] = -np.inf
        out[start:start + 2048] = np.argpartition(-sims, k, axis=1)[:, :k]
    return out


def plan_batches(n: int, near: np.ndarray, batch: int, cluster: int, rng: random.Random) -> list[list[int]]:
    """One pass over all concepts: each batch is clusters of mutual near neighbours."""
    order = list(range(n))
    rng.shuffle(order)
    used = np.zeros(n, dtype=bool)
    batches, current = [], []
    for seed in order:
        if used[seed]:
            continue
        group = [seed]
        used[seed] = True
        for other in near[seed]:
            if len(group) >= cluster:
                break
            if not used[other]:
                used[other] = True
                group.append(int(other))
        current.extend(group)
        if len(current) >= batch:
            batches.append(current[:batch])
            current = current[batch:]
    return batches


def read_aap_validation(data_dir: str) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    folder = askapatient_dir(data_dir)
    concepts = json.loads((folder / "concepts.json").read_text(encoding="utf-8"))
    ids = list(concepts)
    names = [concepts[c][0][1] for c in ids]
    pairs = []
    for fold in range(10):
        path = folder / f"AskAPatient.fold-{fold}.validation.txt"
        for line in path.read_text(encoding="latin-1").splitlines():
            parts = line.split("\t")
            if len(parts) >= 3:
                pairs.append((parts[2], parts[0]))
    return ids, names, pairs


def score_dense(model, ids: list[str], names: list[str], pairs: list[tuple[str, str]]) -> dict:
    import torch

    with torch.no_grad():
        was = model.training
        model.eval()
        c = model.encode(names, batch_size=128, normalize_embeddings=True, convert_to_numpy=True)
        phrases = sorted({p for p, _ in pairs})
        q = model.encode(phrases, batch_size=128, normalize_embeddings=True, convert_to_numpy=True)
        model.train(was)
    row = {p: i for i, p in enumerate(phrases)}
    top = np.argsort(-(q @ c.T), axis=1)[:, :5]
    index = {cid: i for i, cid in enumerate(ids)}
    hits1 = hits5 = 0
    for phrase, gold in pairs:
        ranked = top[row[phrase]]
        g = index.get(gold, -1)
        hits1 += int(ranked[0] == g)
        hits5 += int(g in ranked)
    return {"acc1": hits1 / len(pairs), "acc5": hits5 / len(pairs)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--cluster", type=int, default=8, help="near-neighbour concepts per group (1 = random batches)")
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--scale", type=float, default=20.0)
    parser.add_argument("--lay-weight", type=int, default=3)
    parser.add_argument("--check-every", type=int, default=300)
    parser.add_argument("--max-seq-length", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch
    from sentence_transformers import SentenceTransformer
    from termlinker.paths import DataDirs
    from termlinker.retrieval.export import default_model_source
    from termlinker.vocab.store import VocabularyStore

    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()

    hpo = VocabularyStore(DataDirs.default().ensure()).get("hpo")
    _, queries = held_out(hpo, 2000, 0)
    excluded = {(cid, alias) for alias, cid in queries}
    concepts = training_concepts(excluded)
    n_lay = sum(len(c["lay"]) for c in concepts)
    print(f"{len(concepts)} concepts with >= 2 names ({n_lay} layperson names); "
          f"{len(excluded)} HPO synonyms held out", flush=True)

    model = SentenceTransformer(str(default_model_source()), device="cpu")
    model.max_seq_length = args.max_seq_length
    ids, names, pairs = read_aap_validation(args.data_dir)
    history = [{"step": 0, **score_dense(model, ids, names, pairs), "seconds": time.perf_counter() - began}]
    print(f"step 0: AAP validation dense Acc@1 {history[0]['acc1']:.4f} Acc@5 {history[0]['acc5']:.4f}", flush=True)

    near = None
    if args.cluster > 1:
        start = time.perf_counter()
        vectors = model.encode([c["names"][0] for c in concepts], batch_size=256, normalize_embeddings=True,
                               convert_to_numpy=True)
        near = neighbours(vectors.astype(np.float32), 16)
        print(f"neighbours of {len(concepts)} concepts in {time.perf_counter() - start:.0f} s", flush=True)
    keys = [{normalise(n) for n in c["names"]} for c in concepts]

    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)
    warmup = max(1, args.steps // 10)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (args.steps - s) / max(1, args.steps - warmup))))
    queue: list[list[int]] = []
    best = history[0]
    model.train()
    train_start = time.perf_counter()
    for step in range(1, args.steps + 1):
        if not queue:
            if near is not None:
                queue = plan_batches(len(concepts), near, args.batch, args.cluster, rng)
            else:
                order = list(range(len(concepts)))
                rng.shuffle(order)
                queue = [order[i:i + args.batch] for i in range(0, len(order) - args.batch + 1, args.batch)]
        batch = queue.pop()
        drawn = [draw_pair(concepts[i], rng, args.lay_weight) for i in batch]
        a = model(dict(model.preprocess([x for x, _ in drawn])))["sentence_embedding"]
        b = model(dict(model.preprocess([y for _, y in drawn])))["sentence_embedding"]
        a = torch.nn.functional.normalize(a, dim=1)
        b = torch.nn.functional.normalize(b, dim=1)
        logits = args.scale * a @ b.T
        # Two concepts sharing a name (across vocabularies) are not each other's negatives.
        same = torch.tensor([[i != j and bool(keys[bi] & keys[bj]) for j, bj in enumerate(batch)]
                             for i, bi in enumerate(batch)])
        logits = logits.masked_fill(same, -1e4)
        target = torch.arange(len(batch))
        loss = (torch.nn.functional.cross_entropy(logits, target) +
                torch.nn.functional.cross_entropy(logits.T, target)) / 2
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        if step % 50 == 0:
            rate = (time.perf_counter() - train_start) / step
            print(f"step {step}/{args.steps} loss {loss.item():.3f} ({rate:.2f} s/step)", flush=True)
        if step % args.check_every == 0 or step == args.steps:
            row = {"step": step, **score_dense(model, ids, names, pairs), "seconds": time.perf_counter() - began}
            history.append(row)
            print(f"step {step}: AAP validation dense Acc@1 {row['acc1']:.4f} Acc@5 {row['acc5']:.4f}", flush=True)
            if row["acc1"] + row["acc5"] > best["acc1"] + best["acc5"]:
                best = row
                model.save(str(out / "best"))
    model.save(str(out / "last"))
    result = {"args": vars(args), "concepts": len(concepts), "layperson_names": n_lay, "history": history,
              "best": best, "seconds": time.perf_counter() - began}
    (out / "self_align.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps({"best": best, "seconds": round(result["seconds"])}), flush=True)


if __name__ == "__main__":
    main()
