"""Pages 6 and 7: fine-tune the local models (progress, time left, cancel), then compare and decide."""

from __future__ import annotations

import html

from PySide6.QtWidgets import (QCheckBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout,
                               QWizardPage)

from termlinker.api import (Cancelled, InputError, TermLinkerError, activate, check_name, discard, fine_tune, free_name,
                            learn_ranking_from_labels, validate)

from .context import WizardContext
from .op_panel import ERROR_STYLE, OK_STYLE, OpPanel, for_the_wizard


class FineTunePage(QWizardPage):
    def __init__(self, ctx: WizardContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.setTitle("6. Fine-tune the local models")
        self.setSubTitle("Runs on this computer only. Cancel keeps a checkpoint: Start again continues from it.")
        self.name = QLineEdit()
        self.name.setToolTip("The new re-ranker's name; the retriever gets the same name with -retriever")
        self.with_retriever = QCheckBox("Also fine-tune the retriever (its encoder is registered, not made the "
                                        "default)")
        self.with_retriever.setChecked(ctx.training.retriever is not None)
        self.with_retriever.setEnabled(ctx.training.retriever is not None)
        self.start_button = QPushButton("Start Fine-tuning")
        self.start_button.clicked.connect(self.start)
        self.op = OpPanel()
        self.op.finished.connect(self._finished)
        self.result = QLabel("")
        self.result.setWordWrap(True)
        form = QFormLayout()
        form.addRow("New model name:", self.name)
        form.addRow("", self.with_retriever)
        row = QHBoxLayout()
        row.addWidget(self.start_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(row)
        layout.addWidget(self.op)
        layout.addWidget(self.result)
        layout.addStretch(1)

    def initializePage(self) -> None:
        if not self.name.text():
            try:
                linker = self.ctx.linker
                language = linker.vocabulary.info.language if linker is not None else None
                self.name.setText(free_name(self.ctx.dirs, language=language))
            except TermLinkerError as exc:
                self.op.show_message(str(exc), ERROR_STYLE)

    def cleanupPage(self) -> None:
        """Back cancels: the trainer keeps a checkpoint, and Start continues from it."""
        self.op.cancel()

    def start(self) -> None:
        ctx = self.ctx
        if self.op.running:
            return
        try:
            name = check_name(self.name.text().strip())
        except InputError as exc:
            self.op.show_message(str(exc).replace("Encoder name", "The name"), ERROR_STYLE)
            return
        config = ctx.training
        if not self.with_retriever.isChecked():
            from dataclasses import replace

            config = replace(config, retriever=None)
        records = list(ctx_records(ctx))
        corrections = dict(ctx.corrections.by_term) if ctx.corrections else {}
        linker, dirs, op = ctx.linker, ctx.dirs, self.op
        ctx.fine_tune = ctx.validation = None
        self.result.setText("")
        self.start_button.setEnabled(False)
        self.name.setEnabled(False)

        def stage(text: str) -> None:
            op.stage = text

        self.op.start(lambda progress, cancel: fine_tune(records, corrections, linker, dirs, name, config, progress,
                                                         cancel, stage),
                      self._done, self._failed, "Preparing")
        self.completeChanged.emit()

    def _done(self, report) -> None:
        self.ctx.fine_tune = report
        self.op.show_message("Fine-tuning finished.", OK_STYLE)
        self.result.setText("\n".join(summary_lines(report)))

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, Cancelled):
            # The trainers say where they stopped; a cancel before training says nothing of its own.
            detail = for_the_wizard(str(exc)) if "step" in str(exc) else \
                "What was finished is kept; Start continues from there."
            self.op.show_message(f"Fine-tuning was cancelled. {detail}")
        else:
            self.op.show_failure(exc, "Fine-tuning")

    def _finished(self) -> None:
        self.start_button.setEnabled(self.ctx.fine_tune is None)
        self.name.setEnabled(self.ctx.fine_tune is None)
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return not self.op.running and self.ctx.fine_tune is not None


def summary_lines(report) -> list[str]:
    counts = report.manifest.counts
    lines = [f"Training data: {counts.get('retriever_train', 0):,} terms, {counts.get('retriever_val', 0):,} more "
             "held out for validation."]
    r = report.retriever
    if r is not None:
        took = "reused the finished model" if r.reused_model else f"{r.train_seconds:.1f} s"
        scores = (f"; held-out Acc@1 {r.before.acc1:.3f} → {r.after.acc1:.3f}"
                  if r.before is not None and r.after is not None else "")
        lines.append(f"Retriever {r.name}: {r.pairs:,} pairs, {r.steps:,} steps ({took}){scores}.")
    k = report.reranker
    took = "reused the finished adapter" if k.reused_adapter else f"{k.train_seconds:.1f} s"
    loss = f", last loss {k.final_loss:.3f}" if k.final_loss is not None else ""
    lines.append(f"Re-ranker {k.name}: {k.examples:,} examples, {k.steps:,} steps ({took}{loss}); "
                 f"exported in {k.export_seconds:.0f} s.")
    for c in k.checks:
        lines.append(f"  {c.quantization} file ({c.size_mb:.0f} MB) orders {c.pair_order_agreement:.0%} of candidate "
                     f"pairs as the trained model does.")
    return lines


def ctx_records(ctx: WizardContext):
    from termlinker.api import plan_records

    return plan_records(ctx.plan, ctx.store) if ctx.plan is not None and ctx.store is not None else []


class ValidationPage(QWizardPage):
    """Before/after on held-out terms; the user activates the new re-ranker or discards it."""

    def __init__(self, ctx: WizardContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.setTitle("7. Validate, then activate or discard")
        self.setSubTitle("Both re-rankers score the held-out terms the training never saw.")
        self.op = OpPanel()
        self.op.finished.connect(self._update_buttons)
        self.table = QLabel("")
        self.table.setWordWrap(True)
        self.activate_button = QPushButton("Activate the New Model")
        self.activate_button.clicked.connect(self.activate)
        self.discard_button = QPushButton("Discard It")
        self.discard_button.clicked.connect(self.discard)
        self.outcome = QLabel("")
        self.outcome.setWordWrap(True)
        self.ranking_button = QPushButton("Learn a Ranking from These Labels")
        self.ranking_button.setToolTip("A small model over the retriever's candidates (seconds, no LLM), "
                                       "learned from the teacher's answers and your corrections")
        self.ranking_button.clicked.connect(self.learn_ranking)
        self.ranking_note = QLabel("")
        self.ranking_note.setWordWrap(True)
        self.decided = False
        row = QHBoxLayout()
        row.addWidget(self.activate_button)
        row.addWidget(self.discard_button)
        row.addStretch(1)
        ranking_row = QHBoxLayout()
        ranking_row.addWidget(self.ranking_button)
        ranking_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.op)
        layout.addWidget(self.table)
        layout.addLayout(row)
        layout.addWidget(self.outcome)
        layout.addLayout(ranking_row)
        layout.addWidget(self.ranking_note)
        layout.addStretch(1)

    def initializePage(self) -> None:
        ctx = self.ctx
        self.decided = False
        self.outcome.setText("")
        self.table.setText("")
        if ctx.validation is not None:
            self._show(ctx.validation)
            self._update_buttons()
            return
        report, linker, dirs, threads = ctx.fine_tune, ctx.linker, ctx.dirs, ctx.threads
        self.op.start(lambda progress, cancel: validate(report, linker, dirs, threads, progress, cancel),
                      self._validated, lambda exc: self.op.show_failure(exc, "Validation"),
                      "Scoring the held-out terms")
        self._update_buttons()

    def _validated(self, validation) -> None:
        self.ctx.validation = validation
        # The backend's "registered, not activated" note is for the command line; the verdict says it here.
        self.op.show_message("" if validation.chosen is not None else "No exported file could be scored.")
        self._show(validation)

    def _show(self, v) -> None:
        report = self.ctx.fine_tune
        rows = [("Retriever alone", v.retriever), (f"Current re-ranker ({v.current_name})", v.current.reranked)]
        rows += [(f"New re-ranker ({report.name}, {c.label})", c.calibration.reranked) for c in v.candidates]
        if report.retriever is not None and report.retriever.before is not None and report.retriever.after:
            rows += [("Retriever before fine-tuning", report.retriever.before),
                     (f"Retriever after ({report.encoder_name})", report.retriever.after)]
        cells = "".join(f"<tr><td>{html.escape(label)}</td><td align='right'>{s.acc1:.3f}</td>"
                        f"<td align='right'>{s.acc5:.3f}</td><td align='right'>{s.n}</td></tr>" for label, s in rows)
        verdict = ""
        if v.chosen is not None:
            better = v.chosen.calibration.reranked.acc1 > v.current.reranked.acc1
            verdict = (f"<p><b>The new re-ranker is {'better' if better else 'not better'}</b> than "
                       f"{html.escape(v.current_name)} on these {v.terms} terms"
                       f"{'' if better else '; activating it is not recommended'}.</p>")
        self.table.setText(f"<table cellspacing='0' cellpadding='4' border='1'><tr><th align='left'>Model</th>"
                           f"<th>Acc@1</th><th>Acc@5</th><th>terms</th></tr>{cells}</table>{verdict}")

    def _update_buttons(self) -> None:
        ready = not self.op.running and self.ctx.validation is not None and not self.decided
        self.activate_button.setEnabled(ready and self.ctx.validation.registered is not None)
        self.discard_button.setEnabled(not self.op.running and self.ctx.fine_tune is not None and not self.decided)
        self.ranking_button.setEnabled(not self.op.running and self.ctx.plan is not None)
        self.completeChanged.emit()

    def learn_ranking(self) -> None:
        """Optional and independent of the re-ranker's verdict: saved for the vocabulary, used by the
        next Run once the wizard closes (File ▸ Settings switches it off)."""
        ctx = self.ctx
        if self.op.running or ctx.linker is None:
            return
        records = list(ctx_records(ctx))
        corrections = dict(ctx.corrections.by_term) if ctx.corrections else {}
        linker, dirs = ctx.linker, ctx.dirs
        self.ranking_note.setText("")
        self.op.start(lambda progress, cancel: learn_ranking_from_labels(records, corrections, linker, dirs,
                                                                         progress, cancel),
                      self._ranking_learned, lambda exc: self.op.show_failure(exc, "Learning a ranking"),
                      "Learning a ranking from the labels")
        self._update_buttons()

    def _ranking_learned(self, result) -> None:
        ranker, path = result
        self.ctx.ranking_path = path
        self.op.show_message("Ranking learned.", OK_STYLE)
        self.ranking_note.setText(f"{ranker.held_out_text()} Saved as {path.name}; the next Run uses it "
                                  "(File ▸ Settings can switch it off).")

    def activate(self) -> None:
        ctx = self.ctx
        try:
            language = ctx.validation.language if ctx.validation is not None else None
            activate(ctx.dirs, ctx.fine_tune.name, language)
        except TermLinkerError as exc:
            self.outcome.setStyleSheet(ERROR_STYLE)
            self.outcome.setText(str(exc))
            return
        where, flag = (f" for {language!r} vocabularies", f" --language {language}") if language else ("", "")
        self._decide(f"{ctx.fine_tune.name} is now the active re-ranker{where}. Turn re-ranking on in File ▸ Settings "
                     f"to use it; `termlinker models rollback{flag}` restores the previous one.")

    def discard(self) -> None:
        ctx = self.ctx
        if self.op.running:
            self.op.stop_and_wait()
        try:
            discard(ctx.dirs, ctx.fine_tune.name, ctx.fine_tune.encoder_name)
        except TermLinkerError as exc:
            self.outcome.setStyleSheet(ERROR_STYLE)
            self.outcome.setText(str(exc))
            return
        self._decide(f"Discarded {ctx.fine_tune.name}; the active re-ranker is unchanged. The teacher's answers "
                     "and your corrections are kept for a later run.")

    def _decide(self, text: str) -> None:
        self.decided = True
        self.outcome.setStyleSheet(OK_STYLE)
        self.outcome.setText(text)
        self._update_buttons()

    def isComplete(self) -> bool:
        return self.decided
