"""The re-ranker model registry: register, activate, roll back, refuse changed files."""

from __future__ import annotations

import json

import pytest

from termlinker.errors import ModelError
from termlinker.paths import DataDirs
from termlinker.rerank.registry import DEFAULT_RERANKER, RerankerRegistry


@pytest.fixture
def registry(tmp_path) -> RerankerRegistry:
    return RerankerRegistry(DataDirs(tmp_path / "home").ensure())


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "distilled-v1.gguf"
    path.write_bytes(b"GGUF" + b"\0" * 64)
    return path


def test_the_builtin_model_is_active_until_another_is_activated(registry, gguf_path):
    assert registry.active_name() == DEFAULT_RERANKER
    assert registry.resolve().path == str(gguf_path)


def test_register_records_checksum_prompt_version_and_scores(registry, model_file):
    model = registry.register("distilled-v1", model_file, "SmolLM2-135M-Instruct", scores={"aap_val_acc1": 0.66})
    assert len(model.sha256) == 64
    saved = json.loads(registry.file.read_text())["models"]["distilled-v1"]
    assert saved["prompt_version"] == "pointwise-v1" and saved["scores"] == {"aap_val_acc1": 0.66}
    assert registry.get("distilled-v1") == model


def test_activate_then_rollback(registry, model_file, tmp_path):
    registry.register("v1", model_file, "SmolLM2")
    other = tmp_path / "v2.gguf"
    other.write_bytes(b"GGUF" + b"\1" * 64)
    registry.register("v2", other, "SmolLM2")
    registry.activate("v1")
    registry.activate("v2")
    assert registry.active_name() == "v2"
    assert registry.rollback() == "v1"
    assert registry.rollback() == DEFAULT_RERANKER
    with pytest.raises(ModelError, match="roll back"):
        registry.rollback()


def test_a_file_changed_after_registration_is_refused(registry, model_file):
    registry.register("v1", model_file, "SmolLM2", activate=True)
    model_file.write_bytes(b"GGUF" + b"\2" * 64)
    with pytest.raises(ModelError, match="checksum"):
        registry.resolve()


def test_unknown_names_and_builtin_names_are_refused(registry, model_file):
    with pytest.raises(ModelError, match="No re-ranker named"):
        registry.activate("nope")
    with pytest.raises(ModelError, match="built-in"):
        registry.register(DEFAULT_RERANKER, model_file, "SmolLM2")


def test_a_gguf_path_resolves_without_registration(registry, model_file):
    assert registry.resolve(str(model_file)).path == str(model_file)


def test_remove_forgets_a_model_but_never_the_active_one_or_a_builtin(tmp_path):
    registry = RerankerRegistry(DataDirs(tmp_path).ensure())
    model_file = tmp_path / "m.gguf"
    model_file.write_bytes(b"GGUF" + bytes(16))
    registry.register("a", model_file, "base")
    registry.register("b", model_file, "base", activate=True)
    with pytest.raises(ModelError, match="active"):
        registry.remove("b")
    with pytest.raises(ModelError, match="built-in"):
        registry.remove(DEFAULT_RERANKER)
    registry.remove("a")
    assert "a" not in registry.models() and registry.active_name() == "b"
    registry.remove("a")  # already gone: nothing to do


def test_a_language_can_have_its_own_active_model_and_others_keep_the_one_for_all(registry, model_file, tmp_path):
    other = tmp_path / "zh.gguf"
    other.write_bytes(b"GGUF" + b"\3" * 64)
    registry.register("for-all", model_file, "SmolLM2")
    registry.register("zh-diagnoses", other, "Gemma 3 270M")
    registry.activate("for-all")
    registry.activate("zh-diagnoses", language="zh-CN")
    assert registry.active_name() == "for-all"
    assert registry.active_name("en") == "for-all" and registry.active_name("de") == "for-all"
    assert registry.active_name("zh") == "zh-diagnoses" and registry.resolve(language="zh").path == str(other)
    assert registry.language_actives() == {"zh": "zh-diagnoses"}
    registry.activate("for-all", language="en")  # English has no model of its own: it is the one for all
    assert registry.language_actives() == {"zh": "zh-diagnoses"}


