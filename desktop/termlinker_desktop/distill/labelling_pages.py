"""Pages 3 and 4: exactly what will be sent (and consent), then labelling with pause, resume and cost."""

from __future__ import annotations

import html
from urllib.parse import urlparse

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWizardPage

from termlinker.api import (BudgetError, Cancelled, check_budget, label, make_plan, open_linker, plan_records,
                            request_preview, retrieve)

from .context import WizardContext
from .op_panel import ERROR_STYLE, OK_STYLE, OpPanel, for_the_wizard


def _host(url: str) -> str:
    return urlparse(url).netloc.rpartition("@")[2] or url  # never a user name or password in the URL


class PrivacyPage(QWizardPage):
    """Retrieves the candidates in the background, then shows the plan and one request exactly as sent."""

    def __init__(self, ctx: WizardContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.setTitle("3. What will be sent")
        self.setSubTitle("Nothing leaves this computer until you agree below.")
        self.sent = QLabel("")
        self.sent.setWordWrap(True)
        self.preview = QPlainTextEdit()
        self.preview.setReadOnly(True)
        self.preview.setMinimumHeight(150)
        self.plan_text = QLabel("")
        self.plan_text.setWordWrap(True)
        self.consent = QCheckBox("")
        self.consent.toggled.connect(lambda _on: self.completeChanged.emit())
        self.op = OpPanel()
        layout = QVBoxLayout(self)
        layout.addWidget(self.sent)
        layout.addWidget(QLabel("The first request, exactly as it will be sent (the key goes in a header, "
                                "never in the body):"))
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.plan_text)
        layout.addWidget(self.consent)
        layout.addWidget(self.op)
        self._budget_error = ""

    def initializePage(self) -> None:
        ctx = self.ctx
        self.op.stop_and_wait()  # a retrieval left running by Back: its plan would be stale
        self.consent.setChecked(False)
        self.consent.setEnabled(False)
        self.preview.clear()
        self.plan_text.setText("")
        self._budget_error = ""
        teacher, host = ctx.teacher, _host(ctx.teacher.base_url)
        self.sent.setText(
            f"<b>Sent to {html.escape(host)}</b>, one request per term: the <b>text of the term</b> and the "
            f"<b>names of its {ctx.top_k} best candidate concepts</b> from {html.escape(ctx.vocabulary)}, in the "
            f"teacher prompt, with the model name ({html.escape(teacher.model)}) and the answer settings.<br>"
            "<b>Not sent:</b> term counts, concept ids, your review decisions and comments, file and project names, "
            "and this computer's name, user or operating system.")
        store = ctx.open_store()
        terms, vocabulary, top_k, dirs, threads = ctx.terms, ctx.vocabulary, ctx.top_k, ctx.dirs, ctx.threads
        linker = ctx.linker if ctx.linker is not None and ctx.linker.config.vocabulary == vocabulary else None
        op = self.op

        def work(progress, cancel):
            nonlocal linker
            if linker is None:
                op.stage = "Loading the vocabulary and index"
                linker = open_linker(dirs, vocabulary, top_k, threads, progress, cancel)
            op.stage = "Finding candidates"
            results = retrieve(linker, terms, top_k, progress, cancel)
            return linker, results, make_plan(results, store, teacher, ctx.price_per_1k, ctx.budget)

        self.op.start(work, self._planned, lambda exc: self.op.show_failure(exc, "Finding candidates"),
                      "Finding candidates")
        self.completeChanged.emit()

    def _planned(self, result) -> None:
        ctx = self.ctx
        ctx.linker, ctx.results, ctx.plan = result
        plan = ctx.plan
        self.preview.setPlainText(request_preview(plan, ctx.teacher))
        lines = plan.lines()[1:]
        try:
            check_budget(plan, allow_partial=True)
        except BudgetError as exc:
            self._budget_error = for_the_wizard(str(exc))
        if plan.budget_left is not None and plan.estimated_cost > plan.budget_left:
            lines.append("The estimate is above what is left of the budget: labelling stops when the budget is "
                         "reached, and the answers so far are kept.")
        self.plan_text.setText("\n".join(lines))
        if self._budget_error:
            self.op.show_message(self._budget_error, ERROR_STYLE)
        elif not plan.to_ask:
            self.op.show_message(f"All {len(plan.jobs):,} terms were answered before; nothing will be sent.",
                                 OK_STYLE)
        else:
            self.op.show_message("")
        self.consent.setText(f"I agree to send these {len(plan.to_ask):,} terms and their candidate names to "
                             f"{_host(ctx.teacher.base_url)}.")
        self.consent.setEnabled(bool(plan.to_ask) and not self._budget_error)
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        plan = self.ctx.plan
        if self.op.running or plan is None or self._budget_error:
            return False
        return self.consent.isChecked() or not plan.to_ask


