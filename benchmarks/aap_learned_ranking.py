"""Ask A Patient: a learned ranking from the teacher's labels, alone and under the distilled re-ranker.

    flock /tmp/heavy.lock .venv/bin/python benchmarks/aap_learned_ranking.py --home HOME --work WORK \
        [--data-dir ../shared/data] [--folds 0-2] [--p 0.9] [--unlabelled 600] [--loss listwise|pointwise] \
        [--quant Q4_K_M|Q8_0|picked] [--no-controls] [--json OUT]

Runs after ``aap_distill_experiment.py`` (same ``--home``, ``--work``, ``--p``, ``--unlabelled``) and
reuses what it made per fold: the retriever fine-tuned on the 10% gold share, the SIMULATED
teacher's labels, the distilled re-ranker's GGUF and its validation terms. Per fold:

1. a ranking (``rerank.learn_ranking``) is fitted on the gold share plus the teacher's labels,
   leaving out the re-ranker's validation terms, so neither model has seen them; as a control,
   another on the gold share alone;
2. the fold's test split goes through real ``Linker`` objects: the fine-tuned retriever, + each
   learned ranking, + a ranking and the distilled re-ranker (``fusion.fuse_ranked`` at the
   ranking's default LLM weight; the test split chooses nothing), and, as a control, the
   teacher-label ranking with the base (undistilled) SmolLM2;
3. the same three on the validation terms, which is where the LLM weight was chosen (fold 1).
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

from bench_common import FoldFiles, experiment_parser, link_scores, reranker_model, run_folds
from termlinker.labels import read_teacher_labels
from termlinker.evaluation.datasets import askapatient_split, askapatient_vocabulary
from termlinker.labels import LabelledPair
from termlinker.linker import Linker, LinkerConfig
from termlinker.paths import DataDirs
from termlinker.rerank.learn_ranking import learn_ranking
from termlinker.rerank.registry import DEFAULT_RERANKER
from termlinker.rerank.reranker import RerankerConfig
from termlinker.text import normalise


def run_fold(fold: int, args, dirs: DataDirs) -> dict:
    vocab = askapatient_vocabulary(args.data_dir)
    train = askapatient_split(fold, "train", args.data_dir)
    test = askapatient_split(fold, "test", args.data_dir)
    gold = random.Random(args.seed).sample(train, max(1, round(args.share * len(train))))  # as the experiment
    files = FoldFiles.of(fold, args)
    teacher = read_teacher_labels(files.labels)
    dataset = files.dataset
    with open(dataset / "retriever_val.jsonl", encoding="utf-8") as fh:
        val = [(r["term"], r["concept_id"]) for r in map(json.loads, fh) if r["concept_id"] in vocab]
    held = {normalise(t) for t, _ in val}
    pairs = [LabelledPair(e.term, e.gold) for e in gold] + [LabelledPair(x.term, x.concept_id) for x in teacher]

    encoder = f"aap-f{fold}-s{args.share:g}"
    base = LinkerConfig(vocabulary="askapatient", encoder=encoder, threads=args.threads)
    plain = Linker(base, dirs=dirs, vocabulary=vocab)
    began = time.monotonic()
    used = [p for p in pairs if normalise(p.term) not in held]
    ranker = learn_ranking(plain, used)
    fit_seconds = round(time.monotonic() - began, 1)
    ranker_path = files.ranking
    ranker.save(ranker_path)
    gold_path = files.folder / "ranker-gold-only.json"
    learn_ranking(plain, [p for p in used if p in pairs[:len(gold)]]).save(gold_path)
    distilled = reranker_model(fold, args, dirs)
    # the registered name carries the prompt and any adapter; a bare file reads the default prompt
    gguf = distilled.name if args.quant == "picked" else distilled.path

    def linker(ranker_file: Path, model: str | None = None) -> Linker:
        config = LinkerConfig(vocabulary="askapatient", encoder=encoder, threads=args.threads, ranker=str(ranker_file),
                              rerank=model is not None, reranker=RerankerConfig(model=model, threads=args.threads))
        out = Linker(config, dirs=dirs, vocabulary=vocab)
        if model is not None and out.reranker is None:
            raise SystemExit(f"fold {fold}: the re-ranker {model} did not load: {out.warnings}")
        return out

    systems = {"fine_tuned_retriever": plain, "learned_ranking": linker(ranker_path),
               "learned_ranking_distilled_reranker": linker(ranker_path, gguf),
               "learned_ranking_base_reranker": linker(ranker_path, DEFAULT_RERANKER),
               "gold_only_ranking": linker(gold_path),
               "gold_only_ranking_distilled_reranker": linker(gold_path, gguf)}
    if args.no_controls:
        systems = {k: v for k, v in systems.items() if k not in CONTROLS}
    row = {"fold": fold, "ranker_pairs": len(used), "ranker_fit_seconds": fit_seconds,
           "ranker_held_out": ranker.trained_on["held_out"], "llm_weight": ranker.llm_weight, "reranker": distilled.path,
           "adapter": distilled.adapter}
    for split, items in (("validation", val), ("test", [(e.term, e.gold) for e in test])):
        row[split] = {key: link_scores(system, items) for key, system in systems.items()}
    return row


CONTROLS = ("learned_ranking_base_reranker", "gold_only_ranking", "gold_only_ranking_distilled_reranker")


def main() -> None:
    ap = experiment_parser("bench-aap-learned-ranking.json")
    ap.add_argument("--no-controls", action="store_true", help="only the retriever, the ranking and both + the LLM")
    args = ap.parse_args()
    run_folds(args, run_fold, lambda rows: print_table(rows, args))

def print_table(rows: list[dict], args) -> None:
    print(f"\nAAP test folds, SIMULATED teacher p={args.p:g}, distilled re-ranker {args.quant}")
    print("| system | " + " | ".join(f"fold {r['fold']} Acc@1 / Acc@5" for r in rows) + " | mean Acc@1 |")
    print("|---|" + "---|" * (len(rows) + 1))
    for key, label in (("fine_tuned_retriever", "fine-tuned retriever"),
                       ("learned_ranking", "+ learned ranking (gold + teacher labels)"),
                       ("learned_ranking_distilled_reranker", "+ learned ranking + distilled re-ranker"),
                       ("learned_ranking_base_reranker", "+ learned ranking + base re-ranker (control)"),
                       ("gold_only_ranking", "+ learned ranking, gold share only (control)"),
                       ("gold_only_ranking_distilled_reranker",
                        "+ learned ranking, gold share only, + distilled re-ranker (control)")):
        if not all(key in r["test"] for r in rows):
            continue
        cells = [f"{r['test'][key]['acc1']:.3f} / {r['test'][key]['acc5']:.3f}" for r in rows]
        mean = sum(r["test"][key]["acc1"] for r in rows) / len(rows)
        print(f"| {label} | " + " | ".join(cells) + f" | {mean:.3f} |", flush=True)


if __name__ == "__main__":
    main()
