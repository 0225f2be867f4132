"""No packet leaves the machine, seen by the kernel rather than by Python.

A Python audit hook cannot see sockets that native code opens (onnxruntime's telemetry
uploader resolves its collector from C++). Here every offline path runs for 20 seconds in a
network namespace under ``strace -f``, and the trace must hold no Internet socket at all:
no DNS lookup, no connect attempt, whether or not it could have succeeded.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from termlinker.privacy import TELEMETRY_OFF

from .test_no_network import _can_unshare

DRIVER = Path(__file__).with_name("no_packet_driver.py")
RUN_SECONDS = 20
INET = re.compile(r"AF_INET6?\b")


def _inet_calls(trace: Path) -> list[str]:
    return [line for line in trace.read_text(errors="replace").splitlines() if INET.search(line)]


@pytest.mark.slow
@pytest.mark.skipif(not _can_unshare() or not shutil.which("strace"),
                    reason="needs root, unshare -n and strace (CI installs strace and runs as root)")
def test_link_rerank_desktop_and_vocabulary_paths_open_no_internet_socket(home, tiny_vocab_path, tmp_path):
    terms = tmp_path / "terms.txt"
    terms.write_text("headache\nringing in my ears\nmy legs are killing me\n")
    trace = tmp_path / "trace.txt"
    done = subprocess.run(
        ["unshare", "-n", "strace", "-f", "-qq", "-e", "trace=socket,connect,sendto,sendmsg", "-o", str(trace),
         sys.executable, str(DRIVER), str(home.root), str(tiny_vocab_path), str(terms), str(RUN_SECONDS)],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "linked" in done.stdout
    assert _inet_calls(trace) == []


def test_every_dependency_telemetry_switch_is_set_once_termlinker_is_imported():
    probe = subprocess.run([sys.executable, "-c", "import os, termlinker, json; "
                            f"print(json.dumps({{k: os.environ.get(k) for k in {sorted(TELEMETRY_OFF)!r}}}))"],
                           capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "ORT_DISABLE_TELEMETRY": "0"})
    assert probe.returncode == 0, probe.stderr
    import json

    assert json.loads(probe.stdout) == TELEMETRY_OFF
