"""Writing systems: whether terms are written in a script the vocabulary's names do not use.

Linking 头痛 against the English HPO gives confident nonsense (every candidate is a guess from
character n-grams and an encoder that reads English only), so the front ends warn. The rule, one
for all of them: a text's script is the script of more than half of its letters (NFKC first, so
full-width Latin is Latin; digits and punctuation do not count); a vocabulary uses a script when
at least 10% of an evenly spaced sample of its names (up to 2,000, synonyms included) are in it; a
term is out of the vocabulary's scripts when its script is not among them. A vocabulary whose
sampled names hold no letters (codes only) is not judged.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from .model import Vocabulary

SAMPLE_NAMES = 2000
USED_SHARE = 0.10

# The first word of a letter's Unicode name, for the scripts the name starts with.
_SCRIPT_OF_NAME = {
    "LATIN": "Latin", "GREEK": "Greek", "CYRILLIC": "Cyrillic", "ARMENIAN": "Armenian", "HEBREW": "Hebrew",
    "ARABIC": "Arabic", "SYRIAC": "Syriac", "THAANA": "Thaana", "DEVANAGARI": "Devanagari", "BENGALI": "Bengali",
    "GURMUKHI": "Gurmukhi", "GUJARATI": "Gujarati", "ORIYA": "Oriya", "TAMIL": "Tamil", "TELUGU": "Telugu",
    "KANNADA": "Kannada", "MALAYALAM": "Malayalam", "SINHALA": "Sinhala", "THAI": "Thai", "LAO": "Lao",
    "TIBETAN": "Tibetan", "MYANMAR": "Myanmar", "GEORGIAN": "Georgian", "HANGUL": "Hangul", "ETHIOPIC": "Ethiopic",
    "KHMER": "Khmer", "MONGOLIAN": "Mongolian", "CJK": "Han", "IDEOGRAPHIC": "Han", "HIRAGANA": "Kana",
    "KATAKANA": "Kana",
}
# Languages (their primary subtag, as VocabularyInfo.language holds them) by the script they are
# written in; any other language is taken to be written in Latin.
_LANGUAGES_OF_SCRIPT = {
    "Han": ("zh", "ja"), "Kana": ("ja",), "Hangul": ("ko",), "Cyrillic": ("ru", "uk", "bg", "sr", "be", "mk", "kk"),
    "Greek": ("el",), "Arabic": ("ar", "fa", "ur"), "Hebrew": ("he", "yi"), "Thai": ("th",),
    "Devanagari": ("hi", "mr", "ne"), "Georgian": ("ka",), "Armenian": ("hy",),
}
_SHOWN = {"Han": "Chinese characters (Han script)", "Kana": "Japanese kana", "Hangul": "Korean Hangul"}


@lru_cache(maxsize=16384)
def char_script(ch: str) -> str | None:
    """The script of one letter; None for anything that is not a letter, or a script not listed."""
    if not ch.isalpha():
        return None
    return _SCRIPT_OF_NAME.get(unicodedata.name(ch, "").split(" ", 1)[0])


def dominant_script(text: str) -> str | None:
    """The script of more than half of the text's letters; None without letters, or with no majority."""
    counts = Counter(script for script in map(char_script, unicodedata.normalize("NFKC", text)) if script)
    if not counts:
        return None
    script, n = counts.most_common(1)[0]
    return script if n * 2 > sum(counts.values()) else None


def vocabulary_scripts(vocabulary: Vocabulary, sample: int = SAMPLE_NAMES) -> frozenset[str]:
    """The scripts at least 10% of an evenly spaced sample of the vocabulary's names are written in."""
    names = vocabulary.names
    picked = names[:: max(1, len(names) // sample)][:sample]
    counts = Counter(script for script in map(dominant_script, picked) if script)
    least = max(1.0, USED_SHARE * len(picked))
    return frozenset(script for script, n in counts.items() if n >= least)


def language_script(language: str) -> str:
    """The script a language (``zh``, ``en-GB``) is written in; Latin for any not listed."""
    primary = language.split("-")[0].split("_")[0].casefold()
    return next((script for script, languages in _LANGUAGES_OF_SCRIPT.items() if primary in languages), "Latin")


@dataclass(frozen=True)
class ScriptMismatch:
    """How many of the terms (with letters) are in a script the vocabulary does not use."""

    terms: int  # terms whose script the vocabulary does not use
    total: int  # terms with letters, all told
    script: str  # the commonest such script
    vocabulary: str

    def message(self, suggestions: Iterable[str] = ()) -> str:
        """One line for the user; ``suggestions`` name vocabularies written in :attr:`script`."""
        verb = "is" if self.terms == 1 else "are"
        shown = _SHOWN.get(self.script, f"{self.script} script")
        named = list(suggestions)
        advice = (f"Link them against a vocabulary in that script: {', '.join(named)}." if named else
                  f"Import a vocabulary whose names are in {shown} (vocab import) and link them against it.")
        return (f"{self.terms} of {self.total} term{'s' if self.total != 1 else ''} {verb} written in {shown}, "
                f"which the vocabulary {self.vocabulary!r} does not use: their links are likely wrong. {advice}")


def script_mismatch(terms: Iterable[str], vocabulary: Vocabulary) -> ScriptMismatch | None:
    """The terms in a script the vocabulary does not use, or None when there are none (or the
    vocabulary's names hold no letters to judge by)."""
    used = vocabulary_scripts(vocabulary)
    if not used:
        return None
    total = 0
    outside: Counter[str] = Counter()
    for term in terms:
        script = dominant_script(term)
        if script is None:
            continue
        total += 1
        if script not in used:
            outside[script] += 1
    if not outside:
        return None
    return ScriptMismatch(sum(outside.values()), total, outside.most_common(1)[0][0], vocabulary.info.name)
