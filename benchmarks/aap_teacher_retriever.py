"""Ask A Patient: the teacher's labels distilled into the retriever too, then the ranking and the re-ranker.

    flock /tmp/heavy.lock .venv/bin/python benchmarks/aap_teacher_retriever.py --home HOME --work WORK \
        [--data-dir ../shared/data] [--folds 0-2] [--p 0.9] [--unlabelled 600] [--loss pointwise|listwise] \
        [--quant picked|Q8_0|Q4_K_M] [--json OUT]

Runs after ``aap_distill_experiment.py`` (same ``--home`` and ``--work``). The experiment's
baseline retriever is fine-tuned on the 10% gold share only; here, per fold, a retriever is
fine-tuned from the same zero-shot encoder on the re-ranker's training data (gold share plus the
SIMULATED teacher's labels, the validation terms left out: ``retriever_train.jsonl``), and the
fold's validation and test terms go through real ``Linker`` objects:
1. that retriever alone;
2. + a learned ranking fitted over it on the same pairs;
3. + the distilled re-ranker (``--quant``; ``picked``: the file the experiment's validation
   registered) after the ranking (``fusion.fuse_ranked``), at the ranking's shipped LLM weight
   and at the weight the validation terms choose from ``WEIGHTS``.
The LLM scores each term's ranked top 10 once; the fusions are put together from those margins
with the product's ``Reranker.rerank``. Nothing is chosen on the test split.
"""

from __future__ import annotations

import random
import time

from bench_common import FoldFiles, Lookup, experiment_parser, link_scores, reranker_model, run_folds, score_all, setting
from termlinker.distill.dataset import read_jsonl
from termlinker.distill.train_retriever import RetrieverTrainConfig, train_retriever
from termlinker.evaluation.datasets import askapatient_split, askapatient_vocabulary
from termlinker.evaluation.metrics import score_rankings
from termlinker.labels import LabelledPair
from termlinker.linker import Linker, LinkerConfig
from termlinker.paths import DataDirs
from termlinker.rerank.learn_ranking import learn_ranking
from termlinker.rerank.reranker import Reranker

WEIGHTS = (0.25, 0.5, 1.0, 2.0)


def run_fold(fold: int, args, dirs: DataDirs) -> dict:
    vocab = askapatient_vocabulary(args.data_dir)
    test = [(e.term, e.gold) for e in askapatient_split(fold, "test", args.data_dir)]
    files = FoldFiles.of(fold, args)
    dataset = files.dataset
    val = [(r["term"], r["concept_id"]) for r in read_jsonl(dataset / "retriever_val.jsonl")
           if r["concept_id"] in vocab]
    encoder = f"aap-f{fold}-s{args.share:g}-teacher-{setting(args)}"
    began = time.monotonic()
    report = train_retriever(dataset, vocab, dirs, encoder, RetrieverTrainConfig(threads=args.threads),
                             evaluate=False)
    train_seconds = round(time.monotonic() - began, 1)
    pairs = [LabelledPair(r["term"], r["concept_id"]) for r in read_jsonl(dataset / "retriever_train.jsonl")]
    random.Random(args.seed).shuffle(pairs)
    plain = Linker(LinkerConfig(vocabulary="askapatient", encoder=encoder, threads=args.threads), dirs=dirs,
                   vocabulary=vocab)
    ranker_path = files.teacher_retriever_ranking
    learn_ranking(plain, pairs).save(ranker_path)
    ranked = Linker(LinkerConfig(vocabulary="askapatient", encoder=encoder, threads=args.threads,
                                 ranker=str(ranker_path)), dirs=dirs, vocabulary=vocab)
    distilled = reranker_model(fold, args, dirs)
    gguf = distilled.path
    terms = list(dict.fromkeys(t for t, _ in val + test))
    by_ranking = dict(zip(terms, (list(r.candidates) for r in ranked.link_terms(terms, top_k=10))))
    margins, speed = score_all(gguf, distilled.adapter, {t: [c.name for c in by_ranking[t]] for t in terms},
                              args.threads, distilled.prompt_version)
    reranker = Reranker(Lookup(margins))

    def acc(items, weight):
        return score_rankings([g for _, g in items], [[c.concept_id for c in reranker.rerank(
            t, by_ranking[t], weight).candidates] for t, _ in items]).to_json()

    on_val = {w: acc(val, w) for w in WEIGHTS}
    chosen = max(WEIGHTS, key=lambda w: (on_val[w]["acc1"], on_val[w]["mrr"], -w))
    shipped = ranked.ranker.llm_weight
    return {"fold": fold, "encoder": encoder, "retriever_pairs": report.pairs, "reranker": gguf,
            "retriever_train_seconds": train_seconds, "ranking_pairs": len(pairs), "scoring": speed,
            "validation_terms": len(val), "validation_acc1_by_weight": {str(w): v["acc1"] for w, v in on_val.items()},
            "chosen_weight": chosen, "shipped_weight": shipped,
            "test": {"teacher_retriever": link_scores(plain, test),
                     "teacher_retriever_ranking": link_scores(ranked, test),
                     "teacher_retriever_ranking_distilled_reranker": acc(test, shipped),
                     "teacher_retriever_ranking_distilled_reranker_chosen_weight": acc(test, chosen)}}


def main() -> None:
    ap = experiment_parser("bench-aap-teacher-retriever.json")
    ap.set_defaults(quant="picked")
    args = ap.parse_args()
    run_folds(args, run_fold, lambda rows: [print(r["fold"], {k: (v["acc1"], v["acc5"]) for k, v in r["test"].items()},
                                                   flush=True) for r in rows[-1:]])

if __name__ == "__main__":
    main()
