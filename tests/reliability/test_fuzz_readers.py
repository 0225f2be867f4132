"""Every reader, fed damaged copies of a valid file through the real command line.

For each kind of file TermLinker reads (term lists, vocabularies in each format, review
projects, label stores) a small valid file is made with TermLinker itself, then emptied, cut
short, flipped at seeded random bytes and given an oversized line (or, for SQLite files,
trailing garbage). Whatever the damage, the command either works (exit 0) or says what is
wrong in one line and exits 2: never a traceback, never a half-written output, and the input
file is left as it was. Deterministic and quick: a handful of variants per format, fixed seeds.
"""

from __future__ import annotations

import random
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from termlinker.cli import main
from benchmarks.simulated_teacher import SimulatedTeacher, serve
from termlinker.paths import DataDirs

SEEDS = (1, 2, 3)
FLIPS = 12  # bytes changed in each flipped copy
BIG = 200_000  # characters in an oversized line: past the csv module's 128 KB field limit
KEY_ENV = "TERMLINKER_FUZZ_TEACHER_KEY"
TEACHER = "fuzz-teacher"
GOLD = {"headache": "Headache", "trouble sleeping": "Insomnia", "leg pain": "Pain in lower limb",
        "feeling sick": "Nausea", "high blood pressure": "Hypertension", "ringing in the ears": "Tinnitus"}
TERMS_TEXT = "".join(f"{term}\n" for term in GOLD) + "headache\n"


@dataclass(frozen=True)
class Place:
    """Where one command runs: its data folder, its work folder, the vocabulary file and teacher URL."""

    home: DataDirs
    work: Path
    vocab: Path
    teacher_url: str

    @property
    def output(self) -> Path:
        return self.work / "out.txt"


@dataclass(frozen=True)
class Reader:
    """One command that reads one kind of file; ``outputs`` are the files it may write."""

    name: str
    suffix: str
    command: Callable[[Place, Path], list[str]]
    outputs: Callable[[Place], list[Path]]
    big_line: bytes | None  # inserted after the first line; None for binary files (garbage is appended)
    # A label store is a cache the command also writes: an empty file is a new store, set up on first use.
    sets_up_empty: bool = False


def _link(place: Place, path: Path) -> list[str]:
    return ["link", str(path), "--vocab", str(place.vocab), "-o", str(place.output)]


def _link_column(place: Place, path: Path) -> list[str]:
    return [*_link(place, path), "--column", "2"]


def _import(place: Place, path: Path) -> list[str]:
    return ["vocab", "import", str(path), "--name", "fuzzed"]


def _label(place: Place, path: Path) -> list[str]:
    terms = place.work / "terms.txt"
    terms.write_text(TERMS_TEXT, encoding="utf-8")
    return ["distill", "label", str(terms), "--vocab", str(place.vocab), "--base-url", place.teacher_url,
            "--model", TEACHER, "--api-key-env", KEY_ENV, "--top-k", "3", "--store", str(path),
            "-o", str(place.output)]


def _written_output(place: Place) -> list[Path]:
    return [place.output]


def _imported(place: Place) -> list[Path]:
    return [place.home.vocabularies / "fuzzed.jsonl"]


def _nothing(place: Place) -> list[Path]:
    return []


READERS = {
    "terms-txt": Reader("terms-txt", ".txt", _link, _written_output, b"x" * BIG + b"\n"),
    "terms-csv": Reader("terms-csv", ".csv", _link, _written_output, b'"' + b"x" * BIG + b'",note\n'),
    "terms-tsv": Reader("terms-tsv", ".tsv", _link_column, _written_output, b"9\t" + b"x" * BIG + b"\n"),
    "vocab-jsonl": Reader("vocab-jsonl", ".jsonl", _import, _imported,
                          b'{"concept_id": "B:1", "canonical_name": "' + b"x" * BIG + b'"}\n'),
    "vocab-tsv": Reader("vocab-tsv", ".tsv", _import, _imported, b"B:1\t" + b"x" * BIG + b"\n"),
    "vocab-csv": Reader("vocab-csv", ".csv", _import, _imported, b"B:1," + b"x" * BIG + b"\n"),
    "vocab-obo": Reader("vocab-obo", ".obo", _import, _imported,
                        b"[Term]\nid: B:1\nname: " + b"x" * BIG + b"\n\n"),
    "project-status": Reader("project-status", ".tlproj", lambda p, f: ["project", "status", str(f)], _nothing, None),
    "project-rows": Reader("project-rows", ".tlproj", lambda p, f: ["project", "rows", str(f), "--json"], _nothing,
                           None),
    "label-store": Reader("label-store", ".sqlite", _label, _written_output, None, sets_up_empty=True),
}

