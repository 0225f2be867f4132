"""``termlinker project …``: everything the desktop review screen does, on the command line."""

from __future__ import annotations

import argparse
import functools
import getpass
import json
import sys

from ..errors import InputError
from ..paths import DataDirs
from .common import (Commands, add_group, bar, linker_config_from_args, print_warnings, read_term_source,
                     rerank_options, say, term_source_options)

STATUSES = ("approved", "flagged", "no_match", "unchecked")
PREDICATES = ("exact", "close", "broad", "narrow", "related")  # termlinker.project.Predicate


def add_parsers(sub: argparse._SubParsersAction) -> None:
    psub = add_group(sub, "project", help="review projects: link, review and export in one file")

    new = psub.add_parser("new", help="create a project file")
    new.add_argument("file")
    new.add_argument("--vocab", required=True, help="vocabulary name or file")
    new.add_argument("--terms", help="term list to add (.txt, .csv/.tsv)")
    term_source_options(new)
    new.add_argument("--top-k", type=int, default=10)

    add = psub.add_parser("add", help="add terms (counts merge with terms already there)")
    add.add_argument("file")
    add.add_argument("terms", help="term list (.txt, .csv/.tsv)")
    term_source_options(add)

    link = psub.add_parser("link", help="link the terms not linked yet (resumable)")
    link.add_argument("file")
    link.add_argument("--relink", action="store_true", help="link every term again (decisions are kept)")
    link.add_argument("--no-memory", action="store_true", help="do not propose remembered mappings ('memory')")
    link.add_argument("--auto-approve-remembered", action="store_true",
                      help="approve unchecked terms with their remembered mappings")
    rerank_options(link)

    recall = psub.add_parser("recall", help="propose remembered mappings for every term again ('memory')")
    recall.add_argument("file")
    recall.add_argument("--auto-approve", action="store_true",
                        help="approve unchecked terms with their remembered mappings")

    psub.add_parser("status", help="project settings and counts per status").add_argument("file")

    rows = psub.add_parser("rows", help="list terms with their candidates and decisions")
    rows.add_argument("file")
    rows.add_argument("--status", choices=STATUSES)
    rows.add_argument("--min-score", type=float)
    rows.add_argument("--max-score", type=float)
    rows.add_argument("--search", help="only terms containing this text")
    rows.add_argument("--json", action="store_true", help="one JSON object per line, all candidates")

    approve = psub.add_parser("approve", help="approve the best candidate of unchecked rows scoring at least S")
    approve.add_argument("file")
    approve.add_argument("--min-score", type=float, required=True)
    approve.add_argument("--reviewer", help="default: your user name")

    decide = psub.add_parser("decide", help="set one term's status (unchecked = undo)")
    decide.add_argument("file")
    decide.add_argument("--term", required=True)
    decide.add_argument("--status", choices=STATUSES, required=True)
    decide.add_argument("--concept", help="concept id: another candidate or any concept of the vocabulary")
    decide.add_argument("--comment")
    decide.add_argument("--predicate", choices=PREDICATES,
                        help="how the concept relates to the term (SKOS; default exact, or kept for the same concept)")
    decide.add_argument("--reviewer", help="default: your user name")

    target = psub.add_parser("target", help="map a decided term to one more concept, or drop one")
    target.add_argument("file")
    target.add_argument("--term", required=True)
    which = target.add_mutually_exclusive_group(required=True)
    which.add_argument("--add", metavar="CONCEPT", help="concept id: a candidate or any concept of the vocabulary")
    which.add_argument("--remove", metavar="CONCEPT")
    target.add_argument("--predicate", choices=PREDICATES, default="exact")
    target.add_argument("--reviewer", help="default: your user name")

    comment = psub.add_parser("comment", help="set one term's comment")
    comment.add_argument("file")
    comment.add_argument("--term", required=True)
    comment.add_argument("--text", required=True)

    revalidate = psub.add_parser("revalidate", help="check approved mappings against the vocabulary as installed "
                                 "now; flag obsolete, renamed and missing concepts with the reason")
    revalidate.add_argument("file")
    revalidate.add_argument("--dry-run", action="store_true", help="only report; change nothing")
    revalidate.add_argument("--reviewer", help="default: your user name")

    export = psub.add_parser("export", help="write approved (or all) mappings; omop needs an Athena vocabulary")
    export.add_argument("file")
    export.add_argument("--format", choices=["sssom", "csv", "json", "fhir", "omop"], required=True,
                        help="sssom: an SSSOM/TSV mapping set, the format for exchanging mappings")
    export.add_argument("--all", action="store_true", help="every term, not only approved ones")
    export.add_argument("-o", "--output", required=True)
    export.add_argument("--source-system", help="FHIR group.source URI of the input terms")
    export.add_argument("--target-system", help="FHIR group.target URI (default: from the vocabulary)")
    export.add_argument("--source-vocabulary-id", help="OMOP source_vocabulary_id (default: TermLinker)")
    export.add_argument("--target-vocabulary-id", help="OMOP target_vocabulary_id (default: each concept's own)")
    export.add_argument("--license", help="SSSOM license URL (default: CC0 1.0)")
    export.add_argument("--mapping-set-id", help="SSSOM mapping_set_id URI (default: a URN stable for the project)")

    report = psub.add_parser("report", help="an HTML review report: counts by status, predicate and reviewer, "
                                            "best-score distribution")
    report.add_argument("file")
    report.add_argument("-o", "--output", required=True, help="the HTML file to write")


