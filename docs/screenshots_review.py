"""The review features' shots, for ``docs/screenshots.py --only review`` (which runs this under Xvfb).

Everything runs for real in a temporary data folder (the exported encoder is linked in, not copied):
a small symptom ontology written here as OBO, release 2024-01-01, with a hierarchy; a first project
(ward 3) whose approvals are remembered when it is closed; a second project (ward 5) linked against
it, where a term is approved as a broader concept, a term gets a further target, a candidate is
browsed and a remembered mapping is proposed; then release 2025-03-01 of the same ontology is
installed (one concept made obsolete with a replacement, one renamed, one removed) and the project
is checked against it; last the review report is saved and rendered. The ontology is an example
made for the shots (ids EX:…), not a real release.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

# id, name, parents, synonyms, definition
CONCEPTS = [
    ("EX:0000001", "All", (), (), ""),
    ("EX:0000100", "Abnormality of the nervous system", ("EX:0000001",), (), ""),
    ("EX:0000200", "Abnormality of the digestive system", ("EX:0000001",), (), ""),
    ("EX:0000300", "Abnormality of sleep", ("EX:0000100",), (), ""),
    ("EX:0000400", "Pain", ("EX:0000001",), ("Ache",), "An unpleasant sensory and emotional experience."),
    ("EX:0001250", "Seizure", ("EX:0000100",), ("Fit", "Fits", "Epileptic seizure"),
     "An intermittent abnormality of nervous system physiology characterised by a transient occurrence of "
     "signs and/or symptoms due to abnormal excessive or synchronous neuronal activity in the brain."),
    ("EX:0007359", "Focal seizure", ("EX:0001250",), ("Partial seizure",), ""),
    ("EX:0002197", "Generalized seizure", ("EX:0001250",), ("Generalised seizure",), ""),
    ("EX:0002373", "Febrile seizure", ("EX:0001250",), ("Fever fit", "Febrile convulsion"), ""),
    ("EX:0002321", "Vertigo", ("EX:0000100",), ("Dizzy spell", "Room spinning"), ""),
    ("EX:0002315", "Headache", ("EX:0000400", "EX:0000100"), ("Head pain", "Cephalgia"),
     "Cephalgia, or pain sensed in various parts of the head, not confined to any nerve distribution."),
    ("EX:0002076", "Migraine", ("EX:0002315",), ("Migraine headache",), ""),
    ("EX:0002077", "Migraine with aura", ("EX:0002076",), ("Classic migraine",), ""),
    ("EX:0012228", "Tension-type headache", ("EX:0002315",), ("Tension headache",), ""),
    ("EX:0002027", "Abdominal pain", ("EX:0000400", "EX:0000200"), ("Stomach ache", "Tummy ache"), ""),
    ("EX:0030766", "Ear pain", ("EX:0000400",), ("Earache",), ""),
    ("EX:0100749", "Chest pain", ("EX:0000400",), (), ""),
    ("EX:0002013", "Vomiting", ("EX:0000200",), ("Throwing up", "Being sick"), ""),
    ("EX:0002018", "Nausea", ("EX:0000200",), ("Feeling sick",), ""),
    ("EX:0000009", "Queasiness", ("EX:0000200",), ("Queasy",), ""),
    ("EX:0002014", "Diarrhea", ("EX:0000200",), ("Diarrhoea", "Loose stools"), ""),
    ("EX:0002360", "Sleep disturbance", ("EX:0000300",), (), ""),
    ("EX:0100785", "Insomnia", ("EX:0002360",), ("Sleeplessness", "Difficulty sleeping"), ""),
    ("EX:0000011", "Night waking", ("EX:0002360",), ("Waking at night",), ""),
    ("EX:0001262", "Somnolence", ("EX:0000300",), ("Excessive daytime sleepiness",), ""),
    ("EX:0012378", "Fatigue", ("EX:0000001",), ("Tiredness",), ""),
    ("EX:0001945", "Fever", ("EX:0000001",), ("High temperature", "Pyrexia"), ""),
]
OBSOLETE, RENAMED, REMOVED = "EX:0000009", ("EX:0030766", "Otalgia"), "EX:0000011"
REPLACEMENT = "EX:0002018"  # Nausea replaces Queasiness

# The first project's approvals (remembered when it is closed): term -> (concept id, relation)
WARD_3 = {"sore head": ("EX:0002315", "exact"), "dizzy spells": ("EX:0002321", "close"),
          "tummy ache": ("EX:0002027", "exact")}
# The second project's terms and what is approved (None: left for a shot); flagged and no-match ones
# give the report's histogram its second colour.
WARD_5 = {"throbbing pain behind my eye": ("EX:0002315", "broad"), "headache and vomiting": ("EX:0002315", "close"),
          "fits": None, "sore head": None, "feeling queasy": ("EX:0000009", "exact"),
          "earache": ("EX:0030766", "exact"), "waking at night": ("EX:0000011", "exact"),
          "cannot sleep": ("EX:0100785", "exact"), "always tired": ("EX:0012378", "exact"),
          "high temperature": ("EX:0001945", "exact"), "loose stools": ("EX:0002014", "exact"),
          "chest pain": ("EX:0100749", "exact"), "tension headache": ("EX:0012228", "exact"),
          "dizzy spells": None, "tummy ache": None}
FLAGGED = ("funny turns", "pins and needles")
NO_MATCH = ("ringing in my ears",)


def obo(release: str) -> str:
    """The example ontology as OBO: release 1 as listed, release 2 with the three changes."""
    new = release != "2024-01-01"
    out = ["format-version: 1.2", f"data-version: ex/releases/{release}", "ontology: ex", ""]
    for cid, name, parents, synonyms, definition in CONCEPTS:
        if new and cid == REMOVED:
            continue
        if new and cid == RENAMED[0]:
            name, synonyms = RENAMED[1], (*synonyms, "Ear pain")
        out += ["[Term]", f"id: {cid}"]
        if new and cid == OBSOLETE:
            out += [f"name: obsolete {name}", "is_obsolete: true", f"replaced_by: {REPLACEMENT}", ""]
            continue
        out.append(f"name: {name}")
        if definition:
            out.append(f'def: "{definition}" []')
        out += [f'synonym: "{s}" EXACT []' for s in synonyms]
        out += [f"is_a: {p}" for p in parents]
        out.append("")
    return "\n".join(out)


def shoot_review(tmp: Path, main_home: Path, settle: Callable, save: Callable, ShotWindow: type) -> None:
    from PySide6.QtCore import QRect, QUrl
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QMessageBox

    from termlinker.api import write_review_report
    from termlinker.models import ensure_encoder
    from termlinker.paths import DataDirs
    from termlinker.project import Predicate, Project, Status
    from termlinker.vocab.store import VocabularyStore
    from termlinker_desktop.detail_panel import CONCEPT_ROLE
    from termlinker_desktop.settings import Settings

    dirs = DataDirs(tmp / "review-home").ensure()
    shared = main_home / "models" / "encoders" / "minilm"
    if (shared / "encoder.json").exists():  # reuse the exported encoder instead of exporting it again
        (dirs.models / "encoders").mkdir(parents=True, exist_ok=True)
        os.symlink(shared, dirs.models / "encoders" / "minilm")
    else:
        ensure_encoder(dirs)
    releases = {}
    for release in ("2024-01-01", "2025-03-01"):
        releases[release] = tmp / f"ex-{release}.obo"
        releases[release].write_text(obo(release), encoding="utf-8")
    store = VocabularyStore(dirs)
    store.import_file(releases["2024-01-01"], "ex-symptoms", replace=True)
    names = {cid: name for cid, name, *_ in CONCEPTS}

    class ReviewShotWindow(ShotWindow):
        """Also shows the question named in ``capture`` (title -> PNG) for a shot, then answers yes."""

        capture: dict[str, str] = {}

        def ask_yes_no(self, title: str, question: str) -> bool:
            name = self.capture.pop(title, None)
            if name is None:
                return True
            box = QMessageBox(QMessageBox.Icon.Question, title, question,
                              QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
            box.show()
            settle()
            save(box, name)
            box.close()
            return True

    window = ReviewShotWindow(Settings(vocabulary="ex-symptoms", data_folder=str(dirs.root), reviewer="M. Chen"),
                              settings_file=tmp / "config" / "review-desktop.json", dirs=dirs)
    window.resize(1390, 860)
    window.show()

    def link(project_name: str, terms: list[str]) -> None:
        window._set_project(Project.create(tmp / project_name, "ex-symptoms"))
        window.paste_box.setPlainText("\n".join(terms) + "\n")
        window.run()
        settle(lambda: window._op is None)
        settle(lambda: window.models.project_vocabulary() is not None, timeout=5)

    def approve(term: str, concept_id: str, predicate: str) -> None:
        assert window.select_term(term), term
        box = window.detail.predicate_box
        box.setCurrentIndex(box.findData(predicate))
        window.decide(Status.APPROVED.value, concept_id, names[concept_id])

    def highlight(concept_id: str) -> None:
        candidates = window.detail.candidates
        for index in range(candidates.count()):
            if candidates.item(index).data(CONCEPT_ROLE)[0] == concept_id:
                candidates.setCurrentRow(index)
                return
        raise SystemExit(f"{concept_id} is no candidate of {window.current_row().term!r}")

    def detail_shot(name: str) -> None:
        settle()
        save(window.detail, name)

    # Ward 3: approved, then remembered when the next project takes its place.
    link("ward-3-2024.tlproj", list(WARD_3))
    for term, (cid, predicate) in WARD_3.items():
        approve(term, cid, predicate)

    # Ward 5.
    link("ward-5-2025.tlproj", [*WARD_5, *FLAGGED, *NO_MATCH])
    for term, decision in WARD_5.items():
        if decision is not None:
            approve(term, *decision)
    for term in FLAGGED:
        window.select_term(term)
        window.decide(Status.FLAGGED.value)
    for term in NO_MATCH:
        window.select_term(term)
        window.decide(Status.NO_MATCH.value)

    # 1. The relation box, open, on a term approved as a broader concept.
    window.select_term("throbbing pain behind my eye")
    settle()
    box = window.detail.predicate_box
    assert window.detail.predicate() is Predicate.BROAD
    box.showPopup()
    settle()
    panel = window.detail
    top_left = panel.mapToGlobal(panel.rect().topLeft())
    area = QRect(top_left, panel.size())
    popup = box.view().window()
    area = area.united(QRect(popup.mapToGlobal(popup.rect().topLeft()), popup.size()))
    grab = QGuiApplication.primaryScreen().grabWindow(0, area.x(), area.y(), area.width(), area.height())
    save_pixmap(grab, "desktop-relation.png")
    box.hidePopup()

    # 2. A further target: "headache and vomiting" maps to Vomiting too.
    window.select_term("headache and vomiting")
    highlight("EX:0002013")
    box.setCurrentIndex(box.findData(Predicate.CLOSE.value))
    panel.add_target_button.click()
    assert [t.concept_id for t in window.current_row().extra_targets] == ["EX:0002013"]
    detail_shot("desktop-further-target.png")

    # 3. The concept browser on "fits": Seizure's broader and narrower concepts.
    window.select_term("fits")
    highlight("EX:0001250")
    assert panel.browser.current == "EX:0001250", panel.browser.current
    detail_shot("desktop-concept-browser.png")

    # 4. A remembered mapping: ward 3 approved "sore head" as Headache.
    window.select_term("sore head")
    row = window.current_row()
    assert row.remembered and row.remembered[0].concept_id == "EX:0002315", row.remembered
    detail_shot("desktop-remembered.png")

    # 5. Release 2 of the ontology is installed; Review ▸ Check Against Installed Vocabulary….
    store.import_file(releases["2025-03-01"], "ex-symptoms", replace=True)
    window.capture = {"Vocabulary check": "desktop-vocabulary-check.png"}
    window.vocab_check.check()
    settle(lambda: window.vocab_check.last is not None and window._op is None)
    settle(lambda: window._op is None)
    assert not window.capture, "the check asked nothing"

    # 6. The review report, rendered by Qt WebEngine as a browser shows it.
    report = tmp / "ward-5-2025-report.html"
    write_review_report(window.project, report)
    window.close()
    settle()
    shoot_report(report, settle, QUrl)


def shoot_report(report: Path, settle: Callable, QUrl) -> None:
    from PySide6.QtWebEngineWidgets import QWebEngineView

    view = QWebEngineView()
    loaded: list[bool] = []
    view.loadFinished.connect(loaded.append)
    view.resize(900, 1000)
    view.show()
    view.load(QUrl.fromLocalFile(str(report)))
    settle(lambda: bool(loaded), timeout=60)
    if not loaded or not loaded[0]:
        raise SystemExit(f"Qt WebEngine could not load {report}")
    height: list[int] = []
    view.page().runJavaScript("document.documentElement.scrollHeight", 0, height.append)
    settle(lambda: bool(height), timeout=20)
    view.resize(900, min(1600, int(height[0]) + 4) if height else 1400)
    settle()
    time.sleep(1.0)  # the compositor's frame
    settle()
    save_pixmap(view.grab(), "review-report.png")
    view.close()


def save_pixmap(pixmap, name: str) -> None:
    docs = Path(__file__).resolve().parent
    path = docs / name
    if pixmap.isNull() or not pixmap.save(str(path), "PNG", 0):
        raise SystemExit(f"could not write {path}")
    print(f"{path} ({path.stat().st_size // 1024} KB)", file=sys.stderr)

