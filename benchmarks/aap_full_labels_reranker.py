"""Ask A Patient with every train label, and a re-ranker distilled from them on top (figures, not a test).

    TERMLINKER_HOME=/tmp/tl-full python benchmarks/aap_full_labels_reranker.py \\
        [--data-dir ../shared/data] [--fold 0] [--rerank-terms 600] [--json out.json]

The fully supervised setting of ``aap_full_labels.py`` (run it first with the same home: this script
reuses its fine-tuned encoder ``aap-full-f{fold}-e1``, or trains it), asked one more question: does
a distilled LLM re-ranker still help once every train phrase is a learned alias and the encoder
is fine-tuned on them? Per fold:
1. the retriever: the fine-tuned encoder + learned aliases (every train phrase a synonym);
2. re-ranker data: a seeded sample of ``--rerank-terms`` train labels (LoRA on 2 cores took about
   0.3 s an example with export, so not all 3,874 distinct phrases), each with its gold and 3 hard negatives nominated by the
   zero-shot retriever without aliases (over the aliased or the fine-tuned retriever the train
   phrases would find themselves, and the negatives would teach nothing); the default base
   (SmolLM2-135M), listwise loss, one epoch, a LoRA adapter over the base file, as shipped;
3. the base and the distilled re-ranker each get fusion and skip rules calibrated on the fold's
   VALIDATION split through the retriever of step 1 (``rerank.calibration.calibrate``);
4. the TEST split, Acc@1/Acc@5, for the retriever, + base re-ranker, + distilled re-ranker. Each
   re-ranker is sent only the terms its rules do not find decisive. The test split chooses nothing.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import asdict, replace

from termlinker.distill.dataset import DatasetConfig, build_dataset, merge_gold
from termlinker.distill.gguf_export import ADAPTER
from termlinker.distill.learn_retriever import learn_retriever
from termlinker.distill.train_reranker import RerankerTrainConfig, train_reranker
from termlinker.distill.train_retriever import RetrieverTrainConfig
from termlinker.distill.validate_reranker import score_margins
from termlinker.evaluation.datasets import askapatient_split, askapatient_vocabulary
from termlinker.evaluation.metrics import score_rankings
from termlinker.labels import LabelledPair
from termlinker.linker import Linker, LinkerConfig
from termlinker.paths import DataDirs
from termlinker.rerank.calibration import calibrate, ranked_ids
from termlinker.rerank.fusion import is_decisive
from termlinker.rerank.registry import DEFAULT_RERANKER, RerankerRegistry
from termlinker.vocab.aliases import learn_aliases


def retrieved_for(linker: Linker, items) -> dict[str, list]:
    terms = list(dict.fromkeys(e.term for e in items))
    return dict(zip(terms, (list(r.candidates) for r in linker.link_terms(terms, top_k=10))))


def calibrated(model: tuple[str, str | None], prompt: str, validation, retrieved: dict, threads: int) -> dict:
    """Rules for one re-ranker, chosen on the validation split (every distinct term scored once)."""
    path, adapter = model
    terms = list(retrieved)
    began = time.monotonic()
    margins = dict(zip(terms, score_margins(path, prompt, terms, [retrieved[t] for t in terms], 10, threads,
                                            adapter=adapter)))
    seconds = time.monotonic() - began
    calibration = calibrate([e.gold for e in validation], [retrieved[e.term] for e in validation],
                            [margins[e.term] for e in validation])
    return {"rules": calibration.rules, "validation": {
        "retriever": asdict(calibration.retriever), "reranked": asdict(calibration.reranked),
        "llm_only": asdict(calibration.llm_only), "terms_per_s": round(len(terms) / seconds, 2)}}


def tested(model: tuple[str, str | None], prompt: str, rules, test, retrieved: dict, threads: int) -> dict:
    path, adapter = model
    sent = [t for t in retrieved if not is_decisive(retrieved[t], rules)]
    began = time.monotonic()
    margins = dict(zip(sent, score_margins(path, prompt, sent, [retrieved[t] for t in sent], rules.depth, threads,
                                           adapter=adapter)))
    preds = [ranked_ids(retrieved[e.term], margins.get(e.term), rules) for e in test]
    return {**asdict(score_rankings([e.gold for e in test], preds)), "terms_sent_to_llm": len(sent),
            "llm_seconds": round(time.monotonic() - began, 1), "rules": asdict(rules)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--rerank-terms", type=int, default=600, help="train labels the re-ranker learns from")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default="bench-aap-full-labels-reranker.json")
    args = parser.parse_args()
    dirs = DataDirs.default().ensure()
    fold, timings = args.fold, {}
    vocab = askapatient_vocabulary(args.data_dir)
    train = askapatient_split(fold, "train", args.data_dir)
    validation = askapatient_split(fold, "validation", args.data_dir)
    test = askapatient_split(fold, "test", args.data_dir)
    pairs = [LabelledPair(e.term, e.gold, "gold") for e in train]
    learned, _ = learn_aliases(vocab, pairs)
    plain = LinkerConfig(vocabulary="askapatient", threads=args.threads)
    zero = Linker(plain, dirs=dirs, vocabulary=vocab)

    # 1) the retriever: fine-tuned encoder (aap_full_labels.py's, reused) + learned aliases
    encoder = f"aap-full-f{fold}-e1"
    if not (dirs.encoders / encoder).is_dir():
        began = time.monotonic()
        learn_retriever(pairs, zero, dirs, encoder, RetrieverTrainConfig(epochs=1, threads=args.threads))
        timings["fine_tune"] = round(time.monotonic() - began, 1)
    retriever = Linker(replace(plain, encoder=encoder), dirs=dirs, vocabulary=learned)
    on_validation, on_test = retrieved_for(retriever, validation), retrieved_for(retriever, test)

    # 2) the re-ranker's data and its distillation
    merged, stats = merge_gold(pairs, vocab)
    chosen = random.Random(args.seed).sample(sorted(merged, key=lambda p: p.term), min(args.rerank_terms, len(merged)))
    registry = RerankerRegistry(dirs)
    base = registry.resolve(DEFAULT_RERANKER)
    dataset = dirs.distill / f"aap-full-f{fold}-rerank-ds"
    began = time.monotonic()
    build_dataset(chosen, zero, dataset, DatasetConfig(val_share=0.0, negatives=3), source_stats=stats)
    name = f"aap-full-f{fold}-rr{args.rerank_terms}"
    report = train_reranker(dataset, dirs, name, RerankerTrainConfig(threads=args.threads, quantizations=(ADAPTER,)),
                            base=DEFAULT_RERANKER)
    timings["rerank_dataset_train_export"] = round(time.monotonic() - began, 1)
    adapter = report.files[ADAPTER]

    # 3) rules on validation, 4) test
    models = {"base re-ranker": (base.path, None), "distilled re-ranker": (base.path, adapter)}
    row = {"fold": fold, "labels": len(train), "rerank_terms": len(chosen), "rerank_examples": report.examples,
           "rerank_steps": report.steps, "final_loss": report.final_loss, "timings_s": timings,
           "test": {"retriever": asdict(score_rankings([e.gold for e in test],
                                                       [[c.concept_id for c in on_test[e.term]] for e in test]))},
           "validation": {}}
    for label, model in models.items():
        began = time.monotonic()
        chosen_rules = calibrated(model, base.prompt_version, validation, on_validation, args.threads)
        row["validation"][label] = chosen_rules["validation"]
        row["test"][label] = tested(model, base.prompt_version, chosen_rules["rules"], test, on_test, args.threads)
        timings[label] = round(time.monotonic() - began, 1)
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"args": vars(args), "row": row}, fh, indent=2)
    print(json.dumps(row, indent=1))
    for label, scores in row["test"].items():
        print(f"{label:22} test Acc@1 {scores['acc1']:.3f} Acc@5 {scores['acc5']:.3f}")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
