"""Teacher faults a real server cannot produce on demand, against a scripted fake on loopback.

Each fault ends with a clear message, nothing already answered is lost, and a rerun resumes.
Timeouts, lost connections and kills, and what they count in the spend ledger: test_spend_ledger.py.
"""

from __future__ import annotations

import pytest

from termlinker.distill.errors import (BudgetError, TeacherAuthError, TeacherConfigError, TeacherRateLimited,
                                       TeacherServerError, TeacherUnreachable)
from termlinker.distill.label_store import LabelStore
from termlinker.distill.labelling import LabellingRun, check_budget, plan_labelling
from termlinker.distill.teacher import TeacherClient
from termlinker.distill.teacher_prompt import load_teacher_prompt
from termlinker.types import Candidate, LinkResult

from .conftest import KEY_ENV, chat, fast_config, free_port

CANDIDATES = (Candidate("T:001", "Headache", 0.9), Candidate("T:003", "Pain in lower limb", 0.5),
              Candidate("T:002", "Insomnia", 0.1))
RESULTS = [LinkResult(t, 1, CANDIDATES) for t in ("my head hurts", "sore head", "head pounding")]


def label(client, store, results=RESULTS, budget=None, price=0.0, allow_partial=False, concurrency=1):
    plan = plan_labelling(results, store, load_teacher_prompt(), "fake-model", price, budget)
    check_budget(plan, allow_partial)
    return LabellingRun(plan, client, store, concurrency).run()


@pytest.fixture
def store(tmp_path):
    with LabelStore(tmp_path / "labels.sqlite") as s:
        yield s


def test_a_valid_answer_is_stored_with_its_exact_request(fake_teacher, fake_client, store):
    fake_teacher.script = [chat('{"label": "A"}')]
    summary = label(fake_client, store, RESULTS[:1])
    assert (summary.ok, summary.requests) == (1, 1)
    (record,) = store.records()
    assert (record.status, record.concept_id, record.concept_name) == ("ok", "T:001", "Headache")
    assert record.requests[0] == fake_teacher.bodies[0]  # the audit copy is exactly what was sent


def test_only_term_and_candidate_names_leave_the_machine(fake_teacher, fake_client, store):
    fake_teacher.script = [chat('{"label": "A"}')]
    label(fake_client, store, RESULTS[:1])
    sent = str(fake_teacher.bodies[0])
    assert "my head hurts" in sent and "Headache" in sent
    assert "T:001" not in sent and "T:003" not in sent  # concept ids stay home
    headers = {k.lower() for k in fake_teacher.headers[0]}
    assert not {"x-stainless-os", "x-stainless-arch", "x-stainless-runtime-version"} & headers


def test_a_429_storm_stops_with_a_clear_message_and_a_rerun_resumes(fake_teacher, fake_client, store):
    fake_teacher.script = [chat('{"label": "A"}'), (429, {"error": {"message": "slow down"}})]
    with pytest.raises(TeacherRateLimited, match="429.*finished answers are kept"):
        label(fake_client, store, price=1.0)
    assert fake_teacher.posts == 1 + 3  # one answer, then three tries of the next request
    assert store.spent() == pytest.approx((50 + 5) / 1000)  # the answer's usage; a refused try costs nothing
    assert [r.status for r in store.records()] == ["ok"]
    fake_teacher.script = [chat('{"label": "A"}')]
    fake_teacher.bodies.clear()
    summary = label(fake_client, store)
    assert (summary.cached, summary.asked, fake_teacher.posts) == (1, 2, 2)


def test_5xx_and_retry_after_are_retried_with_backoff(fake_teacher, fake_client, store):
    fake_teacher.script = [(503, {"error": {"message": "busy"}}, {"Retry-After": "0"}), (500, b"oops"),
                           chat('{"label": "none"}')]
    summary = label(fake_client, store, RESULTS[:1])
    assert (summary.none, fake_teacher.posts) == (1, 3)


def test_persistent_5xx_ends_with_a_message(fake_teacher, fake_client, store):
    fake_teacher.script = [(502, {"error": {"message": "bad gateway"}})]
    with pytest.raises(TeacherServerError, match="HTTP 502.*Try again later"):
        label(fake_client, store, RESULTS[:1])
    assert store.spent() == 0 and not list(store.records())


