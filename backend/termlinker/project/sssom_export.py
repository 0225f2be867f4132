"""The SSSOM/TSV export: a project's mappings as a Simple Standard for Sharing Ontological Mappings set.

One mapping per target concept (a term mapped to three concepts gives three rows). The subject is the
free-text term itself (``subject_label`` with ``subject_type: rdfs literal``, no ``subject_id``, as
SSSOM 1.1 allows); the object is the vocabulary concept as a CURIE, every prefix declared in the
``curie_map`` of the metadata block.

- approved: ``mapping_justification`` ``semapv:ManualMappingCuration``, ``predicate_id`` the target's
  SKOS predicate, ``author_id`` the reviewer when the reviewer name is an ORCID (``orcid:…``), else
  ``author_label`` the name: the person who decided made the mapping. TermLinker records one person
  per decision, so there is no separate ``reviewer_*``.
- no match: ``skos:exactMatch`` to ``sssom:NoTermFound``, manual curation, as in SSSOM's own example.
- with ``approved_only=False`` (``--all``), every other term: its targets if it has any, else its best
  candidate, as ``semapv:SemanticSimilarityThresholdMatching`` and a comment saying it is not approved
  (``sssom:NoTermFound`` when there is no candidate).
- ``confidence``: the candidate's score (clamped to 0..1) when the target is among the candidates.

The rows are spooled to a temporary file while the prefixes they use are collected, because the
``curie_map`` comes first; memory stays flat however large the project. Text is made line- and
tab-safe (line breaks and tabs become spaces; a double quote is quoted as the SSSOM/TSV quoting rules
say). Nothing here needs the ``sssom`` package; the tests validate the output with it.
"""

from __future__ import annotations

import csv
import json
import re
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING
from urllib.parse import quote

from .model import Predicate, ProjectInfo, ReviewRow, Status, Target

if TYPE_CHECKING:
    from .exports import ExportOptions

DEFAULT_LICENSE = "https://creativecommons.org/publicdomain/zero/1.0/"
SSSOM_VERSION = "1.1"
MANUAL = "semapv:ManualMappingCuration"
PROPOSED = "semapv:SemanticSimilarityThresholdMatching"
NO_TERM_FOUND = "sssom:NoTermFound"

