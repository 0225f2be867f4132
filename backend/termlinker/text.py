"""String normalisation shared by exact matching, the lexical channel and prompts."""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")
# Punctuation that carries no meaning for matching, including CJK forms
# (NFKC already folds full-width ASCII to half-width).
_PUNCT = re.compile(r"[\s\-_/\\,;:.!?'\"()\[\]{}<>|、，；：。！？“”‘’（）【】《》·…]+")


def normalise(text: str) -> str:
    """Canonical key for exact matching: NFKC, case-folded, punctuation as single spaces."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _PUNCT.sub(" ", folded).strip()


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
_SPAN_TRIM = re.compile(r"^[\s\-_:：()（）\[\]【】]+|[\s\-_:：()（）\[\]【】]+$")


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
