"""The labelling run: plan (retrieve, look up the cache) → estimate → check the budget → ask → export.

Planning needs no network and spends nothing, so the CLI can show the plan and ask before any
request leaves the machine. Every answer is committed as it arrives; a budget stop, a cancel, a
fatal teacher error or a kill all leave the store consistent, and a rerun asks only what is missing.
Every request, each retry included, reserves its estimate from the budget and is a committed
'pending' row of the spend ledger before it is sent (see label_store), so what a timeout or a kill
may have cost is counted, and the budget holds.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..atomic import atomic_open
from ..errors import Cancelled
from ..progress import CancelToken, ProgressFn, no_progress
from ..types import LinkResult
from .errors import BudgetError, TeacherError
from .label_store import InFlight, LabelRecord, LabelStore, label_key
from .teacher import TeacherClient, estimate_request_tokens
from .teacher_prompt import TeacherPrompt, parse_answer

_RETRY_NOTE = ('That answer was not valid. Answer with JSON only: {{"label": "<letter>"}} with one of the '
               'letters {letters}, or {{"label": "none"}}.')


@dataclass(frozen=True)
class LabelJob:
    term: str
    candidates: tuple[tuple[str, str], ...]  # (concept id, name), in the order offered
    key: str
    messages: tuple[dict[str, str], ...]
    estimated_tokens: int  # prompt estimate + output allowance


@dataclass(frozen=True)
class LabelPlan:
    teacher: str
    prompt_version: str
    jobs: tuple[LabelJob, ...]  # every term, in input order
    to_ask: tuple[LabelJob, ...]  # those without a final answer in the store
    price_per_1k: float
    spent: float  # already spent from this store's ledger, earlier runs included
    budget: float | None
    output_allowance: int = 24  # completion tokens counted for a request whose body sets no max_tokens
    in_flight: InFlight = InFlight(0, frozenset(), 0.0)  # sent by an earlier run that was killed; in ``spent``

    @property
    def cached(self) -> int:
        return len(self.jobs) - len(self.to_ask)

    @property
    def estimated_tokens(self) -> int:
        return sum(j.estimated_tokens for j in self.to_ask)

    @property
    def estimated_cost(self) -> float:
        return cost_of(self.estimated_tokens, self.price_per_1k)

    @property
    def budget_left(self) -> float | None:
        return None if self.budget is None else max(0.0, self.budget - self.spent)

    def lines(self) -> list[str]:
        budget = ("no budget" if self.budget is None else
                  f"budget {self.budget:.4f}, spent {self.spent:.4f}, left {self.budget_left:.4f}")
        return [f"teacher {self.teacher}, prompt {self.prompt_version}",
                f"{len(self.jobs)} terms: {self.cached} already answered (cached), {len(self.to_ask)} requests to send",
                f"estimated {self.estimated_tokens} tokens, cost {self.estimated_cost:.4f} "
                f"at {self.price_per_1k:g} per 1k tokens; {budget}"] + self._in_flight_lines()

    def _in_flight_lines(self) -> list[str]:
        if not self.in_flight.requests:
            return []
        again = sum(1 for j in self.to_ask if j.key in self.in_flight.keys)
        return [f"{self.in_flight.requests} requests were in flight when an earlier run stopped; their answers "
                f"were lost, so {again} of their terms are asked again. They may have been billed: their estimated "
                f"{self.in_flight.estimated_cost:.4f} counts in the spent and against the budget."]


@dataclass(frozen=True)
class LabelSummary:
    total: int
    cached: int
    asked: int  # terms answered by this run
    ok: int
    none: int
    invalid: int
    error: int
    requests: int  # HTTP requests answered by the teacher (invalid answers are asked twice)
    tokens_in: int
    tokens_out: int
    cost: float  # counted by this run: answers at their usage, lost requests at their estimate
    spent_total: float
    stopped_at_budget: bool
    unanswered: int  # terms still without a final answer (budget stop)
    lost_requests: int = 0  # sent, no answer (timeout, connection lost), may have been billed
    lost_cost: float = 0.0  # their estimate, part of ``cost``

    def lines(self) -> list[str]:
        out = [f"{self.asked} terms labelled now ({self.ok} ok, {self.none} none, {self.invalid} invalid, "
               f"{self.error} error), {self.cached} from the cache; {self.requests} requests, "
               f"{self.tokens_in}+{self.tokens_out} tokens, cost {self.cost:.4f} (total spent {self.spent_total:.4f})"]
        if self.lost_requests:
            out.append(f"{self.lost_requests} requests without an answer (timed out or connection lost) may have "
                       f"been billed: they are counted at their estimate, {self.lost_cost:.4f}, in the cost.")
        if self.stopped_at_budget:
            out.append(f"stopped at the budget: {self.unanswered} terms not asked. Raise --budget and run again to "
                       "finish; answers so far are kept.")
        return out


def cost_of(tokens: int, price_per_1k: float) -> float:
    return tokens / 1000.0 * price_per_1k


def plan_labelling(results: Iterable[LinkResult], store: LabelStore, prompt: TeacherPrompt, teacher: str,
                   price_per_1k: float = 0.0, budget: float | None = None,
                   output_allowance: int = 24) -> LabelPlan:
    """Turn retrieval results into jobs; nothing is sent, nothing is written.

    ``output_allowance`` should be the request's max_tokens: the most a request can be billed for."""
    jobs = []
    seen = set()
    for result in results:
        candidates = tuple((c.concept_id, c.name) for c in result.candidates)
        key = label_key(result.term, candidates, prompt.version, teacher)
        if key in seen:
            continue
        seen.add(key)
        messages = tuple(prompt.messages(result.term, [name for _, name in candidates]))
        jobs.append(LabelJob(result.term, candidates, key, messages,
                             estimate_request_tokens(list(messages)) + output_allowance))
    to_ask = tuple(j for j in jobs if store.cached(j.key) is None)
    return LabelPlan(teacher, prompt.version, tuple(jobs), to_ask, price_per_1k, store.spent(), budget,
                     output_allowance, store.in_flight())


