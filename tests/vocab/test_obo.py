"""OBO ontologies (HPO, MONDO, DOID): terms, synonyms of every scope, obsolete terms."""

from __future__ import annotations

import pytest

from termlinker.errors import VocabularyError
from termlinker.vocab.obo import OboSynonym, load_obo, parse_obo

from .conftest import WriteFile

OBO = r"""format-version: 1.2
data-version: hp/releases/2025-01-16
synonymtypedef: layperson "layperson term"
default-namespace: human_phenotype
remark: a header line with a colon: here

[Term]
id: HP:0000001
name: All

[Term]
id: HP:0000118
name: Phenotypic abnormality
is_a: HP:0000001 ! All

[Term]
id: HP:0000005
name: Mode of inheritance
is_a: HP:0000001 ! All

[Term]
id: HP:0001250
name: Seizure
def: "A \"transient\" occurrence\nof signs." [https://orcid.org/0000-0002-0736-9199]
synonym: "Epileptic seizure" EXACT []
synonym: "Fits" EXACT layperson [ORCID:1]
synonym: "Convulsions" RELATED [PMID:1, PMID:2]
synonym: "Seizure disorder" BROAD []
synonym: "Generalized seizure" NARROW {source="x"} []
synonym: "Epilepsy (old term)" EXACT obsolete_synonym []
xref: UMLS:C0036572
is_a: HP:0000118 ! Phenotypic abnormality

[Term]
id: HP:0000006
name: Autosomal dominant inheritance
is_a: HP:0000005 ! Mode of inheritance
is_a: HP:0000118

[Term]
id: HP:0000009
name: Obsolete thing
is_obsolete: true
replaced_by: HP:0001250

[Typedef]
id: part_of
name: part of
"""


def test_terms_become_concepts_and_obsolete_terms_are_skipped(write: WriteFile) -> None:
    vocab = load_obo(write("hp.obo", OBO))
    assert [c.concept_id for c in vocab] == ["HP:0000001", "HP:0000118", "HP:0000005", "HP:0001250", "HP:0000006"]
    assert "HP:0000009" not in vocab
    assert "part_of" not in vocab  # [Typedef] stanzas are not concepts
    assert vocab.info.name == "hp"


def test_header_data_version_becomes_the_version(write: WriteFile) -> None:
    assert load_obo(write("hp.obo", OBO)).info.version == "2025-01-16"


def test_version_without_a_date_is_kept_as_written(write: WriteFile) -> None:
    path = write("x.obo", "format-version: 1.2\ndata-version: release-7\n\n[Term]\nid: X:1\nname: One\n")
    assert load_obo(path).info.version == "release-7"


def test_synonyms_of_all_scopes_are_aliases(write: WriteFile) -> None:
    seizure = load_obo(write("hp.obo", OBO)).get("HP:0001250")
    assert seizure.aliases == (
        "Epileptic seizure", "Fits", "Convulsions", "Seizure disorder", "Generalized seizure", "Epilepsy (old term)",
    )


def test_scopes_and_synonym_types_can_be_filtered(write: WriteFile) -> None:
    path = write("hp.obo", OBO)
    assert load_obo(path, scopes={"EXACT"}, skip_synonym_types={"obsolete_synonym"}).get("HP:0001250").aliases == (
        "Epileptic seizure", "Fits",
    )


def test_parse_obo_keeps_synonym_scope_and_type(write: WriteFile) -> None:
    seizure = next(t for t in parse_obo(write("hp.obo", OBO)).terms if t.id == "HP:0001250")
    assert OboSynonym("Fits", "EXACT", "layperson") in seizure.synonyms
    assert OboSynonym("Convulsions", "RELATED", "") in seizure.synonyms
    assert OboSynonym("Generalized seizure", "NARROW", "") in seizure.synonyms  # {modifiers} are not a type
    assert seizure.is_a == ["HP:0000118"]


def test_definition_is_unquoted_and_unescaped(write: WriteFile) -> None:
    seizure = load_obo(write("hp.obo", OBO)).get("HP:0001250")
    assert seizure.definition == 'A "transient" occurrence of signs.'


def test_types_are_the_top_level_branches(write: WriteFile) -> None:
    vocab = load_obo(write("hp.obo", OBO))
    assert vocab.get("HP:0000001").types == ()  # the root itself
    assert vocab.get("HP:0000118").types == ("HP:0000118",)
    assert vocab.get("HP:0001250").types == ("HP:0000118",)
    assert vocab.get("HP:0000006").types == ("HP:0000005", "HP:0000118")


def test_legacy_obo_1_0_synonym_tags(write: WriteFile) -> None:
    path = write("old.obo", '[Term]\nid: X:1\nname: One\nexact_synonym: "Uno" []\nnarrow_synonym: "Eins" []\n')
    assert load_obo(path).get("X:1").aliases == ("Uno", "Eins")


def test_name_comments_and_escapes(write: WriteFile) -> None:
    path = write("x.obo", "[Term]\nid: X:1 ! the id\nname: Hello\\, world ! a comment\n")
    assert load_obo(path).get("X:1").canonical_name == "Hello, world"


def test_unclosed_quote_names_file_and_line(write: WriteFile) -> None:
    path = write("x.obo", '[Term]\nid: X:1\nname: One\nsynonym: "Uno EXACT []\n')
    with pytest.raises(VocabularyError, match=r"x\.obo, line 4: the quoted string is not closed"):
        load_obo(path)


def test_unknown_synonym_scope_names_file_and_line(write: WriteFile) -> None:
    path = write("x.obo", '[Term]\nid: X:1\nname: One\nsynonym: "Uno" SIMILAR []\n')
    with pytest.raises(VocabularyError, match=r"x\.obo, line 4: unknown synonym scope 'SIMILAR'"):
        load_obo(path)


def test_duplicate_term_id_names_both_lines(write: WriteFile) -> None:
    path = write("x.obo", "[Term]\nid: X:1\nname: One\n\n[Term]\nid: X:1\nname: Uno\n")
    with pytest.raises(VocabularyError, match=r"x\.obo, line 6: concept id 'X:1' was already defined on line 2"):
        load_obo(path)


def test_obo_with_only_obsolete_terms_has_no_concepts(write: WriteFile) -> None:
    path = write("x.obo", "format-version: 1.2\n\n[Term]\nid: X:1\nname: Old\nis_obsolete: true\n")
    with pytest.raises(VocabularyError, match="has no concepts"):
        load_obo(path)


def test_is_a_cycle_does_not_hang(write: WriteFile) -> None:
    path = write("x.obo", "[Term]\nid: X:1\nname: A\nis_a: X:2\n\n[Term]\nid: X:2\nname: B\nis_a: X:1\n")
    assert len(load_obo(path)) == 2
