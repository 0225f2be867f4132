"""Ask A Patient: the teacher's labels distilled into the retriever too, then the ranking and the re-ranker.

    flock /tmp/heavy.lock .venv/bin/python tests/benchmarks/aap_teacher_retriever.py --home HOME --work WORK \
        [--data-dir ../shared/data] [--folds 0-2] [--p 0.9] [--unlabelled 600] [--quant Q4_K_M] [--json OUT]

Runs after ``aap_distill_experiment.py`` (same ``--home`` and ``--work``). The experiment's
baseline retriever is fine-tuned on the 10% gold share only; here, per fold, a retriever is
fine-tuned from the same zero-shot encoder on the re-ranker's training data (gold share plus the
SIMULATED teacher's labels, the validation terms left out: ``retriever_train.jsonl``), and the
fold's test split goes through real ``Linker`` objects:
1. that retriever alone;
2. + a learned ranking fitted over it on the same pairs;
3. + the same distilled re-ranker (``--quant``) after the ranking (``fusion.fuse_ranked``).
Nothing is chosen on the test split.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from bench_common import experiment_parser, link_scores, run_folds
from termlinker.distill.dataset import read_jsonl
from termlinker.distill.train_retriever import RetrieverTrainConfig, train_retriever
from termlinker.evaluation.datasets import askapatient_split, askapatient_vocabulary
from termlinker.linker import Linker, LinkerConfig
from termlinker.paths import DataDirs
from termlinker.rerank.learn_ranking import learn_ranking
from termlinker.rerank.reranker import RerankerConfig
from termlinker.vocab.aliases import AliasPair


def run_fold(fold: int, args, dirs: DataDirs) -> dict:
    vocab = askapatient_vocabulary(args.data_dir)
    test = [(e.term, e.gold) for e in askapatient_split(fold, "test", args.data_dir)]
    dataset = Path(args.work) / f"fold{fold}" / f"rerank-ds-simulated-p{args.p:g}"
    encoder = f"aap-f{fold}-s{args.share:g}-teacher-p{args.p:g}"
    began = time.monotonic()
    report = train_retriever(dataset, vocab, dirs, encoder, RetrieverTrainConfig(threads=args.threads),
                             evaluate=False)
    train_seconds = round(time.monotonic() - began, 1)
    pairs = [AliasPair(r["term"], r["concept_id"]) for r in read_jsonl(dataset / "retriever_train.jsonl")]
    random.Random(args.seed).shuffle(pairs)
    base = LinkerConfig(vocabulary="askapatient", encoder=encoder, threads=args.threads)
    plain = Linker(base, dirs=dirs, vocabulary=vocab)
    ranker_path = dataset.parent / f"ranker-teacher-retriever-p{args.p:g}.json"
    learn_ranking(plain, pairs).save(ranker_path)
    name = f"aap-f{fold}-rr-simulated-p{args.p:g}-n{args.unlabelled}"
    gguf = dirs.models / "rerankers" / name / f"{name}.{args.quant}.gguf"
    ranked = Linker(LinkerConfig(vocabulary="askapatient", encoder=encoder, threads=args.threads,
                                 ranker=str(ranker_path)), dirs=dirs, vocabulary=vocab)
    reranked = Linker(LinkerConfig(vocabulary="askapatient", encoder=encoder, threads=args.threads,
                                   ranker=str(ranker_path), rerank=True,
                                   reranker=RerankerConfig(model=str(gguf), threads=args.threads)),
                      dirs=dirs, vocabulary=vocab)
    if reranked.reranker is None:
        raise SystemExit(f"fold {fold}: the re-ranker {gguf} did not load: {reranked.warnings}")
    return {"fold": fold, "encoder": encoder, "retriever_pairs": report.pairs,
            "retriever_train_seconds": train_seconds, "ranking_pairs": len(pairs),
            "test": {"teacher_retriever": link_scores(plain, test),
                     "teacher_retriever_ranking": link_scores(ranked, test),
                     "teacher_retriever_ranking_distilled_reranker": link_scores(reranked, test)}}


def main() -> None:
    ap = experiment_parser("bench-aap-teacher-retriever.json")
    args = ap.parse_args()
    run_folds(args, run_fold, lambda rows: [print(r["fold"], {k: (v["acc1"], v["acc5"]) for k, v in r["test"].items()},
                                                   flush=True) for r in rows[-1:]])

if __name__ == "__main__":
    main()
