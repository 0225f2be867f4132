"""How many concepts a diagnosis names: rules learned from labelled items that name several.

CHIP-CDN's golds often add a concept no retriever proposes for the text as a whole: the morphology
beside the site (右乳腺癌IV期 → 乳腺恶性肿瘤 + 癌), the treatment beside the disease (…术后化疗 →
化学治疗). Such additions follow the words of the diagnosis, so they are learned as rules "a text
holding this piece of text also names concept B", one per (trigger, concept) whose share of labelled
texts holding the trigger that name B is high enough (``min_precision``) on enough texts
(``min_support``). Triggers are character n-grams (1-3) of the normalised text for Chinese and
Japanese, word uni- and bigrams otherwise.

At link time (``LinkerConfig.set_rules``, with ``split_multi``) a term's set is its split parts' or
its best concept, plus each concept a rule names for it. Rules are data: a JSON file, no code.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..atomic import write_text
from ..errors import InputError
from ..text import normalise

if TYPE_CHECKING:
    from ..labels import LabelledPair

DEFAULT_MIN_PRECISION = 0.7  # chosen on validation (CHIP-CDN fold 0): docs/experiments.md, set rules
DEFAULT_MIN_SUPPORT = 5
FORMAT = "termlinker-set-rules"
FORMAT_VERSION = 1
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class SetRule:
    trigger: str
    concept_id: str
    precision: float  # share of labelled texts holding the trigger that name the concept
    support: int  # how many texts hold the trigger and name the concept


def triggers(text: str) -> set[str]:
    """The pieces of ``text`` a rule can hang on."""
    key = normalise(text)
    if _CJK.search(key):
        squeezed = key.replace(" ", "")
        return {squeezed[i:i + n] for n in (1, 2, 3) for i in range(len(squeezed) - n + 1)}
    words = key.split()
    return set(words) | {" ".join(words[i:i + 2]) for i in range(len(words) - 1)}


class SetRules:
    """Rules by trigger; :meth:`additions` gives the concepts a text names beyond a predicted set."""

    def __init__(self, rules: Iterable[SetRule], min_support: int, min_precision: float) -> None:
        self.min_support = min_support
        self.min_precision = min_precision
        self.by_trigger: dict[str, list[SetRule]] = defaultdict(list)
        for rule in rules:
            self.by_trigger[rule.trigger].append(rule)

    def __len__(self) -> int:
        return sum(len(r) for r in self.by_trigger.values())

    @classmethod
    def learn(cls, pairs: Iterable["LabelledPair"], min_support: int = DEFAULT_MIN_SUPPORT,
              min_precision: float = DEFAULT_MIN_PRECISION) -> "SetRules":
        """Learn from labelled pairs; a term labelled with several concepts comes as several pairs."""
        if min_support < 1 or not 0.0 < min_precision <= 1.0:
            raise InputError("set rules need min_support >= 1 and 0 < min_precision <= 1.")
        golds: dict[str, set[str]] = defaultdict(set)
        for pair in pairs:
            golds[pair.term].add(pair.concept_id)
        holding: Counter[str] = Counter()
        naming: Counter[tuple[str, str]] = Counter()
        for term, concepts in golds.items():
            pieces = triggers(term)
            holding.update(pieces)
            naming.update((piece, concept) for piece in pieces for concept in concepts)
        rules = [SetRule(piece, concept, round(n / holding[piece], 4), n)
                 for (piece, concept), n in naming.items()
                 if n >= min_support and n / holding[piece] >= min_precision]
        rules.sort(key=lambda r: (r.trigger, r.concept_id))
        return cls(rules, min_support, min_precision)

    def additions(self, text: str, predicted: Iterable[str]) -> list[tuple[str, SetRule]]:
        """(concept id, the strongest rule naming it) for each concept the rules name for ``text`` that is
        not in ``predicted``, strongest first."""
        have = set(predicted)
        best: dict[str, SetRule] = {}
        for piece in triggers(text):
            for rule in self.by_trigger.get(piece, ()):
                if rule.concept_id in have:
                    continue
                known = best.get(rule.concept_id)
                if known is None or (rule.precision, rule.support) > (known.precision, known.support):
                    best[rule.concept_id] = rule
        return sorted(best.items(), key=lambda kv: (-kv[1].precision, -kv[1].support, kv[0]))

    # --- files -----------------------------------------------------------------------

    def to_json(self) -> dict:
        return {"format": FORMAT, "version": FORMAT_VERSION, "min_support": self.min_support,
                "min_precision": self.min_precision,
                "rules": [[r.trigger, r.concept_id, r.precision, r.support]
                          for rules in self.by_trigger.values() for r in rules]}

    def save(self, path: str | Path) -> None:
        write_text(Path(path), json.dumps(self.to_json(), ensure_ascii=False, indent=0) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> "SetRules":
        target = Path(path)
        try:
            data = json.loads(target.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"There are no set rules at {target}. Learn them with 'termlinker ranker train-sets'.") \
                from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{target} is not a set-rules file ({exc}). Learn it again with "
                             "'termlinker ranker train-sets'.") from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("version") != FORMAT_VERSION:
            raise InputError(f"{target} is not a set-rules file of this TermLinker (format {FORMAT} "
                             f"{FORMAT_VERSION}). Learn it again with 'termlinker ranker train-sets'.")
        try:
            rules = [SetRule(str(t), str(c), float(p), int(s)) for t, c, p, s in data["rules"]]
            return cls(rules, int(data["min_support"]), float(data["min_precision"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{target} is a damaged set-rules file ({exc}). Learn it again.") from exc
