"""Atomic file writes and checksums.

Every file TermLinker writes goes to a temporary name in the same folder and is
renamed over the target, so a crash or a full disk never leaves half a file.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .errors import StorageError


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success rename it over ``path``."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise StorageError(_storage_message(target, exc)) from exc
    try:
        with os.fdopen(fd, mode, encoding=encoding, newline="" if "b" not in mode else None) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        _silent_unlink(tmp)
        raise StorageError(_storage_message(target, exc)) from exc
    except BaseException:
        _silent_unlink(tmp)
        raise


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def write_text(path: str | os.PathLike[str], text: str) -> None:
    with atomic_open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def atomic_target(path: str | os.PathLike[str]) -> "_AtomicPath":
    """For libraries that insist on writing to a path themselves (hnswlib, onnx)."""
    return _AtomicPath(Path(path))


class _AtomicPath(contextlib.AbstractContextManager):
    def __init__(self, target: Path) -> None:
        self.target = target
        self.tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")

    def __enter__(self) -> Path:
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(_storage_message(self.target, exc)) from exc
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            _silent_unlink(self.tmp)
            return None
        try:
            os.replace(self.tmp, self.target)
        except OSError as err:
            _silent_unlink(self.tmp)
            raise StorageError(_storage_message(self.target, err)) from err
        return None


def staging_folder(target: str | os.PathLike[str]) -> Path:
    """An empty folder beside ``target`` to write a folder's new contents into (see ``replace_folder``)."""
    staged = Path(target).with_name(Path(target).name + ".partial")
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    return staged


def replace_folder(staged: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Swap a fully written folder into place: a crash leaves the old folder or the new one, never half of one."""
    staged, target = Path(staged), Path(target)
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    staged.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _silent_unlink(path: str | os.PathLike[str]) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _storage_message(target: Path, exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return f"The disk is full while writing {target}. Free some space and run again; nothing was lost."
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return (f"Cannot write to {target.parent}. Choose a writable data folder "
                "(set TERMLINKER_HOME or use --data-dir) and run again.")
    return f"Could not write {target}: {exc.strerror or exc}."
