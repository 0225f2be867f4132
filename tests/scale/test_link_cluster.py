"""The cluster path (issue 21) on a local Ray cluster this file starts once, on loopback, with two CPUs:
the same output as ``termlinker link``, many files and formats, bad rows, a worker killed
mid-job, resume, the Dataset API, and ``termlinker link`` never importing ray."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("pyarrow")

from termlinker.cli import main  # noqa: E402
from termlinker.linker import LinkerConfig  # noqa: E402
from termlinker.scale.actor import CRASH_ONCE_ENV  # noqa: E402
from termlinker.scale.job import ClusterOptions, link_dataset, link_files  # noqa: E402

SAMPLE = Path(__file__).parents[2] / "resources" / "samples" / "patient_phrases.txt"
EXTRA = ["my head hurts", "  sore   legs ", "ears ringing", "headache", "can't sleep at night", "feeling sick",
         "high blood pressure", "my head hurts", "=cmd|' /C calc'!A0", "ringing in my ears"]


@pytest.fixture(scope="session")
def ray_cluster():
    """One local cluster for the file: two CPUs, no dashboard, every address on loopback."""
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", logging_level="WARNING",
             log_to_driver=False)
    node = ray._private.worker._global_node
    pids = [info.process.pid for infos in node.all_processes.values() for info in infos]
    yield
    ray.shutdown()
    left = [pid for pid in pids if _alive(pid)]
    assert not left, f"ray processes left behind: {left}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie waiting for its parent has exited too
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def opts(home) -> list[str]:
    return ["--home", str(home.root), "--threads", "1", "-q"]


@pytest.fixture
def terms_file(tmp_path) -> Path:
    path = tmp_path / "terms.txt"
    path.write_text(SAMPLE.read_text(encoding="utf-8") + "\n".join(EXTRA) + "\n", encoding="utf-8")
    return path


def plain_link(path: Path, home, vocab: Path, fmt: str, out: Path, *extra: str) -> str:
    assert main(["link", str(path), "--vocab", str(vocab), "--format", fmt, "-o", str(out), *extra, *opts(home)]) == 0
    return out.read_text(encoding="utf-8")


def cluster_link(inputs: list[Path], home, vocab: Path, fmt: str, out: Path, *extra: str) -> int:
    return main(["link-cluster", *map(str, inputs), "--vocab", str(vocab), "--format", fmt, "-o", str(out),
                 "--workers", "1", "--part-size", "4", *extra, *opts(home)])


def assert_same_jsonl(got: str, want: str) -> None:
    got_rows, want_rows = [json.loads(x) for x in got.splitlines()], [json.loads(x) for x in want.splitlines()]
    assert [r["term"] for r in got_rows] == [r["term"] for r in want_rows]  # every term once, same order
    for g, w in zip(got_rows, want_rows):
        assert g["count"] == w["count"] and g["reranked"] == w["reranked"], g["term"]
        assert [c["id"] for c in g["candidates"]] == [c["id"] for c in w["candidates"]], g["term"]
        for gc, wc in zip(g["candidates"], w["candidates"]):
            assert abs(gc["score"] - wc["score"]) <= 1e-6, g["term"]


def test_same_output_as_link(ray_cluster, home, tiny_vocab_path, terms_file, tmp_path, capsys):
    for fmt in ("jsonl", "csv"):
        want = plain_link(terms_file, home, tiny_vocab_path, fmt, tmp_path / f"plain.{fmt}")
        assert cluster_link([terms_file], home, tiny_vocab_path, fmt, tmp_path / f"out-{fmt}") == 0
        got = (tmp_path / f"out-{fmt}" / f"results.{fmt}").read_text(encoding="utf-8")
        if fmt == "jsonl":
            assert_same_jsonl(got, want)
        assert got == want  # byte for byte: the same writers over the same results
    capsys.readouterr()


def test_parquet_output(ray_cluster, home, tiny_vocab_path, terms_file, tmp_path):
    import pyarrow.parquet as pq

    want = [json.loads(x) for x in plain_link(terms_file, home, tiny_vocab_path, "jsonl", tmp_path / "p.jsonl")
            .splitlines()]
    assert cluster_link([terms_file], home, tiny_vocab_path, "parquet", tmp_path / "out") == 0
    rows = pq.read_table(tmp_path / "out" / "results.parquet").to_pylist()
    assert [(r["term"], r["count"]) for r in rows] == [(w["term"], w["count"]) for w in want]
    assert [[c["id"] for c in r["candidates"]] for r in rows] == [[c["id"] for c in w["candidates"]] for w in want]
    assert all(abs(rc["score"] - wc["score"]) <= 1e-6 for r, w in zip(rows, want)
               for rc, wc in zip(r["candidates"], w["candidates"]))


def test_many_files_and_a_folder(ray_cluster, home, tiny_vocab_path, tmp_path):
    """Counts merged across files, first-seen order of the files' concatenation (sorted names)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("headache\nmy head hurts\nsore legs\n", encoding="utf-8")
    (folder / "b.csv").write_text("term,count\nnausea,3\nheadache,2\n", encoding="utf-8")
    (folder / "c.jsonl").write_text('{"term": "ears ringing", "count": 2}\n"sore legs"\n', encoding="utf-8")
    pq.write_table(pa.table({"term": ["insomnia", "nausea", None], "count": [1, 1, 5]}), folder / "sub" / "d.parquet")
    (folder / "_work").mkdir()  # a folder of our own is skipped
    (folder / "_work" / "x.txt").write_text("not an input\n")
    flat = ["headache", "my head hurts", "sore legs", *["nausea"] * 3, *["headache"] * 2, *["ears ringing"] * 2,
            "sore legs", "insomnia", "nausea"]
    concat = tmp_path / "concat.txt"
    concat.write_text("\n".join(flat) + "\n", encoding="utf-8")
    want = plain_link(concat, home, tiny_vocab_path, "jsonl", tmp_path / "plain.jsonl")
    assert cluster_link([folder], home, tiny_vocab_path, "jsonl", tmp_path / "out", "--count-column", "count") == 0
    got = (tmp_path / "out" / "results.jsonl").read_text(encoding="utf-8")
    assert got == want
    assert [json.loads(x)["count"] for x in got.splitlines()] == [3, 1, 2, 4, 2, 1]


