"""scispaCy-style JSON Lines vocabularies, which are also the store's own format.

One concept per line: ``{"concept_id", "canonical_name", "aliases"?, "types"?,
"definition"?, "parents"?}``. Files written by :func:`save_jsonl` start with a header line
``{"_termlinker_vocabulary": {...}}`` so that name, version and citation survive a
round trip; files without one (scispaCy's own) load just the same. The header also carries what is
no concept but belongs to the vocabulary: ``"obsolete"`` (retired ids with their replacements) and
``"groups"`` (grouping nodes of the hierarchy, such as ICD-10-CM's chapters and blocks).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..atomic import atomic_open
from ..errors import VocabularyError
from ..paths import is_safe_name
from ._common import PathLike, at, build_vocabulary, check_readable, default_name, duplicate_message, guess_language
from .model import Concept, ObsoleteConcept, Vocabulary, VocabularyInfo

HEADER_KEY = "_termlinker_vocabulary"
_INFO_FIELDS = ("name", "version", "source", "citation", "language", "kind")


def load_jsonl(path: PathLike, name: str | None = None) -> Vocabulary:
    """Load a JSON Lines vocabulary; ``name`` overrides the header's and the file's name."""
    target = check_readable(path)
    header: dict[str, Any] = {}
    obsolete: dict[str, ObsoleteConcept] = {}
    groups: list[Concept] = []
    concepts: list[Concept] = []
    first_line: dict[str, int] = {}
    try:
        with open(target, "rb") as fh:
            for number, raw in enumerate(fh, start=1):
                record = _parse_line(target, number, raw)
                if record is None:
                    continue
                if HEADER_KEY in record:
                    if concepts or header:
                        raise VocabularyError(
                            f"{at(target, number)}: a {HEADER_KEY!r} header may only be the first line. "
                            "Remove this line and import again."
                        )
                    header = _header_fields(target, number, record[HEADER_KEY])
                    obsolete, groups = _header_extras(target, number, record[HEADER_KEY])
                    continue
                concept = concept_from_record(record, target, number)
                previous = first_line.get(concept.concept_id)
                if previous is not None:
                    raise VocabularyError(duplicate_message(target, concept.concept_id, previous, number))
                first_line[concept.concept_id] = number
                concepts.append(concept)
    except OSError as exc:
        raise VocabularyError(f"Cannot read vocabulary file {target}: {exc.strerror or exc}.") from exc
    info = VocabularyInfo(
        name=name or _header_name(target, header) or default_name(target),
        version=header.get("version", ""),
        source=header.get("source", "") or str(target),
        citation=header.get("citation", ""),
        language=header.get("language") or guess_language(c.canonical_name for c in concepts),
        kind=header.get("kind", ""),
    )
    return build_vocabulary(target, info, concepts, obsolete=obsolete, groups=groups)


def read_jsonl_header(path: PathLike) -> dict[str, Any] | None:
    """The header dict of a file written by :func:`save_jsonl`, or None; cheap (first line only)."""
    try:
        with open(path, "rb") as fh:
            first = fh.readline()
        record = json.loads(first.decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    if isinstance(record, dict) and isinstance(record.get(HEADER_KEY), dict):
        return record[HEADER_KEY]
    return None


def save_jsonl(vocab: Vocabulary, path: PathLike, *, extra: Mapping[str, Any] | None = None) -> None:
    """Write ``vocab`` atomically: header line (info, counts, ``extra``), then one concept per line."""
    # An empty kind (a plain vocabulary) is left out, so plain files keep the header they always had.
    header: dict[str, Any] = {field: getattr(vocab.info, field) for field in _INFO_FIELDS
                              if field != "kind" or vocab.info.kind}
    header["concepts"] = len(vocab.concepts)
    header["names"] = len(vocab.names)
    if vocab.obsolete:
        header["obsolete"] = [item.to_json() for item in vocab.obsolete.values()]
    if vocab.groups:
        header["groups"] = [group.to_json() for group in vocab.groups]
    if extra:
        header.update(extra)
    with atomic_open(path, "w", encoding="utf-8") as fh:
        fh.write(json.dumps({HEADER_KEY: header}, ensure_ascii=False))
        fh.write("\n")
        for concept in vocab.concepts:
            fh.write(json.dumps(concept.to_json(), ensure_ascii=False))
            fh.write("\n")


def concept_from_record(record: Any, path: Path, line: int) -> Concept:
    """Validate one decoded JSON record; errors name the file and line."""
    where = at(path, line)
    if not isinstance(record, dict):
        raise VocabularyError(f"{where}: expected a JSON object with concept_id and canonical_name.")
    concept_id = _required_text(record, "concept_id", where)
    canonical_name = _required_text(record, "canonical_name", where)
    definition = record.get("definition")
    if definition is None:
        definition = ""
    elif not isinstance(definition, str):
        raise VocabularyError(f"{where}: 'definition' must be a string.")
    return Concept(
        concept_id=concept_id,
        canonical_name=canonical_name,
        aliases=_text_list(record, "aliases", where),
        types=_text_list(record, "types", where),
        definition=definition.strip(),
        parents=_text_list(record, "parents", where),
    )


def _parse_line(path: Path, number: int, raw: bytes) -> dict | None:
    try:
        text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError:
        raise VocabularyError(
            f"{at(path, number)}: not UTF-8 text. JSON Lines files must be UTF-8; "
            "save the file as UTF-8 and import it again."
        ) from None
    text = text.strip()
    if not text:
        return None
    try:
        record = json.loads(text)
    except RecursionError:
        raise VocabularyError(f"{at(path, number)}: JSON nested too deeply to be a concept. "
                              "Each line must be one flat object with concept_id and canonical_name.") from None
    except ValueError as exc:
        hint = ""
        if number == 1 and text == "[":
            hint = " The file looks like one JSON array; write one JSON object per line instead."
        raise VocabularyError(f"{at(path, number)}: not valid JSON ({exc}).{hint}") from None
    if not isinstance(record, dict):
        raise VocabularyError(f"{at(path, number)}: expected a JSON object with concept_id and canonical_name.")
    return record


def _header_fields(path: Path, number: int, value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise VocabularyError(f"{at(path, number)}: the {HEADER_KEY!r} header must be a JSON object.")
    return {field: str(value[field]) for field in _INFO_FIELDS if value.get(field) is not None}


def _header_extras(path: Path, number: int, value: dict) -> tuple[dict[str, ObsoleteConcept], list[Concept]]:
    """The header's ``obsolete`` and ``groups`` lists (absent in files written before they were kept)."""
    where = at(path, number)
    obsolete: dict[str, ObsoleteConcept] = {}
    raw_obsolete = value.get("obsolete") or []
    raw_groups = value.get("groups") or []
    if not isinstance(raw_obsolete, list) or not isinstance(raw_groups, list):
        raise VocabularyError(f"{where}: the header's 'obsolete' and 'groups' must be lists. Import the "
                              "vocabulary again from its source file.")
    for item in raw_obsolete:
        if not isinstance(item, dict):
            raise VocabularyError(f"{where}: each of the header's 'obsolete' entries must be a JSON object.")
        concept_id = _required_text(item, "concept_id", where)
        name = item.get("name") or ""
        if not isinstance(name, str):
            raise VocabularyError(f"{where}: an obsolete concept's 'name' must be a string.")
        obsolete[concept_id] = ObsoleteConcept(concept_id, name.strip(), _text_list(item, "replaced_by", where),
                                               _text_list(item, "consider", where))
    groups = [concept_from_record(item, path, number) for item in raw_groups]
    return obsolete, groups