# Prefixes every export declares, and SSSOM's built-in ones (which must keep these expansions).
BASE_PREFIXES = {
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "semapv": "https://w3id.org/semapv/vocab/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
}
BUILT_IN_PREFIXES = {**BASE_PREFIXES, "owl": "http://www.w3.org/2002/07/owl#",
                     "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "sssom": "https://w3id.org/sssom/"}
ORCID_PREFIX = ("orcid", "https://orcid.org/")
# Concept id prefixes with a known expansion, whichever vocabulary they come from.
KNOWN_PREFIXES = {
    "HP": "http://purl.obolibrary.org/obo/HP_",
    "ICD10CM": "http://purl.bioontology.org/ontology/ICD10CM/",
    "ICD10": "https://icd.who.int/browse10/2019/en#/",
    "OMOP": "https://athena.ohdsi.org/search-terms/terms/",
}
# The prefix given to ids without one, per vocabulary (an OMOP, i.e. Athena, vocabulary: "OMOP").
VOCABULARY_PREFIXES = {"hpo": "HP", "icd10cm": "ICD10CM", "icd10-zh": "ICD10"}
VOCABULARY_URN = "urn:termlinker:vocabulary:"  # any other vocabulary's ids, and object_source
SOURCE_PREFIX = ("tlvocab", VOCABULARY_URN)
OBO_PREFIX = ("obo", "http://purl.obolibrary.org/obo/")

# Columns in the order written; the first ones always, the others when some row has a value.
REQUIRED_COLUMNS = ("subject_label", "subject_type", "predicate_id", "object_id")
COLUMNS = ("subject_label", "subject_type", "predicate_id", "object_id", "object_label", "mapping_justification",
           "confidence", "author_id", "author_label", "mapping_date", "comment")
ALWAYS = (*REQUIRED_COLUMNS, "mapping_justification")

_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_ORCID = re.compile(r"(?:https?://orcid\.org/|orcid:)?(\d{4}-\d{4}-\d{4}-\d{3}[\dX])", re.IGNORECASE)
# Line breaks (as str.splitlines knows them) and tabs: each becomes a space.
_BREAKS = re.compile(r"[\t\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def clean(text: str | None) -> str:
    """``text`` on one line without tabs."""
    return _BREAKS.sub(" ", text or "")


class Curies:
    """Concept ids as CURIEs for one vocabulary, remembering each prefix used and its expansion."""

    def __init__(self, info: ProjectInfo, omop: bool) -> None:
        self.key = (info.vocabulary_name or Path(info.vocabulary).stem).lower()
        self.used: dict[str, str] = dict(BASE_PREFIXES)
        if omop:
            self.own = "OMOP"
        else:
            self.own = VOCABULARY_PREFIXES.get(self.key) or _safe_prefix(self.key)
        self.own_expansion = KNOWN_PREFIXES.get(self.own) or f"{VOCABULARY_URN}{quote(self.key, safe='')}:"

    def use(self, prefix: str, expansion: str) -> None:
        self.used[prefix] = expansion

    def concept(self, concept_id: str) -> str:
        """``HP:0001945`` stays as it is; an id without a prefix (``R51.9``) gets the vocabulary's."""
        prefix, sep, local = concept_id.partition(":")
        if sep and local and _PREFIX.fullmatch(prefix) and prefix not in BUILT_IN_PREFIXES \
                and prefix != ORCID_PREFIX[0] and not re.search(r"[\s|]", local):
            if prefix == self.own:
                expansion = self.own_expansion
            else:
                expansion = KNOWN_PREFIXES.get(prefix) or f"{self.own_expansion}{prefix}:"
            self.use(prefix, expansion)
            return concept_id
        self.use(self.own, self.own_expansion)
        return f"{self.own}:{_local(concept_id)}"

    def source(self) -> str:
        """``object_source``: the vocabulary itself."""
        if self.key == "hpo":
            self.use(*OBO_PREFIX)
            return "obo:hp"
        self.use(*SOURCE_PREFIX)
        return f"{SOURCE_PREFIX[0]}:{_local(self.key)}"


def _safe_prefix(key: str) -> str:
    prefix = re.sub(r"[^A-Za-z0-9_]", "_", key) or "vocabulary"
    if not re.match(r"[A-Za-z_]", prefix):
        prefix = f"v_{prefix}"
    if prefix in BUILT_IN_PREFIXES or prefix in (ORCID_PREFIX[0], SOURCE_PREFIX[0], OBO_PREFIX[0]) \
            or prefix in KNOWN_PREFIXES:
        prefix = f"tl_{prefix}"
    return prefix


def _local(text: str) -> str:
    """A CURIE's local part: characters that would break one (spaces, "|", quotes) percent-encoded."""
    return quote(text, safe=":/._-~()[]+,;=@!$*'")


def _person(name: str, curies: Curies) -> dict[str, str]:
    name = clean(name).strip()
    if not name:
        return {}
    orcid = _ORCID.fullmatch(name)
    if orcid:
        curies.use(*ORCID_PREFIX)
        return {"author_id": f"orcid:{orcid.group(1).upper()}"}
    return {"author_label": name}


def _confidence(r: ReviewRow, concept_id: str) -> dict[str, str]:
    score = next((c.score for c in r.candidates if c.concept_id == concept_id), None)
    if score is None or score != score:  # not a candidate, or NaN
        return {}
    value = min(1.0, max(0.0, float(score)))
    return {"confidence": f"{value:.6f}".rstrip("0").rstrip(".") or "0"}


def records(r: ReviewRow, curies: Curies) -> Iterator[dict[str, str]]:
    """The SSSOM mappings of one term: one per target, or one for a no-match or a term without one."""
    base = {"subject_label": clean(r.term), "subject_type": "rdfs literal"}
    if r.status is Status.APPROVED and r.targets:
        decided = {**_person(r.reviewer, curies), "mapping_date": (r.decided_at or "")[:10],
                   "comment": clean(r.comment)}
        for t in r.targets:
            yield {**base, **_object(t, curies), "mapping_justification": MANUAL, **_confidence(r, t.concept_id),
                   **decided}
        return
    if r.status is Status.NO_MATCH:
        curies.use("sssom", BUILT_IN_PREFIXES["sssom"])
        yield {**base, "predicate_id": Predicate.EXACT.skos, "object_id": NO_TERM_FOUND,
               "mapping_justification": MANUAL, **_person(r.reviewer, curies),
               "mapping_date": (r.decided_at or "")[:10], "comment": clean(r.comment)}
        return
    # Unchecked or flagged (only in an export of all terms): the proposal, marked as not approved.
    best = r.best
    targets = r.targets or ((Target(best.concept_id, best.name),) if best else ())
    note = f"not approved (status {r.status.value})"
    if r.no_match:
        note += "; the re-ranker found no candidate a match"
    if r.comment:
        note += f": {clean(r.comment)}"
    if not targets:
        curies.use("sssom", BUILT_IN_PREFIXES["sssom"])
        yield {**base, "predicate_id": Predicate.EXACT.skos, "object_id": NO_TERM_FOUND,
               "mapping_justification": PROPOSED, "comment": f"{note}; no candidate"}
        return
    for t in targets:
        yield {**base, **_object(t, curies), "mapping_justification": PROPOSED, **_confidence(r, t.concept_id),
               "comment": note}


def _object(t: Target, curies: Curies) -> dict[str, str]:
    return {"predicate_id": t.predicate.skos, "object_id": curies.concept(t.concept_id),
            "object_label": clean(t.concept_name)}


def mapping_set_id(info: ProjectInfo) -> str:
    """A stable id for the project: the same for every export of it (and of a copy), from its
    creation time and vocabulary."""
    seed = f"termlinker-project|{info.created_at}|{info.vocabulary_name or info.vocabulary}"
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, seed)}"


