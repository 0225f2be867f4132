"""The review report: where a project's review stands, as one self-contained HTML file.

Counts by status, by predicate (over the targets of approved terms: a term approved with three
concepts counts three times) and by reviewer, and a histogram of the best candidate's score of the
approved terms against the flagged and no-match ones: if the two overlap little, a bulk-approval
threshold between them is safe. The histogram is an inline SVG drawn here; the file needs no script,
no stylesheet and no network, is UTF-8 and escapes every text it shows (terms, names, vocabulary).

``review_report(project)`` reads the project once (streaming its rows) into a :class:`ReviewReport`;
``write_report(project, path)`` writes it atomically. ``termlinker project report`` and the desktop's
Review ▸ Report… call the latter.
"""

from __future__ import annotations

import html
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from ..atomic import atomic_open
from ..overwrite import refuse_output_over_inputs
from .model import Predicate, ProjectInfo, Status

if TYPE_CHECKING:
    from .project import Project

BINS = 20  # the histogram's bins over best scores 0..1 (a score outside is counted in the end bin)
NO_NAME = "(no name)"


@dataclass(frozen=True)
class ReviewReport:
    """What the report shows; ``approved_bins`` and ``rejected_bins`` count best scores in ``BINS`` equal
    bins over 0..1, rejected being the flagged and no-match terms."""

    project: str  # the project file's name
    info: ProjectInfo
    terms: int
    by_status: dict[str, int]
    by_predicate: dict[str, int]
    by_reviewer: dict[str, dict[str, int]]  # reviewer -> status -> terms decided (approved, flagged, no_match)
    approved_bins: tuple[int, ...]
    rejected_bins: tuple[int, ...]
    approved_scores: tuple[float, float, float] | None  # (lowest, median, highest); None without any
    rejected_scores: tuple[float, float, float] | None
    unscored: int = 0  # approved, flagged or no-match terms without candidates (not in the histogram)
    outside: int = 0  # best scores outside 0..1, counted in the end bins
    generated_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    @property
    def decided(self) -> int:
        return self.terms - self.by_status.get(Status.UNCHECKED.value, 0)


def _bin(score: float) -> int:
    return min(BINS - 1, max(0, int(score * BINS)))


def _summary(scores: list[float]) -> tuple[float, float, float] | None:
    if not scores:
        return None
    ordered = sorted(scores)
    mid = len(ordered) // 2
    median = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    return ordered[0], median, ordered[-1]


def review_report(project: "Project", now: datetime | None = None) -> ReviewReport:
    """The report of ``project``, read in one pass over its rows."""
    by_status: Counter[str] = Counter({s.value: 0 for s in Status})
    by_predicate: Counter[str] = Counter({p.value: 0 for p in Predicate})
    by_reviewer: dict[str, Counter[str]] = {}
    approved: list[float] = []
    rejected: list[float] = []
    unscored = outside = terms = 0
    for row in project.iter_rows():
        terms += 1
        by_status[row.status.value] += 1
        if row.status is Status.UNCHECKED:
            continue
        by_reviewer.setdefault(row.reviewer.strip() or NO_NAME, Counter())[row.status.value] += 1
        if row.status is Status.APPROVED:
            by_predicate.update(t.predicate.value for t in row.targets)
        score = row.best_score
        if score is None or score != score:  # no candidates (or a NaN score)
            unscored += 1
            continue
        outside += not 0.0 <= score <= 1.0
        (approved if row.status is Status.APPROVED else rejected).append(float(score))
    stamp = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="seconds")
    return ReviewReport(
        project=project.path.name, info=project.info(), terms=terms, by_status=dict(by_status),
        by_predicate=dict(by_predicate),
        by_reviewer={name: dict(c) for name, c in sorted(by_reviewer.items(), key=lambda kv: (-sum(kv[1].values()),
                                                                                              kv[0]))},
        approved_bins=_histogram(approved), rejected_bins=_histogram(rejected),
        approved_scores=_summary(approved), rejected_scores=_summary(rejected), unscored=unscored, outside=outside,
        generated_at=stamp.replace("+00:00", "Z"),
    )


def _histogram(scores: list[float]) -> tuple[int, ...]:
    bins = [0] * BINS
    for s in scores:
        bins[_bin(s)] += 1
    return tuple(bins)


def write_report(project: "Project", path: str | os.PathLike[str], now: datetime | None = None) -> ReviewReport:
    """Write the report of ``project`` to ``path`` as one HTML file (atomically, UTF-8); returns it."""
    target = Path(path)
    refuse_output_over_inputs(target, [project.path], "report file (-o)")
    report = review_report(project, now)
    with atomic_open(target, "w", encoding="utf-8") as fh:
        fh.write(render_html(report))
    return report


# --- HTML -----------------------------------------------------------------------------

APPROVED_COLOUR = "#2e7d32"
REJECTED_COLOUR = "#c62828"
STATUS_LABELS = {"unchecked": "Unchecked", "approved": "Approved", "flagged": "Flagged", "no_match": "No match"}

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans", "PingFang SC", "Microsoft YaHei", sans-serif;
       margin: 2em auto; max-width: 60em; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border-bottom: 1px solid #ddd; padding: .25em .8em; text-align: left; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: #666; font-size: .9em; }
