"""Atomic file writes and checksums.

Every file TermLinker writes goes to a temporary name in the same folder and is
renamed over the target, so a crash or a full disk never leaves half a file.

A temporary is named ``.<target>.<writer pid>.<random>.tmp`` and its writer holds an advisory
lock on it. A writer that is killed leaves its temporary behind (one of 107 MB was reported), so
the next write of the same target removes the temporaries of writers that are gone: pid not
alive on this machine and lock free. A concurrent writer of the same target, in this process or
another, keeps its temporary. Temporaries of older versions (``.<target>.<random>.tmp``, no pid)
are removed once a day old.

A new file gets the mode a plain ``open()`` would give it (0666 less the umask, not
``mkstemp``'s 0600); a replaced file keeps its mode.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import shutil
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .errors import StorageError

try:
    import fcntl
except ImportError:  # Windows: no advisory locks, and os.kill(pid, 0) would kill: temps go by age there
    fcntl = None  # type: ignore[assignment]

# The middle of ".<target>.<middle>.tmp": atomic_open's "<pid>.<8 hex>", atomic_target's "<pid>",
# and mkstemp's 8 characters of earlier versions.
_PID_TEMP = re.compile(r"(\d{1,10})(?:\.[0-9a-f]{8})?")
_LEGACY_TEMP = re.compile(r"[a-z0-9_]{8}")
LEGACY_TEMP_AGE_S = 24 * 3600


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success rename it over ``path``."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(target)
        fd, tmp = _create_temp(target)
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
    """The temporary exists, locked, before the library opens it: libraries write with
    ``open(path, "wb")``, which keeps the inode and so the lock that tells other processes'
    clean-up this writer is alive (its pid may mean nothing to them)."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.tmp = target
        self._fd: int | None = None

    def __enter__(self) -> Path:
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            remove_stale_temps(self.target)
            self._fd, tmp = _create_temp(self.target)
        except OSError as exc:
            raise StorageError(_storage_message(self.target, exc)) from exc
        self.tmp = Path(tmp)
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None:
                _silent_unlink(self.tmp)
                return None
            try:
                os.replace(self.tmp, self.target)
            except OSError as err:
                _silent_unlink(self.tmp)
                raise StorageError(_storage_message(self.target, err)) from err
            return None
        finally:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


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


def checksum_problem(path: Path, digest: str | None) -> str | None:
    """Why the file at ``path`` is not the one whose sha256 is ``digest`` (missing, or different), or None."""
    if not path.is_file():
        return f"{path} is missing"
    if sha256_file(path) != digest:
        return f"{path} does not match its checksum"
    return None


def remove_stale_temps(target: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporaries of ``target`` whose writers are gone; returns what was removed."""
    target = Path(target)
    prefix = f".{target.name}."
    removed = []
    try:
        entries = [e.name for e in os.scandir(target.parent) if e.name.startswith(prefix) and e.name.endswith(".tmp")]
    except OSError:
        return removed
    for name in entries:
        middle = name[len(prefix):-len(".tmp")]
        path = target.parent / name
        pid = _PID_TEMP.fullmatch(middle)
        if pid:
            if _writer_gone(int(pid.group(1)), path) and _unlink_if_unlocked(path):
                removed.append(path)
        elif _LEGACY_TEMP.fullmatch(middle) and _older_than(path, LEGACY_TEMP_AGE_S):
            if _unlink_if_unlocked(path):
                removed.append(path)
    return removed


def _create_temp(target: Path) -> tuple[int, str]:
    """A new locked temporary beside ``target``: its mode is the target's, or what open() would give."""
    try:
        keep_mode: int | None = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        keep_mode = None
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)  # the kernel applies the umask, as for open()
        except FileExistsError:
            continue
        try:
            if keep_mode is not None:
                os.chmod(tmp, keep_mode)
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            _silent_unlink(tmp)
            raise
        return fd, str(tmp)
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(target.parent))


def _writer_gone(pid: int, temp: Path) -> bool:
    if pid == os.getpid():  # a concurrent write of the same target by another of our threads
        return False
    if fcntl is None:
        return _older_than(temp, LEGACY_TEMP_AGE_S)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # EPERM: alive, another user's
        pass
    # Alive, or its pid reused by another process since a crash: a day-old temp is no live write
    # (the lock, checked next, still protects one that is).
    return _older_than(temp, LEGACY_TEMP_AGE_S)


def _unlink_if_unlocked(path: Path) -> bool:
    """Remove ``path`` unless a writer holds its lock (a live writer in another pid namespace or machine)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.unlink(path)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _older_than(path: Path, seconds: float) -> bool:
    try:
        return time.time() - os.stat(path).st_mtime > seconds
    except OSError:
        return False


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
