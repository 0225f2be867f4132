"""``termlinker vocab list | import | info | browse``: the vocabularies in the data folder."""

from __future__ import annotations

import argparse

from ..paths import DataDirs
from .common import Commands, add_group


def add_parsers(sub: argparse._SubParsersAction) -> None:
    vsub = add_group(sub, "vocab", help="list, import and describe vocabularies")
    vsub.add_parser("list", help="vocabularies available")
    vimp = vsub.add_parser("import", help="import a JSONL, TSV/CSV or OBO vocabulary, or an OHDSI Athena download")
    vimp.add_argument("file", help="the vocabulary file, or the unzipped Athena folder (holding CONCEPT.csv)")
    vimp.add_argument("--name", required=True)
    vimp.add_argument("--vocabulary-id", action="append", default=[], dest="vocabulary_ids", metavar="ID",
                      help="Athena only: keep the concepts of this vocabulary_id (SNOMED, ICD10CM, …); "
                      "repeatable; default: all")
    vinfo = vsub.add_parser("info", help="details of one vocabulary")
    vinfo.add_argument("name")
    vbrowse = vsub.add_parser("browse", help="a concept's parents and children (OBO is_a; ICD-10 codes, blocks, "
                              "chapters)")
    vbrowse.add_argument("name", help="vocabulary name or file")
    vbrowse.add_argument("concept", help="concept id, e.g. HP:0001250, R51, or an ICD-10-CM block such as R50-R69")


def _store(dirs: DataDirs):
    from ..vocab.store import VocabularyStore

    return VocabularyStore(dirs.ensure())


def list_vocabularies(args: argparse.Namespace, dirs: DataDirs) -> int:
    from ..vocab.athena import OMOP_KIND

    print(f"{'name':<16}{'concepts':>10}{'names':>10}  version")
    for s in _store(dirs).list():
        concepts = f"{s.concepts}" if s.concepts is not None else "-"
        names = f"{s.names}" if s.names is not None else "-"
        marks = ("  (built-in)" if s.builtin else "") + ("  (OMOP, from Athena)" if s.kind == OMOP_KIND else "")
        print(f"{s.name:<16}{concepts:>10}{names:>10}  {s.version}{marks}")
    return 0


def import_vocabulary(args: argparse.Namespace, dirs: DataDirs) -> int:
    from ..vocab.athena import OMOP_KIND, omop_fields

    vocab = _store(dirs).import_file(args.file, args.name, vocabulary_ids=args.vocabulary_ids)
    omop = ""
    if vocab.info.kind == OMOP_KIND:
        ids = sorted({omop_fields(c)["vocabulary_id"] for c in vocab})
        omop = f" (OMOP concepts from Athena: {', '.join(ids)}; OMOP exports write their concept_ids)"
    print(f"imported {args.name}: {len(vocab)} concepts, {len(vocab.names)} names{omop}")
    return 0


def describe_vocabulary(args: argparse.Namespace, dirs: DataDirs) -> int:
    info = _store(dirs).info(args.name)
    for key, value in info.__dict__.items():
        print(f"{key}: {value}")
    return 0


def browse_vocabulary(args: argparse.Namespace, dirs: DataDirs) -> int:
    from ..api import browse_concept

    vocabulary = _store(dirs).get(args.name)
    near = browse_concept(vocabulary, args.concept)

    def line(ref) -> str:
        return f"  {ref.concept_id}\t{ref.name}" + ("\t(group)" if ref.is_group else "")

    print(f"{near.node.concept_id}\t{near.node.name}" + ("\t(group: a block or chapter, not a code)"
                                                          if near.node.is_group else ""))
    print(f"parents ({len(near.parents)}):" if near.parents else "parents: none (a top concept)")
    for ref in near.parents:
        print(line(ref))
    print(f"children ({len(near.children)}):" if near.children else "children: none")
    for ref in near.children:
        print(line(ref))
    return 0


COMMANDS: Commands = {"vocab": {"list": list_vocabularies, "import": import_vocabulary, "info": describe_vocabulary,
                                "browse": browse_vocabulary}}
