"""The link path must not import torch or transformers: start-up stays fast and a
link-only install does not need them. Re-ranking adds llama.cpp, and nothing heavier."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.parametrize("extra,llama", [([], False), (["--rerank"], True)], ids=["retriever", "rerank"])
def test_linking_imports_neither_torch_nor_transformers(home, tiny_vocab_path, tmp_path, extra, llama):
    terms = tmp_path / "terms.txt"
    terms.write_text("headache\npain\n")
    script = (
        "import sys, json\n"
        "from termlinker.cli import main\n"
        f"rc = main(['--home', {str(home.root)!r}, '-q', 'link', {str(terms)!r}, '--vocab', {str(tiny_vocab_path)!r},"
        f" '--format', 'jsonl', '-o', {str(tmp_path / 'out.jsonl')!r}, *{extra!r}])\n"
        "print(json.dumps({'rc': rc, 'llama': 'llama_cpp' in sys.modules, 'mods': [m for m in ('torch', "
        "'transformers', 'sentence_transformers', 'PySide6') if m in sys.modules]}))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report == {"rc": 0, "llama": llama, "mods": []}
