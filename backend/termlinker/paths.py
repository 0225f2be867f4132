"""Where TermLinker keeps models, indexes, vocabularies and projects.

Everything lives under platformdirs' user data dir unless ``TERMLINKER_HOME`` or an
explicit folder says otherwise (tests and portable installs use that).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import StorageError

APP_NAME = "TermLinker"


@dataclass(frozen=True)
class DataDirs:
    root: Path

    @classmethod
    def default(cls) -> "DataDirs":
        env = os.environ.get("TERMLINKER_HOME")
        if env:
            return cls(Path(env).expanduser())
        import platformdirs

        return cls(Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)))

    @classmethod
    def at(cls, root: str | os.PathLike[str] | None) -> "DataDirs":
        return cls(Path(root).expanduser()) if root else cls.default()

    @property
    def vocabularies(self) -> Path:
        return self.root / "vocabularies"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def indexes(self) -> Path:
        return self.root / "indexes"

    @property
    def projects(self) -> Path:
        return self.root / "projects"

    def ensure(self) -> "DataDirs":
        for folder in (self.vocabularies, self.models, self.indexes, self.projects):
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(
                    f"Cannot create the data folder {folder}: {exc.strerror}. "
                    "Set TERMLINKER_HOME or --data-dir to a writable folder."
                ) from exc
        return self
