"""The ``termlinker`` command line. Progress goes to stderr, results to stdout or -o.

Exit codes: 0 success, 2 a user error (message on stderr, no traceback), 130 interrupted.

One module per command group registers its parsers (``add_parsers``) and its handlers
(``COMMANDS``, a table from command name to handler, nested for groups such as ``vocab list``);
what they share is in :mod:`.common`. A group module imports no other group module, and the
engine is imported inside the handlers, so starting the command line stays light.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from .. import __version__
from ..errors import TermLinkerError
from ..paths import DataDirs
from . import bench, distill, evaluate, link, link_cluster, memory, models, project, ranker, vocab
from .common import Commands, Handler, add_global_options, group_dest, subcommands

GROUPS = (link, link_cluster, evaluate, vocab, models, bench, project, memory, ranker, distill)  # in the order `termlinker -h` lists
COMMANDS: Commands = {name: entry for group in GROUPS for name, entry in group.COMMANDS.items()}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="termlinker", description="Offline biomedical term normalisation.")
    parser.add_argument("--version", action="version", version=f"termlinker {__version__}")
    add_global_options(parser)
    sub = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.add_parsers(sub)
    _add_global_options_after_commands(parser)
    return parser


def _add_global_options_after_commands(parser: argparse.ArgumentParser) -> None:
    for command in subcommands(parser).values():
        add_global_options(command, after_command=True)
        _add_global_options_after_commands(command)


def handler_for(args: argparse.Namespace) -> Handler:
    """The handler of the command ``args`` were parsed for, looked up in ``COMMANDS``."""
    name = args.command
    entry = COMMANDS[name]
    while isinstance(entry, dict):
        name = getattr(args, group_dest(name))
        entry = entry[name]
    return entry


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return handler_for(args)(args, DataDirs.at(args.home))
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
