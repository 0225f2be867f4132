"""``termlinker vocab list | import | info``: the vocabularies in the data folder."""

from __future__ import annotations

import argparse

from ..paths import DataDirs
from .common import Commands, add_group


def add_parsers(sub: argparse._SubParsersAction) -> None:
    vsub = add_group(sub, "vocab", help="list, import and describe vocabularies")
    vsub.add_parser("list", help="vocabularies available")
    vimp = vsub.add_parser("import", help="import a JSONL, TSV/CSV or OBO vocabulary")
    vimp.add_argument("file")
    vimp.add_argument("--name", required=True)
    vinfo = vsub.add_parser("info", help="details of one vocabulary")
    vinfo.add_argument("name")


def _store(dirs: DataDirs):
    from ..vocab.store import VocabularyStore

    return VocabularyStore(dirs.ensure())


def list_vocabularies(args: argparse.Namespace, dirs: DataDirs) -> int:
    print(f"{'name':<16}{'concepts':>10}{'names':>10}  version")
    for s in _store(dirs).list():
        concepts = f"{s.concepts}" if s.concepts is not None else "-"
        names = f"{s.names}" if s.names is not None else "-"
        print(f"{s.name:<16}{concepts:>10}{names:>10}  {s.version}{'  (built-in)' if s.builtin else ''}")
    return 0


def import_vocabulary(args: argparse.Namespace, dirs: DataDirs) -> int:
    vocab = _store(dirs).import_file(args.file, args.name)
    print(f"imported {args.name}: {len(vocab)} concepts, {len(vocab.names)} names")
    return 0


def describe_vocabulary(args: argparse.Namespace, dirs: DataDirs) -> int:
    info = _store(dirs).info(args.name)
    for key, value in info.__dict__.items():
        print(f"{key}: {value}")
    return 0


COMMANDS: Commands = {"vocab": {"list": list_vocabularies, "import": import_vocabulary, "info": describe_vocabulary}}
