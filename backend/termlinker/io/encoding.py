"""Decoding user files whose encoding nobody told us.

Vocabularies and term lists come from spreadsheets saved on Windows in China as
often as from Linux tools, so UTF-8 alone is not enough. The order matters: UTF-8
is strict enough that a successful decode is almost certainly right; GB18030 comes
next because it is the national encoding (a superset of GBK/GB2312); latin-1 never
fails, so it is the last resort and keeps every byte rather than refusing the file.

GB18030 accepts most latin-1 text too ("é" followed by a letter is a valid pair), so a
GB18030 decode must also look like Chinese: real Chinese is mostly GB2312 characters,
whose second byte is above 0xA0, while a latin-1 accent swallows the ASCII letter after it.
"""

from __future__ import annotations

import codecs
import os

ENCODINGS: tuple[str, ...] = ("utf-8-sig", "utf-8", "gb18030", "latin-1")
_CHUNK = 1 << 20


def looks_like_gb18030(text: str) -> bool:
    """False when most double-byte characters have an ASCII trail byte (a latin-1 garble)."""
    double = ascii_trail = 0
    for ch in text:
        if ord(ch) < 0x80:
            continue
        encoded = ch.encode("gb18030")
        if len(encoded) == 2:
            double += 1
            ascii_trail += encoded[1] < 0x80
    return double == 0 or ascii_trail / double < 0.5


def decode_bytes(data: bytes, encodings: tuple[str, ...] = ENCODINGS) -> tuple[str, str]:
    """Return ``(text, encoding_used)`` for the first encoding that decodes ``data``.

    ``utf-8-sig`` is only reported when the data really starts with a byte-order
    mark, so callers can tell a BOM file from plain UTF-8. A BOM never reaches the text.

    Raises ``UnicodeDecodeError`` only if a caller passes a list without a
    catch-all encoding such as latin-1 and none of them fits.
    """
    if not encodings:
        raise ValueError("decode_bytes needs at least one encoding")
    has_bom = data.startswith(codecs.BOM_UTF8)
    last_error: UnicodeDecodeError | None = None
    for encoding in encodings:
        if encoding == "utf-8-sig" and not has_bom and "utf-8" in encodings:
            continue  # plain UTF-8 will be tried and reported as such
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            last_error = exc
            continue
        if encoding == "gb18030" and not looks_like_gb18030(text) and encoding != encodings[-1]:
            continue
        return text, encoding
    assert last_error is not None
    raise last_error


def detect_file_encoding(path: str | os.PathLike[str], encodings: tuple[str, ...] = ENCODINGS) -> str | None:
    """Like :func:`decode_bytes` for a file of any size, reading it in chunks; None if none fits."""
    with open(path, "rb") as fh:
        has_bom = fh.read(3) == codecs.BOM_UTF8
    for encoding in encodings:
        if encoding == "utf-8-sig" and not has_bom:
            continue
        decoder = codecs.getincrementaldecoder(encoding)()
        plausible = True
        try:
            with open(path, "rb") as fh:
                while block := fh.read(_CHUNK):
                    text = decoder.decode(block)
                    if encoding == "gb18030" and plausible and not looks_like_gb18030(text):
                        plausible = False
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        if plausible or encoding == encodings[-1]:
            return encoding
    return None
