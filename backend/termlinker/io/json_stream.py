"""Write a large JSON document without holding it: ``json.dump(..., indent=2)``, one array streamed.

An export of 183k terms built the whole payload (every row, every candidate, as dicts) before
writing the first byte. Here the big array is a :class:`LazyArray` over an iterator, written one
item at a time; everything else goes through :func:`json.dumps`, and the bytes are the same as
``json.dump(value, fh, ensure_ascii=False, indent=2)`` of the materialised value.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import IO, Any

INDENT = "  "


class LazyArray:
    """A JSON array whose items are produced while it is written (iterated once)."""

    def __init__(self, items: Iterable[Any]) -> None:
        self.items = items


def dump(value: Any, fh: IO[str], level: int = 0) -> None:
    if isinstance(value, LazyArray):
        _dump_members(fh, ((None, item) for item in value.items), "[]", level)
    elif isinstance(value, dict) and _holds_lazy(value):
        _dump_members(fh, iter(value.items()), "{}", level)
    elif isinstance(value, list) and _holds_lazy(value):
        _dump_members(fh, ((None, item) for item in value), "[]", level)
    else:
        fh.write(json.dumps(value, ensure_ascii=False, indent=len(INDENT)).replace("\n", "\n" + INDENT * level))


def _dump_members(fh: IO[str], members: Iterator[tuple[str | None, Any]], brackets: str, level: int) -> None:
    inner = "\n" + INDENT * (level + 1)
    empty = True
    for key, item in members:
        fh.write((brackets[0] if empty else ",") + inner)
        if key is not None:
            fh.write(json.dumps(key, ensure_ascii=False) + ": ")
        dump(item, fh, level + 1)
        empty = False
    fh.write(brackets if empty else "\n" + INDENT * level + brackets[1])


def _holds_lazy(value: Any) -> bool:
    if isinstance(value, LazyArray):
        return True
    if isinstance(value, dict):
        return any(_holds_lazy(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_lazy(v) for v in value)
    return False
