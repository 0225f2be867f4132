"""Training data for the local models, built from teacher labels, user gold pairs and review decisions.

Gold precedence when a term appears more than once: user gold > approved review decisions >
teacher labels (a reviewer's correction outranks the teacher it corrects). Each term goes to
training or validation by a hash of its normalised text, so reruns and growing label sets keep
every term on the same side. Two kinds of examples come out:

* retriever pairs: (term, gold concept name, one hard negative = the best retriever candidate
  that is not the gold), for in-batch-negatives fine-tuning;
* re-ranker examples: the prompt exactly as the re-ranker renders it (``render_training_example``)
  for the gold and for up to ``negatives`` other retriever candidates, as (prompt, target) JSONL.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..atomic import atomic_open, write_text
from ..errors import InputError
from ..labels import SOURCES, LabelledPair
from ..text import normalise
from ..vocab.model import Vocabulary

if TYPE_CHECKING:
    from ..linker import Linker
    from ..rerank.prompt import PromptTemplate

FILES = ("retriever_train.jsonl", "retriever_val.jsonl", "rerank_train.jsonl", "rerank_val.jsonl")
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class DatasetConfig:
    val_share: float = 0.10
    negatives: int = 3  # re-ranker hard negatives per positive
    top_k: int = 10  # retriever candidates looked at for negatives


@dataclass
class DatasetManifest:
    vocabulary: str
    vocabulary_hash: str
    encoder: str  # the retriever that nominated the hard negatives
    prompt_version: str
    val_share: float
    negatives: int
    counts: dict[str, int] = field(default_factory=dict)
    sources: dict[str, dict] = field(default_factory=dict)

    def save(self, folder: Path) -> None:
        write_text(folder / MANIFEST, json.dumps(asdict(self), indent=2, ensure_ascii=False))

    @classmethod
    def load(cls, folder: Path) -> "DatasetManifest":
        path = Path(folder) / MANIFEST
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise InputError(f"{folder} is not a training data folder (no {MANIFEST}). "
                             "Build one with `termlinker distill dataset`.") from None
        except (ValueError, TypeError) as exc:
            raise InputError(f"{path} is damaged ({exc}). Build the data folder again with "
                             "`termlinker distill dataset`.") from exc


# --- reading the sources ----------------------------------------------------------------------------


def merge_gold(pairs: Iterable[LabelledPair], vocab: Vocabulary) -> tuple[list[LabelledPair], dict[str, dict]]:
    """One pair per normalised term, by source precedence (first seen wins within a source).

    Pairs whose concept is not in ``vocab`` are dropped and counted: a label from another
    vocabulary version must not train the model towards nothing."""
    rank = {s: i for i, s in enumerate(SOURCES)}
    pairs_list = list(pairs)
    best: dict[str, LabelledPair] = {}
    stats = {s: {"read": 0, "used": 0, "unknown_concept": 0, "overridden": 0} for s in SOURCES}
    for pair in pairs_list:
        stats[pair.source]["read"] += 1
        if pair.concept_id not in vocab:
            stats[pair.source]["unknown_concept"] += 1
            continue
        key = normalise(pair.term)
        old = best.get(key)
        if old is None or rank[pair.source] < rank[old.source]:
            if old is not None:
                stats[old.source]["overridden"] += 1
            best[key] = pair
        else:
            stats[pair.source]["overridden"] += 1
    agreeing: dict[str, int] = {}
    for pair in pairs_list:
        key = normalise(pair.term)
        winner = best.get(key)
        if winner is not None and pair.concept_id == winner.concept_id:
            agreeing[key] = agreeing.get(key, 0) + pair.count
    for pair in best.values():
        stats[pair.source]["used"] += 1
    return [replace(p, count=agreeing[normalise(p.term)]) for p in best.values()], stats


def is_validation(term: str, share: float) -> bool:
    """Deterministic split: the same term lands on the same side on every run and machine."""
    digest = hashlib.sha256(normalise(term).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


# --- building ---------------------------------------------------------------------------------------


def build_dataset(pairs: list[LabelledPair], linker: "Linker", out_dir: str | Path,
                  config: DatasetConfig = DatasetConfig(), template: "PromptTemplate | None" = None,
                  source_stats: dict[str, dict] | None = None) -> DatasetManifest:
    """Write the four JSONL files and the manifest into ``out_dir``; ``pairs`` already merged."""
    from ..rerank.prompt import load_template, render_training_example

    if not 0.0 <= config.val_share < 1.0:
        raise InputError("The validation share must be at least 0 and below 1 (e.g. 0.1).")
    if not pairs:
        raise InputError("No usable labelled pairs: give teacher labels with status ok, --gold or --project "
                         "with approved decisions whose concepts are in the vocabulary.")
    template = template or load_template()
    vocab = linker.vocabulary
    out = Path(out_dir)
    results = linker.link_terms([p.term for p in pairs], top_k=max(config.top_k, config.negatives + 1))
    rows: dict[str, list[dict]] = {f: [] for f in FILES}
    for pair, result in zip(pairs, results):
        split = "val" if is_validation(pair.term, config.val_share) else "train"
        gold = vocab.get(pair.concept_id)
        others = [c for c in result.candidates if c.concept_id != pair.concept_id]
        rows[f"retriever_{split}.jsonl"].append({
            "term": pair.term, "concept_id": gold.concept_id, "positive": gold.canonical_name,
            "negative": others[0].name if others else None, "negative_id": others[0].concept_id if others else None,
            "source": pair.source, "count": pair.count})
        choices = [(gold.concept_id, gold.canonical_name, True)]
        choices += [(c.concept_id, c.name, False) for c in others[:config.negatives]]
        for concept_id, name, match in choices:
            example = render_training_example(template, pair.term, name, match)
            rows[f"rerank_{split}.jsonl"].append({
                "prompt": example.prompt, "target": example.target, "prompt_version": example.prompt_version,
                "term": pair.term, "concept_id": concept_id, "match": match, "source": pair.source})
    out.mkdir(parents=True, exist_ok=True)
    for fname, items in rows.items():
        with atomic_open(out / fname, "w", encoding="utf-8") as fh:
            for item in items:
                fh.write(json.dumps(item, ensure_ascii=False) + "\n")
    manifest = DatasetManifest(
        vocabulary=vocab.info.name, vocabulary_hash=vocab.content_hash(), encoder=linker.encoder.identity,
        prompt_version=template.version, val_share=config.val_share, negatives=config.negatives,
        counts={f.removesuffix(".jsonl"): len(items) for f, items in rows.items()}, sources=source_stats or {})
    manifest.save(out)
    return manifest


def read_jsonl(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path} is missing. Build the data folder again with `termlinker distill dataset`.")
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
