"""The spend ledger never counts less than the teacher may have billed: timeouts, lost connections, kills.

Against the real simulated teacher made slow; its ``requests`` and ``tokens`` tally stands for the
provider's bill (it bills a request once read, answered or not). A connection that breaks after
the request was sent needs a server that hangs up, which the simulated teacher cannot do: a
minimal socket server does it.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from termlinker.cli import main
from termlinker.distill.errors import TeacherUnreachable
from termlinker.distill.label_store import LabelStore
from termlinker.distill.labelling import LabellingRun, LabelSummary, check_budget, plan_labelling
from benchmarks.simulated_teacher import SimulatedTeacher
from termlinker.distill.teacher import TeacherClient
from termlinker.distill.teacher_prompt import load_teacher_prompt
from termlinker.types import Candidate, LinkResult

from .conftest import TERMS, fast_config, free_port

PRICE = 1.0  # per 1k tokens
CANDIDATES = (Candidate("T:001", "Headache", 0.9), Candidate("T:002", "Insomnia", 0.5),
              Candidate("T:003", "Tinnitus", 0.1))
RESULTS = [LinkResult(t, 1, CANDIDATES) for t in TERMS[:3]]


def billed(teacher: SimulatedTeacher) -> float:
    """What the provider may charge: every request it read, at its usage."""
    return teacher.tokens / 1000 * PRICE


def ledger(path: Path) -> list[tuple[str, float, float]]:
    """(state, estimated cost, counted cost) of each ledger row, read beside the store's own connection."""
    with sqlite3.connect(path) as db:
        return db.execute("SELECT state, estimated_cost, cost FROM spend ORDER BY id").fetchall()


def served(teacher: SimulatedTeacher, n: int, within_s: float = 60.0,
           sender: subprocess.Popen | None = None) -> None:
    """Wait until the teacher has read ``n`` requests (it reads them a moment after the client sends)."""
    deadline = time.monotonic() + within_s
    while teacher.requests < n:
        assert sender is None or sender.poll() is None, sender.stderr.read().decode() if sender.stderr else ""
        assert time.monotonic() < deadline, f"the teacher read {teacher.requests} requests, not {n}"
        time.sleep(0.02)


def label(client: TeacherClient, store: LabelStore, results=RESULTS, budget: float | None = None) -> LabelSummary:
    plan = plan_labelling(results, store, load_teacher_prompt(), "sim", PRICE, budget)
    check_budget(plan, allow_partial=False)
    return LabellingRun(plan, client, store, concurrency=1).run()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LabelStore]:
    with LabelStore(tmp_path / "labels.sqlite") as s:
        yield s


def test_every_timed_out_try_is_counted_at_its_estimate(simulated, key_env, store):
    teacher, url = simulated(1.0, delay_s=1.0)
    client = TeacherClient(fast_config(url, timeout_s=0.2, max_attempts=3))
    with pytest.raises(TeacherUnreachable, match="did not answer within"):
        label(client, store, RESULTS[:1])
    served(teacher, 3)
    rows = ledger(store.path)
    assert [state for state, _, _ in rows] == ["failed"] * 3  # one row per try, not one per term
    assert all(cost == estimate > 0 for _, estimate, cost in rows)
    assert store.spent() == pytest.approx(sum(cost for _, _, cost in rows)) and store.spent() >= billed(teacher)


def test_a_timeout_before_the_answer_counts_besides_the_answer(simulated, key_env, store):
    teacher, url = simulated(1.0, delay_s=1.0)
    # The backoff after the first timeout makes the teacher fast: the second try is answered.
    client = TeacherClient(fast_config(url, timeout_s=0.3), sleep=lambda _s: setattr(teacher, "delay_s", 0.0))
    summary = label(client, store, RESULTS[:1])
    assert (summary.ok, summary.requests, summary.lost_requests, teacher.requests) == (1, 1, 1, 2)
    (lost_state, estimate, lost_cost), (done_state, _, answered_cost) = ledger(store.path)
    assert (lost_state, lost_cost, done_state) == ("failed", estimate, "done")
    assert summary.cost == pytest.approx(estimate + answered_cost) == store.spent()
    assert store.spent() >= billed(teacher)
    assert "1 requests without an answer" in "\n".join(summary.lines())
    (record,) = store.records()
    assert record.cost == pytest.approx(summary.cost)  # what this term cost, its lost try included


