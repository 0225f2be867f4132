"""``termlinker distill label | dataset | train-retriever | train-reranker``: the command-line face of
distillation (teacher labels, data sets, and training the retriever and the re-ranker)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import InputError
from ..overwrite import path_arguments, refuse_output_over_inputs, refuse_two_outputs_in_one_file
from ..paths import DataDirs
from ..vocab.builtin import DEFAULT_BUILTIN
from .common import Commands, add_group, bar, print_warnings, read_term_source, say, term_source_options


def add_parsers(sub: argparse._SubParsersAction) -> None:
    dsub = add_group(sub, "distill", help="label terms with a teacher LLM once, to train the local models")
    label = dsub.add_parser("label", help="ask a teacher (OpenAI-compatible) to pick a candidate for each term")
    label.add_argument("terms", help=".txt (one term a line) or .csv/.tsv of unannotated terms")
    term_source_options(label)
    label.add_argument("--vocab", default=DEFAULT_BUILTIN, help=f"vocabulary name or file (default: {DEFAULT_BUILTIN})")
    label.add_argument("--base-url", required=True, help="the teacher's OpenAI-compatible endpoint, e.g. .../v1")
    label.add_argument("--model", required=True, help="the teacher model name")
    label.add_argument("--api-key-env", required=True, metavar="VAR",
                       help="name of the environment variable holding the API key (the key is never written)")
    label.add_argument("--price-per-1k-tokens", type=float, default=0.0, metavar="P")
    label.add_argument("--budget", type=float, default=None, metavar="B",
                       help="most money to spend in this label store, earlier runs included")
    label.add_argument("--allow-partial", action="store_true", help="label until the budget is reached")
    label.add_argument("--concurrency", type=int, default=4)
    label.add_argument("--top-k", type=int, default=10)
    label.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    label.add_argument("--no-json-mode", action="store_true", help="do not ask for response_format json_object")
    label.add_argument("--store", help="label store (SQLite; default: LABELS with .labels.sqlite)")
    label.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    label.add_argument("-o", "--output", required=True, metavar="LABELS", help="labels as JSONL")
    _add_dataset_parser(dsub)
    _add_train_retriever_parser(dsub)
    _add_train_reranker_parser(dsub)


def _add_dataset_parser(dsub: argparse._SubParsersAction) -> None:
    ds = dsub.add_parser("dataset", help="build retriever pairs and re-ranker examples from labels")
    ds.add_argument("--labels", help="teacher labels (JSONL from `distill label`); only status ok is used")
    ds.add_argument("--gold", help="your own gold pairs, term<TAB>concept id (wins over everything)")
    ds.add_argument("--project", help="a review project (.tlproj): its approved decisions win over the teacher")
    ds.add_argument("--vocab", default=DEFAULT_BUILTIN, help=f"vocabulary name or file (default: {DEFAULT_BUILTIN})")
    ds.add_argument("--encoder", help="retriever encoder for hard negatives (default: the default encoder)")
    ds.add_argument("--val-share", type=float, default=0.1, help="held-out share, by a hash of the term")
    ds.add_argument("--negatives", type=int, default=3, help="re-ranker hard negatives per positive")
    ds.add_argument("--reranker", help="the re-ranker you will train from, whose prompt the examples are written in "
                                       "(default: as train-reranker --base chooses for the vocabulary's language)")
    ds.add_argument("-o", "--output", required=True, metavar="DATASET_DIR")


def _add_train_retriever_parser(dsub: argparse._SubParsersAction) -> None:
    tr = dsub.add_parser("train-retriever", help="fine-tune the retriever's encoder on a data folder, or straight "
                                                 "from a project's approved mappings")
    tr.add_argument("dataset", metavar="DATASET_DIR", nargs="?", help="a folder written by `distill dataset`")
    tr.add_argument("--project", help="learn from this review project's approved mappings instead of a data folder")
    tr.add_argument("--gold", help="learn from this TSV of term<TAB>concept_id (with --project, or alone)")
    tr.add_argument("--vocab", default=DEFAULT_BUILTIN, help=f"vocabulary name or file (default: {DEFAULT_BUILTIN})")
    tr.add_argument("--name", help="name of the new encoder (default: minilm-ft-<date>; from --project or --gold: "
                                   "<vocabulary>-learned)")
    tr.add_argument("--base", help="encoder to start from (default: the default encoder)")
    # Defaults (None) come from RetrieverTrainConfig, the recipe chosen on AAP validation folds.
    tr.add_argument("--epochs", type=int, help="the most passes over the labelled pairs (default: 5)")
    tr.add_argument("--patience", type=int,
                    help="stop after this many passes in a row that link the held-out terms no better (default: 1)")
    tr.add_argument("--early-stopping", action=argparse.BooleanOptionalAction, default=None,
                    help="score the held-out terms after each pass, keep the best pass and stop when --patience "
                         "passes did not beat it (default: off; see docs/retriever-recipe.md)")
    tr.add_argument("--batch-size", type=int, help="pairs per step (default: 32)")
    tr.add_argument("--learning-rate", type=float, help="AdamW learning rate (default: 1e-4)")
    tr.add_argument("--no-hard-negatives", action="store_true",
                    help="in-batch negatives only (default: also each term's best wrong candidate)")
    tr.add_argument("--once-per-term", action="store_true",
                    help="train each labelled term once (default: as often as it was labelled)")
    tr.add_argument("--adapter-only", action="store_true",
                    help="a Chinese vocabulary: train the query adapter alone (about a minute) instead of "
                         "fine-tuning e5's layers under it too (about 2 minutes per 1,000 pairs, measured "
                         "+0.010 Acc@1 and +0.024 Acc@5 on CHIP-CDN); the MiniLM options above do not apply")


def _add_train_reranker_parser(dsub: argparse._SubParsersAction) -> None:
    tr = dsub.add_parser("train-reranker", help="distil the labels into the local re-ranker (LoRA -> GGUF)")
    tr.add_argument("dataset", metavar="DATASET_DIR", help="a folder written by `distill dataset`")
    tr.add_argument("--vocab", default=DEFAULT_BUILTIN, help=f"vocabulary for validation (default: {DEFAULT_BUILTIN})")
    tr.add_argument("--encoder", help="retriever encoder whose candidates are re-ranked (default: the default)")
    tr.add_argument("--name", help="name of the new re-ranker (default: smollm2-ft-<date>, gemma3-ft-<date> from Gemma)")
    tr.add_argument("--base", help="re-ranker to start from (default: the one active for the vocabulary's language; "
                                   "gemma3-270m where that reads English only and the vocabulary does not; "
                                   "llama or gemma3 architecture)")
    tr.add_argument("--epochs", type=int, default=1)
    tr.add_argument("--batch-size", type=int, default=8)
    tr.add_argument("--learning-rate", type=float, default=2e-4)
    tr.add_argument("--lora-r", type=int, default=16)
    tr.add_argument("--max-examples", type=int, help="train on at most this many examples (a seeded sample)")
    tr.add_argument("--loss", choices=("listwise", "pointwise"), default="listwise",
                    help="listwise: a softmax over each term's candidates; pointwise: each candidate "
                         "against its yes/no label (default: listwise)")
    tr.add_argument("--quantize", default="Q8_0,Q4_K_M",
                    help="exports to make and compare on validation: merged llama.cpp quantizations "
                         "(Q8_0, Q4_K_M, Q5_K_M, Q4_0) and/or LoRA, an adapter applied over the base file "
                         "(default: Q8_0,Q4_K_M)")
    tr.add_argument("--no-activate", action="store_true", help="register the model but never activate it")


def _label(args: argparse.Namespace, dirs: DataDirs) -> int:
    from ..distill.label_store import LabelStore
    from ..distill.labelling import LabellingRun, check_budget, export_labels, plan_labelling
    from ..distill.teacher import TeacherClient, TeacherConfig
    from ..distill.teacher_prompt import load_teacher_prompt
    from ..distill.wizard_api import check_connection
    from ..linker import Linker, LinkerConfig, TermCount

    store_path = Path(args.store) if args.store else Path(args.output).with_suffix(".labels.sqlite")
    # Before the key is read or a term retrieved: a refused command has sent nothing and written nothing.
    refuse_output_over_inputs(args.output, [args.terms, args.vocab, store_path], "-o")
    refuse_output_over_inputs(store_path, [args.terms, args.vocab], "--store")
    refuse_two_outputs_in_one_file(args.output, store_path, "-o and --store")
    if not 1 <= args.top_k <= 26:
        raise InputError("--top-k must be between 1 and 26 for labelling (candidates are lettered A-Z).")
    if args.concurrency < 1:
        raise InputError("--concurrency must be at least 1.")
    if args.price_per_1k_tokens < 0 or (args.budget is not None and args.budget < 0):
        raise InputError("--price-per-1k-tokens and --budget cannot be negative.")
    config = TeacherConfig(args.base_url, args.model, args.api_key_env, timeout_s=args.timeout,
                           json_mode=not args.no_json_mode)
    client = TeacherClient(config)  # fails early, before any retrieval, when the key variable is unset
    terms = read_term_source(args, args.terms)
    try:
        # As the wizard's Test Connection: a URL that is not http(s), an unreachable host, a web page or a
        # 404 where the API should be are one-line errors (exit 2) before any term is retrieved or sent.
        check = check_connection(config)
    except BaseException:
        client.close()
        raise
    if check.models and config.model not in check.models:
        print_warnings([check.message])  # some servers answer under names they do not list: go on
    linker = Linker(LinkerConfig(vocabulary=args.vocab, threads=args.threads, top_k=args.top_k), dirs=dirs,
                    progress=bar(args, "indexing"))
    results = linker.link((TermCount(t, c) for t, c in terms.counts.items()), top_k=args.top_k,
                          progress=bar(args, "retrieving"), total=len(terms))
    prompt = load_teacher_prompt()
    with LabelStore(store_path) as store:
        plan = plan_labelling(results, store, prompt, args.model, args.price_per_1k_tokens, args.budget,
                              config.max_tokens)
        for line in plan.lines():
            say(line)
        say(f"label store {store_path}")
        check_budget(plan, args.allow_partial)
        if plan.to_ask and not args.yes and not _confirm():
            say("nothing sent.")
            return 1
        labelling = bar(args, "labelling")
        finished = False
        try:
            summary = LabellingRun(plan, client, store, args.concurrency, progress=labelling).run()
            finished = True
        finally:
            labelling.close()
            client.close()
            # Whatever was answered is usable even after a failure; a failed run with no answer at
            # all leaves an earlier labels file as it was instead of emptying it.
            export_labels(plan, store, args.output, replace_with_nothing=finished)
    for line in summary.lines():
        say(line)
    return 0


def _confirm() -> bool:
    if not sys.stdin or not sys.stdin.isatty():
        raise InputError("Confirmation needed but there is no terminal: add --yes to start labelling.")
    return input("Send these requests? [y/N] ").strip().lower() in ("y", "yes")


def _dataset(args: argparse.Namespace, dirs: DataDirs) -> int:
    from ..distill.dataset import FILES, MANIFEST, DatasetConfig, build_dataset, merge_gold
    from ..labels import read_gold_tsv, read_review_decisions, read_teacher_labels
    from ..distill.train_reranker import base_template
    from ..linker import Linker, LinkerConfig
    from ..vocab.store import VocabularyStore

    if not (args.labels or args.gold or args.project):
        raise InputError("Give at least one of --labels, --gold or --project.")
    if args.negatives < 0:
        raise InputError("--negatives cannot be negative.")
    inputs = path_arguments(args.labels, args.gold, args.project, args.vocab)
    for written in (args.output, *(Path(args.output) / name for name in (*FILES, MANIFEST))):
        refuse_output_over_inputs(written, inputs, "-o")
    vocab = VocabularyStore(dirs.ensure()).get(args.vocab)
    pairs = []
    if args.gold:
        pairs += read_gold_tsv(args.gold)
    if args.project:
        pairs += read_review_decisions(args.project)
    if args.labels:
        pairs += read_teacher_labels(args.labels)
    merged, stats = merge_gold(pairs, vocab)
    linker = Linker(LinkerConfig(vocabulary=args.vocab, encoder=args.encoder, threads=args.threads), dirs=dirs,
                    vocabulary=vocab, progress=bar(args, "indexing"))
    manifest = build_dataset(merged, linker, args.output,
                             DatasetConfig(val_share=args.val_share, negatives=args.negatives),
                             template=base_template(dirs, args.reranker, vocab.info.language), source_stats=stats)
    for source, counts in manifest.sources.items():
        if counts["read"]:
            say(f"{source}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    say("wrote " + ", ".join(f"{k} {v}" for k, v in manifest.counts.items()) + f" to {args.output}")
    return 0


def _train_retriever(args: argparse.Namespace, dirs: DataDirs) -> int:
    from ..distill.train_retriever import RetrieverTrainConfig, train_retriever
    from ..vocab.store import VocabularyStore

    from_pairs = bool(args.project or args.gold)
    if bool(args.dataset) == from_pairs:
        raise InputError("Give a data folder (from `distill dataset`), or --project / --gold to learn from "
                         "labelled terms directly; not both.")
    vocab = VocabularyStore(dirs.ensure()).get(args.vocab)
    given = {"epochs": args.epochs, "batch_size": args.batch_size, "learning_rate": args.learning_rate,
             "patience": args.patience, "early_stopping": args.early_stopping}
    config = RetrieverTrainConfig(**{k: v for k, v in given.items() if v is not None}, threads=args.threads,
                                  hard_negatives=not args.no_hard_negatives, repeat_by_count=not args.once_per_term,
                                  e5_layers=not args.adapter_only)
    training = bar(args, "training")
    try:
        if from_pairs:
            report = _learn_from_pairs(args, dirs, vocab, config, training)
        else:
            report = train_retriever(args.dataset, vocab, dirs, args.name, config, base_encoder=args.base,
                                     progress=training)
    finally:
        training.close()
    print_warnings(report.warnings)
    print("\n".join(report.lines()))
    print(f"The new encoder is not the default. Use it with: termlinker link ... --encoder {report.name}"
          f" (or termlinker evaluate ... --encoder {report.name})")
    return 0


def _learn_from_pairs(args: argparse.Namespace, dirs: DataDirs, vocab, config, progress):
    from ..labels import read_gold_tsv, read_review_decisions
    from ..distill.learn_retriever import learn_retriever
    from ..linker import Linker, LinkerConfig

    if args.base:
        raise InputError("--base applies to a data folder; learning from --project or --gold always starts "
                         "from the default encoder.")
    pairs = (read_review_decisions(args.project) if args.project else []) + \
        (read_gold_tsv(args.gold) if args.gold else [])
    linker = Linker(LinkerConfig(vocabulary=args.vocab, threads=args.threads), dirs=dirs, vocabulary=vocab,
                    progress=bar(args, "indexing"))
    return learn_retriever(pairs, linker, dirs, args.name, config, progress=progress)


def _train_reranker(args: argparse.Namespace, dirs: DataDirs) -> int:
    from ..distill.gguf_export import EXPORT_KINDS
    from ..distill.train_reranker import RerankerTrainConfig, train_reranker
    from ..distill.validate_reranker import validate_and_register
    from ..vocab.store import VocabularyStore

    kinds = tuple(k.strip() for k in args.quantize.split(",") if k.strip())
    unknown = [k for k in kinds if k not in EXPORT_KINDS]
    if not kinds or unknown:
        raise InputError(f"--quantize takes a comma-separated list of {', '.join(EXPORT_KINDS)}.")
    vocab = VocabularyStore(dirs.ensure()).get(args.vocab)
    config = RerankerTrainConfig(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
                                 lora_r=args.lora_r, lora_alpha=2 * args.lora_r, max_examples=args.max_examples,
                                 threads=args.threads, quantizations=kinds, loss=args.loss)
    training = bar(args, "training")
    try:
        report = train_reranker(args.dataset, dirs, args.name, config, base=args.base, progress=training,
                                language=vocab.info.language)
    finally:
        training.close()
    print_warnings(report.warnings)
    print("\n".join(report.lines()))
    from ..rerank.registry import RerankerRegistry

    base = RerankerRegistry(dirs).resolve(args.base or report.base)
    validating = bar(args, "validating")
    try:
        validation = validate_and_register(args.dataset, vocab, dirs, report.name, report.files, base.base_model,
                                           base.prompt_version, encoder=args.encoder, threads=args.threads or 2,
                                           activate=not args.no_activate, progress=validating,
                                           base_path=report.base_path)
    finally:
        validating.close()
    print("\n".join(validation.lines()))
    return 0


COMMANDS: Commands = {"distill": {"label": _label, "dataset": _dataset, "train-retriever": _train_retriever,
                                  "train-reranker": _train_reranker}}
