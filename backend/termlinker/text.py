"""String normalisation shared by exact matching, the lexical channel and prompts."""

from __future__ import annotations

import functools
import importlib.util
import re
import unicodedata
from pathlib import Path

_SPACE = re.compile(r"\s+")
# Punctuation that carries no meaning for matching, including CJK forms
# (NFKC already folds full-width ASCII to half-width).
_PUNCT = re.compile(r"[\s\-_/\\,;:.!?'\"()\[\]{}<>|、，；：。！？“”‘’（）【】《》·…]+")


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")


def normalise(text: str) -> str:
    """Canonical key for exact matching: NFKC, case-folded, traditional Chinese characters
    folded to simplified, punctuation as single spaces."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    if _CJK.search(folded):
        folded = folded.translate(_traditional_to_simplified())
    return _PUNCT.sub(" ", folded).strip()


@functools.cache
def _traditional_to_simplified() -> dict[int, str]:
    """Character table from OpenCC's TSCharacters (opencc-python-reimplemented, Apache-2.0).

    Characters only, no phrase rules: both a name and a term are folded the same way, so a
    character mapping is enough for matching and costs one ``str.translate``. A character that
    is also one of its own simplified forms (乾 -> 干 or 乾) is left alone. Without the package,
    nothing is folded."""
    spec = importlib.util.find_spec("opencc")
    if spec is None or not spec.submodule_search_locations:
        return {}
    path = Path(list(spec.submodule_search_locations)[0]) / "dictionary" / "TSCharacters.txt"
    table: dict[int, str] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    for line in lines:
        source, _, targets = line.partition("\t")
        options = targets.split()
        if len(source) == 1 and options and source not in options:
            table[ord(source)] = options[0]
    return table


def clean(text: str) -> str:
    """Light clean-up for display and encoding: NFKC and collapsed whitespace."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()


# Where one raw diagnosis names several concepts ("高血压；冠心病伴心绞痛"): list separators,
# a full stop or space between non-digits, and the conjunctions 伴 (with), 并/合并 (and/with
# complication), 及/和 (and). 并发 (complication) and 合并症 stay whole.
_SPLIT = re.compile(
    r"[；;，,、/\\|]+"
    r"|(?<!\d)[.。．\s]+(?!\d)"
    r"|合并(?!症)|(?<!合)并(?!发)|伴(?:有|发)?|及|和"
)
_SPAN_TRIM = re.compile(r'^[\s\-_:：()（）\[\]【】"“”]+|[\s\-_:：()（）\[\]【】"“”]+$')


def split_terms(text: str) -> list[str]:
    """Sub-spans of a term that may name several concepts; ``[text]`` when it does not split.

    Spans are NFKC-cleaned, stripped of edge punctuation, empty ones dropped, order kept,
    duplicates removed."""
    cleaned = clean(text)
    spans = []
    for part in _SPLIT.split(cleaned):
        part = _SPAN_TRIM.sub("", part)
        if part and normalise(part) and part not in spans:
            spans.append(part)
    return spans if len(spans) > 1 else [cleaned]
