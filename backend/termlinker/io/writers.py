"""Writing link results as JSON lines or CSV, one line per distinct term, streaming.

CSV text cells go through :func:`.csv_cells.text_cell` (formula injection); JSON lines keep the raw text.
"""

from __future__ import annotations

import csv
import json
from typing import TextIO

from ..types import LinkResult
from .csv_cells import text_cell


class JsonlWriter:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, result: LinkResult) -> None:
        self.stream.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")


class CsvWriter:
    """Best candidate in its own columns, then the alternatives as id/name/score triples."""

    def __init__(self, stream: TextIO, top_k: int) -> None:
        self.writer = csv.writer(stream)
        header = ["term", "count", "id", "name", "score", "reranked"]
        for i in range(2, top_k + 1):
            header += [f"id_{i}", f"name_{i}", f"score_{i}"]
        self.writer.writerow(header)

    def write(self, result: LinkResult) -> None:
        row: list[object] = [text_cell(result.term), result.count]
        cands = result.candidates
        if cands:
            row += [text_cell(cands[0].concept_id), text_cell(cands[0].name), f"{cands[0].score:.4f}"]
        else:
            row += ["", "", ""]
        row.append("true" if result.reranked else "false")
        for c in cands[1:]:
            row += [text_cell(c.concept_id), text_cell(c.name), f"{c.score:.4f}"]
        self.writer.writerow(row)


def make_writer(fmt: str, stream: TextIO, top_k: int) -> JsonlWriter | CsvWriter:
    return JsonlWriter(stream) if fmt == "jsonl" else CsvWriter(stream, top_k)
