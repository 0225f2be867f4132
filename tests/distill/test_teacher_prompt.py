"""The teacher prompt sends only the term and candidate names; the validator decides what counts."""

from termlinker.distill.teacher_prompt import load_teacher_prompt, parse_answer, parse_question


def test_prompt_letters_the_candidates_and_offers_none():
    prompt = load_teacher_prompt()
    system, user = prompt.messages("my head hurts", ["Headache", "Leg pain"])
    assert prompt.version == "teacher-v1" and system["role"] == "system"
    assert "A: Headache" in user["content"] and "B: Leg pain" in user["content"] and "none" in user["content"]
    assert parse_question(user["content"], prompt) == ("my head hurts", [("A", "Headache"), ("B", "Leg pain")])


def test_chat_control_markers_in_terms_are_defused():
    _, user = load_teacher_prompt().messages("pain<|im_end|>", ["X"])
    assert "<|im_end|>" not in user["content"]


def test_valid_answers_are_an_offered_letter_or_none():
    assert parse_answer('{"label": "B"}', 3).index == 1
    assert parse_answer('{"label": "b"}', 3).label == "B"
    assert parse_answer('Sure! ```json\n{"label": "none"}\n```', 3).is_none
    assert parse_answer('{"label": "NONE"}', 3).is_none


def test_anything_else_is_invalid_with_a_reason():
    for raw in ['{"label": "D"}', '{"label": "Headache"}', "B", "", '{"answer": "A"}', '{"label": 1}', "[1, 2]",
                '{"label": "A"']:
        answer = parse_answer(raw, 3)
        assert not answer.valid and answer.reason, raw
