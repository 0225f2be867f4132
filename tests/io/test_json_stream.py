"""The streamed JSON writer writes exactly what json.dump(indent=2) writes, holding one item at a time."""

from __future__ import annotations

import io
import json

import pytest

from termlinker.io.json_stream import LazyArray, dump

CASES = [{}, [], {"a": [], "b": {}}, {"a": [1, {"x": [2, 3], "y": {}}], "b": "糖尿病\n\"q\""},
         [[], [[1]], {"k": None, "f": 0.5, "t": True}], {"group": [{"element": [{"code": "x"}], "v": "1"}]}]


def lazy(value):
    """Every array made lazy, over a one-shot iterator."""
    if isinstance(value, list):
        return LazyArray(iter([lazy(v) for v in value]))
    if isinstance(value, dict):
        return {k: lazy(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("value", CASES)
def test_streamed_bytes_equal_json_dump(value):
    out = io.StringIO()
    dump(lazy(value), out)
    assert out.getvalue() == json.dumps(value, ensure_ascii=False, indent=2)


def test_items_are_produced_while_writing():
    out = io.StringIO()
    written_before = []

    def items():
        for i in range(3):
            written_before.append(len(out.getvalue()))
            yield {"i": i}

    dump({"head": 1, "items": LazyArray(items())}, out)
    assert written_before[0] > 0 and written_before == sorted(written_before) and len(set(written_before)) == 3
