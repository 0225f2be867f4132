"""The teacher's connection test (``wizard_api.check_connection``) against real servers on loopback.

Only a server that answers like an OpenAI-compatible API counts as reached: a model list, or (for
an endpoint without /models) a chat completion. Anything else is an error that says what came back,
and a base URL that is not an http(s) URL is refused before anything is sent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from termlinker.distill.errors import TeacherConfigError, TeacherError
from termlinker.distill.teacher import TeacherConfig
from termlinker.distill.wizard_api import check_connection

from .conftest import API_KEY, KEY_ENV, TERMS, chat, free_port


def config(url: str, model: str = "fake-model") -> TeacherConfig:
    return TeacherConfig(url, model, "", api_key=API_KEY, timeout_s=5.0, max_attempts=2, backoff_s=0.01,
                         backoff_max_s=0.05)


@pytest.fixture
def serve_on_loopback() -> Iterator[Callable[[type[BaseHTTPRequestHandler]], str]]:
    """``serve(handler)`` starts a stdlib server on loopback and returns its /v1 URL."""
    servers: list[ThreadingHTTPServer] = []

    def serve(handler) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/v1"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        return None


def answering(status: int, content_type: str, body: bytes) -> type[BaseHTTPRequestHandler]:
    """A server that answers every GET and POST alike (a web site's catch-all page, say)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return None

        def do_GET(self) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.do_GET()

    return Handler


@pytest.mark.parametrize("url", ["not a url", "localhost:8080/v1", "ftp://example.com/v1", "http://",
                                 "http://not a host/v1"])
def test_a_base_url_that_is_not_http_says_so_in_one_line(url):
    with pytest.raises(TeacherConfigError) as caught:
        check_connection(config(url))
    message = str(caught.value)
    assert f"{url!r} is not an http(s) URL" in message, message
    assert "\n" not in message and "answers are kept" not in message, "about the URL, not about labelling"


def test_a_plain_web_server_answering_404_is_not_reached(serve_on_loopback, tmp_path):
    url = serve_on_loopback(partial(Quiet, directory=str(tmp_path)))  # no /v1/models; POST is 501
    with pytest.raises(TeacherError) as caught:
        check_connection(config(url))
    message = str(caught.value)
    assert "Reached" not in message and "not an OpenAI-compatible API" in message, message
    assert "HTTP 404" in message and "HTML" in message and "HTTP 501" in message, "what came back is said"
    assert "\n" not in message


@pytest.mark.parametrize("status, content_type, body, said", [
    (200, "text/html", b"<!DOCTYPE html><html><body>Welcome</body></html>", "HTTP 200 with an HTML page"),
    (200, "application/json", b'{"status": "ok"}', "HTTP 200 with JSON that is not a model list"),
    (200, "text/plain", b"hello", "HTTP 200 with text/plain"),
])
def test_an_answer_that_is_not_an_api_answer_is_an_error_saying_what_came_back(serve_on_loopback, status,
                                                                                content_type, body, said):
    url = serve_on_loopback(answering(status, content_type, body))
    with pytest.raises(TeacherError) as caught:
        check_connection(config(url))
    message = str(caught.value)
    assert said in message and "not an OpenAI-compatible API" in message, message


def test_an_endpoint_without_a_model_list_is_reached_when_it_answers_a_chat_completion(fake_teacher):
    # The fake answers POST only: GET /models gets the stdlib's 501, the chat completion works.
    fake_teacher.script = [chat('{"label": "none"}')]
    check = check_connection(config(fake_teacher.url))
    assert check.ok and check.message.startswith(f"Reached {fake_teacher.url}"), check.message
    assert "does not list its models" in check.message and "answered a test question" in check.message
    assert fake_teacher.posts == 1
    sent = str(fake_teacher.bodies[0])
    assert not any(term in sent for term in TERMS), "the test question carries no term"
    assert API_KEY not in sent


def test_an_api_that_refuses_the_test_question_says_why(fake_teacher):
    fake_teacher.script = [(404, {"error": {"message": "The model 'fake-model' does not exist"}})]
    with pytest.raises(TeacherError) as caught:
        check_connection(config(fake_teacher.url))
    message = str(caught.value)
    assert "HTTP 404" in message and "The model 'fake-model' does not exist" in message, message
    assert "Reached" not in message


def test_a_teacher_that_lists_its_models_is_still_connected(simulated):
    teacher, url = simulated(1.0)
    check = check_connection(config(url, teacher.model))
    assert check.ok and check.message == f"Connected to {url}; the model {teacher.model!r} is available."
    assert check.models == (teacher.model,) and teacher.requests == 0, "no chat request when /models answers"
    other = check_connection(config(url, "gpt-unknown"))
    assert other.ok and "does not list the model 'gpt-unknown'" in other.message


# --- `termlinker distill label` checks the connection the same way, before any term is sent -----


def recording(seen: list[bytes]) -> type[BaseHTTPRequestHandler]:
    """A web server with no API: every GET and POST gets a 404 page; what was POSTed is kept."""

    class Handler(answering(404, "text/html", b"<html><body>Not Found</body></html>")):
        def do_POST(self) -> None:
            seen.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            self.do_GET()

    return Handler


def label(home, tmp_path, vocab, url: str) -> int:
    from termlinker.cli import main

    terms = tmp_path / "terms.txt"
    terms.write_text("\n".join(TERMS) + "\n", encoding="utf-8")
    return main(["--home", str(home.root), "-q", "distill", "label", str(terms), "--vocab", str(vocab),
                 "--base-url", url, "--model", "fake-model", "--api-key-env", KEY_ENV, "--top-k", "3", "--yes",
                 "--timeout", "5", "-o", str(tmp_path / "labels.jsonl")])


def nothing_written(tmp_path) -> bool:
    return not (tmp_path / "labels.jsonl").exists() and not (tmp_path / "labels.labels.sqlite").exists()


@pytest.mark.parametrize("url", ["not a url", "ftp://example.com/v1"])
def test_cli_label_refuses_a_base_url_that_is_not_http_in_one_line(url, key_env, home, tmp_path, tiny_vocab_path,
                                                                   capsys):
    assert label(home, tmp_path, tiny_vocab_path, url) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("termlinker: error:") and "is not an http(s) URL" in err, err
    assert nothing_written(tmp_path)


def test_cli_label_stops_at_a_server_answering_404_before_any_term_is_sent(serve_on_loopback, key_env, home,
                                                                          tmp_path, tiny_vocab_path, capsys):
    posted: list[bytes] = []
    url = serve_on_loopback(recording(posted))
    assert label(home, tmp_path, tiny_vocab_path, url) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "not an OpenAI-compatible API" in err and "HTTP 404" in err, err
    assert len(posted) <= 1 and not any(term.encode() in body for body in posted for term in TERMS), \
        "only the fixed test question, never a term"
    assert nothing_written(tmp_path)


def test_cli_label_stops_at_an_unreachable_host(key_env, home, tmp_path, tiny_vocab_path, capsys):
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    assert label(home, tmp_path, tiny_vocab_path, url) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("termlinker: error:"), err
    assert nothing_written(tmp_path)
