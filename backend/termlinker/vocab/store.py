"""The local vocabulary store: imported vocabularies and cached built-ins.

Layout under ``DataDirs.vocabularies``::

    <name>.jsonl            imported by the user (JSONL with a header line; an Athena download's
                            header says ``"kind": "omop"``)
    _builtin/<name>.jsonl   a built-in converted once; rebuilt when its package changes

Names are matched without regard to case, because the files live on file systems
(Windows, macOS) that do the same.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import StorageError, VocabularyError
from ..paths import DataDirs, is_safe_name
from ._common import PathLike
from .athena import OMOP_KIND, athena_folder
from .builtin import BUILTINS, BuiltinSpec
from .jsonl import load_jsonl, read_jsonl_header, save_jsonl
from .loaders import load_vocabulary_file
from .model import Vocabulary

# Stricter than paths.is_safe_name: no '.', so a name never looks like a file the user meant.
_NAME = re.compile(r"[^\W_][\w-]{0,63}")
_BUILTIN_FOLDER = "_builtin"
_SUFFIX = ".jsonl"


@dataclass(frozen=True)
class VocabularySummary:
    """What a listing shows. Counts are None for a built-in not yet converted, or a
    file without a TermLinker header; :meth:`VocabularyStore.info` fills them in."""

    name: str
    concepts: int | None
    names: int | None
    version: str
    builtin: bool
    description: str = ""
    source: str = ""
    citation: str = ""
    language: str = ""
    path: Path | None = None
    problem: str = ""  # why it cannot be used now (e.g. package not installed); "" when fine
    kind: str = ""  # "omop" for an Athena download (ids are OMOP concept_ids); "" for any other

    @property
    def available(self) -> bool:
        return not self.problem


class VocabularyStore:
    def __init__(self, dirs: DataDirs) -> None:
        self.dirs = dirs

    @property
    def folder(self) -> Path:
        return self.dirs.vocabularies

    @property
    def builtin_folder(self) -> Path:
        return self.folder / _BUILTIN_FOLDER

    # --- reading ---------------------------------------------------------------------

    def list(self) -> builtins.list[VocabularySummary]:
        """Built-ins first (cached or not), then imported vocabularies by name. Reads headers only."""
        summaries = [self._builtin_summary(spec, load=False) for spec in BUILTINS.values()]
        for path in self._registered_files():
            summaries.append(self._registered_summary(path, load=False))
        return summaries

    def info(self, name: str) -> VocabularySummary:
        """Like a :meth:`list` entry, with counts; converts a built-in on first use."""
        spec = _builtin_spec(name)
        if spec is not None:
            return self._builtin_summary(spec, load=True)
        return self._registered_summary(self._registered_path(name), load=True)

    def get(self, name_or_path: str | os.PathLike[str]) -> Vocabulary:
        """A built-in, an imported vocabulary, or a vocabulary file loaded directly."""
        if isinstance(name_or_path, str) and is_valid_name(name_or_path):
            spec = _builtin_spec(name_or_path)
            if spec is not None:
                return self._load_builtin(spec)
            registered = self._find_registered(name_or_path)
            if registered is not None:
                return load_jsonl(registered, registered.stem)
            self._check_is_file(name_or_path)
        return load_vocabulary_file(name_or_path)

    def kind(self, name_or_path: str | os.PathLike[str]) -> str:
        """The ``info.kind`` ("omop" or "") of what :meth:`get` would load, cheaply: from a file's
        header or a folder's layout, without loading concepts. A name that is not there is :meth:`get`'s error."""
        if isinstance(name_or_path, str) and is_valid_name(name_or_path):
            if _builtin_spec(name_or_path) is not None:
                return ""
            registered = self._find_registered(name_or_path)
            if registered is not None:
                return str((read_jsonl_header(registered) or {}).get("kind", ""))
            self._check_is_file(name_or_path)
        path = Path(name_or_path).expanduser()
        if athena_folder(path) is not None:
            return OMOP_KIND
        return str((read_jsonl_header(path) or {}).get("kind", "")) if path.is_file() else ""

    # --- changing --------------------------------------------------------------------

    def import_file(self, path: PathLike, name: str, *, replace: bool = False,
                    vocabulary_ids: Iterable[str] = ()) -> Vocabulary:
        """Load ``path`` and keep it in the store as ``name``; returns the stored vocabulary.
        ``vocabulary_ids`` choose the concepts of an OHDSI Athena download folder (all when empty)."""
        check_name(name)
        existing = self._find_registered(name)
        if existing is not None and not replace:
            raise VocabularyError(
                f"A vocabulary called {existing.stem!r} already exists. Choose another name, "
                "or remove or replace the existing one."
            )
        vocabulary_ids = [v.strip() for v in vocabulary_ids if v.strip()]
        vocab = load_vocabulary_file(path, name, vocabulary_ids=vocabulary_ids)
        target = self.folder / f"{name}{_SUFFIX}"
        extra: dict[str, object] = {"imported_from": str(Path(path).expanduser().resolve())}
        if vocabulary_ids:
            extra["vocabulary_ids"] = vocabulary_ids
        save_jsonl(vocab, target, extra=extra)
        if existing is not None and existing.name != target.name:  # same name, different case
            # On case-insensitive file systems both spellings are the new file: keep it.
            with contextlib.suppress(OSError):
                if not os.path.samefile(existing, target):
                    existing.unlink()
        return vocab

    def remove(self, name: str) -> None:
        if _builtin_spec(name) is not None:
            raise VocabularyError(f"{name!r} is built in and cannot be removed.")
        path = self._registered_path(name)
        try:
            path.unlink()
        except OSError as exc:
            raise StorageError(f"Cannot remove {path}: {exc.strerror or exc}.") from exc

    # --- built-ins -------------------------------------------------------------------

    def _load_builtin(self, spec: BuiltinSpec) -> Vocabulary:
        cache = self.builtin_folder / f"{spec.name}{_SUFFIX}"
        fingerprint = spec.fingerprint()  # raises VocabularyError if the package is missing
        header = read_jsonl_header(cache)
        if header is not None and header.get("fingerprint") == fingerprint:
            with contextlib.suppress(VocabularyError):  # a damaged cache is simply rebuilt
                return load_jsonl(cache, spec.name)
        vocab = spec.loader()
        # The cache only saves time; an unwritable data folder must not block the vocabulary.
        with contextlib.suppress(StorageError):
            save_jsonl(vocab, cache, extra={"fingerprint": fingerprint, "builtin": True})
        return vocab

    def _builtin_summary(self, spec: BuiltinSpec, *, load: bool) -> VocabularySummary:
        try:
            if load:
                vocab = self._load_builtin(spec)
                return _summary_of(vocab, builtin=True, description=spec.description)
            fingerprint = spec.fingerprint()
            header = read_jsonl_header(self.builtin_folder / f"{spec.name}{_SUFFIX}") or {}
            fresh = header.get("fingerprint") == fingerprint
            version = spec.version()
            return VocabularySummary(
                name=spec.name,
                concepts=header.get("concepts") if fresh else None,
                names=header.get("names") if fresh else None,
                version=version,
                builtin=True,
                description=spec.description,
                source=f"{spec.package} {spec.package_version()}",
                # the spec knows it without loading the vocabulary (Help ▸ About shows it before any Run)
                citation=(header.get("citation", "") if fresh else "") or spec.citation(version),
                language=(header.get("language", "") if fresh else "") or spec.language,
            )
        except VocabularyError as exc:
            if load:
                raise
            return VocabularySummary(spec.name, None, None, "", builtin=True, description=spec.description,
                                     language=spec.language, problem=str(exc))

    # --- imported --------------------------------------------------------------------

    def _registered_files(self) -> builtins.list[Path]:
        if not self.folder.is_dir():
            return []
        files = [
            p for p in self.folder.iterdir()
            if p.suffix == _SUFFIX and p.is_file() and not p.name.startswith((".", "_"))
        ]
        return sorted(files, key=lambda p: p.stem.casefold())

    def _find_registered(self, name: str) -> Path | None:
        key = name.casefold()
        return next((p for p in self._registered_files() if p.stem.casefold() == key), None)

    def _registered_path(self, name: str) -> Path:
        path = self._find_registered(name)
        if path is None:
            raise VocabularyError(
                f"There is no vocabulary called {name!r}. Known: {', '.join(self._known_names())}."
            )
        return path

    def _registered_summary(self, path: Path, *, load: bool) -> VocabularySummary:
        if load:
            return _summary_of(load_jsonl(path, path.stem), builtin=False, path=path)
        header = read_jsonl_header(path) or {}  # files dropped in by hand may have none
        return VocabularySummary(
            name=path.stem,
            concepts=header.get("concepts"),
            names=header.get("names"),
            version=header.get("version", ""),
            builtin=False,
            source=header.get("source", ""),
            citation=header.get("citation", ""),
            language=header.get("language", ""),
            path=path,
            kind=header.get("kind", ""),
        )

    def _check_is_file(self, name: str) -> None:
        """A name that is neither built in nor imported must be a file (or an Athena download folder),
        or it is no vocabulary at all."""
        if not Path(name).is_file() and athena_folder(name) is None:
            raise VocabularyError(
                f"There is no vocabulary called {name!r}. Known: {', '.join(self._known_names())}. "
                "Import a file first, or give the path to a vocabulary file."
            )

    def _known_names(self) -> builtins.list[str]:
        return [*BUILTINS, *(p.stem for p in self._registered_files())]


def is_valid_name(name: str) -> bool:
    return bool(_NAME.fullmatch(name)) and is_safe_name(name)


def check_name(name: str) -> None:
    """Raise a VocabularyError unless ``name`` can be used for an imported vocabulary."""
    if not is_valid_name(name):
        raise VocabularyError(
            f"{name!r} cannot be used as a vocabulary name. Use up to 64 letters, digits, '-' or '_', "
            "starting with a letter or digit (for example icd10-beijing)."
        )
    if _builtin_spec(name) is not None:
        raise VocabularyError(
            f"{name!r} is the name of a built-in vocabulary. Choose another name for the imported file."
        )


def _builtin_spec(name: str) -> BuiltinSpec | None:
    return BUILTINS.get(name.casefold())


def _summary_of(
    vocab: Vocabulary, *, builtin: bool, description: str = "", path: Path | None = None
) -> VocabularySummary:
    info = vocab.info
    return VocabularySummary(
        name=info.name,
        concepts=len(vocab.concepts),
        names=len(vocab.names),
        version=info.version,
        builtin=builtin,
        description=description,
        source=info.source,
        citation=info.citation,
        language=info.language,
        path=path,
        kind=info.kind,
    )
