"""``termlinker-desktop``: start the app."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from PySide6.QtCore import QTimer
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication

from .main_window import MainWindow
from .settings import load_settings, settings_path

CJK_FALLBACKS = ("WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC",
                 "Source Han Sans SC")


def apply_font_fallback(app: QApplication) -> None:
    """Keep the platform's UI font, falling back to an installed CJK font so Chinese terms
    render as characters rather than boxes."""
    installed = set(QFontDatabase.families())
    fallbacks = [family for family in CJK_FALLBACKS if family in installed]
    if not fallbacks:
        return
    font = QFont(app.font())
    font.setFamilies([app.font().family(), *fallbacks])
    app.setFont(font)


def create_app(argv: Sequence[str]) -> QApplication:
    app = QApplication.instance() or QApplication(list(argv))
    app.setApplicationName("TermLinker")
    app.setOrganizationName("TermLinker")
    apply_font_fallback(app)
    return app


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    app = create_app(argv)
    path = settings_path()
    # The project given on the command line, else the one open when the app last closed.
    window = MainWindow(load_settings(path), settings_file=path, reopen_last=len(argv) <= 1)
    window.show()
    if len(argv) > 1:
        window.open_project(argv[1])
    quit_after = os.environ.get("TERMLINKER_DESKTOP_QUIT_AFTER_MS")  # smoke tests of installed bundles
    if quit_after:
        QTimer.singleShot(int(quit_after), app.quit)
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