def check_budget(plan: LabelPlan, allow_partial: bool) -> None:
    """Refuse to start when the estimate for the uncached requests is above what is left."""
    left = plan.budget_left
    if left is None or plan.estimated_cost <= left or not plan.to_ask:
        return
    if allow_partial and left >= cost_of(min(j.estimated_tokens for j in plan.to_ask), plan.price_per_1k):
        return
    if allow_partial:
        raise BudgetError(f"The budget is spent ({plan.spent:.4f} of {plan.budget:.4f}); not one more request "
                          "fits. Raise --budget to go on; the answers so far are kept.")
    raise BudgetError(f"The {len(plan.to_ask)} requests are estimated at {plan.estimated_cost:.4f}, more than the "
                      f"{left:.4f} left of the budget ({plan.budget:.4f}, {plan.spent:.4f} spent). Raise --budget, "
                      "or use --allow-partial to label until the budget is reached.")


@dataclass
class _Budget:
    """Requests reserve their estimated cost before sending, so concurrent workers cannot overspend."""

    left: float | None
    reached: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reserve(self, amount: float) -> bool:
        with self._lock:
            if self.left is None:
                return True
            if amount > self.left + 1e-12:
                self.reached = True
                return False
            self.left -= amount
            return True

    def settle(self, reserved: float, actual: float) -> None:
        with self._lock:
            if self.left is not None:
                self.left += reserved - actual


@dataclass
class _Tally:
    statuses: dict[str, int] = field(default_factory=lambda: {"ok": 0, "none": 0, "invalid": 0, "error": 0})
    requests: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    lost_requests: int = 0
    lost_cost: float = 0.0
    done: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Stop(Exception):
    """Budget reached (or the run halted) before a request could be sent."""


class _JobLedger:
    """One term's requests, retries included, in the budget and the spend ledger (a teacher.SendLedger).

    Each attempt reserves its estimate (prompt as the plan estimates it, completion at the request's
    max_tokens: the most it can be billed) and is committed as a 'pending' ledger row before it is
    sent; its answer, or its loss, settles both."""

    def __init__(self, run: "LabellingRun", job: LabelJob) -> None:
        self._run, self._job = run, job
        self._open: tuple[int, float] | None = None  # (ledger row, reserved estimate) of the attempt in flight
        self.cost = 0.0  # counted for this term by this run

    def sending(self, body: dict[str, Any]) -> None:
        run = self._run
        if run._halt.is_set() or run.cancel.cancelled:  # no more retries once the run is stopping
            raise _Stop()
        max_tokens = body.get("max_tokens")
        tokens = estimate_request_tokens(body["messages"]) + (
            max_tokens if isinstance(max_tokens, int) else run.plan.output_allowance)
        estimate = cost_of(tokens, run.plan.price_per_1k)
        if not run._budget.reserve(estimate):
            raise _Stop()
        self._open = (run.store.begin_request(self._job.key, run.plan.teacher, estimate), estimate)

    def answered(self, tokens_in: int, tokens_out: int) -> None:
        row, estimate = self._take()
        actual = cost_of(tokens_in + tokens_out, self._run.plan.price_per_1k)
        self._run.store.finish_request(row, tokens_in, tokens_out, actual)
        self._run._budget.settle(estimate, actual)
        self.cost += actual
        tally = self._run._tally
        with tally.lock:
            tally.requests += 1
            tally.tokens_in += tokens_in
            tally.tokens_out += tokens_out
            tally.cost += actual

    def unanswered(self, may_be_billed: bool) -> None:
        row, estimate = self._take()
        counted = estimate if may_be_billed else 0.0
        self._run.store.fail_request(row, may_be_billed)
        self._run._budget.settle(estimate, counted)
        self.cost += counted
        if may_be_billed:
            tally = self._run._tally
            with tally.lock:
                tally.lost_requests += 1
                tally.lost_cost += counted
                tally.cost += counted

    def _take(self) -> tuple[int, float]:
        assert self._open is not None, "settled an attempt that was never announced"
        opened, self._open = self._open, None
        return opened


