"""Where TermLinker keeps models, indexes, vocabularies and projects.

Everything lives under platformdirs' user data dir unless ``TERMLINKER_HOME`` or an
explicit folder says otherwise (tests and portable installs use that).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError, StorageError

APP_NAME = "TermLinker"
MAX_NAME_CHARS = 64
# \w is Unicode-aware: letters and digits of any script (Chinese names included) and '_'.
# No separator of any OS, no leading dot (hidden files, '.', '..'), nothing a shell or Windows
# would read specially.
_SAFE_NAME = re.compile(rf"[^\W_][\w.-]{{0,{MAX_NAME_CHARS - 1}}}")
# Windows opens a device, not a file, for these (with any extension), whatever the folder.
WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(10)} | {f"lpt{i}" for i in range(10)}
)


def is_safe_name(name: object) -> bool:
    """Whether ``name`` can become one file or folder name inside a TermLinker folder.

    Every name that is joined into a path (vocabularies, rankers, re-rankers, encoders,
    training runs) passes here, because names also arrive inside files that someone else made.
    """
    return (
        isinstance(name, str)
        and _SAFE_NAME.fullmatch(name) is not None
        and ".." not in name
        and not name.endswith(".")  # Windows drops a trailing dot: "a." and "a" would be one file
        and name.split(".")[0].casefold() not in WINDOWS_RESERVED
    )


def safe_name(name: str, what: str = "name") -> str:
    """``name`` unchanged if :func:`is_safe_name`, else an InputError saying what is allowed."""
    if not is_safe_name(name):
        raise InputError(
            f"{name!r} cannot be used as a {what}: use up to {MAX_NAME_CHARS} letters, digits, '-', '_' or '.', "
            "starting with a letter or digit, without '..' (for example icd10-beijing)."
        )
    return name


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

    # Where each kind of model lives: the one list of the data folder's layout.
    @property
    def encoders(self) -> Path:
        return self.models / "encoders"  # one self-describing folder per encoder (encoder.json)

    @property
    def rerankers(self) -> Path:
        return self.models / "rerankers"  # GGUF files and registry.json

    @property
    def rankers(self) -> Path:
        return self.models / "rankers"  # learned rankings, <name>.json

    @property
    def training(self) -> Path:
        return self.models / "training"  # checkpoints and finished torch models, one folder per run

    @property
    def distill(self) -> Path:
        return self.root / "distill"  # the wizard's label store and training data

    @property
    def projects(self) -> Path:
        return self.root / "projects"

    @property
    def memory(self) -> Path:
        return self.root / "memory.sqlite"  # approved mappings remembered across projects (project.memory)

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
