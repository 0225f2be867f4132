"""The review report: counts by status, predicate and reviewer, and the best-score histogram of
approved against flagged and no-match terms, as one self-contained, escaped, UTF-8 HTML file."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from termlinker.cli import main
from termlinker.project import Project
from termlinker.project.report import BINS, histogram_svg, review_report, write_report

from .conftest import FIXED


@pytest.fixture
def reviewed(project):
    """headache 0.97 approved (+ a broader target) by ann; 糖尿病 0.95 approved closeMatch by 李医生;
    legs hurt 0.72 flagged by ann; zzz 0.91 no match by <script>; 'nothing at all' unchecked."""
    project.decide("headache", "approved", reviewer="ann")
    project.add_target("headache", "T:012", "Arthralgia", predicate="broad", reviewer="ann")
    project.decide("糖尿病", "approved", concept_id="T:016", predicate="close", reviewer="李医生")
    project.decide("legs hurt", "flagged", reviewer="ann", comment="ask")
    project.decide("zzz", "no_match", reviewer="<script>alert(1)</script>")
    return project


def test_counts(reviewed):
    report = review_report(reviewed)
    assert report.terms == 5 and report.decided == 4
    assert report.by_status == {"unchecked": 1, "approved": 2, "flagged": 1, "no_match": 1}
    assert report.by_predicate == {"exact": 1, "close": 1, "broad": 1, "narrow": 0, "related": 0}
    assert report.by_reviewer == {"ann": {"approved": 1, "flagged": 1}, "<script>alert(1)</script>": {"no_match": 1},
                                  "李医生": {"approved": 1}}
    assert sum(report.approved_bins) == 2 and sum(report.rejected_bins) == 2
    assert report.approved_bins[BINS - 1] == 2  # 0.97 and 0.95: the last bin is 0.95 to 1
    assert report.rejected_bins[int(0.72 * BINS)] == 1 and report.rejected_bins[int(0.91 * BINS)] == 1
    assert report.approved_scores == pytest.approx((0.95, 0.96, 0.97))
    assert report.unscored == 0 and report.outside == 0


def test_a_decided_term_without_candidates_is_counted_but_not_plotted(reviewed):
    reviewed.decide("nothing at all", "no_match", reviewer="")
    report = review_report(reviewed)
    assert report.unscored == 1 and sum(report.rejected_bins) == 2
    assert report.by_reviewer["(no name)"] == {"no_match": 1}


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_self_contained_escaped_and_utf8(reviewed, tmp_path):
    out = tmp_path / "report.html"
    report = write_report(reviewed, out, now=FIXED)
    raw = out.read_bytes()
    html = raw.decode("utf-8")  # strict: UTF-8 only
    assert "李医生" in html and "糖尿病" not in html  # names shown; terms are counted, not listed
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<meta charset="utf-8">' in html and report.generated_at == "2024-03-05T09:30:00Z"
    parsed = _Collect()
    parsed.feed(html)
    tags = {t for t, _ in parsed.tags}
    assert "script" not in tags and "link" not in tags and "img" not in tags and "svg" in tags
    assert not [a for _, attrs in parsed.tags for k, a in attrs.items() if k in ("src", "href")]
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", html), "no external resource"
    text = " ".join(parsed.text)
    for shown in ("skos:exactMatch", "skos:closeMatch", "skos:broadMatch", "4 of 5 terms decided"):
        assert shown in text
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    root = ET.fromstring(svg)  # well-formed XML
    bars = root.findall("{http://www.w3.org/2000/svg}rect")
    assert len(bars) == 3  # one bar per non-empty bin and series: approved 0.95-1, rejected 0.70-0.75, 0.90-0.95
    assert {b.get("fill") for b in bars} == {"#2e7d32", "#c62828"}


def test_report_refuses_to_overwrite_the_project(reviewed):
    from termlinker.errors import TermLinkerError

    with pytest.raises(TermLinkerError):
        write_report(reviewed, reviewed.path)
    assert Project.open(reviewed.path).stats().terms == 5


def test_empty_project_histogram():
    svg = histogram_svg((0,) * BINS, (0,) * BINS)
    assert ET.fromstring(svg).findall("{http://www.w3.org/2000/svg}rect") == []


def test_cli_report(reviewed, tmp_path, home, capsys):
    out = tmp_path / "r.html"
    path = str(reviewed.path)
    reviewed.close()
    rc = main(["--home", str(home.root), "project", "report", path, "-o", str(out)])
    stdout, stderr = capsys.readouterr()
    assert rc == 0 and stderr == ""
    assert f"wrote the review report of 5 terms (4 decided) to {out}" in stdout
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("case", ["missing project", "not a project", "output is the project", "output a folder"])
def test_cli_report_bad_input_is_one_line_and_exit_2(case, project, tmp_path, home, capsys):
    path = str(project.path)
    project.close()
    args = {"missing project": [str(tmp_path / "nope.tlproj"), "-o", str(tmp_path / "r.html")],
            "not a project": [str(_text_file(tmp_path)), "-o", str(tmp_path / "r.html")],
            "output is the project": [path, "-o", path],
            "output a folder": [path, "-o", str(tmp_path)]}[case]
    rc = main(["--home", str(home.root), "project", "report", *args])
    _, stderr = capsys.readouterr()
    assert rc == 2
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr
    assert not (tmp_path / "r.html").exists()
    assert Project.open(path).stats().terms == 5


def _text_file(tmp_path):
    p = tmp_path / "notes.tlproj"
    p.write_text("not sqlite", encoding="utf-8")
    return p
