"""The import dialog: the terms column is guessed (not an id column), a count column and a workbook's
sheet can be chosen, and what was chosen is what gets imported."""

from __future__ import annotations

from termlinker.api import preview_table
from termlinker_desktop.import_dialog import ImportDialog
from termlinker_desktop.term_sources import ColumnChoice, read_file

from ..io.test_term_tables import workbook


def test_the_terms_column_is_guessed_past_an_id_column(qtbot, tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,verbatim,n\n1,my head hurts,3\n2,queasy,1\n3,sore legs,2\n")
    dialog = ImportDialog(path, preview_table(path))
    qtbot.addWidget(dialog)
    assert dialog.choice() == ColumnChoice(1, True)
    dialog.counts.setCurrentIndex(3)  # "(each row counts once)", then columns 1..3
    choice = dialog.choice()
    assert choice == ColumnChoice(1, True, count_index=2)
    assert read_file(path, choice).counts == {"my head hurts": 3, "queasy": 1, "sore legs": 2}


def test_a_headerless_table_guesses_the_wordiest_column(qtbot, tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("17\tshort of breath\n18\tnausea\n19\theadache at night\n")
    dialog = ImportDialog(path, preview_table(path))
    qtbot.addWidget(dialog)
    assert dialog.choice() == ColumnChoice(1, False)


def test_a_workbooks_sheet_is_chosen_and_read(qtbot, tmp_path):
    path = workbook(tmp_path / "w.xlsx", {"cover": [["exported 2026"]],
                                          "terms": [["code", "term"], ["A1", "headache"], ["A2", "nausea"]]})
    dialog = ImportDialog(path, preview_table(path))
    qtbot.addWidget(dialog)
    dialog.sheet.setCurrentText("terms")
    choice = dialog.choice()
    assert choice == ColumnChoice(1, True, sheet="terms")
    assert list(read_file(path, choice).counts) == ["headache", "nausea"]
