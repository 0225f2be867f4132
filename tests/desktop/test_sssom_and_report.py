"""The desktop offers SSSOM first (the format remembered from the last export wins) and saves the
review report from Review ▸ Report…, offering to open it."""

from __future__ import annotations

from termlinker.project import Status
from termlinker_desktop.export_dialog import FORMATS, ExportChoice, ExportDialog

from .conftest import paste_and_run, wait_for_run
from .test_menus import menu_action


def test_sssom_is_the_first_format_and_the_default_for_new_users(qtbot, make_window):
    assert FORMATS[0][0] == "sssom"
    window = make_window()
    dialog = window.export_dialog()
    qtbot.addWidget(dialog)
    assert dialog.format.itemData(0) == "sssom" and dialog.choice().fmt == "sssom"
    assert ExportChoice("sssom", True).suffix == ".sssom.tsv"

    remembered = make_window(export_format="json")
    dialog = remembered.export_dialog()
    qtbot.addWidget(dialog)
    assert dialog.choice().fmt == "json"
    plain = ExportDialog()
    qtbot.addWidget(plain)
    assert plain.choice().fmt == "sssom"


def test_export_sssom_from_the_window(qtbot, window, dialogs, tmp_path):
    paste_and_run(qtbot, window, "headache\n头痛\n")
    window.project.decide("headache", "approved", reviewer="ann")
    out = tmp_path / "map.sssom.tsv"
    window.export_choice = ExportChoice("sssom", approved_only=False, path=out)
    window.export()
    wait_for_run(qtbot, window)  # exports run in the background
    assert dialogs.errors == []
    text = out.read_text(encoding="utf-8")
    assert text.startswith("#curie_map:")
    assert "headache\trdfs literal\tskos:exactMatch\tT:001" in text and "头痛\trdfs literal" in text
    assert window.settings.export_format == "sssom"


def test_review_report_is_saved_and_offered_to_open(qtbot, window, dialogs, tmp_path):
    opened = []
    window.open_file = opened.append
    paste_and_run(qtbot, window, "headache\n头痛\ninsomnia\n")
    window.project.decide("headache", "approved", reviewer="李医生")
    window.project.decide("insomnia", "flagged", reviewer="ann")
    window.save_path = tmp_path / "reports" / "review.html"
    (tmp_path / "reports").mkdir()
    menu_action(window, "Re&view", "&Report…").trigger()
    assert dialogs.errors == []
    html = (tmp_path / "reports" / "review.html").read_text(encoding="utf-8")
    assert "李医生" in html and "<svg" in html
    assert window.suggested[-1].name.endswith("-report.html")
    assert dialogs.questions[-1][0] == "Review report saved" and opened == [tmp_path / "reports" / "review.html"]

    dialogs.answers.append(False)  # No: saved, not opened
    window.save_path = tmp_path / "reports" / "again"
    menu_action(window, "Re&view", "&Report…").trigger()
    assert (tmp_path / "reports" / "again.html").exists() and len(opened) == 1
    assert window.project.row("insomnia").status is Status.FLAGGED  # the report changes nothing


def test_report_cancelled_or_refused(qtbot, window, dialogs, tmp_path):
    paste_and_run(qtbot, window, "headache\n")
    window.save_path = None  # cancelled
    menu_action(window, "Re&view", "&Report…").trigger()
    assert dialogs.errors == [] and dialogs.questions == []
    window.save_path = window.project.path  # over the project itself: refused, the project intact
    menu_action(window, "Re&view", "&Report…").trigger()
    assert dialogs.errors[-1][0] == "Report failed"
    assert window.project.stats().terms == 1
