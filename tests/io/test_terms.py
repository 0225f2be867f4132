"""Reading term lists: encodings, columns, counts and the bad inputs a clinic sends."""

from __future__ import annotations

from pathlib import Path

import pytest

from termlinker.errors import InputError
from termlinker.io.terms import read_terms


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_text_file_counts_distinct_terms_in_first_seen_order(tmp_path):
    path = write(tmp_path, "t.txt", b"headache\nnausea\n\nheadache\n  nausea  \nfever\n")
    terms = read_terms(path)
    assert list(terms.counts.items()) == [("headache", 2), ("nausea", 2), ("fever", 1)]
    assert terms.encoding == "utf-8"


def test_utf8_with_bom_is_read_without_the_bom(tmp_path):
    terms = read_terms(write(tmp_path, "t.txt", "\ufeffheadache\n".encode("utf-8")))
    assert list(terms.counts) == ["headache"]


def test_gb18030_chinese_is_detected_and_reported(tmp_path):
    terms = read_terms(write(tmp_path, "t.txt", "糖尿病\n骨质疏松\n".encode("gb18030")))
    assert list(terms.counts) == ["糖尿病", "骨质疏松"]
    assert terms.encoding == "gb18030"
    assert any("gb18030" in w for w in terms.warnings)


def test_latin1_file_falls_back_to_latin1(tmp_path):
    terms = read_terms(write(tmp_path, "t.txt", "caf\xe9 au lait spots\n".encode("latin-1")))
    assert list(terms.counts) == ["café au lait spots"]
    assert terms.encoding == "latin-1"


def test_empty_file_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="no terms"):
        read_terms(write(tmp_path, "t.txt", b"\n\n  \n"))


def test_binary_file_is_refused(tmp_path):
    with pytest.raises(InputError, match="binary"):
        read_terms(write(tmp_path, "t.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="No such file"):
        read_terms(tmp_path / "absent.txt")


def test_csv_column_by_name(tmp_path):
    path = write(tmp_path, "t.csv", b"id,phrase\n1,headache\n2,\"short of breath, at night\"\n")
    assert list(read_terms(path, column="phrase").counts) == ["headache", "short of breath, at night"]


def test_tsv_column_by_number_has_no_header(tmp_path):
    path = write(tmp_path, "t.tsv", b"1\theadache\n2\tnausea\n")
    assert list(read_terms(path, column="2").counts) == ["headache", "nausea"]


def test_csv_without_the_chosen_column_names_the_columns(tmp_path):
    path = write(tmp_path, "t.csv", b"id,phrase\n1,headache\n")
    with pytest.raises(InputError, match="id, phrase"):
        read_terms(path, column="term")


def test_short_row_names_the_line(tmp_path):
    path = write(tmp_path, "t.csv", b"id,phrase\n1,headache\n2\n")
    with pytest.raises(InputError, match="line 3"):
        read_terms(path, column="phrase")


def test_hundred_thousand_lines_are_counted(tmp_path):
    lines = "".join(f"term {i % 5000}\n" for i in range(100_000)).encode()
    terms = read_terms(write(tmp_path, "big.txt", lines))
    assert len(terms) == 5000 and terms.lines == 100_000
    assert sum(terms.counts.values()) == 100_000