def _new(args: argparse.Namespace, dirs: DataDirs) -> int:
    from ..project import Project

    if args.top_k < 1:
        raise InputError("--top-k must be at least 1.")
    terms = read_term_source(args, args.terms) if args.terms else None
    with Project.create(args.file, args.vocab, top_k=args.top_k) as project:
        added = project.add_terms(terms) if terms is not None else 0
    print(f"created {args.file} for vocabulary {args.vocab} with {added} terms")
    return 0


def _in_project(command):
    """A handler for a command on an existing project: ``command(project, args, dirs)``, the file open."""
    @functools.wraps(command)
    def handler(args: argparse.Namespace, dirs: DataDirs) -> int:
        from ..project import Project

        with Project.open(args.file) as project:
            return command(project, args, dirs)

    return handler


def _reviewer(args: argparse.Namespace) -> str:
    if getattr(args, "reviewer", None):
        return args.reviewer
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers; an empty reviewer is fine
        return ""


def _add(project, args, dirs) -> int:
    added = project.add_terms(read_term_source(args, args.terms))
    print(f"added {added} new terms; {project.stats().terms} in all")
    return 0


def _link(project, args, dirs) -> int:
    from ..api import script_warning
    from ..linker import Linker
    from ..project.memory import MappingMemory

    info = project.info()
    linker = Linker(linker_config_from_args(args, vocabulary=info.vocabulary, top_k=info.top_k), dirs=dirs,
                    progress=bar(args, "indexing"))
    print_warnings(linker.warnings)
    todo = (r.term for r in project.iter_rows()) if args.relink else (t for t, _ in project.pending_terms())
    print_warnings(filter(None, [script_warning(todo, linker.vocabulary, dirs)]))  # 头痛 against HPO
    linking = bar(args, "linking ")
    memory = None if args.no_memory or not dirs.memory.exists() else MappingMemory.in_data_folder(dirs)
    try:
        summary = project.link(linker, progress=linking, relink=args.relink, memory=memory,
                               auto_approve_remembered=args.auto_approve_remembered and memory is not None)
    except KeyboardInterrupt:
        linking.close()
        stats = project.stats()
        say(f"interrupted; {stats.linked} of {stats.terms} terms are linked and saved. "
            "Run 'project link' again to go on.")
        return 130
    finally:
        if memory is not None:
            memory.close()
    linking.close()
    print(f"linked {summary.linked} terms ({summary.skipped} already linked) to {linker.description}")
    if memory is not None:
        remembered = sum(1 for row in project.iter_rows() if row.remembered)
        if remembered:
            print(f"{remembered} terms have remembered mappings ('project rows' shows them)")
    return 0


def _recall(project, args, dirs) -> int:
    from ..project.memory import MappingMemory

    with MappingMemory.in_data_folder(dirs.ensure()) as memory:
        summary = project.recall(memory, auto_approve=args.auto_approve)
    print(f"{summary.proposed} terms have remembered mappings; {summary.approved} approved from them")
    return 0


def _status(project, args, dirs) -> int:
    info, stats = project.info(), project.stats()
    print(f"file: {project.path}")
    for key, value in info.__dict__.items():
        print(f"{key}: {value}")
    print(f"terms: {stats.terms} (linked {stats.linked}, pending {stats.pending})")
    for status, n in stats.by_status.items():
        print(f"{status}: {n}")
    return 0


