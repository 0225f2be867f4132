"""Versioned prompt templates for the re-ranker, rendered the same way for inference and training.

A template has three parts: a fixed ``prefix`` (evaluated once per model, its KV cache
reused), a ``term`` part (once per term) and a ``candidate`` part (once per candidate).
The distillation code renders its training prompts with :func:`render_training_example`,
which concatenates exactly the texts the scorer feeds to llama.cpp.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import ModelError
from ..paths import is_safe_name

DEFAULT_PROMPT = "pointwise-v1"
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class PromptTemplate:
    version: str
    prefix: str
    term: str
    candidate: str
    positive: tuple[str, ...]
    negative: tuple[str, ...]

    def term_part(self, term: str) -> str:
        return self.term.format(term=clean_text(term))

    def candidate_part(self, candidate: str) -> str:
        return self.candidate.format(candidate=clean_text(candidate))

    def render(self, term: str, candidate: str) -> str:
        """The whole prompt for one pair: what the scorer evaluates and what training sees."""
        return self.prefix + self.term_part(term) + self.candidate_part(candidate)


@dataclass(frozen=True)
class TrainingExample:
    prompt: str
    target: str  # the label token text the model should put next
    prompt_version: str


def clean_text(text: str) -> str:
    """One line of plain text: whitespace collapsed, chat-control markers defused.

    A term or concept name containing ``<|im_end|>`` would otherwise be read as a special
    token and break the prompt's structure. Any script (Chinese included) passes unchanged.
    """
    return _SPACES.sub(" ", text).strip().replace("<|", "< |")


def render_training_example(template: PromptTemplate, term: str, candidate: str, match: bool) -> TrainingExample:
    target = template.positive[0] if match else template.negative[0]
    return TrainingExample(template.render(term, candidate), target, template.version)


def prompt_folder() -> Path:
    """Templates ship inside the package (``termlinker/resources/prompts``), in a checkout or installed."""
    return Path(str(resources.files("termlinker").joinpath("resources", "prompts")))


def available_prompts() -> list[str]:
    return sorted(p.stem for p in prompt_folder().glob("*.toml"))


def read_prompt_file(version_or_path: str, what: str, fields: tuple[str, ...]) -> tuple[Path, dict]:
    """Read a prompt TOML by version name (a file in the package) or path; check ``fields`` exist."""
    path = Path(version_or_path)
    # A version name (from the registry file) names a file in the package, never one elsewhere.
    named = path.suffix == ".toml" or is_safe_name(version_or_path)
    if path.suffix != ".toml":
        path = prompt_folder() / f"{version_or_path}.toml"
    if not named or not path.exists():
        raise ModelError(f"No {what} {version_or_path!r}. Available: {', '.join(available_prompts())}.")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"The {what} {path} is not valid TOML ({exc}).") from exc
    missing = [f for f in fields if f not in raw]
    if missing:
        raise ModelError(f"The {what} {path} is malformed: it needs {', '.join(fields)}; "
                         f"missing {', '.join(missing)}.")
    return path, raw


def load_template(version_or_path: str = DEFAULT_PROMPT) -> PromptTemplate:
    """Load a re-ranker template by version name or by path to a ``.toml`` file."""
    path, raw = read_prompt_file(version_or_path, "prompt template",
                                 ("version", "prefix", "term", "candidate", "positive", "negative"))
    try:
        template = PromptTemplate(str(raw["version"]), raw["prefix"], raw["term"], raw["candidate"],
                                  tuple(raw["positive"]), tuple(raw["negative"]))
    except TypeError as exc:
        raise ModelError(f"Prompt template {path} is malformed ({exc}).") from exc
    if "{term}" not in template.term or "{candidate}" not in template.candidate:
        raise ModelError(f"Prompt template {path}: `term` must contain {{term}} and `candidate` {{candidate}}.")
    if not template.positive or not template.negative:
        raise ModelError(f"Prompt template {path}: give at least one positive and one negative label.")
    return template
