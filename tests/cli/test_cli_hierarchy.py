"""`termlinker vocab browse VOCAB ID` prints a concept's parents and children; `termlinker project
revalidate P.tlproj [--dry-run]` checks approved mappings against the vocabulary installed now."""

from __future__ import annotations

from pathlib import Path

import pytest

from termlinker.cli import main
from termlinker.paths import DataDirs
from termlinker.project import Project
from termlinker.types import Candidate, LinkResult
from termlinker.vocab.store import VocabularyStore

from ..project.test_revalidate import NEW, OLD, TERMS


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "data"  # no encoder needed: nothing here links


@pytest.fixture
def run(home: Path, capsys):
    def _run(*args: str):
        rc = main(["--home", str(home), "-q", *args])
        out, err = capsys.readouterr()
        return rc, out, err

    return _run


@pytest.fixture
def obo_files(tmp_path: Path) -> tuple[Path, Path]:
    old, new = tmp_path / "old.obo", tmp_path / "new.obo"
    old.write_text(OLD.replace("name: Insomnia\nis_a: HP:0000001", "name: Insomnia\nis_a: HP:0001250"),
                   encoding="utf-8")
    new.write_text(NEW, encoding="utf-8")
    return old, new


def test_vocab_browse_prints_parents_and_children(run, obo_files) -> None:
    assert run("vocab", "import", str(obo_files[0]), "--name", "mini")[0] == 0
    rc, out, err = run("vocab", "browse", "mini", "HP:0001250")
    assert rc == 0, err
    assert out.splitlines() == ["HP:0001250\tSeizure", "parents (1):", "  HP:0000001\tAll",
                                "children (1):", "  HP:0000012\tInsomnia"]
    rc, out, _ = run("vocab", "browse", "mini", "HP:0000001")
    assert "parents: none (a top concept)" in out and "children (4):" in out


def test_vocab_browse_of_an_unknown_id_is_one_line_and_exit_2(run, obo_files) -> None:
    run("vocab", "import", str(obo_files[1]), "--name", "mini")
    rc, out, err = run("vocab", "browse", "mini", "HP:7777777")
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and "Concept 'HP:7777777' is not in vocabulary 'mini'" in err
    rc, _, err = run("vocab", "browse", "mini", "HP:0000009")
    assert rc == 2 and "replaced by HP:0001250 (Seizure)" in err


def test_project_revalidate_dry_run_then_for_real(run, obo_files, tmp_path: Path) -> None:
    old, new = obo_files
    run("vocab", "import", str(old), "--name", "mini")
    path = tmp_path / "p.tlproj"
    with Project.create(path, "mini", vocabulary_version="2024-01-01") as project:
        project.add_terms([(term, 1) for term in TERMS])
        project.store_results([LinkResult(t, 1, (Candidate(cid, name, 0.9),)) for t, (cid, name) in TERMS.items()])
        for term in TERMS:
            project.decide(term, "approved")
    VocabularyStore(DataDirs(tmp_path / "data")).import_file(new, "mini", replace=True)  # the new release

    rc, out, err = run("project", "revalidate", str(path), "--dry-run")
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0] == f"checked {path} against mini 2025-03-01 (the project had 2024-01-01)"
    assert "fits\tHP:0000009\tobsolete\tHP:0000009 (obsolete Fits) is obsolete in mini 2025-03-01; replaced by " \
           "HP:0001250 (Seizure)." in lines
    assert any(line.startswith("odd\tHP:0000011\tmissing\t") for line in lines)
    assert any(line.startswith("sore head\tHP:0000010\trenamed\t") for line in lines)
    assert lines[-2:] == ["3 approved terms need a look against mini 2025-03-01: 1 obsolete, 1 renamed, 1 missing.",
                          "dry run: nothing changed"]
    with Project.open(path) as project:
        assert project.stats().by_status["flagged"] == 0

    rc, out, err = run("project", "revalidate", str(path), "--reviewer", "me")
    assert rc == 0, err
    assert out.splitlines()[-1] == "flagged 3 terms; the reason is in each one's comment"
    with Project.open(path) as project:
        assert project.stats().by_status["flagged"] == 3
        assert project.info().vocabulary_version == "2025-03-01"


def test_project_revalidate_of_a_missing_project_is_exit_2(run, tmp_path: Path) -> None:
    rc, out, err = run("project", "revalidate", str(tmp_path / "none.tlproj"))
    assert rc == 2 and out == "" and err.count("\n") == 1
