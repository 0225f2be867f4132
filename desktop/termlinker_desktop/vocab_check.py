"""The vocabulary update check: a project's approved mappings against the vocabulary installed now.

Offered when a project opens whose vocabulary version differs from the installed one, and from
Review ▸ Check Against Installed Vocabulary…. The check runs off the GUI thread (loading a vocabulary
takes seconds) as a dry run first; when it finds obsolete, renamed or missing concepts, the reviewer
is shown the reasons and asked before the terms are flagged (each keeps its concept; the reason goes
into its comment). The engine does the work: ``termlinker.api.revalidate_project``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from termlinker.api import (Project, TermLinkerError, VocabularyCheck, installed_vocabulary_version, needs_check,
                            revalidate_project)

from .runs import RunState

if TYPE_CHECKING:
    from .main_window import MainWindow

SHOWN_REASONS = 12  # in the question; the rest are counted


class VocabularyCheckController:
    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.last: VocabularyCheck | None = None  # the latest result (tests read it)

    def offer(self, project: Project) -> bool:
        """On opening ``project``: when its vocabulary was updated since it was linked, ask whether to
        check it now (and do, if yes). Returns whether the check was started."""
        w = self.window
        try:
            info = project.info()
            installed = installed_vocabulary_version(w.dirs, info.vocabulary)
        except TermLinkerError:
            return False  # the vocabulary is gone: linking will say so
        if not needs_check(info.vocabulary_version, installed):
            return False
        if not w.ask_yes_no("Vocabulary updated",
                            f"{info.vocabulary} {installed} is installed; this project was linked against "
                            f"{info.vocabulary_version}.\n\nCheck its approved mappings against the installed "
                            "version now? Concepts that became obsolete, were renamed or are gone are listed "
                            "before anything changes."):
            w.statusBar().showMessage("Not checked: Review ▸ Check Against Installed Vocabulary… checks "
                                      "the approved mappings later.", 15000)
            return False
        return self.check()

    def check(self) -> bool:
        """Review ▸ Check Against Installed Vocabulary…: a dry run in the background, then the question."""
        w = self.window
        if w.project is None:
            w.show_error("Check against the installed vocabulary", "Open a project first.")
            return False
        if w.runs.busy():
            return False
        path, dirs = w.project.path, w.dirs
        w.runs.start(RunState(stage="Checking the approved mappings"),
                     lambda progress, cancel: revalidate_project(path, dirs, dry_run=True, cancel=cancel),
                     lambda result: self._checked(path, result),
                     lambda exc: w.report("Cannot check the project against its vocabulary", exc))
        return True

    def _checked(self, path: Path, result: VocabularyCheck) -> None:
        # After the operation has finished: the next one (flagging) may start only then.
        QTimer.singleShot(0, lambda: self._answer(path, result))

    def _answer(self, path: Path, result: VocabularyCheck) -> None:
        w = self.window
        self.last = result
        w.eta_label.setText(result.summary)
        if not result.findings:
            # Nothing to flag: record the installed version so the check is not offered again for it.
            self._apply(path, announce=False)
            w.show_info("Vocabulary check", result.summary)
            return
        reasons = [f"• {f.term}: {f.reason}" for f in result.findings[:SHOWN_REASONS]]
        more = len(result.findings) - SHOWN_REASONS
        if more > 0:
            reasons.append(f"… and {more:,} more.")
        question = (result.summary + "\n\n" + "\n".join(reasons) + "\n\nFlag these terms? Each keeps its concept; "
                    "the reason is added to its comment. Filter the table by Flagged to review them.")
        if w.ask_yes_no("Vocabulary check", question):
            self._apply(path, announce=True)
        else:
            w.statusBar().showMessage("Nothing was changed.", 10000)

    def _apply(self, path: Path, *, announce: bool) -> None:
        w = self.window
        dirs, reviewer = w.dirs, w.review.reviewer()

        def done(result: VocabularyCheck) -> None:
            self.last = result
            w.review.refresh_rows()
            w.detail.show_row(w.review.current_row())
            if announce:
                terms = len({f.term for f in result.findings})
                w.statusBar().showMessage(f"Flagged {terms:,} terms after checking against {result.vocabulary} "
                                          f"{result.new_version}; each comment says why.", 30000)

        w.runs.start(RunState(stage="Flagging the terms"),
                     lambda progress, cancel: revalidate_project(path, dirs, reviewer=reviewer, progress=progress,
                                                                 cancel=cancel),
                     done, lambda exc: w.report("Cannot flag the terms", exc))
