"""The status bar's permanent part: offline state, retriever, re-ranker, vocabulary."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QStatusBar, QWidget

from termlinker.api import Linker, VocabularySummary, planned_retriever

from .settings import Settings


OFFLINE = "● Offline"
OFFLINE_STYLE = "color: #2e7d32; font-weight: 600;"
OFFLINE_TIP = "TermLinker runs entirely on this computer; no term leaves it."
SENDING_STYLE = "color: #e65100; font-weight: 600;"


class ElidedLabel(QLabel):
    """One line that never widens its window: a text longer than the room is cut with '…', and the
    whole text is the tooltip."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.full_text = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setTextFormat(Qt.TextFormat.PlainText)

    def set_full_text(self, text: str) -> None:
        self.full_text = " ".join(text.split())  # one line: messages may quote text with line breaks
        self._elide()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(self.full_text, Qt.TextElideMode.ElideRight, max(self.width(), 0))
        self.setText(shown)
        self.setToolTip(self.full_text if shown != self.full_text else "")


class MessageBar(QStatusBar):
    """The status bar. Its messages (``showMessage``) go into an elided label beside the permanent part,
    with the whole text as the tooltip: Qt's own message was cut off where the permanent part began
    (a script warning at a 1280 px window). ``currentMessage`` is the whole text."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message = ElidedLabel()
        self.addWidget(self.message, 1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.clearMessage)

    def showMessage(self, text: str, timeout: int = 0) -> None:  # noqa: N802 - Qt's name
        self._timer.stop()
        self.message.set_full_text(text)
        if timeout > 0 and text:
            self._timer.start(timeout)

    def clearMessage(self) -> None:  # noqa: N802 - Qt's name
        self._timer.stop()
        self.message.set_full_text("")

    def currentMessage(self) -> str:  # noqa: N802 - Qt's name
        return self.message.full_text


class StatusLine:
    def __init__(self, bar: QStatusBar) -> None:
        # The engine opens no socket on the link path (a test audits it), so this is a fact, not a setting.
        # The one exception is the distillation wizard's labelling, which says so here while it sends.
        self.offline = QLabel()
        self.sending(None)
        self.retriever = QLabel()
        self.reranker = QLabel()
        self.vocabulary = QLabel()
        for label in (self.offline, self.retriever, self.reranker, self.vocabulary):
            bar.addPermanentWidget(label)

    def update(self, settings: Settings, summary: VocabularySummary | None, name: str,
               linker: Linker | None) -> None:
        """``linker``: the one the next run uses, already loaded; None when that run builds its own."""
        if linker is not None:
            self.retriever.setText(f"Retriever: {linker.retriever_description}")
        else:  # no linker yet: what the next run will open for this vocabulary's language
            language = summary.language if summary is not None else ""
            self.retriever.setText(f"Retriever: {planned_retriever(language, settings.encoder_for(name) if name else None)}")
        ranked = linker.ranker is not None if linker is not None else bool(name and settings.ranker_for(name))
        if ranked:
            self.retriever.setText(self.retriever.text() + " + learned ranking")
        self.reranker.setText(f"Re-ranker: {_reranker_text(settings, linker)}")
        self.vocabulary.setText(_vocabulary_text(summary, name, linker))

    def sending(self, host: str | None) -> None:
        """``host``: terms are being sent to the teacher there (the wizard is labelling); None: offline again."""
        if host is None:
            self.offline.setText(OFFLINE)
            self.offline.setStyleSheet(OFFLINE_STYLE)
            self.offline.setToolTip(OFFLINE_TIP)
        else:
            self.offline.setText(f"● Sending terms to {host}")
            self.offline.setStyleSheet(SENDING_STYLE)
            self.offline.setToolTip(f"The distillation wizard is sending terms and their candidate names to the "
                                    f"teacher at {host}. Linking itself stays on this computer.")

    @property
    def texts(self) -> list[str]:
        return [w.text() for w in (self.offline, self.retriever, self.reranker, self.vocabulary)]


def _reranker_text(settings: Settings, linker: Linker | None) -> str:
    if not settings.rerank:
        return "off"
    if linker is None:  # no linker of these settings yet: the model is loaded by the next run
        return f"on{f' ({settings.reranker})' if settings.reranker else ''}, loads at the next Run"
    if linker.reranker is None:
        return "off (the model could not be loaded)"
    model = linker.reranker.model
    return model.name if model is not None else "on"


def _vocabulary_text(summary: VocabularySummary | None, name: str, linker: Linker | None) -> str:
    if linker is not None:
        info = linker.vocabulary.info
        return f"Vocabulary: {info.name} {info.version} · {len(linker.vocabulary):,} concepts".replace("  ", " ")
    if summary is None:
        return f"Vocabulary: {name}" if name else "Vocabulary: none"
    size = f" · {summary.concepts:,} concepts" if summary.concepts else ""
    return f"Vocabulary: {summary.name} {summary.version}{size}".replace("  ", " ")
