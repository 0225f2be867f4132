"""End to end with a real teacher: llama.cpp's OpenAI-compatible server running SmolLM2-135M on loopback.

A 135M model often answers a letter it was not offered, or no JSON at all: that is the
"teacher returns garbage" case, which must be recorded as invalid (asked once more), never crash.
"""

from __future__ import annotations

from termlinker.cli import main
from termlinker.distill.label_store import LabelStore

from .conftest import API_KEY, TERMS


def test_real_teacher_labels_caches_validates_and_keeps_the_key_out(llama_teacher, key_env, tmp_path, home,
                                                                    tiny_vocab_path, capsys):
    terms = tmp_path / "terms.txt"
    terms.write_text("\n".join(TERMS[:4]) + "\n")
    out = tmp_path / "labels.jsonl"
    store_path = tmp_path / "labels.sqlite"
    args = ["--home", str(home.root), "-q", "distill", "label", str(terms), "--vocab", str(tiny_vocab_path),
            "--base-url", llama_teacher, "--model", "smollm2-135m", "--api-key-env", key_env, "--top-k", "3",
            "--concurrency", "2", "--store", str(store_path), "--yes", "-o", str(out)]

    assert main(args) == 0, capsys.readouterr().err
    with LabelStore(store_path) as store:
        records = list(store.records())
        served = store.request_count()
    assert len(records) == 4
    for r in records:
        offered = {cid for cid, _ in r.candidates}
        if r.status == "ok":
            assert r.concept_id in offered and len(r.answers) in (1, 2)
        elif r.status == "invalid":
            assert r.concept_id is None and len(r.answers) == 2 and r.reason  # asked once more, then recorded
        else:
            assert r.status == "none"
    assert served == sum(len(r.answers) for r in records)

    assert main(args) == 0  # a rerun asks nothing
    with LabelStore(store_path) as store:
        assert store.request_count() == served
    assert "4 already answered (cached), 0 requests to send" in capsys.readouterr().err

    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert API_KEY.encode() not in path.read_bytes(), path


def test_real_teacher_stops_at_the_budget(llama_teacher, key_env, tmp_path, home, tiny_vocab_path, capsys):
    terms = tmp_path / "terms.txt"
    terms.write_text("\n".join(TERMS) + "\n")
    args = ["--home", str(home.root), "-q", "distill", "label", str(terms), "--vocab", str(tiny_vocab_path),
            "--base-url", llama_teacher, "--model", "smollm2-135m", "--api-key-env", key_env, "--top-k", "3",
            "--price-per-1k-tokens", "1", "--budget", "0.3", "--allow-partial", "--concurrency", "1", "--yes",
            "-o", str(tmp_path / "labels.jsonl")]
    assert main(args) == 0
    assert "stopped at the budget" in capsys.readouterr().err
    with LabelStore(tmp_path / "labels.labels.sqlite") as store:
        assert 0 < store.spent() <= 0.3
        assert len(list(store.records())) < len(TERMS)


def test_real_teacher_free_text_answers_are_validated_not_trusted(llama_teacher, key_env, tmp_path, home,
                                                                  tiny_vocab_path):
    """Without the server's JSON grammar the 135M model answers in free text: each answer is judged."""
    terms = tmp_path / "terms.txt"
    terms.write_text("\n".join(TERMS[:3]) + "\n")
    store_path = tmp_path / "labels.sqlite"
    args = ["--home", str(home.root), "-q", "distill", "label", str(terms), "--vocab", str(tiny_vocab_path),
            "--base-url", llama_teacher, "--model", "smollm2-135m", "--api-key-env", key_env, "--top-k", "3",
            "--no-json-mode", "--store", str(store_path), "--yes", "-o", str(tmp_path / "labels.jsonl")]
    assert main(args) == 0
    with LabelStore(store_path) as store:
        records = list(store.records())
    assert len(records) == 3
    for r in records:
        assert r.status in ("ok", "none", "invalid")
        if r.status == "invalid":
            assert r.concept_id is None and len(r.answers) == 2 and r.reason
        if r.status == "ok":
            assert r.concept_id in {cid for cid, _ in r.candidates}


def test_the_whole_flow_from_a_real_teacher_to_a_gguf_that_llama_cpp_loads(llama_teacher, key_env, tmp_path, home,
                                                                             tiny_vocab_path, capsys):
    """label (real server) -> dataset (teacher labels + the user's gold) -> LoRA -> GGUF -> link with it.

    The 135M teacher mostly answers "none", so the user's gold pairs carry the training signal here;
    what this proves is the plumbing end to end, with real parts everywhere."""
    from termlinker.rerank.registry import RerankerRegistry

    from .test_train_retriever import PAIRS

    terms = tmp_path / "terms.txt"
    terms.write_text("\n".join(TERMS[:3]) + "\n")
    gold = tmp_path / "gold.tsv"
    gold.write_text("".join(f"{t}\t{c}\n" for t, c in PAIRS.items()))
    base = ["--home", str(home.root), "-q", "--threads", "2"]
    vocab = ["--vocab", str(tiny_vocab_path)]
    assert main(base + ["distill", "label", str(terms), *vocab, "--base-url", llama_teacher, "--model", "smollm2-135m",
                        "--api-key-env", key_env, "--top-k", "3", "--yes", "-o", str(tmp_path / "labels.jsonl")]) == 0
    assert main(base + ["distill", "dataset", "--labels", str(tmp_path / "labels.jsonl"), "--gold", str(gold), *vocab,
                        "--val-share", "0.3", "-o", str(tmp_path / "ds")]) == 0
    assert main(base + ["distill", "train-reranker", str(tmp_path / "ds"), *vocab, "--name", "rr-e2e",
                        "--max-examples", "8", "--quantize", "Q8_0"]) == 0, capsys.readouterr().err
    model = RerankerRegistry(home).get("rr-e2e")
    assert model.path.endswith("rr-e2e.Q8_0.gguf") and model.sha256 and model.rules
    capsys.readouterr()
    assert main(base + ["link", str(terms), *vocab, "--rerank", "--reranker", "rr-e2e", "--format", "jsonl"]) == 0
    out = capsys.readouterr()
    assert "re-ranking is off" not in out.err, out.err  # the GGUF loaded: no fallback to retriever-only
    assert len(out.out.strip().splitlines()) == 3
