"""Refuse to write an output over a file the same command reads.

Every writer replaces its target atomically, so ``-o`` naming an input would silently swap the
user's term list or project for the result. The check runs before any work (and before any
request leaves the machine), so a refused command has touched nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from .errors import OutputIsInputError

PathLike = str | os.PathLike[str]


def same_file(a: PathLike, b: PathLike) -> bool:
    """True when both exist and are one file, through symlinks and hard links alike."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):  # one of them does not exist (yet): there is nothing to destroy
        return False


def refuse_two_outputs_in_one_file(first: PathLike, second: PathLike, options: str) -> None:
    """Two files a command writes must not be one path, existing yet or not: the second write would
    replace the first (a label store and the labels exported from it, on a first run)."""
    if same_file(first, second) or os.path.realpath(first) == os.path.realpath(second):
        raise OutputIsInputError(f"{options} name the same file {first}; the second would overwrite the first. "
                                 "Give them different paths; nothing was written.")


def refuse_output_over_inputs(output: PathLike | None, inputs: Iterable[PathLike | None],
                              option: str = "-o") -> None:
    """Raise :class:`OutputIsInputError` when ``output`` is the same file as one of ``inputs``.

    ``None`` and ``"-"`` (standard input) are skipped, as is anything that is not an existing
    file, such as a vocabulary name, so callers may pass every path-or-name argument as it came.
    """
    if output is None or str(output) in ("", "-"):
        return
    for source in inputs:
        if source is None or str(source) in ("", "-"):
            continue
        if same_file(output, source):
            raise OutputIsInputError(
                f"The output {output} is the same file as the input {source}; writing it would destroy "
                f"the input. Choose another {option} path; the input was not touched.")


def path_arguments(*values: PathLike | Iterable[PathLike] | None) -> list[PathLike]:
    """Flatten command-line values (a path, a list of paths from ``action="append"``, or None)."""
    out: list[PathLike] = []
    for value in values:
        if value is None:
            continue
        if isinstance(value, (str, os.PathLike)):
            out.append(value)
        else:
            out.extend(v for v in value if v is not None)
    return out


def refuse_for_command(args: object, output: str, inputs: Iterable[str], option: str | None = None) -> None:
    """The check for a parsed command line: ``output`` and ``inputs`` are attribute names of ``args``."""
    refuse_output_over_inputs(getattr(args, output, None),
                              path_arguments(*(getattr(args, name, None) for name in inputs)),
                              option or f"--{output.replace('_', '-')}")
