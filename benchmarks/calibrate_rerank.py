"""Calibrate the re-ranker's fusion, skip and no-match rules on AAP validation folds; report test folds.

Re-runnable: LLM margins are cached per (model, prompt version, term, candidate names) in
``<home>/rerank-margins.json``, so a second run after a retriever change only scores what
changed. Heavy (LLM scoring of thousands of terms): run it under ``flock /tmp/heavy.lock``.

    TERMLINKER_HOME=/tmp/tl-rerank .venv/bin/python benchmarks/calibrate_rerank.py \\
        --val-folds 0-9 --test-folds 0-9 --json /tmp/calibration.json

Only validation folds choose the rules; test folds are scored once with the chosen rules.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, replace
from pathlib import Path

from bench_common import folds
from termlinker.atomic import write_text
from termlinker.evaluation.datasets import askapatient_split, askapatient_vocabulary
from termlinker.evaluation.metrics import score_rankings
from termlinker.linker import Linker, LinkerConfig, TermCount
from termlinker.paths import DataDirs
from termlinker.rerank.fusion import RerankRules, fuse, is_decisive
from termlinker.rerank.reranker import Reranker, RerankerConfig
from termlinker.types import Candidate

SCORE_CAP = 0.3  # terms whose retriever lead is at least this are never sent to the LLM


def ranked(candidates: list[Candidate], margins: list[float] | None, rules: RerankRules) -> list[str]:
    if margins is None or is_decisive(candidates, rules):
        return [c.concept_id for c in candidates]
    return [c.concept_id for c in fuse(candidates, margins[:rules.depth], rules).candidates]


def accuracy(examples, retrieved, margins, rules: RerankRules):
    preds = [ranked(retrieved[e.term], margins.get(e.term), rules) for e in examples]
    return score_rankings([e.gold for e in examples], preds)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[3] / "shared" / "data"))
    ap.add_argument("--val-folds", default="0-9")
    ap.add_argument("--test-folds", default="0-9")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--budget-s", type=float, default=1500, help="stop LLM scoring after this many seconds")
    ap.add_argument("--json", default="calibration-rerank.json")
    args = ap.parse_args()

    dirs = DataDirs.default().ensure()
    linker = Linker(LinkerConfig(threads=args.threads), dirs=dirs, vocabulary=askapatient_vocabulary(args.data_dir))
    reranker = Reranker.open(RerankerConfig(threads=args.threads), dirs)
    cache_file = dirs.root / "rerank-margins.json"
    cache = json.loads(cache_file.read_text()) if cache_file.exists() else {}
    model_key = f"{reranker.model.name}:{reranker.model.sha256 or Path(reranker.model.path).stat().st_size}:" \
                f"{reranker.scorer.template.version}"
    cache = cache.get(model_key, {}) if isinstance(cache.get(model_key), dict) else {}

    val = {f: askapatient_split(f, "validation", args.data_dir) for f in folds(args.val_folds)}
    test = {f: askapatient_split(f, "test", args.data_dir) for f in folds(args.test_folds)}
    # Validation terms first: if the budget runs out, the rules are still calibrated.
    terms = list(dict.fromkeys([e.term for ex in val.values() for e in ex] + [e.term for ex in test.values() for e in ex]))
    retrieved = {r.term: list(r.candidates) for r in linker.link((TermCount(t) for t in terms), rerank=False)}

    margins: dict[str, list[float]] = {}
    probe = RerankRules(skip_margin=SCORE_CAP)
    start = time.perf_counter()
    scored_now = 0
    for term in terms:
        cands = retrieved[term]
        if is_decisive(cands, probe):
            continue
        key = term + "\t" + "\t".join(c.name for c in cands[:probe.depth])
        if key not in cache:
            if time.perf_counter() - start > args.budget_s:
                continue
            cache[key] = [round(float(x), 4) for x in reranker.scorer.score(term, [c.name for c in cands[:probe.depth]])]
            scored_now += 1
            if scored_now % 200 == 0:
                print(f"scored {scored_now} terms in {time.perf_counter() - start:.0f}s", flush=True)
                write_text(cache_file, json.dumps({model_key: cache}))
        margins[term] = cache[key]
    write_text(cache_file, json.dumps({model_key: cache}))
    elapsed = time.perf_counter() - start

    def covered(examples):  # only examples whose term is decided (skipped or LLM-scored) count
        return [e for e in examples if e.term in margins or is_decisive(retrieved[e.term], probe)]

    val_ex = [e for ex in val.values() for e in covered(ex)]
    # 1) fusion weights, on validation terms the LLM sees (skip margin at the cap)
    grid = [RerankRules(llm_weight=wl, retrieval_weight=wr, rank_weight=wk, skip_margin=SCORE_CAP)
            for wr in (1.0,) for wl in (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0) for wk in (0.0, 0.05, 0.1, 0.2, 0.5)]
    grid += [RerankRules(llm_weight=1.0, retrieval_weight=0.0, rank_weight=wk, skip_margin=SCORE_CAP)
             for wk in (0.25, 0.5, 1.0, 2.0)]
    results = [(accuracy(val_ex, retrieved, margins, r), r) for r in grid]
    best_score, best = max(results, key=lambda sr: (sr[0].acc1, sr[0].acc5, -sr[1].llm_weight))
    # 2) skip margin: the smallest lead at which skipping costs nothing on validation (faster and as good)
    margins_grid = [0.0, 0.02, 0.05, 0.1, 0.15, 0.2, SCORE_CAP]
    skip_scores = [(accuracy(val_ex, retrieved, margins, replace(best, skip_margin=m)), m) for m in margins_grid]
    top = max(s.acc1 for s, _ in skip_scores)
    skip_margin = min(m for s, m in skip_scores if s.acc1 >= top - 1e-9)
    rules = replace(best, skip_margin=skip_margin)
    # 3) no-match threshold: highest combined score below which validation top-1 is right < 20% of the time
    tops = []
    for e in val_ex:
        cands = retrieved[e.term]
        if e.term in margins and not is_decisive(cands, rules):
            out = fuse(cands, margins[e.term][:rules.depth], rules).candidates
            tops.append((out[0].score, out[0].concept_id == e.gold))
    tops.sort()
    nil = None
    for i in range(20, len(tops)):
        if sum(ok for _, ok in tops[:i]) / i < 0.2:
            nil = tops[i - 1][0]
    rules = replace(rules, nil_threshold=nil)

    report = {"model": model_key, "llm_terms_scored_now": scored_now, "llm_seconds": round(elapsed, 1),
              "val_folds": sorted(val), "test_folds": sorted(test), "rules": asdict(rules),
              "val": {"retriever": asdict(accuracy(val_ex, retrieved, {}, rules)),
                      "reranked": asdict(accuracy(val_ex, retrieved, margins, rules)),
                      "llm_only": asdict(accuracy(val_ex, retrieved, margins,
                                                  RerankRules(llm_weight=1, retrieval_weight=0, skip_margin=SCORE_CAP)))},
              "grid_top5": [(asdict(s), asdict(r)) for s, r in sorted(results, key=lambda sr: -sr[0].acc1)[:5]],
              "test": {}}
    print(f"rules: {rules}")
    for name, row in report["val"].items():
        print(f"val {name:<10} Acc@1={row['acc1']:.3f} Acc@5={row['acc5']:.3f} n={row['n']}")
    for fold, examples in test.items():
        ex = covered(examples)
        report["test"][fold] = {"n_total": len(examples), "complete": len(ex) == len(examples),
                                "retriever": asdict(accuracy(ex, retrieved, {}, rules)),
                                "reranked": asdict(accuracy(ex, retrieved, margins, rules))}
        r, q = report["test"][fold]["retriever"], report["test"][fold]["reranked"]
        print(f"test fold {fold}{'' if len(ex) == len(examples) else ' (PARTIAL)'}: n={len(ex)}/{len(examples)} retriever Acc@1={r['acc1']:.3f} Acc@5={r['acc5']:.3f}"
              f" | reranked Acc@1={q['acc1']:.3f} Acc@5={q['acc5']:.3f}")
    if report["test"]:
        for name in ("retriever", "reranked"):
            rows = [v[name] for v in report["test"].values() if v["complete"]]
            if not rows:
                continue
            print(f"test mean over {len(rows)} complete folds {name:<10} Acc@1={sum(r['acc1'] for r in rows) / len(rows):.3f}"
                  f" Acc@5={sum(r['acc5'] for r in rows) / len(rows):.3f}")
    write_text(args.json, json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