def _header_name(path: Path, header: dict[str, str]) -> str:
    """The header's name, when it can name files (rankers are saved under it): a name that is a
    path is refused, not cleaned, because only a hand-edited or hostile header holds one."""
    name = header.get("name", "")
    if name and not is_safe_name(name):
        raise VocabularyError(
            f"{path}: the {HEADER_KEY!r} header names the vocabulary {name!r}, which cannot be used as a name "
            "(letters, digits, '-', '_' or '.'; no '/', '\\' or '..'). Fix the name in the header, or import "
            "the file with `termlinker vocab import FILE --name NAME`."
        )
    return name


def _required_text(record: dict, key: str, where: str) -> str:
    value = record.get(key)
    if value is None:
        raise VocabularyError(f"{where}: missing {key!r}. Every line needs concept_id and canonical_name.")
    if not isinstance(value, str):
        raise VocabularyError(f"{where}: {key!r} must be a string, not {type(value).__name__}; put it in quotes.")
    value = value.strip()
    if not value:
        raise VocabularyError(f"{where}: {key!r} is empty.")
    return value


def _text_list(record: dict, key: str, where: str) -> tuple[str, ...]:
    value = record.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise VocabularyError(f"{where}: {key!r} must be a list of strings.")
    return tuple(item.strip() for item in value if item.strip())
