"""The link path never touches the network: proven in a namespace with no interfaces,
and by an audit hook that fails on any socket connect."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

AUDIT_SCRIPT = """
import sys
def guard(event, args):
    if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname"):
        raise RuntimeError(f"network use on the link path: {event} {args!r}")
sys.addaudithook(guard)
from termlinker.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _cli(home, *args):
    return ["--home", str(home.root), "-q", *args]


def test_link_and_evaluate_open_no_socket(home, tiny_vocab_path, tmp_path):
    terms = tmp_path / "t.txt"
    terms.write_text("headache\nringing in my ears\n")
    gold = tmp_path / "gold.tsv"
    gold.write_text("headache\tT:001\n")
    for args in (["link", str(terms), "--vocab", str(tiny_vocab_path), "--format", "jsonl"],
                 ["evaluate", "--data", str(gold), "--vocab", str(tiny_vocab_path)]):
        done = subprocess.run([sys.executable, "-c", AUDIT_SCRIPT, *_cli(home, *args)],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


def _can_unshare() -> bool:
    if not shutil.which("unshare") or os.geteuid() != 0:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _can_unshare(), reason="needs root and unshare -n (CI runs as root)")
def test_link_works_in_a_network_namespace_without_interfaces(home, tiny_vocab_path, tmp_path):
    terms = tmp_path / "t.txt"
    terms.write_text("headache\n")
    gold = tmp_path / "gold.tsv"
    gold.write_text("headache\tT:001\n")
    link = subprocess.run(["unshare", "-n", sys.executable, "-m", "termlinker.cli",
                           *_cli(home, "link", str(terms), "--vocab", str(tiny_vocab_path), "--format", "jsonl")],
                          capture_output=True, text=True)
    assert link.returncode == 0, link.stderr
    assert json.loads(link.stdout)["candidates"][0]["id"] == "T:001"
    evaluate = subprocess.run(["unshare", "-n", sys.executable, "-m", "termlinker.cli",
                               *_cli(home, "evaluate", "--data", str(gold), "--vocab", str(tiny_vocab_path))],
                              capture_output=True, text=True)
    assert evaluate.returncode == 0 and "Acc@1=1.000" in evaluate.stdout
