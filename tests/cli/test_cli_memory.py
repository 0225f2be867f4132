"""`termlinker memory …` and the project commands that use it: remember a project, import a mapping
file, list and forget; `project link` proposes remembered mappings, `project recall --auto-approve`
approves with them."""

from __future__ import annotations

import json

from termlinker.cli import main


def test_a_remembered_project_is_proposed_in_the_next_one(home, tiny_vocab_path, tmp_path, capsys):
    def run(*args):
        rc = main(["--home", str(home.root), "-q", "--threads", "1", *args])
        return (rc, *capsys.readouterr())

    terms = tmp_path / "t.txt"
    terms.write_text("my legs are killing me\nheadache\n", encoding="utf-8")
    first, second = str(tmp_path / "a.tlproj"), str(tmp_path / "b.tlproj")
    assert run("memory", "list")[1].startswith("nothing remembered yet")
    run("project", "new", first, "--vocab", str(tiny_vocab_path), "--terms", str(terms))
    run("project", "link", first)
    run("project", "decide", first, "--term", "my legs are killing me", "--status", "approved", "--concept",
        "T:003", "--predicate", "broad")
    rc, out, _ = run("memory", "remember", first)
    assert rc == 0 and "remembered 1 approved mappings" in out
    rc, out, _ = run("memory", "list")
    vocabulary, origin, count = out.strip().split("\t")
    assert (origin, count) == ("project a.tlproj", "1")

    run("project", "new", second, "--vocab", str(tiny_vocab_path), "--terms", str(terms))
    rc, out, _ = run("project", "link", second)
    assert rc == 0 and "1 terms have remembered mappings" in out
    rows = [json.loads(line) for line in run("project", "rows", second, "--json")[1].splitlines()]
    assert rows[0]["remembered"] == [{"id": "T:003", "name": "Pain in lower limb", "predicate": "broad",
                                      "origin": "project a.tlproj"}]
    assert rows[0]["status"] == "unchecked"
    rc, out, _ = run("project", "recall", second, "--auto-approve")
    assert rc == 0 and "1 approved from them" in out
    approved = json.loads(run("project", "rows", second, "--json")[1].splitlines()[0])
    assert approved["status"] == "approved" and approved["predicate"] == "broad"

    rc, out, _ = run("memory", "forget", "--vocab", vocabulary, "--origin", "project a.tlproj")
    assert rc == 0 and "forgot 1 mappings" in out
    assert run("memory", "list")[1].startswith("nothing remembered yet")


def test_importing_a_mapping_file_and_its_errors(home, tiny_vocab_path, tmp_path, capsys):
    def run(*args):
        rc = main(["--home", str(home.root), "-q", *args])
        return (rc, *capsys.readouterr())

    sssom = tmp_path / "m.sssom.tsv"
    sssom.write_text("subject_label\tpredicate_id\tobject_id\tmapping_justification\n"
                     "sore head\tskos:exactMatch\tT:001\tsemapv:ManualMappingCuration\n"
                     "x\tskos:exactMatch\tQ:1\tsemapv:ManualMappingCuration\n", encoding="utf-8")
    rc, out, _ = run("memory", "import", str(sssom), "--vocab", str(tiny_vocab_path))
    assert rc == 0 and "remembered 1 mappings" in out and "1 with concepts" in out
    rc, _, err = run("memory", "import", str(tmp_path / "nope.tsv"), "--vocab", str(tiny_vocab_path))
    assert rc == 2 and "no mapping file" in err and len(err.strip().splitlines()) == 1
