"""What every command group shares: the global options, the dispatch table's shape, and the small
helpers commands print and write with. Group modules import this module and never each other.

Keep imports here light: every command line loads this module before it knows what it will run.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO, Union

from ..paths import DataDirs
from ..progress import ProgressBar

Handler = Callable[[argparse.Namespace, DataDirs], int]
# A group's dispatch table: a command's name, and its handler or (``vocab list``) the table of its own commands.
Commands = dict[str, Union[Handler, "Commands"]]


def group_dest(name: str) -> str:
    """Where the parser stores which command of the group ``name`` was chosen (``vocab`` → ``vocab_command``)."""
    return f"{name}_command"


def add_group(sub: argparse._SubParsersAction, name: str, help: str) -> argparse._SubParsersAction:  # noqa: A002
    """A command with commands of its own; its table in ``COMMANDS`` is keyed by their names."""
    return sub.add_parser(name, help=help).add_subparsers(dest=group_dest(name), required=True)


def add_global_options(parser: argparse.ArgumentParser, *, after_command: bool = False) -> None:
    """``--home``, ``--threads`` and ``-q``: on the top-level parser with their defaults, and on every
    command's parser (``after_command``) without any, so that an option given after the command
    overrides the same one given before it, and one not given there leaves the other alone."""
    def default(value):
        return argparse.SUPPRESS if after_command else value

    group = parser.add_argument_group("global options (before or after the command)") if after_command else parser
    group.add_argument("--home", default=default(None),
                       help="TermLinker data folder (default: the user data dir, or $TERMLINKER_HOME)")
    group.add_argument("--threads", type=int, default=default(None), help="CPU threads for the models")
    group.add_argument("-q", "--quiet", action="store_true", default=default(False), help="no progress bars")


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The commands ``parser`` offers by name; empty for a command that has none."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def rerank_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rerank", action="store_true", help="re-rank the top-k with the local LLM")
    parser.add_argument("--reranker", help="re-ranker: registered name or .gguf path (default: the active one, or the "
                                           "one active for the vocabulary's language; gemma3-270m for a Chinese "
                                           "vocabulary while the active one reads English only)")
    parser.add_argument("--ranker", help="a ranking learned from labelled terms (`termlinker ranker train`): "
                        "its name or .json file")
    parser.add_argument("--encoder", help="retriever encoder: a name under models/encoders or a folder "
                        "(default: the default encoder)")
    parser.add_argument("--gpu-layers", type=int, default=0, metavar="N",
                        help="re-ranker layers offloaded to a GPU (llama.cpp built with GPU support; -1 = all)")


def term_source_options(parser: argparse.ArgumentParser) -> None:
    """How a term list is read: the same options wherever a command takes one."""
    parser.add_argument("--column", help="CSV/TSV/XLSX column holding the terms (header name or 1-based number; "
                                         "default: the first)")
    parser.add_argument("--header", action=argparse.BooleanOptionalAction, default=None,
                        help="whether the table's first row names its columns (default: guessed, and said)")
    parser.add_argument("--count-column", help="a column saying how often each row's term occurred (name or number)")
    parser.add_argument("--sheet", help="the .xlsx sheet to read (default: the first)")


def read_term_source(args: argparse.Namespace, path):
    """The term list at ``path`` read with the command's term-source options; notes go to stderr."""
    from ..io.terms import read_terms

    terms = read_terms(path, column=args.column, header=args.header, count_column=args.count_column,
                       sheet=args.sheet)
    print_warnings(terms.warnings, "note")
    return terms


def linker_config_from_args(args: argparse.Namespace, **options):
    """The command line's flags as the front ends' shared ``LinkOptions``, made into the engine's
    ``LinkerConfig``; naming a re-ranker switches re-ranking on. ``options`` are further
    ``LinkOptions`` fields and win over the flags (``project link`` gives the project's vocabulary)."""
    from ..api import LinkOptions, linker_config

    if "vocabulary" not in options:
        options["vocabulary"] = args.vocab
    flags = {"threads": args.threads, "rerank": args.rerank or bool(args.reranker), "reranker": args.reranker,
             "gpu_layers": getattr(args, "gpu_layers", 0) or 0, "encoder": getattr(args, "encoder", None),
             "ranker": getattr(args, "ranker", None), "set_rules": getattr(args, "set_rules", None)}
    return linker_config(LinkOptions(**(flags | options)), DataDirs.at(getattr(args, "home", None)))


def say(message: str) -> None:
    """A line for the user on stderr (stdout carries the results)."""
    print(f"termlinker: {message}", file=sys.stderr)


def print_warnings(warnings: Iterable[str], kind: str = "warning") -> None:
    for warning in warnings:
        say(f"{kind}: {warning}")


def bar(args: argparse.Namespace, label: str) -> ProgressBar:
    return ProgressBar(label, enabled=not args.quiet)


@contextlib.contextmanager
def open_output(path: str | None) -> Iterator[TextIO]:
    """``-o FILE``, written atomically, or stdout when no file is given."""
    if not path:
        yield sys.stdout
        return
    from ..atomic import atomic_open

    with atomic_open(path, "w", encoding="utf-8") as fh:
        yield fh