def test_bad_rows_are_reported_not_fatal(ray_cluster, home, tiny_vocab_path, tmp_path, capsys):
    (tmp_path / "a.csv").write_text("term,count\nheadache,2\nnausea,many\ntinnitus\n", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text('{"term": "sore legs", "count": 1}\n{not json\n{"term": 5}\n', encoding="utf-8")
    (tmp_path / "c.txt").write_text("\n\n", encoding="utf-8")  # no terms: the file is skipped, and said
    capsys.readouterr()
    rc = cluster_link([tmp_path / "a.csv", tmp_path / "b.jsonl", tmp_path / "c.txt"], home, tiny_vocab_path, "jsonl",
                      tmp_path / "out", "--count-column", "count")
    err = capsys.readouterr().err
    assert rc == 0, err
    rows = [json.loads(x) for x in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert [(r["term"], r["count"]) for r in rows] == [("headache", 2), ("sore legs", 1)]
    assert "4 bad input row(s) skipped; first: " in err and "a.csv, line 3" in err, err
    assert "1 input file(s) skipped; first: " in err and "c.txt" in err, err


def test_a_killed_worker_is_retried_and_every_term_comes_once(ray_cluster, home, tiny_vocab_path, terms_file,
                                                              tmp_path, monkeypatch):
    want = plain_link(terms_file, home, tiny_vocab_path, "jsonl", tmp_path / "plain.jsonl")
    marker = tmp_path / "crashed"
    monkeypatch.setenv(CRASH_ONCE_ENV, str(marker))
    assert cluster_link([terms_file], home, tiny_vocab_path, "jsonl", tmp_path / "out") == 0
    assert marker.is_file()  # an actor did die (os._exit) on its first part, and Ray restarted it
    assert (tmp_path / "out" / "results.jsonl").read_text(encoding="utf-8") == want


def test_a_rerun_resumes_from_the_saved_parts(ray_cluster, home, tiny_vocab_path, terms_file, tmp_path):
    config = LinkerConfig(vocabulary=str(tiny_vocab_path), threads=1)
    options = ClusterOptions(workers=1, part_size=4, quiet=True)
    out = tmp_path / "out"
    first = link_files([str(terms_file)], config, home, out, "jsonl", options=options)
    result = (out / "results.jsonl").read_text(encoding="utf-8")
    assert first.resumed_parts == 0 and first.parts > 2
    parts = sorted((out / "_work" / "parts").glob("*.parquet"))
    assert len(parts) == first.parts
    parts[0].unlink()  # as if the job had stopped before this part
    (out / "results.jsonl").unlink()
    second = link_files([str(terms_file)], config, home, out, "jsonl", options=options)
    assert second.resumed_parts == first.parts - 1
    assert (out / "results.jsonl").read_text(encoding="utf-8") == result
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*"))  # the output was written atomically


def test_link_dataset_api(ray_cluster, home, tiny_vocab_path, terms_file, tmp_path):
    import ray.data

    from termlinker import api

    assert api.link_dataset is link_dataset
    lines = [line for line in terms_file.read_text(encoding="utf-8").splitlines()]
    ds = ray.data.from_items([{"term": t, "pos": i} for i, t in enumerate(lines)])
    config = LinkerConfig(vocabulary=str(tiny_vocab_path), threads=1)
    rows = link_dataset(ds, config, home, workers=1, part_size=8).sort("pos").take_all()
    want = [json.loads(x) for x in plain_link(terms_file, home, tiny_vocab_path, "jsonl", tmp_path / "p.jsonl")
            .splitlines()]
    assert [(r["term"], r["count"]) for r in rows] == [(w["term"], w["count"]) for w in want]
    assert [[c["id"] for c in r["candidates"]] for r in rows] == [[c["id"] for c in w["candidates"]] for w in want]


def test_plain_link_never_imports_ray(home, tiny_vocab_path, terms_file):
    code = ("import sys; from termlinker.cli import main; import termlinker.api; "
            f"rc = main(['link', {str(terms_file)!r}, '--vocab', {str(tiny_vocab_path)!r}, '-q', '--threads', '1', "
            f"'--home', {str(home.root)!r}]); "
            "assert rc == 0; assert 'ray' not in sys.modules and 'pyarrow' not in sys.modules, 'imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
