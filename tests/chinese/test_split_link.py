"""LinkerConfig(split_multi=True) and ``link --split``: one term, several concepts."""

from __future__ import annotations

import json

from termlinker.cli import main
from termlinker.linker import Linker, LinkerConfig
from termlinker.vocab.model import Concept, Vocabulary, VocabularyInfo

CONCEPTS = [Concept("I10", "高血压"), Concept("I25.1", "冠心病"), Concept("E11", "2型糖尿病"),
            Concept("R51", "头痛")]


def _vocab():
    return Vocabulary(VocabularyInfo("zh-mini", language="zh"), CONCEPTS)


def test_split_multi_links_each_part_and_keeps_the_single_best(home):
    term = "高血压；冠心病"
    plain = Linker(LinkerConfig(top_k=3), dirs=home, vocabulary=_vocab()).link_terms([term, "头痛"])
    assert all(r.concepts == () for r in plain)
    split = Linker(LinkerConfig(top_k=3, split_multi=True), dirs=home, vocabulary=_vocab()).link_terms([term, "头痛"])
    assert [c.concept_id for c in split[0].concepts] == ["I10", "I25.1"]
    assert split[0].candidates == plain[0].candidates  # the single-answer ranking is unchanged
    assert split[1].concepts == ()  # nothing to split
    assert "concepts" not in split[1].to_json()


def test_link_split_option_writes_concepts_in_jsonl(home, tmp_path):
    vocab = tmp_path / "zh.tsv"
    vocab.write_text("".join(f"{c.concept_id}\t{c.canonical_name}\n" for c in CONCEPTS), encoding="utf-8")
    terms = tmp_path / "terms.txt"
    terms.write_text("高血压，冠心病\n头痛\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["--home", str(home.root), "-q", "link", str(terms), "--vocab", str(vocab), "--format", "jsonl",
                 "--split", "-o", str(out)]) == 0
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [c["id"] for c in lines[0]["concepts"]] == ["I10", "I25.1"]
    assert "concepts" not in lines[1]


def _tiny_chip_cdn(tmp_path, items: list[dict]) -> None:
    """A CHIP-CDN folder under tmp_path/data whose list holds CONCEPTS."""
    folder = tmp_path / "data" / "chip-cdn"
    folder.mkdir(parents=True)
    (folder / "icd10-beijing-v601.tsv").write_text(
        "code\tname\n" + "".join(f"{c.concept_id}\t{c.canonical_name}\n" for c in CONCEPTS), encoding="utf-8")
    (folder / "train.json").write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")


def test_evaluate_chip_cdn_on_a_tiny_copy(home, tmp_path, capsys):
    _tiny_chip_cdn(tmp_path, [{"text": "高血压", "normalized_result": "高血压"},
                              {"text": "高血压；冠心病", "normalized_result": "高血压##冠心病"},
                              {"text": "头痛", "normalized_result": "头痛"},
                              {"text": "2型糖尿病", "normalized_result": "2型糖尿病"}] * 3)
    out = tmp_path / "report.json"
    args = ["--home", str(home.root), "-q", "evaluate", "--dataset", "chip-cdn", "--data-dir", str(tmp_path / "data"),
            "--folds", "3", "--fold", "all", "--no-learn", "--json", str(out)]
    assert main(args) == 0
    payload = json.loads(out.read_text(encoding="utf-8"))
    assert len(payload["reports"]) == 3
    assert payload["mean"]["single"]["acc1"] == 1.0
    assert payload["mean"]["set"]["f1"] == 1.0  # the two-concept item is solved only by splitting
    assert main(args[:-2] + ["--whole", "--fold", "0"]) == 0
    assert "(whole)" in capsys.readouterr().out
    assert main(["--home", str(home.root), "evaluate", "--dataset", "chip-cdn", "--data-dir", str(tmp_path / "data"),
                 "--fold", "7"]) == 2


def test_evaluate_chip_cdn_says_how_many_gold_names_the_vocabulary_lacks(home, tmp_path, capsys):
    _tiny_chip_cdn(tmp_path, [{"text": "高血压", "normalized_result": "高血压"},
                              {"text": "肾囊肿", "normalized_result": "肾囊肿"},  # not in the list: never right
                              {"text": "头痛；眩晕", "normalized_result": "头痛##眩晕"},
                              {"text": "头痛", "normalized_result": "头痛"}] * 2)
    out = tmp_path / "report.json"
    assert main(["--home", str(home.root), "-q", "evaluate", "--dataset", "chip-cdn", "--data-dir",
                 str(tmp_path / "data"), "--folds", "2", "--fold", "0", "--no-learn", "--json", str(out)]) == 0
    note = "3 of 6 gold names (1 of 2 single-label) are not the name of a concept"  # fold 0: items 1, 2, 3, 6
    assert note in capsys.readouterr().out
    report = json.loads(out.read_text(encoding="utf-8"))["reports"][0]
    assert report["notes"][0].startswith(note) and report["notes"][0].endswith("cannot pass 0.500")


def test_a_part_that_is_one_concepts_name_is_answered_as_the_search_would(home):
    concepts = CONCEPTS + [Concept("R51.1", "偏头痛", aliases=("头痛",))]  # 头痛 now names two concepts
    linker = Linker(LinkerConfig(top_k=3, split_multi=True), dirs=home,
                    vocabulary=Vocabulary(VocabularyInfo("zh-mini", language="zh"), concepts))
    retriever = linker.retriever
    for name in ("高血压", " 冠心病 ", "2型糖尿病", "偏头痛"):
        searched = retriever.search([name], 5)[0]
        assert retriever.exact_best(name) == searched[0]
        assert searched[1].score < searched[0].score  # alone at its score: nothing else ties with it
    assert retriever.exact_best("头痛") is None  # two concepts: the dense channel orders them
    assert retriever.exact_best("高血压病") is None  # no such name: it must be searched


def test_a_part_recurring_across_batches_is_searched_once_and_answered_alike(home):
    terms = ["高血压；头部疼痛", "冠心病；头部疼痛", "头部疼痛；2型糖尿病"]
    linker = Linker(LinkerConfig(top_k=3, split_multi=True, batch_size=1), dirs=home, vocabulary=_vocab())
    encoder = linker.retriever.encoder
    encoded: list[str] = []
    real = encoder.encode_queries

    def counting(texts, *args, **kwargs):
        encoded.extend(texts)
        return real(texts, *args, **kwargs)

    encoder.encode_queries = counting  # a spy on the real encoder: what gets encoded, not how
    together = linker.link_terms(terms)
    # Each whole term once, the part that is no vocabulary name once; 高血压, 冠心病 and 2型糖尿病
    # are names of one concept each and need no encoding.
    assert sorted(encoded) == sorted(terms + ["头部疼痛"])
    alone = [linker.link_terms([t])[0] for t in terms]
    assert [r.concepts for r in together] == [r.concepts for r in alone]
    assert [c.concept_id for c in together[0].concepts] == ["I10", "R51"]