def test_a_language_rolls_back_on_its_own_to_the_model_for_all(registry, model_file):
    registry.register("zh-v1", model_file, "Gemma 3 270M")
    registry.activate("zh-v1", language="zh")
    assert registry.rollback("zh") == DEFAULT_RERANKER  # no model of its own any more: the one for all
    assert registry.language_actives() == {}
    with pytest.raises(ModelError, match="'zh' vocabularies"):
        registry.rollback("zh")
    with pytest.raises(ModelError, match="no earlier"):
        registry.rollback()  # the model for all was never changed


def test_a_model_active_for_a_language_cannot_be_removed(registry, model_file):
    registry.register("zh-v1", model_file, "Gemma 3 270M")
    registry.activate("zh-v1", language="zh")
    with pytest.raises(ModelError, match="rollback --language zh"):
        registry.remove("zh-v1")


def test_a_registry_written_before_languages_existed_still_loads(registry, model_file):
    registry.register("v1", model_file, "SmolLM2", activate=True)
    state = json.loads(registry.file.read_text())
    del state["languages"]
    registry.file.write_text(json.dumps(state))
    assert registry.active_name("zh") == "v1"
    registry.file.write_text(json.dumps({**state, "languages": {"zh": "v1"}}))
    with pytest.raises(ModelError, match="unreadable"):
        registry.active_name()


def test_smollm2_and_what_was_distilled_from_it_read_english_only(registry, model_file, tmp_path):
    from termlinker.rerank.registry import reads_language

    smollm2 = registry.get(DEFAULT_RERANKER)
    distilled = registry.register("smollm2-ft", model_file, "SmolLM2-135M-Instruct")
    other = tmp_path / "multilingual.gguf"
    other.write_bytes(b"GGUF" + b"\3" * 64)
    multilingual = registry.register("zh-ft", other, "gemma3-270m")
    for model in (smollm2, distilled):
        assert reads_language(model, "en") and reads_language(model, None)
        assert not reads_language(model, "zh-CN")
    assert reads_language(multilingual, "zh-CN")


def test_a_new_chinese_reranker_starts_from_gemma_unless_a_chinese_one_is_active(registry, model_file):
    from termlinker.rerank.registry import GEMMA_RERANKER

    assert registry.training_base() == DEFAULT_RERANKER
    assert registry.training_base("zh-CN") == GEMMA_RERANKER  # the active SmolLM2 reads English only
    registry.register("zh-ft", model_file, "gemma3-270m")
    registry.activate("zh-ft", language="zh")
    assert registry.training_base("zh-CN") == "zh-ft"
    assert registry.training_base("en") == DEFAULT_RERANKER


def test_a_chinese_vocabulary_is_served_by_gemma_while_the_model_for_all_reads_english_only(
        registry, model_file, tmp_path, monkeypatch):
    from termlinker.rerank import registry as registry_module
    from termlinker.rerank.registry import GEMMA_RERANKER

    assert registry.serving_name() == registry.serving_name("en") == DEFAULT_RERANKER
    assert registry.serving_name("zh-CN") == GEMMA_RERANKER  # SmolLM2, active for all, reads English only
    with monkeypatch.context() as m:  # Gemma's package not installed: no model reads Chinese
        m.setattr(registry_module, "_GEMMA_PACKAGE", "not_installed_gemma_package")
        assert registry.serving_name("zh-CN") is None
    other = tmp_path / "multilingual.gguf"
    other.write_bytes(b"GGUF" + b"\4" * 64)
    registry.register("multilingual", other, "gemma3-270m", activate=True)
    assert registry.serving_name("zh-CN") == "multilingual"
    registry.register("smollm2-zh", model_file, "SmolLM2-135M-Instruct")
    registry.activate("smollm2-zh", language="zh")  # chosen for Chinese by hand or by validation: taken
    assert registry.serving_name("zh-CN") == "smollm2-zh"
