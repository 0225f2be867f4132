"""Models: the vocabularies on offer (and importing one), the settings, and what the linker learns:
the distillation wizard, Learn a Ranking and Learn the Retriever. The status line says which of
them the next run uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from termlinker.api import (DEFAULT_BUILTIN, RETRIEVER_MIN_TERMS, Cancelled, Linker, LinkerConfig, Status, TermLinkerError, Vocabulary,
                            VocabularyStore, VocabularySummary, is_safe_name, learn_ranking_from_project,
                            learn_retriever_from_project, reranker_names, retriever_learning_plan_for)

from .runs import RunState
from .settings import Settings

if TYPE_CHECKING:
    from .main_window import MainWindow


class ModelsController:
    """The vocabulary picker, the status line, and the Settings and Tools menus' work."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self._summaries: dict[str, VocabularySummary] = {}

    # --- vocabularies and status line ------------------------------------------------

    def reload_vocabularies(self, select: str | None = None) -> None:
        """List the vocabularies again and select ``select`` (else the current one), unless the open
        project was linked: then its vocabulary stays selected."""
        w = self.window
        combo = w.vocab_combo
        wanted = self.project_vocabulary() or select or combo.currentData() or w.settings.vocabulary
        combo.blockSignals(True)
        combo.clear()
        try:
            summaries = VocabularyStore(w.dirs).list()
        except TermLinkerError as exc:
            summaries = []
            w.statusBar().showMessage(str(exc))
        for summary in summaries:
            combo.addItem(_vocab_label(summary), summary.name)
            item = combo.model().item(combo.count() - 1)
            if not summary.available:
                item.setEnabled(False)
                item.setToolTip(summary.problem)
            elif summary.citation:  # a built-in's licence is known before it is loaded (icd10-zh: GPL)
                item.setToolTip(f"{summary.description or summary.name}\n{summary.citation}")
        self._select(wanted)
        combo.blockSignals(False)
        self._summaries = {s.name: s for s in summaries}
        self.follow_project()

    def _select(self, name: str) -> None:
        combo = self.window.vocab_combo
        index = combo.findData(name)
        if index < 0:
            combo.addItem(Path(name).name, name)  # a project made from a vocabulary file
            index = combo.count() - 1
        combo.setCurrentIndex(index)

    def project_vocabulary(self) -> str | None:
        """The vocabulary the open project was linked against, which every Run of it must use; None
        while no project is open or the open one was never linked (it takes the box's choice)."""
        project = self.window.project
        if project is None:
            return None
        info = project.info()
        if not info.vocabulary_name:
            return None
        if is_safe_name(info.vocabulary) and info.vocabulary != info.vocabulary_name:
            # Made with one box choice, linked with another (before the box followed the project).
            return info.vocabulary_name
        return info.vocabulary

    def run_vocabulary(self) -> str:
        """The vocabulary the next Run links against: the open project's once it was linked, else the box's."""
        return self.project_vocabulary() or self.window.vocab_combo.currentData() or DEFAULT_BUILTIN

    def follow_project(self) -> None:
        """Tie the box to the open project: a linked project's vocabulary is shown and cannot be
        changed (a project links against one vocabulary); otherwise the box is free."""
        w = self.window
        combo = w.vocab_combo
        linked = self.project_vocabulary()
        if linked is not None:
            if combo.currentData() != linked:
                combo.blockSignals(True)
                self._select(linked)
                combo.blockSignals(False)
            name = w.project.info().vocabulary_name
            combo.setToolTip(f"This project is linked against {name!r}. To link terms against another "
                             "vocabulary, start a new project (File ▸ New Project).")
        else:
            combo.setToolTip("The vocabulary the next Run links against")
        combo.setEnabled(linked is None and not w.runs.running)
        self.update_status_line()

    def update_status_line(self) -> None:
        w = self.window
        name = self.run_vocabulary()
        w.status_line.update(w.settings, self._summaries.get(name), name, w.runs.linker_for(name))

    def import_vocabulary(self) -> None:
        w = self.window
        if w.runs.busy():
            return
        path = w.projects.choose_open_file("Import a vocabulary",
                                           "Vocabularies (*.jsonl *.tsv *.csv *.obo);;All files (*)", "import")
        if path is None:
            return
        name = w.ask_text("Vocabulary name", "Name for the imported vocabulary:", path.stem)
        if name is None:
            return
        dirs = w.dirs

        def done(vocabulary: Vocabulary) -> None:
            name = vocabulary.info.name
            self.reload_vocabularies(select=name)
            linked = self.project_vocabulary()
            then = (f" The open project stays linked against {w.project.info().vocabulary_name!r}; start a new "
                    f"project to link against {name!r}." if linked is not None and linked != name
                    else " The next Run links against it.")
            w.statusBar().showMessage(f"Imported {len(vocabulary):,} concepts as {name!r}." + then)

        w.runs.start(RunState(stage="Importing the vocabulary"),
                     lambda _p, _c: VocabularyStore(dirs).import_file(path, name), done,
                     lambda exc: w.report("Cannot import the vocabulary", exc))

    # --- settings --------------------------------------------------------------------

    def edit_settings_dialog(self) -> None:
        w = self.window
        try:
            rerankers = reranker_names(w.dirs)
        except TermLinkerError as exc:
            w.report("Cannot read the re-ranker registry", exc)
            rerankers = []
        chosen = w.choose_settings(w.settings, rerankers)
        if chosen is not None:
            self.apply_settings(chosen)

    def apply_settings(self, settings: Settings) -> None:
        w = self.window
        folder_changed = settings.data_folder != w.settings.data_folder
        w.settings = settings
        w.save_settings()
        w.bulk_min.setValue(settings.bulk_approve_min)
        if folder_changed:
            w.dirs = settings.data_dirs()
            w.runs.forget_linker()
            self.reload_vocabularies()
        w.review.refresh_rows()
        self.update_status_line()

    # --- learning --------------------------------------------------------------------

    def make_distill_wizard(self):
        from .distill.wizard import DistillWizard

        w = self.window
        vocabulary = w.project.info().vocabulary if w.project else w.vocab_combo.currentData()
        return DistillWizard(w.settings, w.dirs, w.project.path if w.project else None, vocabulary,
                             training=w.distill_training, parent=w)

    def distill(self) -> None:
        """Tools ▸ Distil a Re-ranker: the wizard reads the project's terms but never changes the project."""
        w = self.window
        if w.runs.busy():
            return
        wizard = self.make_distill_wizard()
        w.run_wizard(wizard)
        w.settings = wizard.teacher_settings(w.settings)  # URL, model, price, budget; never the key
        if wizard.ctx.ranking_path is not None:
            w.settings = replace(w.settings, learned_ranking=True)
        w.save_settings()
        w.runs.forget_linker()  # the active re-ranker may have changed
        self.update_status_line()

    def learn_ranking(self) -> None:
        """Tools ▸ Learn a Ranking: the project's approved mappings teach how to order candidates
        (the engine's ``learn_ranking``, as ``termlinker ranker train --pairs PROJECT``); the result
        is saved for the project's vocabulary and switched on."""
        w = self.window
        learnable = self._learnable("a ranking", "the ranking is learned", "rankings")
        if learnable is None:
            return
        _vocabulary, _approved, config = learnable

        def done(learned) -> None:
            ranker, target = learned
            w.show_info("Ranking learned", f"{ranker.held_out_text('approved')} Saved to {target}; the next "
                                           "Run uses it (Settings can switch it off).")

        self._learn(config, "Learning from the approved mappings", learn_ranking_from_project, "learned_ranking",
                    "Learned a ranking.", done, lambda exc: w.report("Cannot learn a ranking", exc))

    def learn_retriever(self) -> None:
        """Tools ▸ Learn the Retriever: the project's approved mappings fine-tune the encoder that finds
        candidates (the engine's ``learn_retriever``, as ``termlinker distill train-retriever --project``).
        It is saved as ``<vocabulary>-learned`` and switched on; terms linked from then on use it."""
        w = self.window
        learnable = self._learnable("the retriever", "the retriever learns", "learned retrievers")
        if learnable is None:
            return
        vocabulary, approved, plain = learnable
        if approved < RETRIEVER_MIN_TERMS:  # say so before the question, not after the user said yes
            w.show_error("Cannot learn the retriever", f"The project has {approved:,} approved mappings; the "
                         f"retriever learns from at least {RETRIEVER_MIN_TERMS} approved terms. Approve more "
                         "mappings and try again.")
            return
        plan = retriever_learning_plan_for(w.dirs, vocabulary, approved)
        if not w.ask_yes_no("Learn the retriever", f"Fine-tune the retriever on {approved:,} approved mappings? "
                            f"{plan.sentence()} It runs in the background; Cancel keeps what is done "
                            "and the next try continues."):
            return
        # Hard negatives are mined from the plain default retriever, and training starts from it.
        config = replace(plain, encoder=None)

        def done(report) -> None:
            lines = [line for line in report.lines()[1:]]
            ranking = (" Learn the ranking again too (Tools ▸ Learn a Ranking), so that it orders this "
                       "retriever's candidates." if w.settings.ranker_for(vocabulary) else "")
            w.show_info("Retriever learned", f"Saved as {report.name}. " + " ".join(lines)
                        + " Terms linked from now on use it; Settings can switch it off." + ranking)

        def failed(exc: BaseException) -> None:
            if isinstance(exc, Cancelled):
                w.eta_label.setText("Stopped learning the retriever.")
                w.show_info("Stopped", "Learning the retriever stopped. What it did is kept: Learn the "
                                       "Retriever again continues from there.")
            else:
                w.report("Cannot learn the retriever", exc)

        self._learn(config, "Learning the retriever", learn_retriever_from_project, "learned_retriever",
                    "Learned the retriever.", done, failed)

    def _learnable(self, what: str, learns: str, kept: str) -> tuple[str, int, LinkerConfig] | None:
        """The open project's vocabulary, how many mappings it has approved, and the config of its
        plain linker (no ranking, no re-ranker: what is learned never learns an earlier ranking's
        order); None, after saying why, while busy, with nothing to learn from, or with nowhere to
        keep what is learned."""
        w = self.window
        if w.runs.busy():
            return None
        approved = w.project.stats().by_status.get(Status.APPROVED.value, 0) if w.project else 0
        if not approved:
            w.show_error("Nothing to learn from", f"Approve some mappings first: {learns} from the approved "
                                                  "mappings of the open project.")
            return None
        vocabulary = w.project.info().vocabulary
        if not is_safe_name(vocabulary):  # a file path: what is learned is saved under a vocabulary's name
            w.show_error(f"Cannot learn {what}", f"The project links to the file {vocabulary!r}; {kept} are "
                                                 "kept per vocabulary name. Import the file first.")
            return None
        return vocabulary, approved, replace(w.settings.linker_config(vocabulary), ranker=None, rerank=False)

    def _learn(self, config: LinkerConfig, stage: str, learn: Callable[..., Any], setting: str, learned: str,
               done: Callable[[Any], Any], failed: Callable[[BaseException], Any]) -> None:
        """In the background: index the vocabulary, ``learn`` from the open project, then switch
        ``setting`` on, drop the kept linker (the next run builds one that uses what was learned),
        say ``learned`` in the ETA line, and call ``done`` with what ``learn`` returned."""
        w = self.window
        dirs, path = w.dirs, w.project.path
        state = RunState(stage="Indexing the vocabulary")

        def work(progress, cancel):
            linker = Linker(config, dirs=dirs, progress=progress, cancel=cancel)
            state.stage = stage
            return learn(linker, path, dirs, progress=progress, cancel=cancel)

        def succeeded(result) -> None:
            self.apply_settings(replace(w.settings, **{setting: True}))
            w.runs.forget_linker()
            self.update_status_line()
            w.eta_label.setText(learned)
            done(result)

        w.runs.start(state, work, succeeded, failed)


def _vocab_label(summary: VocabularySummary) -> str:
    size = f" · {summary.concepts:,} concepts" if summary.concepts else ""
    kind = f" — {summary.description}" if summary.builtin and summary.description else " (imported)"
    return f"{summary.name}{kind}{size}"
