"""Chinese terms: normalisation, splitting one diagnosis into several, CHIP-CDN reading and set metrics."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from termlinker.errors import InputError
from termlinker.evaluation.datasets import (MultiExample, cross_validation_split, fold_of, read_chip_cdn)
from termlinker.evaluation.metrics import score_sets
from termlinker.io.writers import JsonlWriter
from termlinker.text import normalise, split_terms
from termlinker.types import Candidate, LinkResult

CHIP = Path(__file__).parents[2].parent / "shared" / "data" / "chip-cdn"


# --- normalisation ---------------------------------------------------------------------

@pytest.mark.parametrize("raw, key", [
    ("高血压；冠心病", "高血压 冠心病"),
    ("高血压，冠心病、糖尿病", "高血压 冠心病 糖尿病"),
    ("（左）膝关节炎。", "左 膝关节炎"),
    ("【待查】发热：原因不明", "待查 发热 原因不明"),
    ("ＩＶ期乳腺癌", "iv期乳腺癌"),  # full-width Latin -> half-width, case-folded
    ("２型糖尿病", "2型糖尿病"),  # full-width digit
    ("高血压　病", "高血压 病"),  # ideographic space
    ("“肺炎”《待查》", "肺炎 待查"),
])
def test_normalise_folds_chinese_punctuation_and_width(raw, key):
    assert normalise(raw) == key


@pytest.mark.parametrize("traditional, simplified", [
    ("高血壓性心臟病", "高血压性心脏病"),
    ("骨質疏鬆", "骨质疏松"),
    ("腦梗塞後遺症", "脑梗塞后遗症"),
    ("２型糖尿病（腎病）", "2型糖尿病 肾病"),
])
def test_traditional_characters_fold_to_simplified(traditional, simplified):
    assert normalise(traditional) == normalise(simplified) == simplified


def test_folding_touches_only_chinese_text():
    assert normalise("Headache, severe") == "headache severe"


def test_a_traditional_term_finds_the_simplified_concept_exactly(home):
    from termlinker.linker import Linker, LinkerConfig
    from termlinker.vocab.model import Concept, Vocabulary, VocabularyInfo

    vocab = Vocabulary(VocabularyInfo("zh-trad", language="zh"),
                       [Concept("I11.9", "高血压性心脏病"), Concept("M81", "骨质疏松"), Concept("R51", "头痛")])
    best = Linker(LinkerConfig(top_k=2), dirs=home, vocabulary=vocab).link_terms(["高血壓性心臟病", "頭痛"])
    assert [r.best.concept_id for r in best] == ["I11.9", "R51"] and all(r.best.exact for r in best)


def test_full_width_and_half_width_forms_share_one_key():
    assert normalise("高血压(3级)") == normalise("高血压（３级）")


# --- splitting -------------------------------------------------------------------------

@pytest.mark.parametrize("raw, spans", [
    ("高血压；冠心病", ["高血压", "冠心病"]),
    ("高血压;冠心病,糖尿病", ["高血压", "冠心病", "糖尿病"]),
    ("发热和咳嗽、咽痛", ["发热", "咳嗽", "咽痛"]),
    ("左膝退变伴游离体", ["左膝退变", "游离体"]),
    ("肺炎合并呼吸衰竭", ["肺炎", "呼吸衰竭"]),
    ("胃炎并出血", ["胃炎", "出血"]),
    ("头痛.头晕.高血压", ["头痛", "头晕", "高血压"]),
    ("颈椎病/腰椎病", ["颈椎病", "腰椎病"]),
    ("贫血及营养不良", ["贫血", "营养不良"]),
    ("高血压；高血压", ["高血压;高血压"]),  # one distinct span: left whole (NFKC-cleaned)
    ('"横结肠癌 肠道出血,乙型肝炎"', ["横结肠癌", "肠道出血", "乙型肝炎"]),  # a cell pasted with its CSV quotes
    ("“高血压”，糖尿病", ["高血压", "糖尿病"]),
])
def test_split_terms_on_separators_and_conjunctions(raw, spans):
    assert split_terms(raw) == spans


@pytest.mark.parametrize("raw", ["糖尿病并发症", "肺部感染合并症", "2型糖尿病", "血糖2.5", "高血压病3级(极高危)", "headache"])
def test_split_terms_leaves_single_concepts_whole(raw):
    assert split_terms(raw) == [raw]


# --- the jsonl contract ----------------------------------------------------------------

def _cand(cid, name, score=0.5):
    return Candidate(cid, name, score, score)


def test_jsonl_keeps_its_keys_and_adds_concepts_only_when_several():
    one = LinkResult("高血压", 1, (_cand("I10", "高血压"),))
    assert list(one.to_json()) == ["term", "count", "candidates", "reranked"]
    multi = LinkResult("高血压；冠心病", 2, (_cand("I10", "高血压"),),
                       concepts=(_cand("I10", "高血压", 0.9), _cand("I25.1", "冠状动脉粥样硬化性心脏病", 0.8)))
    out = io.StringIO()
    JsonlWriter(out).write(multi)
    record = json.loads(out.getvalue())
    assert list(record)[:4] == ["term", "count", "candidates", "reranked"]
    assert [c["id"] for c in record["concepts"]] == ["I10", "I25.1"]
    assert record["concepts"][1]["name"] == "冠状动脉粥样硬化性心脏病"
    assert record["candidates"][0]["id"] == "I10"  # the single best answer is unchanged


# --- set metrics -----------------------------------------------------------------------

def test_set_scores_are_micro_averaged():
    s = score_sets([{"a", "b"}, {"c"}], [{"a"}, {"c", "d"}])
    assert s.n == 2
    assert s.precision == pytest.approx(2 / 3)
    assert s.recall == pytest.approx(2 / 3)
    assert s.f1 == pytest.approx(2 / 3)
    assert s.exact == 0.0
    perfect = score_sets([{"a", "b"}], [["b", "a"]])
    assert (perfect.precision, perfect.recall, perfect.f1, perfect.exact) == (1.0, 1.0, 1.0, 1.0)
    assert score_sets([], []).n == 0
    assert score_sets([{"a"}], [set()]).f1 == 0.0


# --- reader and folds ------------------------------------------------------------------

def _write_chip(root: Path, items: list[dict]) -> Path:
    folder = root / "chip-cdn"
    folder.mkdir(parents=True)
    (folder / "train.json").write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    (folder / "icd10-beijing-v601.tsv").write_text("code\tname\nI10\t高血压\nI10.x00\t高血压\n", encoding="utf-8")
    return root


def test_reader_splits_gold_names_and_skips_empty_items(tmp_path):
    root = _write_chip(tmp_path, [
        {"text": "高血压;冠心病", "normalized_result": "高血压##冠状动脉粥样硬化性心脏病"},
        {"text": " 头痛 ", "normalized_result": "头痛##头痛"},
        {"text": "", "normalized_result": "x"},
        {"text": "无答案", "normalized_result": ""},
    ])
    examples = read_chip_cdn(root)
    assert examples == [MultiExample("高血压;冠心病", ("高血压", "冠状动脉粥样硬化性心脏病")),
                        MultiExample("头痛", ("头痛",))]


def test_reader_removes_the_csv_quotes_around_fields_that_hold_a_comma(tmp_path):
    # train.json keeps a CSV export's quotes: with them the answer names no vocabulary entry.
    root = _write_chip(tmp_path, [
        {"text": '"高血压,冠心病"', "normalized_result": '"下肢未特指的损伤,水平未特指"'},
        {"text": "右足，左小腿骨折", "normalized_result": '"足骨折,未特指##小腿骨折"'},
        {"text": '"所谓""白斑"""', "normalized_result": "白斑##O"},
    ])
    assert read_chip_cdn(root) == [
        MultiExample("高血压,冠心病", ("下肢未特指的损伤,水平未特指",)),
        MultiExample("右足，左小腿骨折", ("足骨折,未特指", "小腿骨折")),
        MultiExample('所谓"白斑"', ("白斑", "O")),
    ]