svg text { font-size: 11px; fill: #333; }
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table(headers: list[str], rows: list[list[object]], numeric_from: int = 1) -> str:
    def cell(tag: str, i: int, v: object) -> str:
        cls = ' class="n"' if i >= numeric_from else ""
        return f"<{tag}{cls}>{_e(v)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _percent(n: int, total: int) -> str:
    return f"{100 * n / total:.1f}%" if total else "–"


def histogram_svg(approved: tuple[int, ...], rejected: tuple[int, ...], width: int = 640, height: int = 260) -> str:
    """Two series of bars per score bin (approved green, flagged/no match red) with axes, as SVG."""
    left, right, top, bottom = 44, 12, 12, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([*approved, *rejected, 1])
    step = max(1, -(-peak // 5))  # about five y ticks
    y_max = step * -(-peak // step)
    bin_w = plot_w / BINS
    bar_w = bin_w * 0.42
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="Best-score distribution">']
    for tick in range(0, y_max + 1, step):
        y = top + plot_h - plot_h * tick / y_max
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    for i in range(BINS):
        lo = i / BINS
        for j, (counts, colour, name) in enumerate(((approved, APPROVED_COLOUR, "approved"),
                                                    (rejected, REJECTED_COLOUR, "flagged or no match"))):
            n = counts[i]
            if not n:
                continue
            h = plot_h * n / y_max
            x = left + i * bin_w + bin_w * 0.08 + j * bar_w
            parts.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                         f'fill="{colour}"><title>{n} {name}, best score {lo:.2f}–{lo + 1 / BINS:.2f}</title></rect>')
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#333"/>')
    parts.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#333"/>')
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        x = left + plot_w * tick
        parts.append(f'<line x1="{x:.1f}" y1="{top + plot_h}" x2="{x:.1f}" y2="{top + plot_h + 4}" stroke="#333"/>')
        parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="middle">{tick:g}</text>')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle">best candidate score</text>')
    parts.append(f'<text x="12" y="{top + plot_h / 2:.1f}" text-anchor="middle" '
                 f'transform="rotate(-90 12 {top + plot_h / 2:.1f})">terms</text>')
    parts.append("</svg>")
    return "".join(parts)


def _scores_line(label: str, scores: tuple[float, float, float] | None, n: int) -> str:
    if scores is None:
        return f"<li>{_e(label)}: none</li>"
    low, median, high = scores
    return f"<li>{_e(label)}: {n} terms, best score {low:.3f} to {high:.3f}, median {median:.3f}</li>"


def render_html(report: ReviewReport) -> str:
    """The whole report as one HTML document (no external resources)."""
    info = report.info
    vocab = info.vocabulary_name or info.vocabulary
    version = f" {info.vocabulary_version}" if info.vocabulary_version else ""
    status_rows = [[STATUS_LABELS.get(s, s), n, _percent(n, report.terms)] for s, n in report.by_status.items()]
    status_rows.append(["All terms", report.terms, _percent(report.terms, report.terms)])
    targets = sum(report.by_predicate.values())
    predicate_rows = [[Predicate(p).skos, n, _percent(n, targets)] for p, n in report.by_predicate.items()]
    decided_statuses = ("approved", "flagged", "no_match")
    reviewer_rows = [[name, *(counts.get(s, 0) for s in decided_statuses), sum(counts.values())]
                     for name, counts in report.by_reviewer.items()]
    notes = []
    if report.unscored:
        notes.append(f"{report.unscored} decided terms have no candidates and are not in the plot.")
    if report.outside:
        notes.append(f"{report.outside} best scores outside 0–1 are counted in the end bins.")
    legend = (f'<p><span style="color:{APPROVED_COLOUR}">■</span> approved &nbsp; '
              f'<span style="color:{REJECTED_COLOUR}">■</span> flagged or no match</p>')
    body = [
        f"<h1>Review report: {_e(report.project)}</h1>",
        f'<p class="muted">Vocabulary {_e(vocab)}{_e(version)} · created {_e(info.created_at or "–")} · '
        f"last changed {_e(info.modified_at or '–')} · report made {_e(report.generated_at)} by TermLinker</p>",
        f"<p>{report.decided} of {report.terms} terms decided ({_percent(report.decided, report.terms)}).</p>",
        "<h2>By status</h2>", _table(["Status", "Terms", "Share"], status_rows),
        "<h2>By mapping predicate</h2>",
        '<p class="muted">Over the target concepts of approved terms (a term mapped to two concepts counts '
        "twice).</p>",
        _table(["Predicate", "Targets", "Share"], predicate_rows),
        "<h2>By reviewer</h2>",
        _table(["Reviewer", "Approved", "Flagged", "No match", "Decided"], reviewer_rows) if reviewer_rows
        else "<p>No decisions yet.</p>",
        "<h2>Best-score distribution</h2>",
        '<p class="muted">The best candidate\'s score of each approved term against each flagged or no-match '
        "term. Where the two overlap little, approving everything above a threshold between them is safe.</p>",
        legend, histogram_svg(report.approved_bins, report.rejected_bins),
        "<ul>" + _scores_line("Approved", report.approved_scores, sum(report.approved_bins))
        + _scores_line("Flagged or no match", report.rejected_scores, sum(report.rejected_bins)) + "</ul>",
        *(f'<p class="muted">{_e(n)}</p>' for n in notes),
    ]
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>Review report: {_e(report.project)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")
