"""The app's settings: what the user chose in the settings dialog, plus recent projects.

Stored as JSON under platformdirs' user config dir (``TERMLINKER_CONFIG_HOME`` overrides it,
so tests never touch the user's own settings), always written atomically.
"""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from termlinker.api import DEFAULT_BUILTIN, DataDirs, LinkerConfig, LinkOptions, learned_encoder_for, linker_config, \
    saved_ranking_for, write_text

FILE_NAME = "desktop.json"
MAX_RECENT = 8


@dataclass(frozen=True)
class Settings:
    rerank: bool = False
    reranker: str = ""  # a registered re-ranker name; "" = the registry's active model
    # Use models/rankers/<vocabulary>.json (Tools > Learn a Ranking, `termlinker ranker train`) when it exists.
    learned_ranking: bool = False
    # Retrieve with models/encoders/<vocabulary>-learned (Tools > Learn the Retriever) when it exists.
    learned_retriever: bool = False
    # Propose mappings approved in earlier projects or imported (File > Import Mappings) for the same term.
    propose_remembered: bool = True
    auto_approve_remembered: bool = False  # approve unchecked terms with them, when linked
    threads: int = 0  # 0 = let onnxruntime decide
    gpu_layers: int = 0
    top_k: int = 10
    bulk_approve_min: float = 0.9  # the default of "approve rows scoring at least"
    low_score: float = 0.5  # rows below are shown as doubtful
    reviewer: str = ""  # the name every decision is recorded under; "" = the login name
    data_folder: str = ""  # "" = TERMLINKER_HOME or the platform's user data dir
    vocabulary: str = DEFAULT_BUILTIN
    # The distillation wizard's teacher; the API key is never among the settings.
    teacher_base_url: str = ""
    teacher_model: str = ""
    teacher_price_per_1k: float = 0.0
    teacher_budget: float = 0.0  # 0 = no budget
    recent_projects: tuple[str, ...] = field(default=())
    # Where the file dialogs opened last ("" = the data folder), and the format exported last.
    project_folder: str = ""
    import_folder: str = ""
    export_folder: str = ""
    export_format: str = "sssom"  # the exchange format first; the format a user exported last wins

    def data_dirs(self) -> DataDirs:
        return DataDirs.at(self.data_folder or None)

    def linker_config(self, vocabulary: str, top_k: int | None = None) -> LinkerConfig:
        return linker_config(self.link_options(vocabulary, top_k), self.data_dirs())

    def link_options(self, vocabulary: str, top_k: int | None = None) -> LinkOptions:
        return LinkOptions(vocabulary=vocabulary, threads=self.threads or None, top_k=top_k or self.top_k,
                           rerank=self.rerank, reranker=self.reranker or None, gpu_layers=self.gpu_layers,
                           learned_ranking=self.learned_ranking, learned_retriever=self.learned_retriever)

    def ranker_for(self, vocabulary: str) -> str | None:
        """The learned ranking the linker uses for ``vocabulary``: one is learned per vocabulary,
        so a vocabulary without one links by retrieval (and the re-ranker) alone."""
        return saved_ranking_for(self.data_dirs(), vocabulary) if self.learned_ranking else None

    def encoder_for(self, vocabulary: str) -> str | None:
        """The vocabulary's learned encoder when the setting is on and one was learned; else the default."""
        return learned_encoder_for(self.data_dirs(), vocabulary) if self.learned_retriever else None

    def reviewer_name(self) -> str:
        """The name decisions are recorded under: the one set in Settings, else the login name."""
        return self.reviewer.strip() or login_name()

    def with_recent(self, path: str | os.PathLike[str]) -> "Settings":
        text = str(Path(path).resolve())
        recent = (text, *(p for p in self.recent_projects if p != text))[:MAX_RECENT]
        return replace(self, recent_projects=recent)


def login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return ""


def config_dir() -> Path:
    env = os.environ.get("TERMLINKER_CONFIG_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("TermLinker", appauthor=False))


def settings_path() -> Path:
    return config_dir() / FILE_NAME


def load_settings(path: Path | None = None) -> Settings:
    """The saved settings; defaults for anything missing, unknown or of the wrong type,
    because a hand-edited or older file must never stop the app from starting."""
    path = path or settings_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Settings()
    if not isinstance(raw, dict):
        return Settings()
    defaults = Settings()
    values = {}
    for f in fields(Settings):
        if f.name not in raw:
            continue
        value, default = raw[f.name], getattr(defaults, f.name)
        if isinstance(default, tuple) and isinstance(value, list):
            values[f.name] = tuple(str(v) for v in value)
        elif isinstance(default, bool):
            if isinstance(value, bool):
                values[f.name] = value
        elif isinstance(default, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
            values[f.name] = float(value)
        elif type(value) is type(default):
            values[f.name] = value
    return replace(defaults, **values)


def save_settings(settings: Settings, path: Path | None = None) -> None:
    data = asdict(settings)
    data["recent_projects"] = list(settings.recent_projects)
    write_text(path or settings_path(), json.dumps(data, indent=2, ensure_ascii=False))