class LabellingPage(QWizardPage):
    """Starts at once (consent was given); Pause keeps every answer, Resume asks only what is missing."""

    def __init__(self, ctx: WizardContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.setTitle("4. Labelling")
        self.setSubTitle("Every answer is saved as it arrives: pausing, closing or a lost connection loses none, "
                         "and nothing is paid for twice.")
        self.op = OpPanel("Pause")
        self.op.progressed.connect(lambda _d, _t: self._show_cost())
        self.op.finished.connect(self._finished)
        self.resume_button = QPushButton("Resume")
        self.resume_button.clicked.connect(self.resume)
        self.resume_button.setVisible(False)  # shown when paused or stopped with terms left
        self.cost = QLabel("")
        self.counts = QLabel("")
        self.counts.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.resume_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.op)
        layout.addLayout(row)
        layout.addWidget(self.cost)
        layout.addWidget(self.counts)
        layout.addStretch(1)

    def initializePage(self) -> None:
        self.resume()

    def cleanupPage(self) -> None:
        """Back pauses: the requests in flight are stored when they return, as with Pause."""
        self.op.cancel()

    @property
    def answered(self) -> int:
        ctx = self.ctx
        return len(plan_records(ctx.plan, ctx.store)) if ctx.plan is not None and ctx.store is not None else 0

    def resume(self) -> None:
        ctx = self.ctx
        if self.op.running or ctx.plan is None:
            return
        # Re-planning against the store skips every stored answer: a resume never pays twice.
        ctx.plan = plan = make_plan(ctx.results, ctx.store, ctx.teacher, ctx.price_per_1k, ctx.budget)
        self._show_cost()
        if not plan.to_ask:
            self._show_counts()
            self.op.show_message(f"All {len(plan.jobs):,} terms are labelled.", OK_STYLE)
            self.completeChanged.emit()
            return
        store, teacher, concurrency = ctx.store, ctx.teacher, ctx.concurrency
        self.resume_button.setVisible(False)
        ctx.sending(_host(teacher.base_url))  # the only time terms leave the computer
        self.op.start(lambda progress, cancel: label(plan, teacher, store, concurrency, progress, cancel),
                      self._done, self._failed, "Labelling")
        self.completeChanged.emit()

    def pause(self) -> None:
        self.op.cancel()

    def _done(self, summary) -> None:
        style = "" if summary.stopped_at_budget else OK_STYLE
        self.op.show_message(for_the_wizard("\n".join(summary.lines())), style)

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, Cancelled):
            self.op.show_message(f"Paused with {self.answered:,} answers saved. Resume asks only the terms not "
                                 "answered yet.")
        else:
            self.op.show_failure(exc, "Labelling")

    def _finished(self) -> None:
        self.ctx.sending(None)
        self._show_cost()
        self._show_counts()
        plan = self.ctx.plan
        unfinished = plan is not None and self.answered < len(plan.jobs)
        self.resume_button.setEnabled(unfinished)
        self.resume_button.setVisible(unfinished)
        self.completeChanged.emit()

    def _show_cost(self) -> None:
        ctx = self.ctx
        if ctx.store is None or ctx.plan is None:
            return
        spent = ctx.store.spent()
        if ctx.budget is None:
            self.cost.setText(f"Cost so far: {spent:.4f} (no budget)")
        else:
            self.cost.setText(f"Cost so far: {spent:.4f} of the budget {ctx.budget:.2f} "
                              f"({max(0.0, ctx.budget - spent):.4f} left)")

    def _show_counts(self) -> None:
        ctx = self.ctx
        if ctx.plan is None or ctx.store is None:
            return
        records = plan_records(ctx.plan, ctx.store)
        by = {s: sum(1 for r in records if r.status == s) for s in ("ok", "none", "invalid")}
        self.counts.setText(f"{len(records):,} of {len(ctx.plan.jobs):,} terms answered: {by['ok']:,} chose a "
                            f"candidate, {by['none']:,} said none fits, {by['invalid']:,} gave no valid answer.")

    def isComplete(self) -> bool:
        return not self.op.running and self.answered > 0
