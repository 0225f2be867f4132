"""A *simulated* teacher of stated accuracy p: an OpenAI-compatible chat server on loopback, stdlib only.

For the paper's experiment on teacher quality. It reads the question rendered from the teacher
prompt, and answers the gold candidate with probability p, otherwise a wrong one (a wrong
candidate, or "none" when the gold concept was not offered and it errs the other way). Answers
are reproducible: the coin for a term depends only on (seed, term), not on the order of requests.
The model name it reports says "simulated", e.g. ``simulated-p0.90``.

It can be slow on purpose (``--delay``): a real provider's latency, under which a client times out
or a labelling run is killed with requests in flight. Like a provider, it bills a request once it
has read it (``tokens``), whether or not the client is still there for the answer.

    python -m benchmarks.simulated_teacher --gold GOLD --p 0.9 --port 8123 --seed 0 [--delay 2]

GOLD is JSONL (``{"term": .., "concept_name": ..}``) or TSV (term<TAB>concept name).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from termlinker.distill.teacher_prompt import load_teacher_prompt, parse_question


@dataclass
class SimulatedTeacher:
    gold: dict[str, str]  # term -> gold concept name (compared case-insensitively)
    p: float
    seed: int = 0
    delay_s: float = 0.0  # wait before each answer, as a slow provider does
    requests: int = 0  # requests read, answered or not
    tokens: int = 0  # usage billed for them (prompt + completion), as a provider's dashboard would show
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def model(self) -> str:
        return f"simulated-p{self.p:.2f}"

    def answer(self, term: str, labels: list[tuple[str, str]]) -> str:
        rng = random.Random(hashlib.sha256(f"{self.seed}\x00{term}".encode()).digest())
        gold = self.gold.get(term, "").casefold()
        right = next((label for label, name in labels if name.casefold() == gold), "none")
        # A wrong answer is a wrong candidate, as the experiment defines it.
        wrong = [label for label, _ in labels if label != right]
        correct = rng.random() < self.p
        return right if correct or not wrong else rng.choice(wrong)

    def count(self, tokens: int = 0) -> None:
        with self._lock:
            self.requests += 1
            self.tokens += tokens


def read_gold(path: str | Path) -> dict[str, str]:
    gold: dict[str, str] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            row = json.loads(line)
            gold[row["term"]] = row["concept_name"]
        else:
            term, _, name = line.partition("\t")
            gold[term] = name
    return gold


def make_handler(teacher: SimulatedTeacher) -> type[BaseHTTPRequestHandler]:
    prompt = load_teacher_prompt()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet: tests and experiments read stdout
            return None

        def _send(self, status: int, payload: dict) -> None:
            body = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out or was killed while we were slow: the request is billed anyway

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                self._send(200, {"object": "list", "data": [{"id": teacher.model, "object": "model",
                                                             "owned_by": "termlinker-simulation"}]})
            else:
                self._send(404, {"error": {"message": "not found"}})

        def do_POST(self) -> None:
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send(404, {"error": {"message": "not found"}})
                return
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            prompt_tokens = sum(len(m.get("content", "")) for m in body.get("messages", [])) // 4 + 1
            teacher.count(prompt_tokens + 6)
            user = next((m["content"] for m in body.get("messages", []) if m.get("role") == "user"), "")
            term, labels = parse_question(user, prompt)
            content = json.dumps({"label": teacher.answer(term, labels)})
            if teacher.delay_s > 0:
                time.sleep(teacher.delay_s)
            self._send(200, {
                "id": f"sim-{teacher.requests}", "object": "chat.completion", "created": 0, "model": teacher.model,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 6,
                          "total_tokens": prompt_tokens + 6}})

    return Handler


def serve(teacher: SimulatedTeacher, port: int = 0, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """A started server (in a daemon thread); ``server.server_address[1]`` is the port."""
    server = ThreadingHTTPServer((host, port), make_handler(teacher))
    threading.Thread(target=server.serve_forever, daemon=True, name="simulated-teacher").start()
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.simulated_teacher",
                                     description="A simulated teacher of accuracy p (OpenAI-compatible, loopback).")
    parser.add_argument("--gold", required=True, help="JSONL {term, concept_name} or TSV term<TAB>name")
    parser.add_argument("--p", type=float, required=True, help="probability of the gold answer (0..1)")
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait before each answer (a slow teacher)")
    args = parser.parse_args(argv)
    if not 0.0 <= args.p <= 1.0:
        parser.error("--p must be between 0 and 1")
    if args.delay < 0:
        parser.error("--delay cannot be negative")
    teacher = SimulatedTeacher(read_gold(args.gold), args.p, args.seed, args.delay)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(teacher))
    print(f"{teacher.model} serving on http://{args.host}:{server.server_address[1]}/v1", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
