"""`termlinker bench` runs end to end and writes its figures (no timing assertions)."""

from __future__ import annotations

import json

from termlinker.cli import main


def test_bench_writes_every_figure(home, tiny_vocab_path, tmp_path, capsys):
    out = tmp_path / "bench.json"
    rc = main(["--home", str(home.root), "-q", "--threads", "1", "bench", "--vocab", str(tiny_vocab_path),
               "--terms", "200", "--json", str(out)])
    assert rc == 0
    figures = json.loads(out.read_text())
    for key in ("index_build_s", "terms_per_s", "latency_ms_p50", "latency_ms_p95", "hnsw_recall_at_10",
                "cold_start_s", "peak_rss_mb", "encoder", "targets_met"):
        assert key in figures
    assert 0.0 <= figures["hnsw_recall_at_10"] <= 1.0
    assert "terms/s" in capsys.readouterr().out
