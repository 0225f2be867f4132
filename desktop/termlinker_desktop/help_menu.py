"""The Help menu's content: About (the version; the licences of the bundled models and of the data
folder's vocabularies) and where the user guide is."""

from __future__ import annotations

import html
import sys
from importlib import metadata
from pathlib import Path

from termlinker.api import DataDirs, TermLinkerError, VocabularyStore, reranker_names

GUIDE = Path("docs") / "user-guide.md"
GEMMA_RERANKER = "gemma3-270m"  # the registry's name for Gemma 3 270M, listed once its package is installed
MODELS = (
    ("MiniLM (all-MiniLM-L6-v2)", "the retriever's encoder", "Apache-2.0"),
    ("SmolLM2-135M-Instruct", "the re-ranker", "Apache-2.0"),
)
GEMMA = ("Gemma 3 270M", "a re-ranker", "Gemma Terms of Use (https://ai.google.dev/gemma/terms)")


def version() -> str:
    try:
        return metadata.version("termlinker")
    except metadata.PackageNotFoundError:
        return "unknown"


def about_html(dirs: DataDirs) -> str:
    """Help ▸ About: the version, then each bundled model and each vocabulary with its licence."""
    try:
        gemma = GEMMA_RERANKER in reranker_names(dirs)
    except TermLinkerError:
        gemma = False
    models = [*MODELS, *([GEMMA] if gemma else [])]
    try:
        vocabularies = [s for s in VocabularyStore(dirs).list() if s.available]
    except TermLinkerError:
        vocabularies = []
    lines = [f"<p><b>TermLinker {html.escape(version())}</b>: offline biomedical term normalisation. "
             "Linking and review run on this computer.</p>", "<p><b>Models</b></p><ul>"]
    lines += [f"<li>{html.escape(name)}, {html.escape(role)}: {html.escape(licence)}</li>"
              for name, role, licence in models]
    lines.append("</ul><p><b>Vocabularies</b> (as their sources state them)</p><ul>")
    for summary in vocabularies:
        terms = summary.citation or (f"from {summary.source}; its licence is listed here once a Run has loaded it"
                                     if summary.builtin else summary.source or "no licence or source recorded")
        lines.append(f"<li>{html.escape(f'{summary.name} {summary.version}'.strip())}: {html.escape(terms)}</li>")
    if not vocabularies:
        lines.append("<li>none in the data folder</li>")
    lines.append("</ul>")
    return "\n".join(lines)


def guide_candidates() -> list[Path]:
    """Where the user guide may be: beside the installed program (a bundle, or its data folder), or in
    the source tree."""
    bundle = getattr(sys, "_MEIPASS", None)  # a PyInstaller bundle's data files
    return [Path(sys.executable).resolve().parent / GUIDE, *([Path(bundle) / GUIDE] if bundle else []),
            Path(__file__).resolve().parents[2] / GUIDE]


def user_guide() -> Path | None:
    return next((path for path in guide_candidates() if path.is_file()), None)


GUIDE_MISSING = (f"The user guide is the file {GUIDE.as_posix()} of TermLinker's sources; it is not beside this "
                 "installation. It covers installing, linking from the command line and the desktop, "
                 "vocabularies, review projects and exports, and distillation.")
