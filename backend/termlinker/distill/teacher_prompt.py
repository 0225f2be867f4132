"""The versioned teacher prompt: render a (term, candidates) question, parse and validate the answer.

Stdlib only, so the simulated teacher can parse the same prompt it is asked.
"""

from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass

from ..errors import ModelError
from ..rerank.prompt import clean_text, read_prompt_file

DEFAULT_TEACHER_PROMPT = "teacher-v1"
NONE_LABEL = "none"
LABELS = string.ascii_uppercase  # 26 letters bound --top-k for labelling
_JSON_OBJECT = re.compile(r"\{.*?\}", re.DOTALL)


@dataclass(frozen=True)
class TeacherPrompt:
    version: str
    system: str
    user: str
    candidate: str

    def messages(self, term: str, names: list[str] | tuple[str, ...]) -> list[dict[str, str]]:
        """The chat messages for one term: only the term text and the candidate names."""
        if len(names) > len(LABELS):
            raise ModelError(f"The teacher prompt labels at most {len(LABELS)} candidates; lower --top-k.")
        labels = LABELS[: len(names)]
        lines = "\n".join(self.candidate.format(label=label, name=clean_text(name))
                          for label, name in zip(labels, names))
        letters = ", ".join(labels) if labels else "(none offered)"
        user = self.user.format(term=clean_text(term), candidates=lines, letters=letters)
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}]


@dataclass(frozen=True)
class Answer:
    """A validated answer: ``index`` of the chosen candidate, or None for "none" / invalid."""

    valid: bool
    index: int | None = None
    label: str | None = None
    reason: str = ""

    @property
    def is_none(self) -> bool:
        return self.valid and self.index is None


def parse_answer(raw: str, n_candidates: int) -> Answer:
    """The validator is the authority: JSON with a "label" that is one of the offered letters or "none".

    A JSON object embedded in prose or a code fence is accepted (teachers often add them); any
    other shape, or a letter that was not offered, is invalid.
    """
    obj = _first_json_object(raw)
    if obj is None:
        return Answer(False, reason="not a JSON object")
    label = obj.get("label")
    if not isinstance(label, str):
        return Answer(False, reason='no string "label" field')
    label = label.strip()
    if label.lower() == NONE_LABEL:
        return Answer(True, None, NONE_LABEL)
    offered = LABELS[:n_candidates]
    if len(label) == 1 and label.upper() in offered:
        return Answer(True, offered.index(label.upper()), label.upper())
    return Answer(False, reason=f"label {label[:40]!r} is not one of {', '.join(offered) or '-'} or none")


def _first_json_object(raw: str) -> dict | None:
    text = raw.strip()
    candidates = [text] + _JSON_OBJECT.findall(text)
    for chunk in candidates:
        try:
            obj = json.loads(chunk)
        except (json.JSONDecodeError, RecursionError):
            continue
        if isinstance(obj, dict):
            return obj
    return None


def parse_question(user_text: str, template: "TeacherPrompt") -> tuple[str, list[tuple[str, str]]]:
    """Recover (term, [(label, name), ...]) from a rendered user message (the simulated teacher needs it)."""
    term = ""
    head = template.user.split("{term}")[0].splitlines()[-1] if "{term}" in template.user else ""
    prefix, _, suffix = template.candidate.partition("{label}")
    sep = suffix.split("{name}")[0]
    pairs: list[tuple[str, str]] = []
    for line in user_text.splitlines():
        if head and line.startswith(head) and not term:
            term = line[len(head):]
            continue
        if line.startswith(prefix) and len(line) > len(prefix) + len(sep):
            label = line[len(prefix)]
            if label in LABELS and line[len(prefix) + 1:].startswith(sep):
                pairs.append((label, line[len(prefix) + 1 + len(sep):]))
    return term, pairs


def load_teacher_prompt(version_or_path: str = DEFAULT_TEACHER_PROMPT) -> TeacherPrompt:
    """Load by version name (a file in the package) or by path to a ``.toml`` file."""
    path, raw = read_prompt_file(version_or_path, "teacher prompt", ("version", "system", "user", "candidate"))
    prompt = TeacherPrompt(str(raw["version"]), str(raw["system"]), str(raw["user"]), str(raw["candidate"]))
    for field, needed in (("user", "{term}"), ("user", "{candidates}"), ("candidate", "{label}"),
                          ("candidate", "{name}")):
        if needed not in getattr(prompt, field):
            raise ModelError(f"Teacher prompt {path}: `{field}` must contain {needed}.")
    return prompt