def test_retries_stop_at_the_budget(simulated, key_env, store):
    teacher, url = simulated(1.0, delay_s=1.0)
    client = TeacherClient(fast_config(url, timeout_s=0.2, max_attempts=5))
    estimate = plan_labelling(RESULTS[:1], store, load_teacher_prompt(), "sim", PRICE).estimated_cost
    budget = 2.5 * estimate  # room for two tries of the one term, not five
    summary = label(client, store, RESULTS[:1], budget=budget)
    served(teacher, 2)
    time.sleep(0.3)  # a third request would have been read by now
    assert (teacher.requests, summary.stopped_at_budget, summary.unanswered) == (2, True, 1)
    assert billed(teacher) <= store.spent() <= budget


def hang_up_server() -> tuple[str, list[int], socket.socket]:
    """A server that reads each request and closes the connection without a word; counts the requests."""
    listener = socket.create_server(("127.0.0.1", 0))
    read: list[int] = []

    def loop() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                read.append(1)

    threading.Thread(target=loop, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}/v1", read, listener


def test_a_connection_lost_after_sending_is_counted_and_one_never_opened_is_not(key_env, store):
    url, read, listener = hang_up_server()
    try:
        with pytest.raises(TeacherUnreachable, match="Cannot reach"):
            label(TeacherClient(fast_config(url, max_attempts=2)), store, RESULTS[:1])
    finally:
        listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(), which would take one more
        listener.close()
    rows = ledger(store.path)
    assert len(read) == len(rows) == 2 and all(cost == estimate > 0 for _, estimate, cost in rows)
    spent = store.spent()
    # Nobody listens there: the connection is refused, nothing left, nothing is counted.
    with pytest.raises(TeacherUnreachable, match="Cannot reach"):
        label(TeacherClient(fast_config(f"http://127.0.0.1:{free_port()}/v1", max_attempts=2)), store, RESULTS[:1])
    assert [state for state, _, _ in ledger(store.path)] == ["failed"] * 4 and store.spent() == spent


def test_requests_in_flight_at_a_kill_count_and_the_budget_holds_across_it(simulated, key_env, tmp_path, home,
                                                                         tiny_vocab_path, capsys):
    teacher, url = simulated(1.0, delay_s=30.0)  # slow: the run is killed while it waits for answers
    terms = tmp_path / "terms.txt"
    terms.write_text("\n".join(TERMS) + "\n")
    out = tmp_path / "labels.jsonl"
    store_path = out.with_suffix(".labels.sqlite")
    budget = "0.8"  # the two killed requests at about 0.19 each, and room for two or three more of the five
    args = ["--home", str(home.root), "-q", "distill", "label", str(terms), "--vocab", str(tiny_vocab_path),
            "--base-url", url, "--model", "sim", "--api-key-env", key_env, "--top-k", "3", "--yes",
            "--price-per-1k-tokens", str(PRICE), "--concurrency", "2", "-o", str(out)]

    run = subprocess.Popen([sys.executable, "-m", "termlinker.cli", *args, "--budget", budget, "--allow-partial"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        served(teacher, 2, within_s=120, sender=run)  # both workers wait for an answer
    finally:
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
    assert run.returncode == -signal.SIGKILL and teacher.requests == 2
    with LabelStore(store_path) as store:
        assert not list(store.records())  # no answer came back
        assert [state for state, _, _ in ledger(store_path)] == ["pending", "pending"]
        assert store.spent() >= billed(teacher) > 0  # committed before they were sent: counted
        in_flight_cost = store.spent()

    teacher.delay_s = 0.0
    assert main(args + ["--budget", budget, "--allow-partial"]) == 0
    err = capsys.readouterr().err
    assert "2 requests were in flight when an earlier run stopped; their answers were lost, so 2 of their " \
           f"terms are asked again. They may have been billed: their estimated {in_flight_cost:.4f} counts" in err
    assert f"spent {in_flight_cost:.4f}" in err and "stopped at the budget" in err
    with LabelStore(store_path) as store:
        assert billed(teacher) <= store.spent() <= float(budget)  # the killed run's requests included
        assert len(ledger(store_path)) == teacher.requests  # every request the teacher read is in the ledger
        assert store.in_flight().requests == 0  # closed by the rerun, still counted
        assert all(state == "failed" and cost == estimate for state, estimate, cost in ledger(store_path)[:2])

    assert main(args + ["--budget", "5"]) == 0
    err = capsys.readouterr().err
    assert "in flight" not in err and len(out.read_text().splitlines()) == len(TERMS)
    with LabelStore(store_path) as store:
        assert billed(teacher) <= store.spent() and len(ledger(store_path)) == teacher.requests
