"""The simulated teacher of accuracy p, driven by the real labeller (and by the CLI)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from termlinker.cli import main
from termlinker.distill.label_store import LabelStore
from termlinker.distill.labelling import LabellingRun, plan_labelling
from termlinker.distill.teacher import TeacherClient
from termlinker.distill.teacher_prompt import load_teacher_prompt

from .conftest import API_KEY, GOLD, TERMS, fast_config, free_port


def run(url, store, results):
    client = TeacherClient(fast_config(url))
    plan = plan_labelling(results, store, load_teacher_prompt(), "simulated", 0.0, None)
    try:
        return LabellingRun(plan, client, store, concurrency=2).run()
    finally:
        client.close()


def gold_offered(record) -> bool:
    return any(name == GOLD[record.term] for _, name in record.candidates)


def test_a_perfect_simulated_teacher_gives_the_gold_labels(simulated, key_env, tmp_path, tiny_results_factory):
    teacher, url = simulated(1.0)
    assert teacher.model == "simulated-p1.00"
    with LabelStore(tmp_path / "s.sqlite") as store:
        summary = run(url, store, tiny_results_factory())
        records = list(store.records())
    assert summary.asked == len(TERMS) and summary.invalid == 0 and teacher.requests == len(TERMS)
    for r in records:
        assert r.concept_name == GOLD[r.term] if gold_offered(r) else r.status == "none"


def test_a_p0_teacher_is_always_wrong_and_answers_are_reproducible(simulated, key_env, tmp_path,
                                                                   tiny_results_factory):
    results = tiny_results_factory()
    answers = []
    for i in range(2):
        _, url = simulated(0.0, seed=7)
        with LabelStore(tmp_path / f"s{i}.sqlite") as store:
            run(url, store, results)
            answers.append({r.term: r.concept_name for r in store.records()})
            assert all(r.concept_name != GOLD[r.term] for r in store.records())
    assert answers[0] == answers[1]


def test_the_module_runs_as_a_server_reporting_a_simulated_model(tmp_path):
    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join(json.dumps({"term": t, "concept_name": n}) + "\n" for t, n in GOLD.items()))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.simulated_teacher", "--gold", str(gold),
                             "--p", "0.9", "--port", str(port), "--seed", "1"], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[2])  # the repository root holds benchmarks/
    try:
        assert "simulated-p0.90" in proc.stdout.readline()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=5) as response:
            assert json.load(response)["data"][0]["id"] == "simulated-p0.90"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_cli_labels_resumes_from_the_cache_stops_at_the_budget_and_never_writes_the_key(
        simulated, key_env, tmp_path, home, tiny_vocab_path, capsys):
    teacher, url = simulated(1.0)
    terms = tmp_path / "terms.txt"
    terms.write_text("\n".join(TERMS) + "\n")
    out = tmp_path / "labels.jsonl"
    base = ["--home", str(home.root), "-q", "distill", "label", str(terms), "--vocab", str(tiny_vocab_path),
            "--base-url", url, "--model", "sim", "--api-key-env", key_env, "--top-k", "3", "--yes",
            "--price-per-1k-tokens", "1", "-o", str(out)]

    assert main(base + ["--budget", "0.2"]) == 2  # the estimate for 5 requests is above 0.2
    assert "--allow-partial" in capsys.readouterr().err and teacher.requests == 0

    assert main(base + ["--budget", "0.2", "--allow-partial"]) == 0
    err = capsys.readouterr().err
    assert "5 requests to send" in err and "stopped at the budget" in err
    first = teacher.requests
    assert 0 < first < len(TERMS)
    with LabelStore(out.with_suffix(".labels.sqlite")) as store:
        assert store.spent() <= 0.2 and store.request_count() == first

    assert main(base + ["--budget", "5"]) == 0
    assert f"{first} already answered (cached)" in capsys.readouterr().err
    assert teacher.requests == len(TERMS)  # the first run's answers were not paid for twice
    assert main(base + ["--budget", "5"]) == 0
    assert teacher.requests == len(TERMS)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["term"] for line in lines] == TERMS
    assert {line["status"] for line in lines} <= {"ok", "none"} and lines[0]["concept_id"] == "T:001"

    time.sleep(0.1)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert API_KEY.encode() not in path.read_bytes(), path
