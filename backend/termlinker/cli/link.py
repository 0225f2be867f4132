"""``termlinker link``: a term list linked to a vocabulary, as CSV or JSONL."""

from __future__ import annotations

import argparse

from ..errors import InputError
from ..overwrite import refuse_for_command
from ..paths import DataDirs
from ..vocab.builtin import DEFAULT_BUILTIN
from .common import (Commands, bar, linker_config_from_args, open_output, print_warnings, read_term_source,
                     rerank_options, say, term_source_options)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    link = sub.add_parser("link", help="link a term list to a vocabulary")
    link.add_argument("input", help=".txt (one term a line), .csv/.tsv/.xlsx, or - for stdin")
    link.add_argument("--vocab", default=DEFAULT_BUILTIN, help=f"vocabulary name or file (default: {DEFAULT_BUILTIN})")
    link.add_argument("--top-k", type=int, default=10)
    link.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    term_source_options(link)
    link.add_argument("-o", "--output", help="output file (default: stdout)")
    rerank_options(link)
    link.add_argument("--enrich", action="append", default=[], metavar="VOCAB",
                      help="borrow synonyms from VOCAB for concepts whose names match exactly (repeatable)")
    link.add_argument("--set-rules", metavar="NAME|FILE",
                      help="with --split: rules naming further concepts, learned by `termlinker ranker train-sets`")
    link.add_argument("--split", action="store_true",
                      help="a term may name several concepts (高血压；冠心病): also link each part (jsonl: \"concepts\")")
    link.add_argument("--aliases", action="append", default=[], metavar="FILE",
                      help="learn labelled terms as synonyms: term<TAB>concept id file, review project .tlproj "
                      "(approved decisions) or teacher labels .jsonl; repeatable")


def link(args: argparse.Namespace, dirs: DataDirs) -> int:
    from ..api import script_warning
    from ..io.terms import spool_stdin
    from ..io.writers import make_writer
    from ..linker import Linker, TermCount

    if args.top_k < 1:
        raise InputError("--top-k must be at least 1.")
    refuse_for_command(args, "output", ("input", "vocab", "aliases", "enrich", "ranker", "reranker"), "-o")
    spooled = None
    try:
        if args.input == "-":
            spooled = spool_stdin()
            terms = read_term_source(args, spooled)
            terms.source = "stdin"
        else:
            terms = read_term_source(args, args.input)
    except InputError as exc:
        raise InputError(str(exc).replace(str(spooled), "standard input") if spooled else str(exc)) from None
    finally:
        if spooled:
            spooled.unlink(missing_ok=True)
    config = linker_config_from_args(args, top_k=args.top_k, enrich_from=tuple(args.enrich), split_multi=args.split or bool(args.set_rules),
                                     aliases_from=tuple(args.aliases))
    linker = Linker(config, dirs=dirs, progress=bar(args, "indexing"))
    print_warnings(linker.warnings)
    print_warnings(filter(None, [script_warning(terms.counts, linker.vocabulary, dirs)]))  # 头痛 against HPO
    linking = bar(args, "linking ")
    truncated = 0
    with open_output(args.output) as out:
        writer = make_writer(args.format, out, args.top_k)
        items = (TermCount(t, c) for t, c in terms.counts.items())
        for result in linker.link(items, progress=linking, total=len(terms)):
            truncated += bool(result.warnings)
            writer.write(result)
    linking.close()
    if truncated:
        say(f"warning: {truncated} over-long term(s) were truncated to 256 characters for linking.")
    if not args.quiet:
        say(f"linked {len(terms)} distinct terms ({terms.lines} lines) to {linker.description}.")
    return 0


COMMANDS: Commands = {"link": link}
