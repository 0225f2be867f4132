"""Atomic writes clean up after killed writers, spare live ones, and give files ordinary modes.

Real processes: a writer killed with SIGKILL in the middle of a write, a slow writer still at
work, a dead writer's temporary still locked by a live process (another machine, another pid
namespace).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from termlinker.atomic import LEGACY_TEMP_AGE_S, write_text

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX processes, signals and modes")

KILLED_WRITER = """
import os, signal, sys
from termlinker.atomic import atomic_open
with atomic_open(sys.argv[1], "w", encoding="utf-8") as fh:
    fh.write("half of a big export\\n" * 10000)
    fh.flush()
    os.kill(os.getpid(), signal.SIGKILL)
"""

SLOW_WRITER = """
import sys
from termlinker.atomic import atomic_open
with atomic_open(sys.argv[1], "w", encoding="utf-8") as fh:
    fh.write("slow writer\\n")
    print("writing", flush=True)
    sys.stdin.readline()
"""

LOCK_HOLDER = """
import fcntl, sys
fh = open(sys.argv[1], "w")
fh.write("written by a writer this machine cannot see\\n")
fcntl.flock(fh, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.readline()
"""


def temps(folder: Path, target: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(f".{target}.") and p.name.endswith(".tmp"))


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_killed_writers_temporary_is_removed_by_the_next_write(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("previous export\n")
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(target)])
    assert killed.returncode == -signal.SIGKILL
    assert target.read_text() == "previous export\n"
    (left,) = temps(tmp_path, "out.csv")
    assert (tmp_path / left).stat().st_size > 100_000

    write_text(target, "new export\n")
    assert target.read_text() == "new export\n"
    assert temps(tmp_path, "out.csv") == []


def test_a_live_writers_temporary_is_kept_and_its_write_still_lands(tmp_path):
    target = tmp_path / "out.csv"
    slow = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(target)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert slow.stdout.readline().strip() == "writing"
        (theirs,) = temps(tmp_path, "out.csv")
        write_text(target, "fast writer\n")
        assert temps(tmp_path, "out.csv") == [theirs]
    finally:
        slow.communicate("go\n", timeout=30)
    assert slow.returncode == 0
    assert target.read_text() == "slow writer\n" and temps(tmp_path, "out.csv") == []


def test_a_dead_pids_temporary_that_someone_still_locks_is_kept(tmp_path):
    target = tmp_path / "out.csv"
    foreign = tmp_path / f".out.csv.{dead_pid()}.deadbeef.tmp"
    holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(foreign)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        write_text(target, "one\n")
        assert foreign.exists()
    finally:
        holder.communicate("done\n", timeout=30)
    write_text(target, "two\n")
    assert not foreign.exists() and target.read_text() == "two\n"


def test_old_style_temporaries_go_when_a_day_old_and_other_targets_temporaries_stay(tmp_path):
    target = tmp_path / "out.csv"
    stale_legacy = tmp_path / ".out.csv.k3j_9x2a.tmp"  # tempfile.mkstemp's name, from earlier versions
    fresh_legacy = tmp_path / ".out.csv.q8w7e6r5.tmp"
    other_target = tmp_path / f".out.csv.1.{dead_pid()}.deadbeef.tmp"  # a temporary of "out.csv.1"
    not_a_temp = tmp_path / ".out.csv.notes"
    for path in (stale_legacy, fresh_legacy, other_target, not_a_temp):
        path.write_text("x")
    old = time.time() - LEGACY_TEMP_AGE_S - 60
    os.utime(stale_legacy, (old, old))
    write_text(target, "new\n")
    assert not stale_legacy.exists()
    assert fresh_legacy.exists() and other_target.exists() and not_a_temp.exists()


@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_a_new_file_gets_the_mode_open_would_give(tmp_path, umask, expected):
    before = os.umask(umask)
    try:
        write_text(tmp_path / "out.csv", "x\n")
        with open(tmp_path / "plain.csv", "w") as fh:
            fh.write("x\n")
    finally:
        os.umask(before)
    assert (tmp_path / "out.csv").stat().st_mode & 0o7777 == expected
    assert (tmp_path / "plain.csv").stat().st_mode & 0o7777 == expected


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o664])
def test_a_replaced_file_keeps_its_mode(tmp_path, mode):
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    target.chmod(mode)
    write_text(target, "new\n")
    assert target.read_text() == "new\n" and target.stat().st_mode & 0o7777 == mode


def test_a_library_writing_through_atomic_target_holds_the_lock_that_keeps_its_temporary(tmp_path):
    import fcntl

    from termlinker.atomic import atomic_target

    target = tmp_path / "names.hnsw"
    with atomic_target(target) as tmp:
        with open(tmp, "wb") as fh:  # as hnswlib, onnx and llama.cpp write: same inode, lock kept
            fh.write(b"graph")
        probe = os.open(tmp, os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(probe)
    assert target.read_bytes() == b"graph" and [p.name for p in tmp_path.iterdir()] == ["names.hnsw"]


def test_a_day_old_temporary_whose_pid_is_alive_again_but_unlocked_is_removed(tmp_path):
    """A pid reused after a crash must not keep a dead write's temporary forever."""
    target = tmp_path / "out.csv"
    stale = tmp_path / f".out.csv.{os.getppid()}.deadbeef.tmp"  # a live pid, not ours
    stale.write_text("half")
    old = time.time() - LEGACY_TEMP_AGE_S - 60
    os.utime(stale, (old, old))
    write_text(target, "done")
    assert not stale.exists() and target.read_text() == "done"
