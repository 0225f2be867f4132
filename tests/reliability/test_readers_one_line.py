"""Term lists and vocabularies that once ended in a traceback or in garbage: each is now read
correctly or refused with one line (exit 2), and a refused command writes nothing."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

TERMS = "headache\nleg pain\n"


def linked_terms(out: str) -> list[str]:
    return [json.loads(line)["term"] for line in out.splitlines()]


@pytest.mark.parametrize("suffix, row", [(".csv", 'term\n"{}"\n'), (".tsv", "term\tnote\n{}\tx\n")])
def test_a_term_cell_over_128_kb_is_one_line(cli, tmp_path: Path, tiny_vocab_path, suffix: str, row: str) -> None:
    path = tmp_path / f"terms{suffix}"
    path.write_text(row.format("x" * 140_000), encoding="utf-8")
    out = tmp_path / "out.csv"
    result = cli("link", str(path), "--vocab", str(tiny_vocab_path), "-o", str(out))
    assert f"{path}, line 2: cannot read this row" in result.error
    assert not out.exists()


def test_a_deeply_nested_jsonl_vocabulary_is_one_line(cli, home, tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_text("[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    assert "line 1: JSON nested too deeply" in cli("vocab", "import", str(path), "--name", "deep").error
    assert not (home.vocabularies / "deep.jsonl").exists()


def test_an_obo_ontology_thousands_of_levels_deep_imports(cli, tmp_path: Path) -> None:
    """The branch of each term is found without recursion, so depth is no limit (deepest term first)."""
    stanzas = [f"[Term]\nid: D:{i}\nname: level {i}\nis_a: D:{i - 1}\n" for i in range(4999, 0, -1)]
    stanzas.append("[Term]\nid: D:0\nname: root\n")
    path = tmp_path / "deep.obo"
    path.write_text("format-version: 1.2\n\n" + "\n".join(stanzas), encoding="utf-8")
    result = cli("vocab", "import", str(path), "--name", "deep")
    assert result.code == 0 and "5000 concepts" in result.out


def test_an_is_a_without_a_parent_is_one_line(cli, tmp_path: Path) -> None:
    path = tmp_path / "bad.obo"
    path.write_text("[Term]\nid: D:1\nname: one\nis_a:\n", encoding="utf-8")
    assert f"{path}, line 4: 'is_a' names no parent" in cli("vocab", "import", str(path), "--name", "bad").error


@pytest.mark.parametrize("encoding, data", [
    ("utf-16", codecs.BOM_UTF16_LE + TERMS.encode("utf-16-le")),
    ("utf-16", codecs.BOM_UTF16_BE + TERMS.encode("utf-16-be")),
    ("utf-16-le", TERMS.encode("utf-16-le")),
    ("utf-16-be", TERMS.encode("utf-16-be")),
    ("utf-32", TERMS.encode("utf-32")),
], ids=["utf-16-le-bom", "utf-16-be-bom", "utf-16-le", "utf-16-be", "utf-32-bom"])
def test_a_utf16_or_utf32_term_list_is_decoded_and_reported(cli, tmp_path: Path, tiny_vocab_path, encoding: str,
                                                            data: bytes) -> None:
    path = tmp_path / "terms.txt"
    path.write_bytes(data)
    result = cli("link", str(path), "--vocab", str(tiny_vocab_path), "--format", "jsonl", "--top-k", "1")
    assert result.code == 0
    assert linked_terms(result.out) == ["headache", "leg pain"]
    assert f"read it as {encoding}" in result.err


def test_a_utf16_csv_column_is_read(cli, tmp_path: Path, tiny_vocab_path) -> None:
    path = tmp_path / "terms.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + "id,term\n1,headache\n2,leg pain\n".encode("utf-16-le"))
    result = cli("link", str(path), "--vocab", str(tiny_vocab_path), "--column", "term", "--format", "jsonl")
    assert linked_terms(result.out) == ["headache", "leg pain"]


def test_a_utf16_vocabulary_table_imports_with_its_real_names(cli, home, tmp_path: Path) -> None:
    path = tmp_path / "vocab.tsv"
    path.write_bytes("V:1\tHeadache\tHead pain\nV:2\t失眠\t睡不着\n".encode("utf-16"))
    assert cli("vocab", "import", str(path), "--name", "wide").code == 0
    stored = (home.vocabularies / "wide.jsonl").read_text(encoding="utf-8")
    assert '"canonical_name": "Headache"' in stored and '"canonical_name": "失眠"' in stored


@pytest.mark.parametrize("data", [
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" * 20,
    codecs.BOM_UTF16_LE + "head\x00ache\n".encode("utf-16-le"),  # decodes, but still holds a NUL
], ids=["binary", "utf-16-with-nul"])
def test_a_file_that_is_binary_in_any_encoding_is_refused(cli, tmp_path: Path, tiny_vocab_path, data: bytes) -> None:
    path = tmp_path / "terms.txt"
    path.write_bytes(data)
    out = tmp_path / "out.csv"
    assert "looks like a binary file" in cli("link", str(path), "--vocab", str(tiny_vocab_path), "-o", str(out)).error
    assert not out.exists()


def test_a_binary_vocabulary_table_is_refused(cli, tmp_path: Path) -> None:
    path = tmp_path / "vocab.tsv"
    path.write_bytes(b"V:1\tHead\x00ache\n")
    assert "looks like a binary file" in cli("vocab", "import", str(path), "--name", "bin").error


@pytest.mark.parametrize("column, message", [
    ("0", "--column 0: columns are numbered from 1"),
    ("-1", "--column -1: columns are numbered from 1"),
    ("3", "has 2 column(s); there is no column 3"),
])
def test_a_column_number_outside_the_file_is_refused(cli, tmp_path: Path, tiny_vocab_path, column: str,
                                                     message: str) -> None:
    path = tmp_path / "terms.csv"
    path.write_text("headache,T:001\nleg pain,T:003\n", encoding="utf-8")
    assert message in cli("link", str(path), "--vocab", str(tiny_vocab_path), "--column", column).error


def test_column_numbers_from_one_still_work(cli, tmp_path: Path, tiny_vocab_path) -> None:
    path = tmp_path / "terms.csv"
    path.write_text("T:001,headache\nT:003,leg pain\n", encoding="utf-8")
    result = cli("link", str(path), "--vocab", str(tiny_vocab_path), "--column", "2", "--format", "jsonl")
    assert linked_terms(result.out) == ["headache", "leg pain"]
