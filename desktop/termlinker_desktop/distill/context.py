"""What the wizard's pages share: the choices made so far and what the backend returned.

The API key lives only here, in memory (and in the OS keyring if the user asks and ``keyring``
is installed); it is never put in the settings, the project or the label store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from termlinker.api import (DEFAULT_BUILTIN, Corrections, DataDirs, FineTuneConfig, FineTuneReport, LabelPlan,
                            LabelStore, LinkResult, Linker, TeacherConfig, TermCount, ValidationReport, WizardPaths)

KEYRING_SERVICE = "TermLinker teacher"


@dataclass
class WizardContext:
    dirs: DataDirs
    project_path: Path | None = None
    default_vocabulary: str = DEFAULT_BUILTIN
    training: FineTuneConfig = field(default_factory=FineTuneConfig)
    threads: int = 2
    # page 1
    terms: list[TermCount] = field(default_factory=list)
    terms_source: str = ""
    vocabulary: str = ""
    top_k: int = 10
    # page 2
    teacher: TeacherConfig | None = None
    price_per_1k: float = 0.0
    budget: float | None = None
    concurrency: int = 2
    # page 3 on
    linker: Linker | None = None
    results: list[LinkResult] = field(default_factory=list)
    store: LabelStore | None = None
    plan: LabelPlan | None = None
    corrections: Corrections | None = None
    fine_tune: FineTuneReport | None = None
    validation: ValidationReport | None = None
    ranking_path: Path | None = None  # a ranking learned from the labels (page 7), saved for the vocabulary
    # Told the teacher's host while labelling sends terms to it, and None when it stops (the main
    # window's status line, which otherwise says "Offline"); nobody by default.
    sending: Callable[[str | None], None] = field(default=lambda _host: None, repr=False, compare=False)

    @property
    def paths(self) -> WizardPaths:
        return WizardPaths.of(self.dirs)

    def open_store(self) -> LabelStore:
        if self.store is None:
            self.store = LabelStore(self.paths.labels)
        return self.store

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None


def keyring_available() -> bool:
    try:
        import keyring  # noqa: F401 - optional; never a dependency
    except Exception:  # noqa: BLE001 - any import failure means "not available"
        return False
    return True


def keyring_get(base_url: str) -> str:
    if not base_url or not keyring_available():
        return ""
    import keyring

    try:
        return keyring.get_password(KEYRING_SERVICE, base_url) or ""
    except Exception:  # noqa: BLE001 - a locked or absent keyring backend: the user types the key
        return ""


def keyring_set(base_url: str, key: str) -> bool:
    if not keyring_available():
        return False
    import keyring

    try:
        keyring.set_password(KEYRING_SERVICE, base_url, key)
    except Exception:  # noqa: BLE001 - no usable backend: the key stays in memory only
        return False
    return True
