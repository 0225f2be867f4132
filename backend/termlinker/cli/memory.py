"""``termlinker memory …``: the mapping memory that proposes earlier approvals for the same term."""

from __future__ import annotations

import argparse

from ..paths import DataDirs
from .common import Commands, add_group


def add_parsers(sub: argparse._SubParsersAction) -> None:
    msub = add_group(sub, "memory", help="remembered mappings: earlier projects' approvals and mapping files")

    remember = msub.add_parser("remember", help="remember a project's approved mappings (again: replaced)")
    remember.add_argument("project", help="a .tlproj file")

    imp = msub.add_parser("import", help="remember the mappings of an SSSOM/TSV file or a TermLinker CSV export")
    imp.add_argument("file")
    imp.add_argument("--vocab", required=True, help="the vocabulary (name or file) the file's concept ids are of")

    msub.add_parser("list", help="what is remembered, by vocabulary and origin")

    forget = msub.add_parser("forget", help="forget what one origin gave")
    forget.add_argument("--vocab", required=True, help="vocabulary name, as 'memory list' shows it")
    forget.add_argument("--origin", required=True, help="as 'memory list' shows it, e.g. 'project a.tlproj'")


def _remember(args: argparse.Namespace, dirs: DataDirs) -> int:
    from ..project import Project
    from ..project.memory import MappingMemory

    with Project.open(args.project) as project, MappingMemory.in_data_folder(dirs.ensure()) as memory:
        n = memory.remember_project(project)
        vocabulary = project.info().vocabulary_name
    if not vocabulary:
        print(f"{args.project} was never linked, so it has no mappings to remember yet")
    else:
        print(f"remembered {n} approved mappings of {args.project} for {vocabulary}")
    return 0


def _import(args: argparse.Namespace, dirs: DataDirs) -> int:
    from ..project.memory import MappingMemory
    from ..vocab.store import VocabularyStore

    vocabulary = VocabularyStore(dirs.ensure()).get(args.vocab)
    with MappingMemory.in_data_folder(dirs) as memory:
        result = memory.import_file(args.file, vocabulary)
    print(f"remembered {result.remembered} mappings of {args.file} for {vocabulary.info.name}"
          f" ({result.unknown} with concepts {vocabulary.info.name} does not hold, {result.skipped} not approved "
          "mappings: skipped)")
    return 0


def _list(args: argparse.Namespace, dirs: DataDirs) -> int:
    from ..project.memory import MappingMemory

    with MappingMemory.in_data_folder(dirs.ensure()) as memory:
        sources = memory.sources()
    for vocabulary, origin, n in sources:
        print(f"{vocabulary}\t{origin}\t{n}")
    if not sources:
        print("nothing remembered yet: 'memory remember P.tlproj' or 'memory import FILE --vocab V'")
    return 0


def _forget(args: argparse.Namespace, dirs: DataDirs) -> int:
    from ..project.memory import MappingMemory

    with MappingMemory.in_data_folder(dirs.ensure()) as memory:
        n = memory.forget(args.vocab, args.origin)
    print(f"forgot {n} mappings")
    return 0


COMMANDS: Commands = {"memory": {"remember": _remember, "import": _import, "list": _list, "forget": _forget}}