def _yaml(value: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is YAML's), on one line."""
    return json.dumps(clean(value), ensure_ascii=False)


def metadata(info: ProjectInfo, options: "ExportOptions", curies: Curies, source: str) -> list[str]:
    """The metadata block's lines, each starting with "#"."""
    from .. import __version__

    vocab = info.vocabulary_name or Path(info.vocabulary).stem
    lines = ["#curie_map:"]
    lines += [f"#  {prefix}: {_yaml(expansion)}" for prefix, expansion in sorted(curies.used.items())]
    slots = [
        ("sssom_version", SSSOM_VERSION),
        ("mapping_set_id", options.mapping_set_id or mapping_set_id(info)),
        ("mapping_set_version", info.modified_at),
        ("mapping_set_title", f"TermLinker mappings to {vocab}"),
        ("mapping_set_description",
         "Approved mappings only." if options.approved_only else
         "All terms; mappings not approved have mapping_justification "
         "semapv:SemanticSimilarityThresholdMatching and a comment saying so."),
        ("license", options.license or DEFAULT_LICENSE),
        ("object_source", source),
        ("object_source_version", info.vocabulary_version),
        ("mapping_tool", "TermLinker"),
        ("mapping_tool_version", __version__),
        ("publication_date", options.now.date().isoformat()),
    ]
    lines += [f"#{key}: {_yaml(value)}" for key, value in slots if value]
    return lines


def write_sssom(fh: IO[str], info: ProjectInfo, rows: Iterable[ReviewRow], options: "ExportOptions",
                omop: bool = False) -> None:
    """Write the SSSOM/TSV file to ``fh``; ``omop``: the vocabulary is of OMOP concepts (ids get ``OMOP:``)."""
    curies = Curies(info, omop)
    source = curies.source()
    used = set(ALWAYS)
    name = getattr(fh, "name", None)  # spool beside the output (same disk), else in the system's temp folder
    folder = Path(name).parent if isinstance(name, str) and Path(name).parent.is_dir() else None
    with tempfile.TemporaryFile("w+", encoding="utf-8", dir=folder) as spool:
        for r in rows:
            for record in records(r, curies):
                record = {k: v for k, v in record.items() if v}
                used.update(record)
                spool.write(json.dumps(record, ensure_ascii=False))
                spool.write("\n")
        columns = [c for c in COLUMNS if c in used]
        fh.write("\n".join(metadata(info, options, curies, source)) + "\n")
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(columns)
        spool.seek(0)
        for line in spool:
            record = json.loads(line)
            writer.writerow([record.get(c, "") for c in columns])
