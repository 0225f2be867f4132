"""A 15,000-term project in the desktop (issue 18): how long opening, filtering, deciding and exporting
take on the GUI thread, i.e. how long the window would stand still (figures, not a test).

    QT_QPA_PLATFORM=offscreen python benchmarks/desktop_large_project.py [--terms 15000] [--json OUT]

The project is made with synthetic link results (10 candidates a term, no linker needed) over the
tiny test vocabulary, then opened in the real MainWindow. Each step is timed as the call that the
menu or key runs; an export that runs in the background is timed until the window is told it is done,
and the longest gap between two ticks of a 10 ms timer during it says whether the window froze.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "tests" / "data" / "tiny_vocab.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--terms", type=int, default=15000)
    parser.add_argument("--json", default="bench-desktop-large-project.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tl-large-") as tmp:
        os.environ["TERMLINKER_CONFIG_HOME"] = str(Path(tmp) / "config")
        figures = run(args, Path(tmp))
    print(json.dumps(figures, indent=2))
    Path(args.json).write_text(json.dumps(figures, indent=2), encoding="utf-8")


def run(args, tmp: Path) -> dict:
    from PySide6.QtCore import QElapsedTimer, QTimer

    from termlinker.api import DataDirs, LinkResult, Project, VocabularyStore
    from termlinker.types import Candidate
    from termlinker_desktop.app import create_app
    from termlinker_desktop.export_dialog import ExportChoice
    from termlinker_desktop.main_window import MainWindow
    from termlinker_desktop.settings import Settings

    dirs = DataDirs(tmp / "home").ensure()
    VocabularyStore(dirs).import_file(TINY, "tiny", replace=True)
    ids = [f"T:{i:03d}" for i in range(1, 21)]
    rng = random.Random(0)
    path = tmp / "large.tlproj"
    began = time.perf_counter()
    with Project.create(path, "tiny") as project:
        terms = [f"pain number {i} in {rng.choice(['head', 'legs', 'back', 'dizzy spells'])}" for i in range(args.terms)]
        project.add_terms({t: 1 + i % 3 for i, t in enumerate(terms)})
        results = []
        for t in terms:
            chosen = rng.sample(ids, 10)
            results.append(LinkResult(t, 1, tuple(Candidate(c, c, round(1 - k * 0.05 - rng.random() * 0.01, 4))
                                                 for k, c in enumerate(chosen))))
        project.store_results(results)
        project.set_vocabulary("tiny")
    figures: dict = {"terms": args.terms, "make_project_s": round(time.perf_counter() - began, 2)}

    class Window(MainWindow):
        export_choice = None

        def choose_export(self):
            return self.export_choice

        def show_info(self, title, message):
            pass

        def ask_yes_no(self, title, question):  # bulk approval asks first
            return True

        def show_error(self, title, message):
            raise SystemExit(f"{title}: {message}")

    app = create_app(sys.argv[:1])
    window = Window(Settings(vocabulary="tiny", data_folder=str(dirs.root)), settings_file=tmp / "config" / "d.json")
    window.show()
    gaps: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]

    def tick() -> None:
        now = clock.elapsed()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)

    def timed(label: str, step, until=None) -> None:
        gaps.clear()
        last[0] = clock.elapsed()
        timer.start()
        start = time.perf_counter()
        step()
        while until is not None and not until():
            app.processEvents()
            time.sleep(0.005)
        for _ in range(3):
            app.processEvents()
        figures[label] = {"seconds": round(time.perf_counter() - start, 3),
                          "longest_stall_ms": max(gaps, default=round((time.perf_counter() - start) * 1000))}
        timer.stop()

    timed("open", lambda: window.projects.open_project(path))
    timed("filter 'dizzy'", lambda: window.text_filter.setText("dizzy"))
    timed("clear filter", lambda: window.text_filter.setText(""))
    window.select_term(terms[0])
    timed("decide one term", lambda: window.review.decide("approved"))
    timed("bulk approve >= 0.95", lambda: window.review.bulk_approve(0.95), until=lambda: window._op is None)
    for fmt in ("csv", "sssom", "fhir"):
        window.export_choice = ExportChoice(fmt, approved_only=False, path=tmp / f"out.{fmt}")
        timed(f"export {fmt} (all terms)", window.projects.export,
              until=lambda: window._op is None)
    window.close()
    return figures


if __name__ == "__main__":
    main()
