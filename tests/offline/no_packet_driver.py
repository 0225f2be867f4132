"""Driven under ``unshare -n strace``: every offline path of the product, for at least N seconds.

Run as ``python no_packet_driver.py HOME VOCAB TERMS SECONDS``. It imports a vocabulary, links
with the LLM re-ranker through the CLI, starts the desktop window offscreen, then keeps
linking until SECONDS have passed, so that a library's background uploader (onnxruntime's
fires a few seconds after its first session) has time to show itself in the trace.
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main(home: str, vocab: str, terms: str, seconds: float) -> int:
    start = time.monotonic()
    from termlinker.cli import main as cli

    for args in (["vocab", "import", vocab, "--name", "tiny"],
                 ["link", terms, "--vocab", "tiny", "--rerank", "--format", "jsonl", "-o", terms + ".out"]):
        if cli(["--home", home, "-q", *args]) != 0:
            return 1

    from PySide6.QtWidgets import QApplication
    from termlinker_desktop.main_window import MainWindow
    from termlinker_desktop.settings import Settings

    app = QApplication.instance() or QApplication([])
    window = MainWindow(Settings(vocabulary="tiny", data_folder=home),
                        settings_file=os.path.join(home, "desktop.json"))
    window.show()
    app.processEvents()
    window.close()

    from termlinker.linker import Linker, LinkerConfig
    from termlinker.paths import DataDirs

    linker = Linker(LinkerConfig(vocabulary="tiny", threads=2), dirs=DataDirs.at(home))
    rounds = 0
    while time.monotonic() - start < seconds:
        linker.link_terms([f"ringing in my ears {rounds}", "headache", f"pain {rounds}"])
        rounds += 1
    print(f"linked {rounds} rounds in {time.monotonic() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])))
