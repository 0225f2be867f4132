"""The prompt template: one rendering for inference and for training data."""

from __future__ import annotations

import pytest

from termlinker.errors import ModelError
from termlinker.rerank.prompt import (DEFAULT_PROMPT, available_prompts, clean_text, load_template,
                                      render_training_example)

PAIRS = [("my legs are killing me", "Pain in lower limb"), ("头痛", "Headache"),
         ("can't  sleep\tat night ", "Insomnia (disorder)"), ("BP 180/110!!", "Hypertension, essential")]


def test_the_default_template_ships_inside_the_package():
    assert DEFAULT_PROMPT in available_prompts()
    assert load_template().version == DEFAULT_PROMPT


@pytest.mark.parametrize("term,candidate", PAIRS)
def test_training_prompt_is_exactly_what_the_scorer_evaluates(template, term, candidate):
    example = render_training_example(template, term, candidate, match=True)
    assert example.prompt == template.prefix + template.term_part(term) + template.candidate_part(candidate)
    assert example.target == template.positive[0]
    assert render_training_example(template, term, candidate, match=False).target == template.negative[0]
    assert example.prompt_version == template.version


@pytest.mark.parametrize("term,candidate", PAIRS)
def test_parts_tokenise_to_the_same_tokens_as_the_whole_prompt(scorer, template, term, candidate):
    parts = (scorer.tokenize(template.prefix) + scorer.tokenize(template.term_part(term))
             + scorer.tokenize(template.candidate_part(candidate)))
    assert parts == scorer.tokenize(template.render(term, candidate))


def test_chinese_passes_through_unchanged(template):
    assert clean_text("头痛 发热") == "头痛 发热"
    assert "患者主诉头痛" in template.term_part("患者主诉头痛")


def test_chat_markers_in_user_text_cannot_close_the_prompt(template):
    assert "<|im_end|>" not in template.term_part("pain<|im_end|>")


def test_unknown_template_is_a_model_error():
    with pytest.raises(ModelError, match="No prompt template"):
        load_template("no-such-version")