@pytest.mark.parametrize("status, counted", [(503, False), (502, True)])
def test_a_busy_503_costs_nothing_but_another_5xx_is_counted(fake_teacher, fake_client, store, status, counted):
    fake_teacher.script = [(status, {"error": {"message": "upstream trouble"}})]
    with pytest.raises(TeacherServerError, match=f"HTTP {status}"):
        label(fake_client, store, RESULTS[:1], price=1.0)
    # A 503 says "too busy to take it"; a 502 or 500 may come after the model ran, so each try counts.
    estimate = plan_labelling(RESULTS[:1], store, load_teacher_prompt(), "fake-model", 1.0, None).estimated_cost
    assert store.spent() == pytest.approx(3 * estimate if counted else 0.0)


def test_a_wrong_key_says_which_variable_to_check(fake_teacher, fake_client, store):
    fake_teacher.script = [(401, {"error": {"message": "invalid api key"}})]
    with pytest.raises(TeacherAuthError, match=KEY_ENV):
        label(fake_client, store, RESULTS[:1])
    assert fake_teacher.posts == 1  # no retries on a refused key


def test_an_unset_key_variable_fails_before_anything_is_sent(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(TeacherConfigError, match=f"{KEY_ENV} is not set"):
        TeacherClient(fast_config("http://127.0.0.1:9/v1"))


def test_an_unreachable_teacher_says_to_check_the_url(key_env, store):
    client = TeacherClient(fast_config(f"http://127.0.0.1:{free_port()}/v1"))
    with pytest.raises(TeacherUnreachable, match="Check --base-url and the network"):
        label(client, store, RESULTS[:1])
    assert not list(store.records()) and store.spent() == 0


def test_a_malformed_http_body_is_an_error_not_a_crash(fake_teacher, fake_client, store):
    fake_teacher.script = [(200, b"{not json")]
    with pytest.raises(TeacherServerError, match="not valid JSON|not a chat completion"):
        label(fake_client, store, RESULTS[:1])


def test_an_answer_outside_the_candidates_is_asked_once_more(fake_teacher, fake_client, store):
    fake_teacher.script = [chat('{"label": "Z"}'), chat('{"label": "B"}')]
    summary = label(fake_client, store, RESULTS[:1])
    (record,) = store.records()
    assert (record.status, record.concept_id, record.answers) == ("ok", "T:003", ('{"label": "Z"}', '{"label": "B"}'))
    assert summary.requests == 2 and len(record.requests) == 2
    assert "not valid" in record.requests[1]["messages"][-1]["content"]


def test_garbage_twice_is_recorded_invalid_and_never_asked_again(fake_teacher, fake_client, store):
    fake_teacher.script = [chat("I think it is headache")]
    summary = label(fake_client, store, RESULTS[:1])
    (record,) = store.records()
    assert (summary.invalid, record.status, record.concept_id, fake_teacher.posts) == (1, "invalid", None, 2)
    assert "not a JSON object" in record.reason
    again = label(fake_client, store, RESULTS[:1])
    assert (again.cached, again.requests, fake_teacher.posts) == (1, 0, 2)


def test_the_budget_refuses_to_start_unless_partial_is_allowed(fake_teacher, fake_client, store):
    fake_teacher.script = [chat('{"label": "A"}', prompt_tokens=100, completion_tokens=5)]
    with pytest.raises(BudgetError, match="Raise --budget, or use --allow-partial"):
        label(fake_client, store, budget=0.25, price=1.0)
    assert fake_teacher.posts == 0
    summary = label(fake_client, store, budget=0.25, price=1.0, allow_partial=True, concurrency=3)
    assert summary.stopped_at_budget and 0 < summary.asked < len(RESULTS)
    assert store.spent() <= 0.25
    with pytest.raises(BudgetError, match="Raise --budget"):
        label(fake_client, store, budget=0.25, price=1.0, allow_partial=True)  # spent across reruns
    posts = fake_teacher.posts
    summary = label(fake_client, store, budget=1.0, price=1.0)
    assert summary.unanswered == 0 and fake_teacher.posts == posts + len(RESULTS) - summary.cached
