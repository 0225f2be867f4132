"""Tables of terms (.csv/.tsv/.xlsx) read one way for every front end: the header guessed (and said)
or given, a count column, a sheet; the command line reads spreadsheets too."""

from __future__ import annotations

import json

import pytest

from termlinker.cli import main
from termlinker.errors import InputError
from termlinker.io.terms import guess_header, preview_table, read_terms


def workbook(path, sheets: dict[str, list[list[object]]]):
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def test_a_header_is_guessed_said_and_can_be_refused(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("Diagnosis\nheadache\nnausea\n")
    guessed = read_terms(path)
    assert list(guessed.counts) == ["headache", "nausea"]
    assert any("took the first row" in w for w in guessed.warnings)
    assert list(read_terms(path, header=False).counts) == ["Diagnosis", "headache", "nausea"]


def test_a_numbered_column_under_a_header_row(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("id\tphrase\n1\theadache\n2\tnausea\n")
    assert list(read_terms(path, column="2", header=True).counts) == ["headache", "nausea"]


def test_a_named_column_needs_a_header(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("1,headache\n")
    with pytest.raises(InputError, match="no header row"):
        read_terms(path, column="phrase", header=False)


def test_a_count_column_says_how_often_each_term_occurred(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("term,n\nheadache,40\nnausea,2\nheadache,1\n")
    assert read_terms(path, count_column="n").counts == {"headache": 41, "nausea": 2}
    assert read_terms(path, column="1", header=True, count_column="2").counts == {"headache": 41, "nausea": 2}


@pytest.mark.parametrize("bad", ["many", "0", "2.5", ""])
def test_a_count_that_is_not_a_whole_number_names_its_line(tmp_path, bad):
    path = tmp_path / "t.csv"
    path.write_text(f"term,n\nheadache,3\nnausea,{bad}\n")
    with pytest.raises(InputError, match="line 3"):
        read_terms(path, count_column="n")


def test_a_workbook_sheet_is_chosen_by_name(tmp_path):
    path = workbook(tmp_path / "w.xlsx", {"notes": [["nothing here"]],
                                          "terms": [["term", "n"], ["headache", 3], ["nausea", None], [None, None]]})
    assert list(read_terms(path).counts) == ["nothing here"]
    terms = read_terms(path, sheet="terms", column="term")
    assert terms.counts == {"headache": 1, "nausea": 1} and terms.encoding == "xlsx"
    with pytest.raises(InputError, match="n' is not a whole number|line 3"):
        read_terms(path, sheet="terms", count_column="n")
    with pytest.raises(InputError, match="its sheets are: notes, terms"):
        read_terms(path, sheet="Terms")
    preview = preview_table(path, sheet="terms")
    assert preview.sheets == ("notes", "terms") and preview.has_header and preview.rows[1] == ["headache", "3"]


def test_sheet_applies_to_workbooks_only(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("headache\n")
    with pytest.raises(InputError, match="--sheet"):
        read_terms(path, sheet="x")


def test_a_damaged_workbook_is_one_line(tmp_path):
    path = tmp_path / "w.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InputError, match="not a readable Excel workbook"):
        read_terms(path)


def test_one_header_guess_for_both_front_ends():
    assert guess_header([["Term"], ["headache"]]) and guess_header([["诊断"], ["头痛"]])
    assert not guess_header([["headache"], ["nausea"]])


def test_the_command_line_links_a_spreadsheet_with_counts(home, tiny_vocab_path, tmp_path, capsys):
    path = workbook(tmp_path / "w.xlsx", {"Sheet1": [["id", "phrase", "seen"], [1, "my head hurts", 7],
                                                     [2, "queasy", 2]]})
    rc = main(["--home", str(home.root), "-q", "link", str(path), "--vocab", str(tiny_vocab_path), "--column",
               "phrase", "--count-column", "seen", "--format", "jsonl", "--top-k", "1"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rc == 0 and [(r["term"], r["count"]) for r in rows] == [("my head hurts", 7), ("queasy", 2)]


def test_the_command_line_reads_a_first_row_as_a_term_when_told(home, tiny_vocab_path, tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_text("headache\n")
    rc = main(["--home", str(home.root), "-q", "link", str(path), "--vocab", str(tiny_vocab_path), "--no-header",
               "--format", "jsonl"])
    assert rc == 0 and json.loads(capsys.readouterr().out)["term"] == "headache"
