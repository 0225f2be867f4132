"""The ``termlinker`` command line. Progress goes to stderr, results to stdout or -o.

Exit codes: 0 success, 2 a user error (message on stderr, no traceback), 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from . import __version__
from .errors import InputError, TermLinkerError
from .overwrite import refuse_for_command
from .paths import DataDirs
from .progress import ProgressBar


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="termlinker", description="Offline biomedical term normalisation.")
    parser.add_argument("--version", action="version", version=f"termlinker {__version__}")
    parser.add_argument("--home", help="TermLinker data folder (default: the user data dir, or $TERMLINKER_HOME)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for the models")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", required=True)

    link = sub.add_parser("link", help="link a term list to a vocabulary")
    link.add_argument("input", help=".txt (one term a line), .csv/.tsv, or - for stdin")
    link.add_argument("--vocab", default="hpo", help="vocabulary name or file (default: hpo)")
    link.add_argument("--top-k", type=int, default=10)
    link.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    link.add_argument("--column", help="CSV/TSV column holding the terms (name or 1-based number)")
    link.add_argument("-o", "--output", help="output file (default: stdout)")
    _rerank_options(link)
    link.add_argument("--enrich", action="append", default=[], metavar="VOCAB",
                      help="borrow synonyms from VOCAB for concepts whose names match exactly (repeatable)")
    link.add_argument("--split", action="store_true",
                      help="a term may name several concepts (高血压；冠心病): also link each part (jsonl: \"concepts\")")
    link.add_argument("--aliases", action="append", default=[], metavar="FILE",
                      help="learn labelled terms as synonyms: term<TAB>concept id file, review project .tlproj "
                      "(approved decisions) or teacher labels .jsonl; repeatable")

    ev = sub.add_parser("evaluate", help="Acc@1, Acc@5 and MRR on gold data")
    ev.add_argument("--data", help="TSV file of term<TAB>gold concept id")
    ev.add_argument("--vocab", default="hpo")
    ev.add_argument("--dataset", choices=["askapatient", "chip-cdn"], help="a benchmark dataset from the shared data folder")
    ev.add_argument("--fold", default="0", help="fold number, or 'all' (askapatient)")
    ev.add_argument("--split", choices=["test", "validation"], default="test")
    ev.add_argument("--data-dir", help="folder holding askapatient/ or chip-cdn/ (default: ../shared/data)")
    ev.add_argument("--folds", type=int, default=5, help="chip-cdn: number of cross-validation folds (default 5)")
    ev.add_argument("--whole", action="store_true", help="chip-cdn: do not split terms into parts")
    ev.add_argument("--no-learn", action="store_true",
                    help="chip-cdn: do not learn the other folds' labelled terms as synonyms (learned by default)")
    ev.add_argument("--learn-ranking", action="store_true",
                    help="chip-cdn: also learn a ranking (termlinker ranker train) from the other folds' labelled terms")
    ev.add_argument("--json", help="write the report as JSON to this file")
    _rerank_options(ev)
    ev.add_argument("--enrich", action="append", default=[], metavar="VOCAB",
                    help="borrow synonyms from VOCAB for concepts whose names match exactly (repeatable)")

    vocab = sub.add_parser("vocab", help="list, import and describe vocabularies")
    vsub = vocab.add_subparsers(dest="vocab_command", required=True)
    vsub.add_parser("list", help="vocabularies available")
    vimp = vsub.add_parser("import", help="import a JSONL, TSV/CSV or OBO vocabulary")
    vimp.add_argument("file")
    vimp.add_argument("--name", required=True)
    vinfo = vsub.add_parser("info", help="details of one vocabulary")
    vinfo.add_argument("name")

    models = sub.add_parser("models", help="prepare and list models")
    msub = models.add_subparsers(dest="models_command", required=True)
    mprep = msub.add_parser("prepare", help="export the default encoder to ONNX (needs torch once)")
    mprep.add_argument("--force", action="store_true")
    msub.add_parser("list", help="installed encoders and re-rankers (* = active re-ranker)")
    mreg = msub.add_parser("register", help="register a GGUF re-ranker (its sha256 is recorded)")
    mreg.add_argument("name")
    mreg.add_argument("path")
    mreg.add_argument("--base-model", default="unknown", help="what the model was trained from")
    mreg.add_argument("--prompt", default=None, help="prompt template version (default: the re-ranker's)")
    mreg.add_argument("--adapter", metavar="LORA_GGUF",
                      help="a LoRA adapter GGUF that llama.cpp applies over PATH (then PATH is its base model)")
    mreg.add_argument("--activate", action="store_true")
    mact = msub.add_parser("activate", help="make a re-ranker the one --rerank uses")
    mact.add_argument("name")
    msub.add_parser("rollback", help="re-activate the re-ranker that was active before")

    bench = sub.add_parser("bench", help="speed, memory and index recall figures (writes JSON)")
    bench.add_argument("--vocab", default="hpo")
    bench.add_argument("--terms", type=int, default=10000, help="number of terms to link")
    bench.add_argument("--json", default="bench-retriever.json")
    _project_parser(sub)
    from .cli_ranker import add_ranker_parser
    from .distill.cli import add_distill_parser

    add_ranker_parser(sub)
    add_distill_parser(sub)
    return parser


def _project_parser(sub: argparse._SubParsersAction) -> None:
    from .cli_project import add_project_parser

    add_project_parser(sub, _rerank_options)


def _rerank_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rerank", action="store_true", help="re-rank the top-k with the local LLM")
    parser.add_argument("--reranker", help="re-ranker: registered name or .gguf path (default: the active one)")
    parser.add_argument("--ranker", help="a ranking learned from labelled terms (`termlinker ranker train`): "
                        "its name or .json file")
    parser.add_argument("--encoder", help="retriever encoder: a name under models/encoders or a folder "
                        "(default: the default encoder)")
    parser.add_argument("--gpu-layers", type=int, default=0, metavar="N",
                        help="re-ranker layers offloaded to a GPU (llama.cpp built with GPU support; -1 = all)")


def _linker_config(args: argparse.Namespace, **kwargs):
    """The CLI's flags as the front ends' shared ``LinkOptions``; naming a re-ranker switches re-ranking on."""
    from .api import LinkOptions, linker_config

    options = LinkOptions(vocabulary=args.vocab, threads=args.threads, rerank=args.rerank or bool(args.reranker),
                          reranker=args.reranker, gpu_layers=getattr(args, "gpu_layers", 0) or 0,
                          encoder=getattr(args, "encoder", None), ranker=getattr(args, "ranker", None), **kwargs)
    return linker_config(options, DataDirs.at(getattr(args, "home", None)))


def _print_warnings(linker) -> None:
    for warning in linker.warnings:
        print(f"termlinker: warning: {warning}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except TermLinkerError as exc:
        # One line, always: messages quote file content and SQLite's reports, which may hold line breaks.
        print(f"termlinker: error: {' '.join(str(exc).splitlines())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("termlinker: interrupted; nothing was written.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (`| head`) left: point stdout at /dev/null so the interpreter's final
        # flush does not complain a second time.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _dispatch(args: argparse.Namespace) -> int:
    dirs = DataDirs.at(args.home)
    if args.command == "link":
        return _link(args, dirs)
    if args.command == "evaluate":
        return _evaluate(args, dirs)
    if args.command == "vocab":
        return _vocab(args, dirs)
    if args.command == "models":
        return _models(args, dirs)
    if args.command == "project":
        from .cli_project import run_project

        return run_project(args, dirs)
    if args.command == "distill":
        from .distill.cli import run_distill

        return run_distill(args, dirs)
    if args.command == "ranker":
        from .cli_ranker import run_ranker

        return run_ranker(args, dirs)
    if args.command == "bench":
        from .bench import run_retriever_bench

        return run_retriever_bench(args, dirs)
    raise AssertionError(args.command)


def _bar(args: argparse.Namespace, label: str) -> ProgressBar:
    return ProgressBar(label, enabled=not args.quiet)


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    if not path:
        yield sys.stdout
        return
    from .atomic import atomic_open

    with atomic_open(path, "w", encoding="utf-8") as fh:
        yield fh


def _link(args: argparse.Namespace, dirs: DataDirs) -> int:
    from .io.terms import read_terms, spool_stdin
    from .io.writers import make_writer
    from .linker import Linker, TermCount

    if args.top_k < 1:
        raise InputError("--top-k must be at least 1.")
    refuse_for_command(args, "output", ("input", "vocab", "aliases", "enrich", "ranker", "reranker"), "-o")
    spooled = None
    try:
        if args.input == "-":
            spooled = spool_stdin()
            terms = read_terms(spooled, column=args.column)
            terms.source = "stdin"
        else:
            terms = read_terms(args.input, column=args.column)
    except InputError as exc:
        raise InputError(str(exc).replace(str(spooled), "standard input") if spooled else str(exc)) from None
    finally:
        if spooled:
            spooled.unlink(missing_ok=True)
    for warning in terms.warnings:
        print(f"termlinker: note: {warning}", file=sys.stderr)
    config = _linker_config(args, top_k=args.top_k, enrich_from=tuple(args.enrich), split_multi=args.split,
                            aliases_from=tuple(args.aliases))
    linker = Linker(config, dirs=dirs, progress=_bar(args, "indexing"))
    _print_warnings(linker)
    bar = _bar(args, "linking ")
    truncated = 0
    with _output(args.output) as out:
        writer = make_writer(args.format, out, args.top_k)
        items = (TermCount(t, c) for t, c in terms.counts.items())
        for result in linker.link(items, progress=bar, total=len(terms)):
            truncated += bool(result.warnings)
            writer.write(result)
    bar.close()
    if truncated:
        print(f"termlinker: warning: {truncated} over-long term(s) were truncated to 256 characters for linking.",
              file=sys.stderr)
    if not args.quiet:
        print(f"termlinker: linked {len(terms)} distinct terms ({terms.lines} lines) to {linker.description}.",
              file=sys.stderr)
    return 0


def _evaluate(args: argparse.Namespace, dirs: DataDirs) -> int:
    from dataclasses import replace

    from .evaluation.runner import evaluate_askapatient, evaluate_examples
    from .linker import Linker

    refuse_for_command(args, "json", ("data", "vocab", "enrich", "ranker", "reranker"))
    config = _linker_config(args, enrich_from=tuple(args.enrich))
    reports = []
    if args.dataset == "askapatient":
        from .evaluation.datasets import askapatient_vocabulary

        folds = range(10) if args.fold == "all" else [_fold(args.fold)]
        linker = Linker(config, dirs=dirs, vocabulary=askapatient_vocabulary(args.data_dir),
                        progress=_bar(args, "indexing"))
        for fold in folds:
            reports.append(evaluate_askapatient(fold, args.split, args.data_dir, linker=linker))
    elif args.dataset == "chip-cdn":
        from .evaluation.datasets import chip_cdn_vocabulary, cross_validation_split, read_chip_cdn
        from .evaluation.runner import evaluate_chip_cdn, learn_fold_ranking, learned_fold_vocabulary
        from .rerank.feature_ranker import saved_ranker_path

        if args.folds < 2:
            raise InputError("--folds must be at least 2.")
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
            if linker is None or not args.no_learn or args.learn_ranking:
                train, _ = cross_validation_split(examples, fold, args.folds)
                vocab = base if args.no_learn else learned_fold_vocabulary(base, train)
                if not args.quiet:
                    print(f"termlinker: fold {fold}: " + ("nothing learned (--no-learn)" if args.no_learn else
                          f"{len(vocab.names) - len(base.names)} labelled terms of the other folds learned as "
                          "synonyms (--no-learn: off)"), file=sys.stderr)
                fold_config = config
                if args.learn_ranking:
                    plain = plain or Linker(replace(config, ranker=None), dirs=dirs, vocabulary=base,
                                            progress=_bar(args, "indexing"))
                    path = saved_ranker_path(dirs.models, f"chip-cdn-{args.folds}fold-{fold}")
                    ranker = learn_fold_ranking(plain, train, path, progress=_bar(args, "ranking "))
                    if not args.quiet:
                        print(f"termlinker: fold {fold}: ranking learned from the other folds "
                              f"({ranker.trained_on['held_out']})", file=sys.stderr)
                    fold_config = replace(config, ranker=str(path))
                linker = Linker(fold_config, dirs=dirs, vocabulary=vocab, progress=_bar(args, "indexing"))
            reports.append(evaluate_chip_cdn(fold, args.folds, args.data_dir, split=not args.whole, linker=linker))
    elif args.data:
        from .evaluation.datasets import read_gold_tsv

        examples = read_gold_tsv(args.data)
        linker = Linker(config, dirs=dirs, progress=_bar(args, "indexing"))
        reports.append(evaluate_examples(linker, examples, f"{Path(args.data).name} on {linker.description}",
                                         progress=_bar(args, "linking ")))
    else:
        raise InputError("Give --data FILE (term<TAB>gold id) or --dataset askapatient.")
    _print_warnings(linker)
    for report in reports:
        print("\n".join(report.lines()))
    payload = {"reports": [r.to_json() for r in reports]}
    if len(reports) > 1:
        payload["mean"] = _mean(reports)
        print("mean over folds")
        for name, values in payload["mean"].items():
            print(f"{name:<14}" + "  ".join(f"{k}={v:.3f}" for k, v in values.items() if k != "n"))
    if args.json:
        from .atomic import write_text

        write_text(args.json, json.dumps(payload, indent=2))
    return 0


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


def _vocab(args: argparse.Namespace, dirs: DataDirs) -> int:
    from .vocab.store import VocabularyStore

    store = VocabularyStore(dirs.ensure())
    if args.vocab_command == "list":
        print(f"{'name':<16}{'concepts':>10}{'names':>10}  version")
        for s in store.list():
            concepts = f"{s.concepts}" if s.concepts is not None else "-"
            names = f"{s.names}" if s.names is not None else "-"
            print(f"{s.name:<16}{concepts:>10}{names:>10}  {s.version}{'  (built-in)' if s.builtin else ''}")
        return 0
    if args.vocab_command == "import":
        vocab = store.import_file(args.file, args.name)
        print(f"imported {args.name}: {len(vocab)} concepts, {len(vocab.names)} names")
        return 0
    info = store.info(args.name)
    for key, value in info.__dict__.items():
        print(f"{key}: {value}")
    return 0


def _models(args: argparse.Namespace, dirs: DataDirs) -> int:
    from .models import encoder_folder, ensure_encoder

    if args.models_command == "prepare":
        notes: list[str] = []
        folder = ensure_encoder(dirs.ensure(), force=args.force, progress=_bar(args, "exporting"), notes=notes,
                                verify=True)
        for note in notes:
            print(f"termlinker: warning: {note}", file=sys.stderr)
        print(f"encoder ready at {folder} (every file matches its checksum)")
        return 0
    if args.models_command in ("register", "activate", "rollback"):
        return _reranker_registry(args, dirs)
    root = encoder_folder(dirs).parent
    for folder in sorted(root.glob("*/encoder.json")) if root.exists() else []:
        print(folder.parent.name, folder.parent)
    _list_rerankers(dirs)
    return 0


def _reranker_registry(args: argparse.Namespace, dirs: DataDirs) -> int:
    from .rerank.prompt import DEFAULT_PROMPT
    from .rerank.registry import RerankerRegistry

    registry = RerankerRegistry(dirs.ensure())
    if args.models_command == "register":
        model = registry.register(args.name, args.path, args.base_model, args.prompt or DEFAULT_PROMPT,
                                  activate=args.activate, adapter=args.adapter)
        print(f"registered re-ranker {model.name} ({model.sha256[:12]}){' and activated it' if args.activate else ''}")
    elif args.models_command == "activate":
        registry.activate(args.name)
        print(f"active re-ranker: {args.name}")
    else:
        print(f"rolled back; active re-ranker: {registry.rollback()}")
    return 0


def _list_rerankers(dirs: DataDirs) -> None:
    from .rerank.registry import RerankerRegistry

    registry = RerankerRegistry(dirs)
    active = registry.active_name()
    for name, model in sorted(registry.models().items()):
        mark = "*" if name == active else " "
        print(f"{mark} re-ranker {name} ({model.base_model}, prompt {model.prompt_version}) {model.path}"
              + (f" + LoRA adapter {model.adapter}" if model.adapter else ""))


if __name__ == "__main__":
    sys.exit(main())
