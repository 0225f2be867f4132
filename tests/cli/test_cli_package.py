"""The command line as a package: global options before or after the command, a dispatch table
that covers every command the parser offers, and command groups that do not import each other."""

from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path

import pytest

import termlinker.cli
from termlinker.cli import COMMANDS, GROUPS, build_parser, handler_for, main
from termlinker.cli.common import group_dest

CLI_DIR = Path(termlinker.cli.__file__).parent
GOLD = {"my head hurts": "T:001", "can't sleep at night": "T:002", "sore legs": "T:003", "ears ringing": "T:007"}


@pytest.fixture
def no_default_home(tmp_path, monkeypatch):
    """The default data folder is unusable: a command that ignored --home given after it would fail."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("TERMLINKER_HOME", str(blocker))


@pytest.fixture
def gold(tmp_path) -> Path:
    path = tmp_path / "gold.tsv"
    path.write_text("".join(f"{term}\t{cid}\n" for term, cid in GOLD.items()), encoding="utf-8")
    return path


def after(home) -> list[str]:
    return ["--home", str(home.root), "--threads", "1", "-q"]


def test_global_options_after_link(home, tiny_vocab_path, tmp_path, capsys, no_default_home):
    terms = tmp_path / "t.txt"
    terms.write_text("headache\ntinnitus\n")
    rc = main(["link", str(terms), "--vocab", str(tiny_vocab_path), "--format", "jsonl", *after(home)])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert [json.loads(line)["candidates"][0]["id"] for line in out.splitlines()] == ["T:001", "T:007"]
    assert err == ""  # -q: no progress bars, no summary line


def test_global_options_after_evaluate(home, tiny_vocab_path, gold, capsys, no_default_home):
    rc = main(["evaluate", "--data", str(gold), "--vocab", str(tiny_vocab_path), "--quiet", "--home", str(home.root)])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "gold.tsv" in out and "indexing [" not in err


def test_global_options_after_project_commands(home, tiny_vocab_path, tmp_path, capsys, no_default_home):
    terms = tmp_path / "t.txt"
    terms.write_text("headache\nears ringing\n")
    proj = str(tmp_path / "p.tlproj")
    assert main(["project", "new", proj, "--vocab", str(tiny_vocab_path), "--terms", str(terms), *after(home)]) == 0
    assert main(["project", "link", proj, *after(home)]) == 0
    assert main(["project", "status", proj, "-q"]) == 0
    out, err = capsys.readouterr()
    assert "linked 2 terms" in out and "terms: 2 (linked 2, pending 0)" in out
    assert "indexing [" not in err and "linking  [" not in err


def test_global_options_after_a_distill_command(home, tiny_vocab_path, gold, tmp_path, capsys, no_default_home):
    out_dir = tmp_path / "ds"
    rc = main(["distill", "dataset", "--gold", str(gold), "--vocab", str(tiny_vocab_path), "-o", str(out_dir),
               *after(home)])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert (out_dir / "manifest.json").is_file() and "indexing [" not in err


def test_an_option_after_the_command_wins_and_one_not_given_there_is_kept():
    parse = build_parser().parse_args
    args = parse(["--home", "before", "--threads", "2", "link", "t.txt", "--threads", "5"])
    assert (args.home, args.threads, args.quiet) == ("before", 5, False)
    args = parse(["-q", "distill", "train-retriever", "data", "--home", "after"])
    assert (args.home, args.threads, args.quiet) == ("after", None, True)
    args = parse(["distill", "train-retriever", "data", "-q"])
    assert (args.home, args.threads, args.quiet) == (None, None, True)
    args = parse(["project", "status", "p.tlproj"])
    assert (args.home, args.threads, args.quiet) == (None, None, False)


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """Every command path the parser offers, groups and leaves: ("vocab",), ("vocab", "list"), ..."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield path + (name,), sub
                yield from _commands(sub, path + (name,))


def _table_paths(table: dict, path: tuple[str, ...] = ()):
    for name, entry in table.items():
        yield path + (name,)
        if isinstance(entry, dict):
            yield from _table_paths(entry, path + (name,))


def test_the_dispatch_table_covers_every_command_of_the_parser():
    commands = dict(_commands(build_parser()))
    assert len(commands) > 20
    assert set(_table_paths(COMMANDS)) == set(commands)
    for path, parser in commands.items():
        entry = COMMANDS
        for name in path:
            entry = entry[name]
        is_group = any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)
        assert isinstance(entry, dict) == is_group, path
        if not is_group:
            namespace = argparse.Namespace(command=path[0], **{group_dest(g): c for g, c in zip(path, path[1:])})
            assert handler_for(namespace) is entry and callable(entry), path


def test_every_command_takes_the_global_options():
    for path, parser in _commands(build_parser()):
        options = {o for a in parser._actions for o in a.option_strings}
        assert {"--home", "--threads", "-q", "--quiet"} <= options, path


def _group_modules() -> set[str]:
    return {group.__name__.rsplit(".", 1)[1] for group in GROUPS}


def _imported_cli_modules(path: Path) -> set[str]:
    """The modules of termlinker.cli that ``path`` (a module of termlinker.cli) imports, by short name."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("termlinker.cli."):
                    found.add(alias.name.split(".")[2])
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 1:  # from .x import y / from . import x
                found.update([module.split(".")[0]] if module else [a.name for a in node.names])
            elif node.level == 0 and module.startswith("termlinker.cli"):
                parts = module.split(".")
                found.update(parts[2:3] if len(parts) > 2 else [a.name for a in node.names])
    return found


def test_no_command_group_imports_another():
    groups = _group_modules()
    assert groups == {"link", "link_cluster", "evaluate", "vocab", "models", "bench", "project", "memory", "ranker",
                      "distill"}
    files = {p.stem: p for p in CLI_DIR.glob("*.py")}
    assert groups <= set(files)
    for name, path in files.items():
        if name in ("__init__", "__main__"):
            continue  # the package assembles the groups
        imported = _imported_cli_modules(path) & groups
        assert imported == set(), f"termlinker/cli/{path.name} imports {sorted(imported)}"


def test_the_import_check_sees_relative_and_absolute_imports(tmp_path):
    sample = tmp_path / "x.py"
    sample.write_text("from . import link\nfrom .project import x\nimport termlinker.cli.vocab\n"
                      "from termlinker.cli.models import y\nfrom termlinker.cli import bench\nfrom .common import z\n"
                      "from ..project import Project\n")
    assert _imported_cli_modules(sample) == {"link", "project", "vocab", "models", "bench", "common"}
