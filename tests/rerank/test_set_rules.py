"""Set rules (issue 20, part 3): learned from labelled terms that name several concepts, they add the
concepts a term's words call for (右乳腺癌IV期 → 乳腺恶性肿瘤 + 癌) to the linked set."""

from __future__ import annotations

import json

import pytest

from termlinker.cli import main
from termlinker.errors import InputError
from termlinker.labels import LabelledPair
from termlinker.linker import Linker, LinkerConfig, TermCount
from termlinker.rerank.set_rules import SetRules, triggers

CANCER = "M8010/3"  # 癌, the morphology golds add beside the site
BREAST, LUNG, STOMACH = "C50.9", "C34.9", "C16.9"


def _labelled() -> list[LabelledPair]:
    pairs = []
    for i in range(6):
        pairs += [LabelledPair(f"右乳腺癌{i}期", BREAST), LabelledPair(f"右乳腺癌{i}期", CANCER)]
        pairs += [LabelledPair(f"肺癌术后{i}", LUNG), LabelledPair(f"肺癌术后{i}", CANCER)]
    pairs += [LabelledPair(f"胃溃疡{i}", STOMACH) for i in range(4)]
    return pairs


def test_chinese_triggers_are_character_pieces_and_latin_ones_words():
    assert {"癌", "乳腺", "乳腺癌"} <= triggers("右乳腺癌")
    assert triggers("Leg pain, cramp") == {"leg", "pain", "cramp", "leg pain", "pain cramp"}


def test_a_piece_that_always_comes_with_a_concept_becomes_a_rule():
    rules = SetRules.learn(_labelled(), min_support=5, min_precision=0.9)
    added = dict(rules.additions("左乳腺癌", [BREAST]))
    assert set(added) == {CANCER} and added[CANCER].trigger == "癌" and added[CANCER].precision == 1.0
    assert rules.additions("左乳腺癌", [BREAST, CANCER]) == []  # already in the set
    assert rules.additions("胃溃疡", [STOMACH]) == []  # four terms: under the support


def test_precision_and_support_bound_the_rules():
    assert len(SetRules.learn(_labelled(), min_support=13)) == 0
    lenient = SetRules.learn(_labelled(), min_support=4, min_precision=0.5)
    assert STOMACH in dict(lenient.additions("胃溃疡", []))
    with pytest.raises(InputError):
        SetRules.learn(_labelled(), min_precision=0)


def test_rules_round_trip_and_a_bad_file_is_one_clear_error(tmp_path):
    rules = SetRules.learn(_labelled())
    rules.save(tmp_path / "r.sets.json")
    again = SetRules.load(tmp_path / "r.sets.json")
    assert again.additions("肺癌", [LUNG]) == rules.additions("肺癌", [LUNG])
    (tmp_path / "bad.json").write_text(json.dumps({"format": "something else"}), encoding="utf-8")
    with pytest.raises(InputError, match="not a set-rules file"):
        SetRules.load(tmp_path / "bad.json")
    with pytest.raises(InputError, match="no set rules"):
        SetRules.load(tmp_path / "missing.json")


def test_the_linker_adds_the_concepts_the_rules_name(home, tiny_vocab_path, tmp_path):
    # Every labelled "headache …" also named Alopecia (T:013): a rule no retriever would make.
    pairs = [p for i in range(5) for p in (LabelledPair(f"headache {i}", "T:001"),
                                           LabelledPair(f"headache {i}", "T:013"))]
    SetRules.learn(pairs).save(tmp_path / "tiny.sets.json")
    config = LinkerConfig(vocabulary=str(tiny_vocab_path), threads=1, split_multi=True,
                          set_rules=str(tmp_path / "tiny.sets.json"))
    result = next(Linker(config, dirs=home).link([TermCount("headache")]))
    assert [c.concept_id for c in result.concepts] == ["T:001", "T:013"]
    assert result.concepts[-1].matched_name == "rule: headache"
    assert [c.concept_id for c in result.candidates][:1] == ["T:001"]  # the ranking is left as it was
    assert result.to_json()["concepts"][0]["id"] == result.candidates[0].concept_id


def test_the_cli_learns_rules_and_links_with_them(home, tiny_vocab_path, tmp_path, capsys):
    gold = tmp_path / "gold.tsv"
    gold.write_text("".join(f"headache {i}\tT:001\nheadache {i}\tT:013\n" for i in range(5)), encoding="utf-8")
    terms = tmp_path / "t.txt"
    terms.write_text("headache\n", encoding="utf-8")
    base = ["--home", str(home.root), "-q", "--threads", "1"]
    assert main([*base, "ranker", "train-sets", "--vocab", str(tiny_vocab_path), "--pairs", str(gold),
                 "--name", "tiny"]) == 0
    assert main([*base, "link", str(terms), "--vocab", str(tiny_vocab_path), "--set-rules", "tiny",
                 "--format", "jsonl"]) == 0
    out = capsys.readouterr().out
    assert [c["id"] for c in json.loads(out.splitlines()[0])["concepts"]] == ["T:001", "T:013"]
