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
