"""Every way terms come in, and every bad input ending in a dialog rather than a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent

from termlinker_desktop.term_sources import ColumnChoice, guess_header, terms_from_text


def terms_of(window) -> dict[str, int]:
    return {r.term: r.count for r in window.model.rows}


def test_a_txt_file_adds_one_term_per_line(window, tmp_path, dialogs):
    path = tmp_path / "terms.txt"
    path.write_text("headache\n\ninsomnia\nheadache\n", encoding="utf-8")
    assert window.import_file(path)
    assert terms_of(window) == {"headache": 2, "insomnia": 1}
    assert window.model.rows[0].linked is False
    assert dialogs.errors == []


def test_a_gb18030_txt_file_is_detected_and_read(window, tmp_path):
    path = tmp_path / "zh.txt"
    path.write_bytes("头痛\n失眠\n头痛\n".encode("gb18030"))
    assert window.import_file(path)
    assert terms_of(window) == {"头痛": 2, "失眠": 1}
    assert "gb18030" in window.statusBar().currentMessage()


def test_a_csv_column_is_chosen_with_its_header_detected(window, tmp_path):
    path = tmp_path / "visits.csv"
    path.write_text("id,term,ward\n1,headache,A\n2,insomnia,B\n3,headache,C\n", encoding="utf-8")
    window.column_choice = ColumnChoice(1, has_header=True)
    assert window.import_file(path)
    preview = window.previews[-1]
    assert preview.has_header and preview.column_labels()[1] == "2: term"
    assert terms_of(window) == {"headache": 2, "insomnia": 1}


def test_a_tsv_without_a_header_keeps_its_first_row(window, tmp_path):
    path = tmp_path / "plain.tsv"
    path.write_text("x1\tleg pain\nx2\tcough\n", encoding="utf-8")
    window.column_choice = ColumnChoice(1, has_header=False)
    assert window.import_file(path)
    assert not window.previews[-1].has_header
    assert terms_of(window) == {"leg pain": 1, "cough": 1}


def test_an_xlsx_column_is_read_with_openpyxl(window, tmp_path):
    path = tmp_path / "sheet.xlsx"
    book = Workbook()
    sheet = book.active
    for row in (("Term", "Count"), ("headache", 3), ("失眠", 1), (None, 2), ("headache", 1)):
        sheet.append(row)
    book.save(path)
    window.column_choice = ColumnChoice(0, has_header=True)
    assert window.import_file(path)
    assert window.previews[-1].has_header
    assert terms_of(window) == {"headache": 2, "失眠": 1}


def test_a_dropped_file_is_imported(qtbot, window, tmp_path):
    path = tmp_path / "dropped.txt"
    path.write_text("cough\n", encoding="utf-8")
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPoint(10, 10), Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    qtbot.waitUntil(lambda: terms_of(window) == {"cough": 1})


def test_a_binary_file_is_refused_with_a_dialog(window, tmp_path, dialogs):
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    assert not window.import_file(path)
    assert len(dialogs.errors) == 1
    assert "binary" in dialogs.errors[0][1]
    assert window.project is None or window.project.stats().terms == 0


def test_a_broken_xlsx_is_refused_with_a_dialog(window, tmp_path, dialogs):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    assert not window.import_file(path)
    assert "not a readable Excel workbook" in dialogs.errors[0][1]


@pytest.mark.parametrize("has_header", [True, False])
def test_a_csv_without_the_chosen_column_is_refused_with_a_dialog(window, tmp_path, dialogs, has_header):
    path = tmp_path / "narrow.csv"
    path.write_text("term,ward\nheadache,A\ninsomnia,B\n", encoding="utf-8")
    window.column_choice = ColumnChoice(4, has_header=has_header)
    assert not window.import_file(path)
    assert len(dialogs.errors) == 1
    assert "column 5" in dialogs.errors[0][1]


def test_an_empty_paste_is_refused_with_a_dialog(window, dialogs):
    window.paste_box.setPlainText("  \n\n \t\n")
    window.run()
    assert window._op is None
    assert len(dialogs.errors) == 1
    assert "no terms" in dialogs.errors[0][1].lower()


def test_a_cancelled_column_choice_imports_nothing(window, tmp_path, dialogs):
    path = tmp_path / "terms.csv"
    path.write_text("term\nheadache\n", encoding="utf-8")
    window.column_choice = None
    assert not window.import_file(path)
    assert dialogs.errors == [] and window.model.rows == []


def test_pasted_text_collapses_whitespace_and_counts_repeats():
    terms = terms_from_text("  head   ache \nhead ache\n\n失眠\n")
    assert terms.counts == {"head ache": 2, "失眠": 1}


def test_header_guess_knows_header_words_and_numbers():
    assert guess_header([["Term"], ["headache"]])
    assert not guess_header([["headache"], ["insomnia"]])
