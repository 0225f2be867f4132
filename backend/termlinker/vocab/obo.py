"""OBO 1.2/1.4 ontologies (HPO, MONDO, DOID): ``[Term]`` stanzas become concepts.

:func:`parse_obo` keeps what the OBO file says (synonym scopes and types, is_a);
:func:`load_obo` turns that into a :class:`Vocabulary`. Obsolete terms are no concepts; they are
kept aside (``Vocabulary.obsolete``, with ``replaced_by`` and ``consider``) to explain old mappings.
Each concept keeps its is_a parents that are live terms of the file (``Concept.parents``).
A concept's ``types`` are the top-level branches it falls under (for HPO e.g.
``HP:0000118`` Phenotypic abnormality vs ``HP:0000005`` Mode of inheritance), so
later rooms can filter by branch.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import VocabularyError
from ._common import PathLike, at, build_vocabulary, check_readable, default_name, duplicate_message
from .model import Concept, ObsoleteConcept, Vocabulary, VocabularyInfo

SYNONYM_SCOPES = ("EXACT", "RELATED", "BROAD", "NARROW")
# OBO 1.0 spelled the scope into the tag; some old files still do.
_LEGACY_SYNONYM_TAGS = {
    "exact_synonym": "EXACT", "related_synonym": "RELATED",
    "broad_synonym": "BROAD", "narrow_synonym": "NARROW",
}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ESCAPES = {"n": " ", "t": " ", "W": " "}


@dataclass(frozen=True)
class OboSynonym:
    text: str
    scope: str = "RELATED"
    type: str = ""  # e.g. HPO's "layperson", "abbreviation", "uk_spelling"


@dataclass
class OboTerm:
    id: str
    line: int
    name: str = ""
    definition: str = ""
    namespace: str = ""
    synonyms: list[OboSynonym] = field(default_factory=list)
    is_a: list[str] = field(default_factory=list)
    obsolete: bool = False
    replaced_by: list[str] = field(default_factory=list)
    consider: list[str] = field(default_factory=list)


@dataclass
class OboDocument:
    path: Path
    header: dict[str, list[str]]
    terms: list[OboTerm]

    @property
    def version(self) -> str:
        """The release date when data-version has one (HPO: ``hp/releases/2025-01-16``), else as given."""
        data_versions = self.header.get("data-version")
        if data_versions:
            match = _DATE.search(data_versions[0])
            return match.group(0) if match else data_versions[0]
        for raw in self.header.get("property_value", []):
            if raw.startswith("owl:versionInfo"):
                value = raw[len("owl:versionInfo"):].strip()
                return _quoted(value, str(self.path))[0] if value.startswith('"') else value.split()[0]
        return ""


def parse_obo(path: PathLike, *, header_only: bool = False) -> OboDocument:
    """Read the header and every ``[Term]`` stanza; other stanzas are skipped.

    ``header_only`` stops at the first stanza: enough for :attr:`OboDocument.version`.
    """
    target = check_readable(path)
    header: dict[str, list[str]] = {}
    terms: list[OboTerm] = []
    stanza: str | None = None  # None while still in the header
    term: OboTerm | None = None
    stanza_line = 0
    try:
        with open(target, encoding="utf-8-sig") as fh:
            for number, raw in enumerate(fh, start=1):
                line = raw.strip()
                if not line or line.startswith("!"):
                    continue
                if line.startswith("[") and line.endswith("]"):
                    if header_only:
                        break
                    if term is not None:
                        terms.append(term)
                    stanza, term, stanza_line = line[1:-1].strip(), None, number
                    continue
                tag, sep, value = line.partition(":")
                if not sep:
                    raise VocabularyError(f"{at(target, number)}: expected 'tag: value' in an OBO file.")
                tag, value = tag.strip(), value.strip()
                if stanza is None:
                    header.setdefault(tag, []).append(value)
                elif stanza == "Term":
                    term = _term_line(target, number, stanza_line, term, tag, value)
            if term is not None:
                terms.append(term)
    except UnicodeDecodeError:
        raise VocabularyError(
            f"{target} is not UTF-8 text. OBO files must be UTF-8; save it as UTF-8 and try again."
        ) from None
    except OSError as exc:
        raise VocabularyError(f"Cannot read vocabulary file {target}: {exc.strerror or exc}.") from exc
    return OboDocument(target, header, terms)


def load_obo(
    path: PathLike,
    name: str | None = None,
    *,
    scopes: Collection[str] = SYNONYM_SCOPES,
    skip_synonym_types: Collection[str] = (),
) -> Vocabulary:
    """Load an OBO ontology with synonyms of every scope and type by default.

    Even synonyms typed ``obsolete_synonym`` are kept: the ontology discourages them,
    but clinicians still write them and they still mean this concept.
    """
    document = parse_obo(path)
    live = [term for term in document.terms if not term.obsolete and term.name]
    first_line: dict[str, int] = {}
    for term in live:
        if term.id in first_line:
            raise VocabularyError(duplicate_message(document.path, term.id, first_line[term.id], term.line))
        first_line[term.id] = term.line
    branches = _top_level_branches(live)
    known = set(first_line)
    concepts = [
        Concept(
            concept_id=term.id,
            canonical_name=term.name,
            aliases=tuple(
                s.text for s in term.synonyms if s.scope in scopes and s.type not in skip_synonym_types
            ),
            types=branches[term.id],
            definition=term.definition,
            parents=tuple(dict.fromkeys(p for p in term.is_a if p in known and p != term.id)),
        )
        for term in live
    ]
    obsolete = {
        term.id: ObsoleteConcept(term.id, term.name, tuple(term.replaced_by), tuple(term.consider))
        for term in document.terms if term.obsolete and term.id not in known
    }
    info = VocabularyInfo(
        name=name or default_name(document.path),
        version=document.version,
        source=str(document.path),
    )
    return build_vocabulary(document.path, info, concepts, obsolete=obsolete)


def _term_line(path: Path, number: int, stanza_line: int, term: OboTerm | None, tag: str, value: str) -> OboTerm | None:
    where = at(path, number)
    if tag == "id":
        if term is not None:
            raise VocabularyError(f"{where}: a second 'id' in the [Term] stanza that starts on line {stanza_line}.")
        return OboTerm(id=_strip_comment(value), line=number)
    if term is None:
        raise VocabularyError(f"{where}: the [Term] stanza on line {stanza_line} must start with 'id:'.")
    if tag == "name":
        term.name = _unescape(_strip_comment(value, modifiers=False)).strip()
    elif tag == "def":
        term.definition = _quoted(value, where)[0]
    elif tag == "namespace":
        term.namespace = _strip_comment(value)
    elif tag == "is_a":
        parent = _strip_comment(value).split()
        if not parent:
            raise VocabularyError(f"{where}: 'is_a' names no parent; give the parent's id or remove the line.")
        term.is_a.append(parent[0])
    elif tag == "is_obsolete":
        term.obsolete = _strip_comment(value).lower() == "true"
    elif tag in ("replaced_by", "consider"):
        target = _strip_comment(value).split()
        if target:
            getattr(term, tag).append(target[0])
    elif tag == "synonym":
        term.synonyms.append(_synonym(value, where))
    elif tag in _LEGACY_SYNONYM_TAGS:
        term.synonyms.append(OboSynonym(_quoted(value, where)[0], _LEGACY_SYNONYM_TAGS[tag]))
    return term


def _synonym(value: str, where: str) -> OboSynonym:
    """``"text" SCOPE [type] [xrefs] {modifiers}``; scope defaults to RELATED as the spec says."""
    text, rest = _quoted(value, where)
    tokens = [t for t in rest.split("[", 1)[0].split() if not t.startswith("{")]
    scope = tokens[0].upper() if tokens else "RELATED"
    if scope not in SYNONYM_SCOPES:
        raise VocabularyError(
            f"{where}: unknown synonym scope {tokens[0]!r}; expected one of {', '.join(SYNONYM_SCOPES)}."
        )
    return OboSynonym(text, scope, tokens[1] if len(tokens) > 1 else "")


def _quoted(value: str, where: str) -> tuple[str, str]:
    """Split ``"escaped text" rest`` into the unescaped text and the rest."""
    if not value.startswith('"'):
        raise VocabularyError(f'{where}: expected a quoted string ("...").')
    out: list[str] = []
    i = 1
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        if ch == '"':
            return " ".join("".join(out).split()), value[i + 1 :].strip()
        out.append(ch)
        i += 1
    raise VocabularyError(f"{where}: the quoted string is not closed; add the missing '\"'.")


def _strip_comment(value: str, modifiers: bool = True) -> str:
    """Drop a trailing ``! comment`` (an unescaped '!') and, for identifiers, ``{modifiers}``.

    Names keep a trailing ``{...}``: chemical names can end in braces, modifiers there are rare.
    """
    escaped = False
    for i, ch in enumerate(value):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "!":
            value = value[:i]
            break
    value = value.strip()
    if modifiers and value.endswith("}") and "{" in value:
        value = value[: value.rindex("{")].strip()
    return value


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), value)


def _top_level_branches(terms: list[OboTerm]) -> dict[str, tuple[str, ...]]:
    """For each term, the ancestors-or-self sitting directly under a root.

    Parents outside the file (imported ontologies) are ignored, so a term whose
    parents are all elsewhere counts as a root.
    """
    known = {term.id for term in terms}
    parents = {term.id: [p for p in term.is_a if p in known and p != term.id] for term in terms}
    memo: dict[str, tuple[str, ...]] = {}
    for start in parents:
        _walk_up(start, parents, memo)
    return memo


def _walk_up(start: str, parents: dict[str, list[str]], memo: dict[str, tuple[str, ...]]) -> None:
    """Fill ``memo`` for ``start`` and its ancestors, depth first with an explicit stack: an
    is_a chain thousands deep (a generated or hostile file) must not exhaust Python's recursion."""
    if start in memo:
        return
    memo[start] = ()  # in progress: guards against is_a cycles in broken files
    found: dict[str, set[str]] = {start: set()}
    stack = [(start, iter(parents[start]))]
    while stack:
        term_id, pending = stack[-1]
        for parent in pending:
            if not parents[parent]:
                found[term_id].add(term_id)
            elif parent in memo:
                found[term_id].update(memo[parent])
            else:
                memo[parent], found[parent] = (), set()
                stack.append((parent, iter(parents[parent])))
                break
        else:
            stack.pop()
            memo[term_id] = tuple(sorted(found.pop(term_id)))
            if stack:
                found[stack[-1][0]].update(memo[term_id])
