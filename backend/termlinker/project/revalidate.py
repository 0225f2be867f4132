"""Checking a project's approved mappings against a newer release of its vocabulary.

:func:`check_mappings` reads only: every approved term whose concept (or a further target) is now
obsolete, renamed or gone becomes a :class:`Finding` with the reason. :func:`revalidate` also flags
those terms (``Project.decide(term, "flagged", concept_id=…, comment=…)``: the concept is kept, the
reason is added to the comment) and records the vocabulary's new version in the project, so the
check is not offered again for the same release. ``dry_run`` reports without changing anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..progress import CancelToken, ProgressFn, no_progress
from ..vocab.hierarchy import obsolete_message, replacement_ids
from ..vocab.model import Vocabulary
from . import schema
from .errors import VocabularyMismatchError
from .model import ReviewRow, Status
from .project import Project

OBSOLETE, RENAMED, MISSING = "obsolete", "renamed", "missing"
COMMENT_PREFIX = "Vocabulary check: "


@dataclass(frozen=True)
class Finding:
    """One approved mapping the installed vocabulary no longer supports as it was approved."""

    term: str
    concept_id: str
    concept_name: str  # as approved
    kind: str  # OBSOLETE, RENAMED or MISSING
    reason: str  # one sentence a reviewer can act on
    replacements: tuple[str, ...] = ()  # for an obsolete concept: the ids the vocabulary suggests instead
    current_name: str = ""  # for a renamed concept: its name now


def check_mappings(project: Project, vocabulary: Vocabulary) -> list[Finding]:
    """The findings for every approved term, in the project's order; changes nothing."""
    _check_same_vocabulary(project, vocabulary)
    findings: list[Finding] = []
    for row in project.iter_rows(Status.APPROVED):
        findings.extend(_row_findings(row, vocabulary))
    return findings


def revalidate(project: Project, vocabulary: Vocabulary, *, dry_run: bool = False, reviewer: str | None = None,
               progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> list[Finding]:
    """Flag every approved term with a finding (the reason in its comment) and record the vocabulary's
    version as the project's; with ``dry_run``, only report. Returns the findings."""
    findings = check_mappings(project, vocabulary)
    if dry_run:
        return findings
    report = progress or no_progress
    by_term: dict[str, list[Finding]] = {}
    for finding in findings:
        by_term.setdefault(finding.term, []).append(finding)
    for done, (term, found) in enumerate(by_term.items(), start=1):
        if cancel is not None:
            cancel.raise_if_cancelled()
        row = project.row(term)
        reason = COMMENT_PREFIX + " ".join(f.reason for f in found)
        comment = f"{row.comment} · {reason}" if row.comment else reason
        project.decide(term, Status.FLAGGED, concept_id=row.concept_id, concept_name=row.concept_name,
                       comment=comment, reviewer=reviewer)
        report(done, len(by_term))
    record_vocabulary_version(project, vocabulary.info.version)
    return findings


def record_vocabulary_version(project: Project, version: str) -> None:
    """The project was checked against ``version``: it is the project's vocabulary version from now on."""
    conn = project._conn  # the project's own connection; meta is a key-value table, no schema change
    with schema.transaction(conn):
        schema.set_meta(conn, {"vocabulary_version": version})


def needs_check(stored_version: str, installed_version: str) -> bool:
    """Whether a project linked against ``stored_version`` should be checked against the installed one."""
    return bool(stored_version and installed_version and stored_version != installed_version)


def summary_line(findings: Iterable[Finding], checked_version: str) -> str:
    """'3 approved terms need a look against hpo 2025-03-01: 1 obsolete, 1 renamed, 1 missing.'"""
    items = list(findings)
    if not items:
        return f"Every approved mapping is still valid in {checked_version}."
    terms = len({f.term for f in items})
    counts = {kind: sum(f.kind == kind for f in items) for kind in (OBSOLETE, RENAMED, MISSING)}
    parts = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
    noun = "term needs" if terms == 1 else "terms need"
    return f"{terms} approved {noun} a look against {checked_version}: {parts}."


def _row_findings(row: ReviewRow, vocabulary: Vocabulary) -> list[Finding]:
    out = []
    for target in row.targets:
        finding = _finding(row.term, target.concept_id, target.concept_name, vocabulary)
        if finding is not None:
            out.append(finding)
    return out


def _finding(term: str, concept_id: str, approved_name: str, vocabulary: Vocabulary) -> Finding | None:
    release = f"{vocabulary.info.name} {vocabulary.info.version}".strip()
    if concept_id in vocabulary:
        current = vocabulary.get(concept_id).canonical_name
        if _same_name(current, approved_name):
            return None
        return Finding(term, concept_id, approved_name, RENAMED,
                       f"{concept_id} is now called {current!r} in {release} (approved as {approved_name!r}).",
                       current_name=current)
    if concept_id in vocabulary.obsolete:
        return Finding(term, concept_id, approved_name, OBSOLETE, obsolete_message(vocabulary, concept_id),
                       replacements=replacement_ids(vocabulary, concept_id))
    return Finding(term, concept_id, approved_name, MISSING,
                   f"{concept_id} ({approved_name}) is no longer in {release}; choose another concept.")


def _same_name(a: str, b: str) -> bool:
    """Names equal but for case and spacing: a capital letter changed is no rename worth a review."""
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _check_same_vocabulary(project: Project, vocabulary: Vocabulary) -> None:
    known = project.info().vocabulary_name
    # "hpo+learned" (linked with learned aliases) is still checked against "hpo"
    if known and known.split("+")[0] != vocabulary.info.name.split("+")[0]:
        raise VocabularyMismatchError(
            f"This project was linked against {known!r}, not {vocabulary.info.name!r}. Check it against its "
            "own vocabulary.")
