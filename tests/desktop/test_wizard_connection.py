"""The wizard's teacher page and the main window's status line, against real servers on loopback.

A failed connection test keeps the user on the teacher page until a test succeeds, its message
is about what went wrong (the URL itself, or what the server sent back), and while labelling
sends terms to the teacher the status line says so instead of "Offline".
"""

from __future__ import annotations

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PySide6.QtWidgets import QWizard

from benchmarks.simulated_teacher import SimulatedTeacher, serve
from termlinker_desktop.distill import wizard as W
from termlinker_desktop.distill.op_panel import ERROR_STYLE, OK_STYLE
from termlinker_desktop.distill.wizard import DistillWizard

from ..distill.conftest import API_KEY
from .conftest import paste_and_run

LONG = 120_000
GOLD = {"my head hurts": "Headache", "can't sleep at night": "Insomnia", "ringing in my ears": "Tinnitus",
        "nose bleeding": "Epistaxis", "queasy": "Nausea", "always tired": "Fatigue"}


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def plain_web_server(tmp_path):
    """A real web server with no OpenAI API: GET /v1/models is 404, POST is 501."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.fixture
def teacher():
    """The simulated teacher on loopback, answering 0.2 s late; yields it and its /v1 URL."""
    simulated = SimulatedTeacher(GOLD, 1.0, delay_s=0.2)
    server = serve(simulated)
    yield simulated, f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def teacher_page(qtbot, window) -> DistillWizard:
    wizard = DistillWizard(window.settings, window.dirs, None, "tiny",
                           teacher_options={"timeout_s": 5.0, "max_attempts": 2, "backoff_s": 0.01})
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.setStartId(W.TEACHER)
    wizard.restart()
    assert wizard.currentId() == W.TEACHER
    return wizard


def fill(wizard: DistillWizard, url: str, model: str = "simulated-p1.00") -> None:
    page = wizard.teacher_page
    page.base_url.setText(url)
    page.model.setText(model)
    page.api_key.setText(API_KEY)


def test_connection(qtbot, wizard: DistillWizard) -> str:
    page = wizard.teacher_page
    page.test_connection()
    qtbot.waitUntil(lambda: not page.op.running, timeout=LONG)
    return page.op.status.text()


test_connection.__test__ = False  # a helper, not a test


def next_enabled(wizard: DistillWizard) -> bool:
    return wizard.button(QWizard.WizardButton.NextButton).isEnabled()


def test_a_base_url_that_is_not_a_url_gets_a_message_about_the_url(qtbot, window):
    wizard = teacher_page(qtbot, window)
    fill(wizard, "not a url")
    text = test_connection(qtbot, wizard)
    assert "'not a url' is not an http(s) URL" in text, text
    assert "answers are kept" not in text and "\n" not in text
    assert wizard.teacher_page.op.status.styleSheet() == ERROR_STYLE


def test_a_web_server_answering_404_is_an_error_not_reached(qtbot, window, plain_web_server):
    wizard = teacher_page(qtbot, window)
    fill(wizard, plain_web_server)
    text = test_connection(qtbot, wizard)
    assert not text.startswith(("Reached", "Connected")), text
    assert "HTTP 404" in text and "not an OpenAI-compatible API" in text, text
    assert wizard.teacher_page.op.status.styleSheet() == ERROR_STYLE


def test_next_stays_disabled_after_a_failed_test_until_a_test_succeeds(qtbot, window, plain_web_server, teacher):
    simulated, url = teacher
    wizard = teacher_page(qtbot, window)
    page = wizard.teacher_page
    fill(wizard, plain_web_server)
    assert next_enabled(wizard), "testing is not required to continue"
    test_connection(qtbot, wizard)
    assert not page.isComplete() and not next_enabled(wizard), "a failed test blocks Next"

    page.base_url.setText(url)
    assert not next_enabled(wizard), "a changed URL must be tested again"
    assert "test" in page.op.status.text().lower()

    page.model.setText("simulated-p1.00")
    text = test_connection(qtbot, wizard)
    assert text.startswith("Connected to") and page.op.status.styleSheet() == OK_STYLE, text
    assert page.isComplete() and next_enabled(wizard)

    page.base_url.setText("not a url")
    test_connection(qtbot, wizard)
    assert not next_enabled(wizard)


def start_labelling(qtbot, window, url: str) -> DistillWizard:
    """Tools ▸ Distil a Re-ranker as the window makes it (its child), through consent to labelling."""
    wizard = window.models.make_distill_wizard()
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.next()
    fill(wizard, url)
    wizard.teacher_page.concurrency.setValue(1)
    wizard.next()
    privacy = wizard.privacy_page
    qtbot.waitUntil(lambda: wizard.ctx.plan is not None and not privacy.op.running, timeout=LONG)
    assert wizard.ctx.plan.to_ask
    assert window.status_line.offline.text() == "● Offline", "retrieval is local"
    privacy.consent.setChecked(True)
    wizard.next()
    assert wizard.currentId() == W.LABELLING and wizard.labelling_page.op.running
    return wizard


def test_the_status_line_says_when_terms_are_sent_and_offline_again_after(qtbot, window, teacher):
    simulated, url = teacher
    paste_and_run(qtbot, window, "\n".join(GOLD))
    offline = window.status_line.offline
    assert offline.text() == "● Offline"
    host = url.split("/")[2]
    sending = f"● Sending terms to {host}"

    wizard = start_labelling(qtbot, window, url)
    labelling = wizard.labelling_page
    assert offline.text() == sending, offline.text()
    assert host in offline.toolTip()
    labelling.pause()
    qtbot.waitUntil(lambda: not labelling.op.running, timeout=LONG)
    assert offline.text() == "● Offline", "paused: nothing is being sent"
    assert "no term leaves it" in offline.toolTip()
    labelling.resume()
    assert labelling.op.running and offline.text() == sending
    wizard.reject()  # closed mid-labelling: waits for the request in flight, then sends nothing more
    assert offline.text() == "● Offline"

    again = start_labelling(qtbot, window, url)
    assert offline.text() == sending
    qtbot.waitUntil(lambda: not again.labelling_page.op.running, timeout=LONG)
    assert again.labelling_page.answered == len(GOLD), again.labelling_page.op.status.text()
    assert offline.text() == "● Offline"
    again.reject()
