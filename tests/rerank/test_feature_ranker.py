"""The learned ranking's model: cheap features of (term, candidate), a linear score, plain JSON on disk."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from termlinker.errors import ModelCorruptError, ModelError
from termlinker.rerank.feature_ranker import FEATURES, FeatureRanker, features, units
from termlinker.types import Candidate


def _ranker(**weights: float) -> FeatureRanker:
    w = tuple(weights.get(f, 0.0) for f in FEATURES)
    return FeatureRanker(w, (0.0,) * len(FEATURES), (1.0,) * len(FEATURES), prior={"B": 5}, vocabulary="v")


CANDIDATES = [Candidate("A", "胫骨下端骨折", 0.8, 0.8), Candidate("B", "骨折", 0.6, 0.6),
              Candidate("C", "肺炎", 0.1, 0.1)]


def test_overlap_is_counted_in_characters_for_chinese_and_in_words_otherwise():
    assert units("右胫骨 骨折") == ["右", "胫", "骨", "骨", "折"]
    assert units("Pain in the LEFT knee") == ["pain", "in", "the", "left", "knee"]


def test_features_describe_rank_score_overlap_and_how_often_a_concept_was_chosen():
    x = features("胫骨骨折", CANDIDATES, {"B": 5})
    assert x.shape == (3, len(FEATURES))
    row = dict(zip(FEATURES, x[1]))
    assert row["log_rank"] == pytest.approx(math.log(2)) and row["gap_to_best"] == pytest.approx(-0.2)
    assert row["log_prior"] == pytest.approx(math.log(6)) and row["seen"] == 1.0
    assert row["unit_overlap_of_name"] == 1.0 and row["name_in_term"] == 1.0  # 骨折 is inside 胫骨骨折
    assert dict(zip(FEATURES, x[2]))["unit_overlap_of_term"] == 0.0 and x[2][FEATURES.index("seen")] == 0.0


def test_ranking_reorders_by_the_learned_score_and_reports_a_probability():
    ranked = _ranker(log_prior=2.0).rank("胫骨骨折", CANDIDATES)
    assert [c.concept_id for c in ranked] == ["B", "A", "C"]
    assert sum(c.score for c in ranked) == pytest.approx(1.0)
    assert ranked[0].retrieval_score == 0.6  # the retriever's score is kept beside the new one


def test_equal_scores_keep_the_retrievers_order():
    assert [c.concept_id for c in _ranker().rank("x", CANDIDATES)] == ["A", "B", "C"]
    assert _ranker(log_prior=1.0).rank("x", CANDIDATES[:1]) == CANDIDATES[:1]


def test_a_saved_ranker_loads_back_the_same(tmp_path):
    path = tmp_path / "r.json"
    original = _ranker(retrieval_score=1.5, seen=-0.5)
    original.save(path)
    again = FeatureRanker.load(path)
    assert again == original
    assert json.loads(path.read_text(encoding="utf-8"))["format"] == "termlinker-feature-ranker"


@pytest.mark.parametrize("damage", [
    lambda d: "{ not json",
    lambda d: json.dumps({"format": "something else"}),
    lambda d: json.dumps({**d, "weights": d["weights"][:-1]}),
    lambda d: json.dumps({**d, "scale": [0.0] * len(FEATURES)}),
    lambda d: json.dumps({**d, "weights": ["x"] * len(FEATURES)}),
], ids=["not-json", "not-a-ranker", "short", "zero-scale", "not-numbers"])
def test_a_damaged_ranker_file_is_refused_with_what_to_do(tmp_path, damage):
    path = tmp_path / "r.json"
    path.write_text(damage(_ranker().to_json()), encoding="utf-8")
    with pytest.raises(ModelCorruptError, match="termlinker ranker train"):
        FeatureRanker.load(path)


def test_non_finite_weights_are_refused(tmp_path):
    path = tmp_path / "r.json"
    data = _ranker().to_json()
    path.write_text(json.dumps(data).replace("0.0", "NaN", 1), encoding="utf-8")
    with pytest.raises(ModelCorruptError):
        FeatureRanker.load(path)


def test_a_ranker_from_another_version_or_a_missing_file_is_refused(tmp_path):
    with pytest.raises(ModelError, match="No ranker file"):
        FeatureRanker.load(tmp_path / "missing.json")
    path = tmp_path / "r.json"
    path.write_text(json.dumps({**_ranker().to_json(), "version": 99}), encoding="utf-8")
    with pytest.raises(ModelError, match="another TermLinker version"):
        FeatureRanker.load(path)


def test_a_ranker_belongs_to_one_vocabulary_learned_aliases_included():
    _ranker().check_vocabulary("v+learned")
    with pytest.raises(ModelError, match="trained for the vocabulary 'v'"):
        _ranker().check_vocabulary("hpo")


def test_scores_of_an_empty_list_are_empty():
    assert _ranker().scores("x", []).shape == (0,)
    assert isinstance(_ranker().scores("x", CANDIDATES), np.ndarray)


def test_the_llm_weight_travels_with_the_ranker_and_older_files_get_the_default(tmp_path):
    from dataclasses import replace

    from termlinker.rerank.feature_ranker import LLM_WEIGHT

    path = tmp_path / "r.json"
    replace(_ranker(), llm_weight=1.5).save(path)
    assert FeatureRanker.load(path).llm_weight == 1.5
    older = {k: v for k, v in _ranker().to_json().items() if k != "llm_weight"}
    path.write_text(json.dumps(older), encoding="utf-8")
    assert FeatureRanker.load(path).llm_weight == LLM_WEIGHT
    path.write_text(json.dumps({**older, "llm_weight": -1}), encoding="utf-8")
    with pytest.raises(ModelCorruptError):
        FeatureRanker.load(path)
