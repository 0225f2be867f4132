"""TSV/CSV vocabularies: id, name, synonyms separated by |; what a spreadsheet exports."""

from __future__ import annotations

import pytest

from termlinker.errors import VocabularyError
from termlinker.vocab.model import Concept
from termlinker.vocab.table import load_table, looks_like_header

from .conftest import WriteFile


def test_tsv_columns_are_id_name_and_pipe_separated_synonyms(write: WriteFile) -> None:
    path = write("v.tsv", "HP:0001\tSeizure\tFits | Epilepsy||\textra column\nHP:0002\tHeadache\n")
    vocab = load_table(path)
    assert vocab.concepts == [Concept("HP:0001", "Seizure", ("Fits", "Epilepsy")), Concept("HP:0002", "Headache")]
    assert vocab.info.name == "v"
    assert vocab.info.language == "en"


def test_tsv_without_header_keeps_first_row(write: WriteFile) -> None:
    path = write("v.tsv", "HP:0001\tFoo\nHP:0002\tBar\n")
    assert [c.concept_id for c in load_table(path)] == ["HP:0001", "HP:0002"]


def test_chinese_tsv_with_code_name_header_drops_the_header(write: WriteFile) -> None:
    path = write("icd.tsv", "code\tname\nA00\t霍乱\nA00.0\t霍乱,由于01群霍乱弧菌,霍乱生物型所致\n")
    vocab = load_table(path)
    assert [c.concept_id for c in vocab] == ["A00", "A00.0"]
    assert vocab.get("A00.0").canonical_name == "霍乱,由于01群霍乱弧菌,霍乱生物型所致"
    assert vocab.info.language == "zh"


@pytest.mark.parametrize(
    "first_row",
    [["ID", "Name"], ["concept_id", "canonical_name"], ["CUI", "STR"], ["#id", "label"],
     ["编码", "名称"], ["term", "name"], ["identifier", "x"]],
)
def test_known_column_words_make_a_header(first_row: list[str]) -> None:
    assert looks_like_header([first_row, ["A00", "Cholera"]])


def test_word_over_coded_ids_is_a_header() -> None:
    assert looks_like_header([["hpo term", "label"], ["HP:0001", "Foo"], ["HP:0002", "Bar"]])
    assert looks_like_header([["诊断编码", "x"], ["A00", "霍乱"]])


@pytest.mark.parametrize(
    "rows",
    [
        [["HP:0001", "Foo"], ["HP:0002", "Bar"]],
        [["I", "Certain infectious diseases"], ["A00", "Cholera"]],  # Roman chapter numbers are data
        [["fever", "Fever"], ["cough", "Cough"]],  # word ids all the way down
        [["A00", "Name"], ["A01", "Typhoid"]],  # "Name" as a concept name, but the id is a code
    ],
)
def test_data_rows_are_not_mistaken_for_a_header(rows: list[list[str]]) -> None:
    assert not looks_like_header(rows)


def test_header_can_be_forced_either_way(write: WriteFile) -> None:
    path = write("v.tsv", "fever\tFever\ncough\tCough\n")
    assert len(load_table(path)) == 2
    assert len(load_table(path, header=True)) == 1


def test_csv_with_quoted_commas(write: WriteFile) -> None:
    path = write("v.csv", 'id,name,synonyms\nD1,"Fracture, femur",Broken thigh|Femoral fracture\n')
    assert load_table(path).concepts == [Concept("D1", "Fracture, femur", ("Broken thigh", "Femoral fracture"))]


def test_txt_delimiter_is_detected(write: WriteFile) -> None:
    tabbed = write("tabbed.txt", "A00\t霍乱,古典型\nA01\t伤寒\n")
    assert load_table(tabbed).get("A00").canonical_name == "霍乱,古典型"
    commas = write("commas.txt", "D1,Fever\nD2,Cough\n")
    assert [c.canonical_name for c in load_table(commas)] == ["Fever", "Cough"]
    semicolons = write("semi.txt", "D1;Fever\nD2;Cough\n")
    assert [c.canonical_name for c in load_table(semicolons)] == ["Fever", "Cough"]


def test_explicit_delimiter_wins(write: WriteFile) -> None:
    path = write("v.tsv", "D1;Fever\n")
    assert load_table(path, delimiter=";").get("D1").canonical_name == "Fever"


def test_gb18030_chinese_tsv(write: WriteFile) -> None:
    path = write("icd.tsv", "编码\t名称\t同义词\nA00\t霍乱\t霍乱弧菌感染\nA01\t伤寒\n", encoding="gb18030")
    vocab = load_table(path)
    assert vocab.get("A00") == Concept("A00", "霍乱", ("霍乱弧菌感染",))
    assert vocab.info.language == "zh"


def test_utf8_bom_does_not_stick_to_the_first_id(write: WriteFile) -> None:
    path = write("v.csv", "\ufeffD1,Fever\n", encoding="utf-8")
    assert "D1" in load_table(path)


def test_latin1_tsv(write: WriteFile) -> None:
    path = write("v.tsv", "D1\tCafé au lait spots\tTaches café au lait\n", encoding="latin-1")
    assert load_table(path).get("D1") == Concept("D1", "Café au lait spots", ("Taches café au lait",))


def test_windows_line_endings_and_blank_lines(write: WriteFile) -> None:
    path = write("v.tsv", "D1\tFever\r\n\r\n\t\r\nD2\tCough\r\n")
    assert [c.canonical_name for c in load_table(path)] == ["Fever", "Cough"]


def test_row_with_one_column_names_file_and_line(write: WriteFile) -> None:
    path = write("v.tsv", "id\tname\nD1\tFever\n\nD2 Cough\n")
    with pytest.raises(VocabularyError, match=r"v\.tsv, line 4: found only 1 column"):
        load_table(path)


def test_empty_name_names_file_and_line(write: WriteFile) -> None:
    path = write("v.tsv", "D1\tFever\nD2\t  \n")
    with pytest.raises(VocabularyError, match=r"v\.tsv, line 2: the name column is empty"):
        load_table(path)


def test_empty_id_names_file_and_line(write: WriteFile) -> None:
    path = write("v.csv", "D1,Fever\n,Cough\n")
    with pytest.raises(VocabularyError, match=r"v\.csv, line 2: the id column is empty"):
        load_table(path)


def test_duplicate_id_names_both_lines(write: WriteFile) -> None:
    path = write("v.tsv", "code\tname\nD1\tFever\nD2\tCough\nD1\tPyrexia\n")
    with pytest.raises(VocabularyError, match=r"v\.tsv, line 4: concept id 'D1' was already defined on line 2"):
        load_table(path)


def test_identical_repeated_row_is_kept_once(write: WriteFile) -> None:
    path = write("v.tsv", "D1\tFever\tPyrexia\nD2\tCough\nD1\tFever\tPyrexia\n")
    assert [c.concept_id for c in load_table(path)] == ["D1", "D2"]


def test_header_only_file_has_no_concepts(write: WriteFile) -> None:
    path = write("v.tsv", "code\tname\n")
    with pytest.raises(VocabularyError, match="has no concepts"):
        load_table(path)
