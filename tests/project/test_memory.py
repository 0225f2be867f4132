"""Mapping memory (issue 18 B4): approved mappings of earlier projects and of imported mapping files
(SSSOM/TSV, TermLinker CSV) are proposed first for the same normalised term, each saying where it came
from; with auto-approve an unchecked term is approved with them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from termlinker.errors import InputError, StorageError
from termlinker.linker import Linker, LinkerConfig
from termlinker.project import Predicate, Project, Status
from termlinker.project.memory import MappingMemory
from termlinker.vocab.loaders import load_vocabulary_file


@pytest.fixture
def linker(home, tiny_vocab_path):
    return Linker(LinkerConfig(vocabulary=str(tiny_vocab_path), top_k=3, threads=1), dirs=home)


@pytest.fixture
def memory(home):
    with MappingMemory.in_data_folder(home) as m:
        yield m


def _earlier_project(path, linker) -> Path:
    with Project.create(path, linker.config.vocabulary) as p:
        p.add_terms({"my legs are killing me": 1, "cant sleep": 1, "dizzy": 1})
        p.link(linker)
        p.decide("my legs are killing me", "approved", concept_id="T:003", predicate="broad")
        p.add_target("my legs are killing me", "T:010", "Muscle cramp", predicate="related")
        p.decide("cant sleep", "approved", concept_id="T:002")
        p.decide("dizzy", "flagged")  # not approved: not remembered
    return path


def test_an_earlier_projects_approvals_are_proposed_first_with_their_origin(linker, memory, tmp_path):
    with Project.open(_earlier_project(tmp_path / "clinic-a.tlproj", linker)) as earlier:
        assert memory.remember_project(earlier) == 3  # targets, not terms
    with Project.create(tmp_path / "b.tlproj", linker.config.vocabulary) as p:
        p.add_terms({"My legs are KILLING me!": 2, "dizzy": 1, "cant  sleep": 1})
        p.link(linker, memory=memory)
        legs = p.row("My legs are KILLING me!")
        assert [(m.concept_id, m.predicate, m.origin) for m in legs.remembered] == [
            ("T:003", Predicate.BROAD, "project clinic-a.tlproj"),
            ("T:010", Predicate.RELATED, "project clinic-a.tlproj")]
        assert legs.status is Status.UNCHECKED  # proposed, not decided
        assert p.row("dizzy").remembered == ()
        assert [m.concept_id for m in p.row("cant sleep").remembered] == ["T:002"]


def test_auto_approve_takes_the_remembered_concepts_and_says_so(linker, memory, tmp_path):
    with Project.open(_earlier_project(tmp_path / "clinic-a.tlproj", linker)) as earlier:
        memory.remember_project(earlier)
    with Project.create(tmp_path / "b.tlproj", linker.config.vocabulary) as p:
        p.add_terms({"my legs are killing me": 1, "cant sleep": 1})
        p.link(linker)
        p.decide("cant sleep", "no_match")  # a human decision stays
        summary = p.recall(memory, auto_approve=True)
        assert (summary.proposed, summary.approved) == (2, 1)
        legs = p.row("my legs are killing me")
        assert legs.status is Status.APPROVED and legs.reviewer == "mapping memory"
        assert [(t.concept_id, t.predicate) for t in legs.targets] == [("T:003", Predicate.BROAD),
                                                                       ("T:010", Predicate.RELATED)]
        assert "remembered from project clinic-a.tlproj" in legs.comment
        assert p.row("cant sleep").status is Status.NO_MATCH


def test_remembering_a_project_again_replaces_what_it_gave(linker, memory, tmp_path):
    path = _earlier_project(tmp_path / "a.tlproj", linker)
    with Project.open(path) as earlier:
        memory.remember_project(earlier)
        earlier.decide("cant sleep", "approved", concept_id="T:004", concept_name="Nausea")
        memory.remember_project(earlier)
    assert [m.concept_id for m in memory.lookup(linker.vocabulary.info.name, "cant sleep")] == ["T:004"]


def test_an_sssom_file_is_remembered_with_prefixes_dropped_and_unknown_ids_counted(memory, tmp_path,
                                                                                   tiny_vocab_path):
    sssom = tmp_path / "mappings.sssom.tsv"
    sssom.write_text(
        "# curie_map:\n#   T: http://example.org/T_\n"
        "subject_label\tsubject_type\tpredicate_id\tobject_id\tobject_label\tmapping_justification\n"
        "leg ache\trdfs literal\tskos:broadMatch\tT:003\tPain in lower limb\tsemapv:ManualMappingCuration\n"
        "sore head\trdfs literal\tskos:exactMatch\tTINY:T:001\t\tsemapv:ManualMappingCuration\n"
        "nothing\trdfs literal\tskos:exactMatch\tsssom:NoTermFound\t\tsemapv:ManualMappingCuration\n"
        "guess\trdfs literal\tskos:exactMatch\tT:002\t\tsemapv:SemanticSimilarityThresholdMatching\n"
        "elsewhere\trdfs literal\tskos:exactMatch\tX:999\t\tsemapv:ManualMappingCuration\n", encoding="utf-8")
    vocab = load_vocabulary_file(tiny_vocab_path)
    result = memory.import_file(sssom, vocab)
    assert (result.remembered, result.unknown, result.skipped) == (2, 1, 2)
    leg = memory.lookup(vocab.info.name, "Leg ache")
    assert [(m.concept_id, m.predicate, m.origin) for m in leg] == [("T:003", Predicate.BROAD,
                                                                   "file mappings.sssom.tsv")]
    assert memory.lookup(vocab.info.name, "sore head")[0].concept_name == "Headache"  # named from the vocabulary


def test_our_own_csv_export_is_remembered(linker, memory, tmp_path, tiny_vocab_path):
    with Project.open(_earlier_project(tmp_path / "a.tlproj", linker)) as earlier:
        earlier.export(tmp_path / "a.csv", "csv", approved_only=False)
    result = memory.import_file(tmp_path / "a.csv", load_vocabulary_file(tiny_vocab_path))
    assert (result.remembered, result.skipped) == (3, 1)  # three targets; dizzy was flagged


def test_a_file_of_another_kind_is_a_clear_error(memory, tmp_path, tiny_vocab_path):
    other = tmp_path / "x.csv"
    other.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match="neither an SSSOM/TSV file .* nor a TermLinker CSV export"):
        memory.import_file(other, load_vocabulary_file(tiny_vocab_path))
    with pytest.raises(InputError, match="no mapping file"):
        memory.import_file(tmp_path / "missing.tsv", load_vocabulary_file(tiny_vocab_path))


def test_a_memory_file_holding_foreign_sql_is_refused_unchanged(tmp_path):
    path = tmp_path / "memory.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE mappings (x)")
    conn.execute("CREATE TRIGGER t AFTER INSERT ON mappings BEGIN SELECT 1; END")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StorageError, match="not ours"):
        MappingMemory(path)
    assert path.read_bytes() == before
