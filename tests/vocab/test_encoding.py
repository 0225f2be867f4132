"""termlinker.io.encoding.decode_bytes: the encodings people actually save files in."""

from __future__ import annotations

import codecs

import pytest

from termlinker.io.encoding import decode_bytes


def test_plain_utf8_is_reported_as_utf8() -> None:
    assert decode_bytes("霍乱\tcholera".encode()) == ("霍乱\tcholera", "utf-8")


def test_bom_is_removed_and_reported_as_utf8_sig() -> None:
    assert decode_bytes(codecs.BOM_UTF8 + b"code") == ("code", "utf-8-sig")


def test_gb18030_chinese_is_recognised() -> None:
    text = "A00\t霍乱\nA01\t伤寒和副伤寒\n"
    assert decode_bytes(text.encode("gb18030")) == (text, "gb18030")


def test_latin1_is_the_last_resort() -> None:
    # "é" before a space cannot start a GB18030 character, so only latin-1 fits.
    text = "X1\tCafé au lait spots\n"
    assert decode_bytes(text.encode("latin-1")) == (text, "latin-1")


def test_a_list_without_a_catch_all_can_fail() -> None:
    with pytest.raises(UnicodeDecodeError):
        decode_bytes(b"\xff\xfe\xfd", encodings=("utf-8",))


@pytest.mark.parametrize("data, encoding", [
    (codecs.BOM_UTF16_LE + "A00\t霍乱\n".encode("utf-16-le"), "utf-16"),
    (codecs.BOM_UTF16_BE + "A00\t霍乱\n".encode("utf-16-be"), "utf-16"),
    ("A00\tcholera\n".encode("utf-16-le"), "utf-16-le"),
    ("A00\tcholera\n".encode("utf-16-be"), "utf-16-be"),
    ("A00\t霍乱\n".encode("utf-32"), "utf-32"),
])
def test_utf16_and_utf32_are_recognised_by_bom_or_by_their_nul_bytes(data: bytes, encoding: str) -> None:
    text, used = decode_bytes(data)
    assert used == encoding and text.rstrip("\n").split("\t")[0] == "A00" and "\x00" not in text


def test_binary_data_is_not_taken_for_utf16() -> None:
    # NULs on both sides of the byte pairs: a binary file, left to the catch-all (and refused by callers).
    assert decode_bytes(bytes(range(256)) * 4)[1] == "latin-1"
