"""Screenshots of the desktop app for the README, taken under Xvfb.

    .venv/bin/python docs/screenshots.py [--home DATA_DIR] [--vocab hpo|tiny] [--only main|review|wizard|wizard-zh]

Re-runs itself inside ``xvfb-run`` with the xcb platform, links the bundled sample list
(plus two Chinese phrases, to show CJK rendering) against HPO when its index is already
built in the data folder, else against the tiny test vocabulary, reviews a few rows and
saves PNGs into docs/. Settings and the project live in a temporary folder. Then it walks
through the distillation wizard in a temporary data folder (``screenshots_wizard.py``; a
few minutes: it really labels, fine-tunes and validates). The review features' shots (relations,
further targets, the concept browser, remembered mappings, the vocabulary update check, the
report) are taken in another temporary data folder against a small example ontology
(``screenshots_review.py``; ``--only review`` takes just these). Last, the wizard's first pages
for a Chinese clinic (``--only wizard-zh``: a small Chinese vocabulary and ward diagnoses; it stops
on the fine-tune page, where the proposed name shows the base chosen for Chinese).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SAMPLE = ROOT / "resources" / "samples" / "patient_phrases.txt"
TINY = ROOT / "tests" / "data" / "tiny_vocab.jsonl"
INNER = "TERMLINKER_SCREENSHOTS_INNER"
SCREEN = "-screen 0 1400x900x24"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="data folder (default: TERMLINKER_HOME or the user data folder)")
    parser.add_argument("--vocab", choices=("hpo", "tiny"), help="default: hpo if its index is built, else tiny")
    parser.add_argument("--only", choices=("main", "review", "wizard", "wizard-zh"),
                        help="only the main window's, the review features', the wizard's or the wizard's "
                             "shots for a Chinese clinic")
    args = parser.parse_args()
    if os.environ.get(INNER) != "1":
        env = {**os.environ, INNER: "1", "QT_QPA_PLATFORM": "xcb"}
        return subprocess.call(["xvfb-run", "-a", "-s", SCREEN, sys.executable, __file__, *sys.argv[1:]], env=env)
    with tempfile.TemporaryDirectory(prefix="termlinker-shots-") as tmp:
        os.environ["TERMLINKER_CONFIG_HOME"] = str(Path(tmp) / "config")
        return shoot(args, Path(tmp))


def shoot(args: argparse.Namespace, tmp: Path) -> int:
    from termlinker.paths import DataDirs
    from termlinker_desktop.app import create_app
    from termlinker_desktop.main_window import MainWindow

    class ShotWindow(MainWindow):
        """A window whose dialogs print instead of waiting for a click nobody will make."""

        def show_error(self, title: str, message: str) -> None:
            raise SystemExit(f"{title}: {message}")

        def show_info(self, title: str, message: str) -> None:
            print(f"{title}: {message}", file=sys.stderr)

        def ask_yes_no(self, title: str, question: str) -> bool:
            return True

    dirs = DataDirs.at(args.home).ensure()
    if args.only in (None, "review"):  # the report's shot; Qt WebEngine must be loaded before the app
        os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")  # (its sandbox refuses root)
        import PySide6.QtWebEngineWidgets  # noqa: F401
    app = create_app(sys.argv)

    def settle(until=lambda: True, timeout: float = 600.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            app.processEvents()
            if until():
                break
            time.sleep(0.02)
        for _ in range(20):  # let the last repaints land
            app.processEvents()
            time.sleep(0.01)

    if args.only in (None, "main"):
        shoot_main(args, tmp, dirs, settle, ShotWindow)
    if args.only in (None, "review"):
        from screenshots_review import shoot_review

        shoot_review(tmp, dirs.root, settle, save, ShotWindow)
    if args.only in (None, "wizard"):
        from screenshots_wizard import shoot_wizard

        shoot_wizard(tmp, dirs.root, settle, save)
    if args.only in (None, "wizard-zh"):
        from screenshots_wizard import shoot_wizard_chinese

        shoot_wizard_chinese(tmp, dirs.root, settle, save)
    return 0


def shoot_main(args: argparse.Namespace, tmp: Path, dirs, settle, ShotWindow) -> None:
    from PySide6.QtWidgets import QApplication

    from termlinker.project import Project, Status
    from termlinker.vocab.store import VocabularyStore
    from termlinker_desktop.settings import Settings

    vocab = args.vocab or ("hpo" if any(dirs.indexes.glob("hpo-*/manifest.json")) else "tiny")
    if vocab == "tiny":
        VocabularyStore(dirs).import_file(TINY, "tiny", replace=True)
    window = ShotWindow(Settings(vocabulary=vocab, data_folder=str(dirs.root)),
                        settings_file=tmp / "config" / "desktop.json")
    window.resize(1390, 860)
    window.show()
    window._set_project(Project.create(tmp / "clinic-phrases.tlproj", vocab))
    window.import_file(SAMPLE)
    window.paste_box.setPlainText("头痛\n晚上睡不着\n")
    window.run()
    settle(lambda: window._op is None)

    rows = window.model.rows
    for row in rows[:4]:
        window.select_term(row.term)
        window.decide(Status.APPROVED.value)
    window.select_term(rows[5].term)
    window.decide(Status.FLAGGED.value)
    window.select_term(rows[5].term)
    window.comment("ask the ward which sense they mean")
    window.select_term(rows[0].term)
    settle()
    save(window, "desktop-review.png")

    window.select_term("晚上睡不着")
    window.detail.search_box.setText("sleep")
    window.detail.search_results.setCurrentRow(0)
    settle()
    save(window, "desktop-manual-choice.png")
    window.close()
    QApplication.processEvents()


def save(window, name: str) -> None:
    path = DOCS / name
    if not window.grab().save(str(path), "PNG", 0):  # 0: smallest file
        raise SystemExit(f"could not write {path}")
    print(f"{path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    raise SystemExit(main())