class LabellingRun:
    def __init__(self, plan: LabelPlan, client: TeacherClient, store: LabelStore, concurrency: int = 4,
                 progress: ProgressFn = no_progress, cancel: CancelToken | None = None) -> None:
        self.plan, self.client, self.store = plan, client, store
        self.concurrency = max(1, concurrency)
        self.progress = progress
        self.cancel = cancel or CancelToken()
        self._budget = _Budget(plan.budget_left)
        self._tally = _Tally()
        self._halt = threading.Event()
        self._fatal: list[BaseException] = []

    def run(self) -> LabelSummary:
        """Label every uncached term; raises the first fatal teacher error after the workers have stopped."""
        total = len(self.plan.to_ask)
        self.progress(0, total)
        # Requests an earlier (killed) run left pending: closed before we send, so the ledger tells
        # them from ours; they keep counting at their estimate (the plan said so).
        self.store.close_abandoned()
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="teacher") as pool:
            for future in [pool.submit(self._work, job) for job in self.plan.to_ask]:
                future.result()
        if self._fatal:
            raise self._fatal[0]
        if self.cancel.cancelled:
            raise Cancelled("Labelling was cancelled; the answers so far are kept. Run again to resume.")
        return self._summary()

    def _work(self, job: LabelJob) -> None:
        if self._halt.is_set() or self.cancel.cancelled:
            return
        try:
            self._label(job)
        except _Stop:
            self._halt.set()
            return
        except TeacherError as exc:
            self._halt.set()
            self._fatal.append(exc)
            return
        except BaseException as exc:  # a bug: stop the others, keep what is stored, show the traceback
            self._halt.set()
            self._fatal.append(exc)
            return
        with self._tally.lock:
            self._tally.done += 1
            done = self._tally.done
        self.progress(done, len(self.plan.to_ask))

    def _label(self, job: LabelJob) -> None:
        names = [name for _, name in job.candidates]
        messages = list(job.messages)
        requests, answers = [], []
        tokens_in = tokens_out = 0
        ledger = _JobLedger(self, job)
        answer = None
        for attempt in (1, 2):  # an invalid answer is asked once more, with a reminder of the format
            if attempt == 2:
                if self._halt.is_set() or self.cancel.cancelled:
                    break
                letters = ", ".join(chr(ord("A") + i) for i in range(len(names)))
                messages = messages + [{"role": "assistant", "content": answers[-1]},
                                       {"role": "user", "content": _RETRY_NOTE.format(letters=letters)}]
            try:
                reply = self.client.ask(messages, ledger)
            except _Stop:
                if attempt == 1:
                    raise
                break  # the budget ends the retry; the first (invalid) answer is kept
            requests.append(reply.request)
            answers.append(reply.text)
            tokens_in += reply.tokens_in
            tokens_out += reply.tokens_out
            answer = parse_answer(reply.text, len(names))
            if answer.valid:
                break
        assert answer is not None
        if not answer.valid:
            status, cid, cname = "invalid", None, None
        elif answer.index is None:
            status, cid, cname = "none", None, None
        else:
            status = "ok"
            cid, cname = job.candidates[answer.index]
        self.store.put(LabelRecord(job.key, job.term, job.candidates, self.plan.prompt_version, self.plan.teacher,
                                   tuple(requests), tuple(answers), answer.label if answer.valid else None,
                                   cid, cname, status, answer.reason, tokens_in, tokens_out, ledger.cost))
        with self._tally.lock:
            self._tally.statuses[status] += 1

    def _summary(self) -> LabelSummary:
        t = self._tally
        answered = sum(t.statuses.values())
        unanswered = sum(1 for j in self.plan.to_ask if self.store.cached(j.key) is None)
        return LabelSummary(len(self.plan.jobs), self.plan.cached, answered, t.statuses["ok"], t.statuses["none"],
                            t.statuses["invalid"], t.statuses["error"], t.requests, t.tokens_in, t.tokens_out,
                            t.cost, self.store.spent(), self._budget.reached, unanswered, t.lost_requests,
                            t.lost_cost)


def export_labels(plan: LabelPlan, store: LabelStore, path: str | Path, replace_with_nothing: bool = True) -> int:
    """Write the plan's answered terms as JSONL (atomically); returns the number of lines.

    With ``replace_with_nothing=False`` an existing file is kept when there is no answer to write.
    """
    lines = []
    for job in plan.jobs:
        record = store.get(job.key)
        if record is not None:
            lines.append(json.dumps(record.to_export(), ensure_ascii=False) + "\n")
    if not lines and not replace_with_nothing and Path(path).exists():
        return 0
    with atomic_open(path, "w", encoding="utf-8") as out:
        out.writelines(lines)
    return len(lines)