def _rows(project, args, dirs) -> int:
    for row in project.rows(status=args.status, min_score=args.min_score, max_score=args.max_score, text=args.search):
        if args.json:
            print(json.dumps({"term": row.term, "count": row.count, "status": row.status.value,
                              "concept_id": row.concept_id, "concept_name": row.concept_name,
                              "predicate": row.predicate.value if row.concept_id else None,
                              "remembered": [{"id": m.concept_id, "name": m.concept_name,
                                              "predicate": m.predicate.value, "origin": m.origin}
                                             for m in row.remembered],
                              "targets": [{"id": t.concept_id, "name": t.concept_name, "predicate": t.predicate.value}
                                          for t in row.targets],
                              "comment": row.comment, "reviewer": row.reviewer, "decided_at": row.decided_at,
                              "reranked": row.reranked, "no_match": row.no_match,
                              "candidates": [{"id": c.concept_id, "name": c.name, "score": round(c.score, 6)}
                                             for c in row.candidates]}, ensure_ascii=False))
            continue
        best = row.best
        shown = f"{best.concept_id} {best.name} {best.score:.3f}" if best else "-"
        if row.remembered:
            first = row.remembered[0]
            shown = f"remembered {first.concept_id} {first.concept_name} ({first.origin}); {shown}"
        chosen = "".join(f" -> {t.concept_id} {t.concept_name}" + ("" if t.predicate.value == "exact" else
                                                                    f" ({t.predicate.value})") for t in row.targets)
        print(f"{row.term}\t{row.count}\t{row.status.value}{chosen}\t{shown}")
    return 0


def _approve(project, args, dirs) -> int:
    n = project.bulk_approve(args.min_score, reviewer=_reviewer(args))
    print(f"approved {n} unchecked terms with a best score of at least {args.min_score}")
    return 0


def _decide(project, args, dirs) -> int:
    name = None
    if args.concept is not None:
        row = project.row(args.term)
        if not any(c.concept_id == args.concept for c in row.candidates):
            name = _concept_name(project.info().vocabulary, args.concept, dirs)
    row = project.decide(args.term, args.status, concept_id=args.concept, concept_name=name, comment=args.comment,
                         reviewer=_reviewer(args), predicate=args.predicate)
    chosen = f" {row.concept_id} {row.concept_name} ({row.predicate.value})" if row.concept_id else ""
    print(f"{row.term}: {row.status.value}{chosen}")
    return 0


def _target(project, args, dirs) -> int:
    if args.remove is not None:
        row = project.remove_target(args.term, args.remove, reviewer=_reviewer(args))
    else:
        row = project.row(args.term)
        name = None
        if args.add != row.concept_id and not any(c.concept_id == args.add for c in row.candidates):
            name = _concept_name(project.info().vocabulary, args.add, dirs)
        row = project.add_target(args.term, args.add, name, predicate=args.predicate, reviewer=_reviewer(args))
    shown = "; ".join(f"{t.concept_id} {t.concept_name} ({t.predicate.value})" for t in row.targets)
    print(f"{row.term}: {shown}")
    return 0


def _concept_name(vocabulary: str, concept_id: str, dirs: DataDirs) -> str:
    """A manual concept must exist in the project's vocabulary."""
    from ..vocab.store import VocabularyStore

    return VocabularyStore(dirs.ensure()).get(vocabulary).get(concept_id).canonical_name


def _comment(project, args, dirs) -> int:
    project.comment(args.term, args.text)
    print(f"{args.term}: comment saved")
    return 0


def _export(project, args, dirs) -> int:
    from ..api import export_project

    notes: list[str] = []
    n = export_project(project, args.output, args.format, dirs, approved_only=not args.all,
                       source_system=args.source_system, target_system=args.target_system,
                       source_vocabulary_id=args.source_vocabulary_id, target_vocabulary_id=args.target_vocabulary_id,
                       notes=notes, license=args.license, mapping_set_id=args.mapping_set_id)
    print(f"wrote {n} terms to {args.output}")
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return 0


def _report(project, args, dirs) -> int:
    from ..api import write_review_report

    report = write_review_report(project, args.output)
    print(f"wrote the review report of {report.terms} terms ({report.decided} decided) to {args.output}")
    return 0


def _revalidate(args: argparse.Namespace, dirs: DataDirs) -> int:
    from ..api import revalidate_project

    check = revalidate_project(args.file, dirs.ensure(), dry_run=args.dry_run, reviewer=_reviewer(args))
    was = f" (the project had {check.old_version})" if check.old_version != check.new_version else ""
    print(f"checked {args.file} against {check.vocabulary} {check.new_version}{was}")
    for finding in check.findings:
        print(f"{finding.term}\t{finding.concept_id}\t{finding.kind}\t{finding.reason}")
    print(check.summary)
    terms = len({f.term for f in check.findings})
    if check.dry_run:
        print("dry run: nothing changed")
    elif terms:
        print(f"flagged {terms} terms; the reason is in each one's comment")
    return 0


COMMANDS: Commands = {"project": {"new": _new, "add": _in_project(_add), "link": _in_project(_link), "recall": _in_project(_recall),
                                  "status": _in_project(_status), "rows": _in_project(_rows),
                                  "approve": _in_project(_approve), "decide": _in_project(_decide), "target": _in_project(_target),
                                  "comment": _in_project(_comment), "export": _in_project(_export),
                                  "revalidate": _revalidate, "report": _in_project(_report)}}
