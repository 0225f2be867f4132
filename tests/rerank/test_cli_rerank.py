"""`termlinker link --rerank`: the jsonl contract plus "reranked", and a loud fallback on a bad model."""

from __future__ import annotations

import json

import pytest

from termlinker.cli import main

TERMS = "Headache\nthroat is sore\n头痛\n"
# Two concepts with the same name tie in the retriever, so the LLM must decide between them
# whatever the calibrated skip margin is; "Headache" is an exact match and is never sent.
VOCAB = "\n".join(json.dumps(c) for c in [
    {"concept_id": "T:1", "canonical_name": "Headache"},
    {"concept_id": "T:2", "canonical_name": "Sore throat"},
    {"concept_id": "T:3", "canonical_name": "Sore throat", "aliases": ["Pharyngitis"]},
    {"concept_id": "T:4", "canonical_name": "Insomnia"},
])


@pytest.fixture
def vocab(tmp_path):
    path = tmp_path / "vocab.jsonl"
    path.write_text(VOCAB, encoding="utf-8")
    return path


def run_link(home, vocab, tmp_path, capsys, *extra):
    terms = tmp_path / "terms.txt"
    terms.write_text(TERMS, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    rc = main(["--home", str(home.root), "-q", "--threads", "2", "link", str(terms), "--vocab", str(vocab),
               "--format", "jsonl", "-o", str(out), *extra])
    return rc, [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()], capsys.readouterr().err


def test_link_rerank_keeps_the_contract_and_says_which_terms_were_reranked(home, vocab, tmp_path, capsys):
    rc, rows, err = run_link(home, vocab, tmp_path, capsys, "--rerank")
    # llama.cpp's logs stay silent: the one line on stderr is ours, about the Chinese term 头痛.
    assert rc == 0 and len(err.splitlines()) == 1 and "Han script" in err and err.startswith("termlinker: warning:")
    assert [r["term"] for r in rows] == ["Headache", "throat is sore", "头痛"]
    for row in rows:
        assert set(row) == {"term", "count", "candidates", "reranked"}
        assert all(set(c) == {"id", "name", "score"} for c in row["candidates"])
        scores = [c["score"] for c in row["candidates"]]
        assert scores == sorted(scores, reverse=True)
    by_term = {r["term"]: r for r in rows}
    assert by_term["Headache"]["reranked"] is False  # exact match: the LLM is skipped
    assert by_term["throat is sore"]["reranked"] is True


def test_a_broken_model_falls_back_to_the_retriever_with_a_warning(home, tiny_vocab_path, tmp_path, capsys):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 100)
    rc, rows, err = run_link(home, tiny_vocab_path, tmp_path, capsys, "--reranker", str(bad))
    assert rc == 0
    assert "warning: re-ranking is off" in err and "broken.gguf" in err
    assert len(rows) == 3 and all(r["reranked"] is False for r in rows)


def test_models_list_shows_the_active_reranker(home, capsys):
    assert main(["--home", str(home.root), "models", "list"]) == 0
    assert "* re-ranker smollm2-135m" in capsys.readouterr().out
