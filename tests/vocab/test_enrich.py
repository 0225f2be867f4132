"""Borrowing synonyms from another vocabulary on exact name matches."""

from __future__ import annotations

from termlinker.vocab.enrich import enrich_with
from termlinker.vocab.model import Concept, Vocabulary, VocabularyInfo


def vocab(name, *concepts):
    return Vocabulary(VocabularyInfo(name), list(concepts))


def test_synonyms_are_borrowed_only_for_exactly_matching_names():
    target = vocab("local", Concept("L1", "Insomnia"), Concept("L2", "Knee pain"))
    source = vocab("hpo", Concept("HP:1", "insomnia", ("Sleeplessness", "Trouble sleeping")),
                   Concept("HP:2", "Arthralgia", ("Joint pain",)))
    enriched, added = enrich_with(target, source)
    assert added == 2
    assert enriched.get("L1").names == ("Insomnia", "Sleeplessness", "Trouble sleeping")
    assert enriched.get("L2").names == ("Knee pain",)
    assert enriched.info.name == "local+hpo"


def test_a_match_through_a_synonym_also_counts_and_nothing_is_duplicated():
    target = vocab("local", Concept("L1", "Sleeplessness", ("Insomnia",)))
    source = vocab("hpo", Concept("HP:1", "Insomnia", ("Sleeplessness", "Trouble sleeping")))
    enriched, added = enrich_with(target, source)
    assert added == 1 and enriched.get("L1").names == ("Sleeplessness", "Insomnia", "Trouble sleeping")
