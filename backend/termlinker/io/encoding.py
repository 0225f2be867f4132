"""Decoding user files whose encoding nobody told us.

Vocabularies and term lists come from spreadsheets saved on Windows in China as
often as from Linux tools, so UTF-8 alone is not enough. The order matters: UTF-8
is strict enough that a successful decode is almost certainly right; GB18030 comes
next because it is the national encoding (a superset of GBK/GB2312); latin-1 never
fails, so it is the last resort and keeps every byte rather than refusing the file.

GB18030 accepts most latin-1 text too ("é" followed by a letter is a valid pair), so a
GB18030 decode must also look like Chinese: real Chinese is mostly GB2312 characters,
whose second byte is above 0xA0, while a latin-1 accent swallows the ASCII letter after it.

UTF-16 and UTF-32 (Excel's and Notepad's "Unicode") come first, but only when the file says
so: by a byte-order mark, or for BOM-less UTF-16 by NUL bytes on one side of every byte pair
(what ASCII-range text looks like in it). Latin-1 would otherwise take them, NULs and all.
"""

from __future__ import annotations

import codecs
import os

ENCODINGS: tuple[str, ...] = ("utf-32", "utf-16", "utf-8-sig", "utf-8", "gb18030", "latin-1")
_CHUNK = 1 << 20
_SNIFF = 4096  # bytes looked at for a byte-order mark or UTF-16's NUL pattern
_WIDE = ("utf-32", "utf-16")  # tried only when sniff_wide says so


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


def sniff_wide(head: bytes) -> str | None:
    """The codec for UTF-32 or UTF-16 data starting with ``head``, or None.

    ``utf-32``/``utf-16`` when a byte-order mark says so (the codec reads and drops it);
    ``utf-16-le``/``utf-16-be`` when at least 30% of the byte pairs have a NUL on one side and
    almost none on the other. UTF-32's mark is tested first: it begins with UTF-16-LE's.
    """
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    pairs = len(head) // 2
    if pairs < 2:
        return None
    low, high = head[0 : 2 * pairs : 2].count(0), head[1 : 2 * pairs : 2].count(0)
    # Binary files have NULs on both sides; text in UTF-16 has them only in the high byte of ASCII.
    if high >= 0.3 * pairs and low <= 0.05 * pairs:
        return "utf-16-le"
    if low >= 0.3 * pairs and high <= 0.05 * pairs:
        return "utf-16-be"
    return None


def looks_binary(text: str) -> bool:
    """Decoded text still holding NUL characters is not a list of words in any encoding."""
    return "\x00" in text


def _candidates(head: bytes, encodings: tuple[str, ...]) -> list[str]:
    """The encodings of ``encodings`` worth trying on data that starts with ``head``, in order."""
    wide = sniff_wide(head)
    out = []
    for encoding in encodings:
        if encoding in _WIDE:
            if wide is not None and wide.startswith(encoding):
                out.append(wide)
        elif encoding == "utf-8-sig" and not head.startswith(codecs.BOM_UTF8) and "utf-8" in encodings:
            continue  # plain UTF-8 will be tried and reported as such
        else:
            out.append(encoding)
    return out


def decode_bytes(data: bytes, encodings: tuple[str, ...] = ENCODINGS) -> tuple[str, str]:
    """Return ``(text, encoding_used)`` for the first encoding that decodes ``data``.

    ``utf-8-sig`` is only reported when the data really starts with a byte-order
    mark, so callers can tell a BOM file from plain UTF-8. A BOM never reaches the text.

    Raises ``UnicodeDecodeError`` only if a caller passes a list without a
    catch-all encoding such as latin-1 and none of them fits.
    """
    if not encodings:
        raise ValueError("decode_bytes needs at least one encoding")
    last_error: UnicodeDecodeError | None = None
    for encoding in _candidates(data[:_SNIFF], encodings):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            last_error = exc
            continue
        if encoding == "gb18030" and not looks_like_gb18030(text) and encoding != encodings[-1]:
            continue
        return text, encoding
    if last_error is None:  # nothing was even tried: a wide-only list and data that is not wide
        last_error = UnicodeDecodeError(encodings[0], data[:1], 0, min(1, len(data)), "no encoding fits")
    raise last_error


def detect_file_encoding(path: str | os.PathLike[str], encodings: tuple[str, ...] = ENCODINGS) -> str | None:
    """Like :func:`decode_bytes` for a file of any size, reading it in chunks; None if none fits."""
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF)
    for encoding in _candidates(head, encodings):
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
