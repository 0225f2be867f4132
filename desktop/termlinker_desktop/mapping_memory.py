"""The mapping memory in the desktop: a project's approvals are remembered when it is closed, mapping
files are imported from File ▸ Import Mappings…, and each run proposes what is remembered (Settings
choose whether, and whether to approve with it)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from termlinker.api import MappingMemory, Project, TermLinkerError, VocabularyStore

if TYPE_CHECKING:
    from .main_window import MainWindow

MAPPING_FILES = "Mapping files (*.tsv *.csv);;All files (*)"


class MemoryController:
    def __init__(self, window: MainWindow) -> None:
        self.window = window

    def remember(self, project: Project | None) -> int:
        """Remember the project's approved mappings (replacing what it gave before); 0 when it was never linked.
        Never in the way of closing: a failure is said in the status bar."""
        if project is None:
            return 0
        try:
            with MappingMemory.in_data_folder(self.window.dirs.ensure()) as memory:
                return memory.remember_project(project)
        except TermLinkerError as exc:
            self.window.statusBar().showMessage(f"The approved mappings were not remembered: {exc}", 15000)
            return 0

    def import_mappings(self) -> None:
        w = self.window
        if w.project is None or not w.project.info().vocabulary_name:
            w.show_error("Import mappings", "Open a project and link it first: the mappings are remembered for "
                                            "the project's vocabulary, and proposed for its terms.")
            return
        path = w.projects.choose_open_file("Import mappings (SSSOM/TSV or a TermLinker CSV export)", MAPPING_FILES,
                                           "import")
        if path is not None:
            self.import_file(path)

    def import_file(self, path: str | Path) -> bool:
        w = self.window
        project = w.project
        if project is None:
            return False
        try:
            vocabulary = VocabularyStore(w.dirs.ensure()).get(project.info().vocabulary)
            with MappingMemory.in_data_folder(w.dirs) as memory:
                result = memory.import_file(path, vocabulary)
                recalled = project.recall(memory, auto_approve=w.settings.auto_approve_remembered)
        except TermLinkerError as exc:
            w.report("Cannot import the mappings", exc)
            return False
        w.review.refresh_rows()
        skipped = (f" {result.unknown:,} name concepts {vocabulary.info.name} does not hold and were skipped."
                   if result.unknown else "")
        approved = f", {recalled.approved:,} approved with them" if recalled.approved else ""
        w.show_info("Mappings imported", f"Remembered {result.remembered:,} mappings from {Path(path).name}."
                                         f"{skipped} {recalled.proposed:,} terms of this project have remembered "
                                         f"mappings{approved}.")
        return True
