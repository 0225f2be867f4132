"""``DistillWizard``: Tools ▸ Distil a Re-ranker… — seven pages over ``termlinker.distill.wizard_api``.

The wizard holds no labelling or training logic: each page calls one backend step in the
background. Closing it at any point stops the running step after what it finished is saved
(answers, corrections, checkpoints), so running the wizard again resumes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QWidget, QWizard

from termlinker.api import DataDirs, FineTuneConfig

from ..settings import Settings
from .context import WizardContext
from .labelling_pages import LabellingPage, PrivacyPage
from .review_page import ReviewPage
from .setup_pages import TeacherPage, TermsPage
from .training_pages import FineTunePage, ValidationPage

TERMS, TEACHER, PRIVACY, LABELLING, REVIEW, FINE_TUNE, VALIDATION = range(7)


class DistillWizard(QWizard):
    def __init__(self, settings: Settings, dirs: DataDirs, project_path: Path | None = None,
                 vocabulary: str | None = None, training: FineTuneConfig | None = None,
                 teacher_options: Mapping[str, Any] | None = None, parent: QWidget | None = None) -> None:
        """``training`` and ``teacher_options`` (TeacherConfig's timeouts and retries) let tests shrink the work."""
        super().__init__(parent)
        self.setWindowTitle("Distil a Re-ranker")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.resize(860, 640)
        self.ctx = WizardContext(dirs, project_path, vocabulary or settings.vocabulary,
                                 training or FineTuneConfig(), threads=settings.threads or 2)
        status_line = getattr(parent, "status_line", None)  # the main window's: it says when terms are sent
        if status_line is not None:
            self.ctx.sending = status_line.sending
        self.terms_page = TermsPage(self.ctx)
        self.teacher_page = TeacherPage(self.ctx, settings.teacher_base_url, settings.teacher_model,
                                        settings.teacher_price_per_1k, settings.teacher_budget, teacher_options)
        self.privacy_page = PrivacyPage(self.ctx)
        self.labelling_page = LabellingPage(self.ctx)
        self.review_page = ReviewPage(self.ctx)
        self.fine_tune_page = FineTunePage(self.ctx)
        self.validation_page = ValidationPage(self.ctx)
        for page_id, page in enumerate(self.pages):
            self.setPage(page_id, page)
        self.rejected.connect(self._stop)
        self.accepted.connect(self._stop)

    @property
    def pages(self) -> list:
        return [self.terms_page, self.teacher_page, self.privacy_page, self.labelling_page, self.review_page,
                self.fine_tune_page, self.validation_page]

    def teacher_settings(self, settings: Settings) -> Settings:
        """The settings with this teacher's URL, model, price and budget (never its key)."""
        from dataclasses import replace

        page = self.teacher_page
        return replace(settings, teacher_base_url=page.base_url.text().strip(),
                       teacher_model=page.model.text().strip(), teacher_price_per_1k=page.price.value(),
                       teacher_budget=page.budget.value())

    @property
    def running(self) -> bool:
        return any(page.op.running for page in self.pages if hasattr(page, "op"))

    def _stop(self) -> None:
        """Every step saves as it goes; stopping waits for the current one to store what it finished."""
        for page in self.pages:
            if hasattr(page, "op"):
                page.op.stop_and_wait()
        self.ctx.sending(None)
        self.ctx.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._stop()
        super().closeEvent(event)