def test_reader_names_the_missing_folder(tmp_path):
    with pytest.raises(InputError, match="chip-cdn"):
        read_chip_cdn(tmp_path)


def test_folds_are_seeded_balanced_and_disjoint():
    assignment = fold_of(103, 5)
    assert assignment == fold_of(103, 5)
    assert sorted({assignment.count(f) for f in range(5)}) == [20, 21]
    items = list(range(103))
    tests = [cross_validation_split(items, f, 5)[1] for f in range(5)]
    assert sorted(x for t in tests for x in t) == items
    train, test = cross_validation_split(items, 2, 5)
    assert not set(train) & set(test) and len(train) + len(test) == 103
    with pytest.raises(InputError):
        cross_validation_split(items, 5, 5)


@pytest.mark.skipif(not (CHIP / "train.json").exists(), reason="../shared/data/chip-cdn is not beside the project")
def test_real_chip_cdn_reads_and_folds():
    examples = read_chip_cdn(CHIP.parent)
    assert len(examples) == 6000
    _, test = cross_validation_split(examples, 0)
    assert len(test) == 1200
    sample = test[:50]
    assert all(e.golds and all(g for g in e.golds) for e in sample)
    assert any(len(e.golds) > 1 for e in sample)
    assert sum(len(split_terms(e.term)) > 1 for e in sample) > 0