TEXT_FILES = {
    "terms-txt": TERMS_TEXT,
    "terms-csv": "term,note\n" + "".join(f"{t},seen in clinic\n" for t in GOLD),
    "terms-tsv": "id\tterm\n" + "".join(f"{i}\t{t}\n" for i, t in enumerate(GOLD, 1)),
    "vocab-tsv": "id\tname\tsynonyms\nV:1\tHeadache\tHead pain|Cephalalgia\nV:2\tInsomnia\tTrouble sleeping\n"
                 "V:3\tNausea\tFeeling sick\n",
    "vocab-csv": "id,name,synonyms\nV:1,Headache,Head pain|Cephalalgia\nV:2,Insomnia,Trouble sleeping\n"
                 "V:3,Nausea,Feeling sick\n",
    "vocab-obo": "format-version: 1.2\ndata-version: fuzz/2024-01-01\n\n"
                 '[Term]\nid: V:0\nname: All\n\n[Term]\nid: V:1\nname: Headache\nis_a: V:0 ! All\n'
                 'synonym: "Head pain" EXACT layperson []\n\n[Term]\nid: V:2\nname: Insomnia\nis_a: V:1\n'
                 'def: "Trouble sleeping." []\n',
}


def variants(data: bytes, big_line: bytes | None) -> dict[str, bytes]:
    """Damaged copies of ``data``, by name."""
    out = {"empty": b"", "truncated-third": data[: len(data) // 3],
           "truncated-two-thirds": data[: 2 * len(data) // 3 + 1]}
    for seed in SEEDS:
        rng = random.Random(seed)
        damaged = bytearray(data)
        # Seed 1 flips anywhere; the others stay in the first 4 KB: headers, and SQLite's schema page.
        span = len(data) if seed == 1 else min(len(data), 4096)
        for _ in range(FLIPS):
            damaged[rng.randrange(span)] ^= rng.randrange(1, 256)
        out[f"flipped-{seed}"] = bytes(damaged)
    if big_line is None:
        out["trailing-garbage"] = data + random.Random(0).randbytes(5000)
    else:
        first, _, rest = data.partition(b"\n")
        out["oversized-line"] = first + b"\n" + big_line + rest
    return out


@pytest.fixture(scope="module")
def place_factory(encoder_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[], Place]:
    """Fresh data and work folders per command, sharing the session's encoder and one teacher URL."""
    teacher = serve(SimulatedTeacher(GOLD, 1.0))
    url = f"http://127.0.0.1:{teacher.server_address[1]}/v1"
    vocab = Path(__file__).parent.parent / "data" / "tiny_vocab.jsonl"
    counter = iter(range(1_000_000))

    def make() -> Place:
        root = tmp_path_factory.mktemp(f"fuzz-{next(counter)}")
        home = DataDirs(root / "home").ensure()
        (home.models / "encoders").mkdir(parents=True, exist_ok=True)
        (home.models / "encoders" / "minilm").symlink_to(encoder_home / "models" / "encoders" / "minilm")
        work = root / "work"
        work.mkdir()
        return Place(home, work, vocab, url)

    yield make
    teacher.shutdown()
    teacher.server_close()


@pytest.fixture(scope="module", autouse=True)
def teacher_key() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(KEY_ENV, "sk-fuzz-not-a-real-key")
        yield


@dataclass(frozen=True)
class Outcome:
    code: int | None
    out: str
    err: str
    crash: str  # a traceback when main() raised instead of returning


def run(place: Place, argv: list[str], capsys: pytest.CaptureFixture[str]) -> Outcome:
    capsys.readouterr()
    try:
        code, crash = main(["--home", str(place.home.root), "-q", *argv]), ""
    except BaseException:  # noqa: BLE001 - anything escaping main() is what this test looks for
        code, crash = None, traceback.format_exc()
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err, crash)


@pytest.fixture(scope="module")
def valid_files(place_factory: Callable[[], Place]) -> dict[str, bytes]:
    """One valid file per reader, the SQLite ones made by TermLinker's own commands."""
    files = {name: text.encode("utf-8") for name, text in TEXT_FILES.items()}
    files["vocab-jsonl"] = (Path(__file__).parent.parent / "data" / "tiny_vocab.jsonl").read_bytes()
    files["project-status"] = files["project-rows"] = _made_project(place_factory())
    files["label-store"] = _made_label_store(place_factory())
    return files


def _made_project(place: Place) -> bytes:
    terms, project = place.work / "terms.txt", place.work / "p.tlproj"
    terms.write_text(TERMS_TEXT, encoding="utf-8")
    base = ["--home", str(place.home.root), "-q", "project"]
    assert main([*base, "new", str(project), "--vocab", str(place.vocab), "--terms", str(terms), "--top-k", "3"]) == 0
    assert main([*base, "link", str(project)]) == 0
    assert main([*base, "approve", str(project), "--min-score", "0.9", "--reviewer", "fuzz"]) == 0
    return project.read_bytes()


def _made_label_store(place: Place) -> bytes:
    store = place.work / "labels.sqlite"
    assert main(["--home", str(place.home.root), "-q", *_label(place, store), "--yes"]) == 0
    return store.read_bytes()


def cases() -> Iterator[tuple[str, str]]:
    probe = b"a\nb\n"  # only the variant names matter here
    for name, reader in READERS.items():
        for variant in variants(probe, reader.big_line):
            yield name, variant


@pytest.mark.parametrize(("reader_name", "variant"), list(cases()))
def test_a_damaged_file_is_read_or_refused_in_one_line(reader_name: str, variant: str, valid_files,
                                                       place_factory, capsys) -> None:
    reader = READERS[reader_name]
    data = variants(valid_files[reader_name], reader.big_line)[variant]
    place = place_factory()
    path = place.work / f"input{reader.suffix}"
    path.write_bytes(data)
    # Half the outputs exist beforehand: a refused command must leave them as they were.
    for i, output in enumerate(reader.outputs(place)):
        if (len(variant) + i) % 2 == 0:
            output.write_bytes(b"left from an earlier run\n")
    argv = reader.command(place, path)
    before = _files(place)

    outcome = run(place, argv, capsys)

    assert not outcome.crash, outcome.crash
    assert "Traceback" not in outcome.err
    assert outcome.code in (0, 2), outcome
    if data or not reader.sets_up_empty:
        assert path.read_bytes() == data, "the input file was changed"
    if outcome.code == 2:
        lines = outcome.err.splitlines()
        errors = [line for line in lines if line.startswith("termlinker: error:")]
        assert len(errors) == 1 and lines[-1] == errors[0], outcome.err
        assert all(line.startswith("termlinker: ") for line in lines), outcome.err  # plan or notes, then the error
        after = _files(place)
        if not data and reader.sets_up_empty:
            after[path] = before[path]
        assert after == before, "a refused command wrote or left a file"


def _files(place: Place) -> dict[Path, bytes]:
    """Every file a command could leave behind: outputs, temporaries, imported vocabularies."""
    folders = (place.work, place.home.vocabularies)
    return {p: p.read_bytes() for folder in folders for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("reader_name", list(READERS))
def test_the_valid_file_is_read(reader_name: str, valid_files, place_factory, capsys) -> None:
    """The baseline: undamaged, every reader succeeds (so refusals above are about the damage)."""
    reader = READERS[reader_name]
    place = place_factory()
    path = place.work / f"input{reader.suffix}"
    path.write_bytes(valid_files[reader_name])
    outcome = run(place, reader.command(place, path), capsys)
    assert (outcome.code, outcome.crash) == (0, ""), outcome
    assert path.read_bytes() == valid_files[reader_name]
