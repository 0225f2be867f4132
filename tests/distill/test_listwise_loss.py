"""The listwise loss: each term's candidates compete in one softmax over the re-ranker's margins.

At inference only the order of one term's candidates matters, so listwise training keeps a
term's examples together (sampling, batching) and scores the gold against its rivals.
"""

from __future__ import annotations

import json
import math

import pytest

from termlinker.cli import main
from termlinker.distill.train_reranker import (RerankerTrainConfig, _Example, listwise_loss, plan_group_batches,
                                               rankable_groups, sample_examples, train_reranker, work_folder)
from termlinker.errors import InputError
from termlinker.rerank.registry import RerankerRegistry

from .test_train_reranker import tiny_dataset  # noqa: F401  (fixture)


def examples(terms: int, per_term: int = 4) -> list[_Example]:
    return [_Example(f"prompt {t}-{c}", c == 0, f"term {t}") for t in range(terms) for c in range(per_term)]


def test_the_loss_is_minus_log_the_golds_softmax_share_averaged_over_terms():
    torch = pytest.importorskip("torch")
    margins = torch.tensor([2.0, 0.0, -1.0, 5.0, 1.0])
    labels = torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0])
    terms = ["a", "a", "a", "b", "b"]
    a = -math.log(math.exp(2) / (math.exp(2) + 1 + math.exp(-1)))
    b = -math.log(math.exp(1) / (math.exp(5) + math.exp(1)))
    assert float(listwise_loss(margins, labels, terms)) == pytest.approx((a + b) / 2, rel=1e-5)


def test_only_the_order_within_a_term_counts_not_the_level_of_its_margins():
    torch = pytest.importorskip("torch")
    margins = torch.tensor([2.0, 0.0, 3.0, 1.0])
    labels = torch.tensor([1.0, 0.0, 0.0, 1.0])
    terms = ["a", "a", "b", "b"]
    shifted = margins + torch.tensor([10.0, 10.0, -7.0, -7.0])
    assert float(listwise_loss(shifted, labels, terms)) == pytest.approx(float(listwise_loss(margins, labels, terms)))


def test_batches_keep_each_terms_candidates_together_and_use_every_example_once_per_epoch():
    data = examples(10)
    batches = plan_group_batches(data, batch_size=8, epochs=2, seed=0)
    for batch in batches:
        assert len(batch) <= 8
        terms = {data[i].term for i in batch}
        assert all(sum(data[i].term == t for i in batch) == 4 for t in terms)
    assert sorted(i for b in batches for i in b) == sorted(list(range(40)) * 2)
    assert batches == plan_group_batches(data, batch_size=8, epochs=2, seed=0)  # a resumed run replays it


def test_a_term_larger_than_the_batch_goes_alone():
    data = examples(2, per_term=6)
    assert sorted(map(len, plan_group_batches(data, batch_size=4, epochs=1, seed=0))) == [6, 6]


def test_terms_without_a_gold_or_without_a_rival_cannot_be_ranked_and_are_left_out():
    data = examples(2) + [_Example("lonely gold", True, "alone"), _Example("no gold", False, "lost")]
    assert {g[0].term for g in rankable_groups(data)} == {"term 0", "term 1"}


def test_a_capped_listwise_sample_takes_whole_terms_only():
    sample = sample_examples(examples(10), RerankerTrainConfig(loss="listwise", max_examples=10))
    assert len(sample) == 8
    assert all(sum(e.term == t for e in sample) == 4 for t in {e.term for e in sample})


def test_an_unknown_loss_is_refused_with_the_choices(tiny_dataset):  # noqa: F811
    home, _, ds = tiny_dataset
    with pytest.raises(InputError, match="pointwise, listwise"):
        train_reranker(ds, home, "rr-bad-loss", RerankerTrainConfig(loss="pairwise"))


@pytest.mark.slow
def test_cli_trains_listwise_exports_and_registers_and_does_not_reuse_a_pointwise_adapter(
        tiny_dataset, tiny_vocab_path, capsys):  # noqa: F811
    home, _, ds = tiny_dataset
    common = ["--home", str(home.root), "-q", "--threads", "2", "distill", "train-reranker", str(ds),
              "--vocab", str(tiny_vocab_path), "--name", "rr-lw", "--max-examples", "8", "--quantize", "Q8_0",
              "--no-activate"]
    assert main(common + ["--loss", "listwise"]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "Q8_0:" in out and "registered rr-lw" in out
    record = json.loads((work_folder(home, "rr-lw") / "adapter" / "training.json").read_text())
    assert record["config"]["loss"] == "listwise"
    assert RerankerRegistry(home).get("rr-lw").path.endswith("rr-lw.Q8_0.gguf")

    assert main(common + ["--loss", "pointwise"]) == 0
    assert "reused the finished adapter" not in capsys.readouterr().out
    with pytest.raises(SystemExit) as refused:
        main(common + ["--loss", "pairwise"])
    assert refused.value.code == 2
