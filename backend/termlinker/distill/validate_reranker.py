"""Decide whether a freshly distilled re-ranker replaces the active one, on held-out labelled terms.

Both models score the validation terms' retriever candidates once; each gets its own fusion and
skip rules calibrated on those margins (``rerank.calibration``); the best exported file of the
new model (highest re-ranked Acc@1, then MRR, then the faster scoring as timed here) is
registered with its rules and figures, and activated only if its re-ranked Acc@1 beats the
current model's. A LoRA adapter export is scored, and registered, over its base file.
Activation is the registry's atomic switch; the previous model stays for roll-back.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import InputError
from ..evaluation.metrics import RankingScores
from ..paths import DataDirs
from ..progress import CancelToken, ProgressFn, no_progress
from ..rerank.calibration import Calibration, calibrate
from ..rerank.prompt import load_template
from ..rerank.registry import RerankerModel, RerankerRegistry, language_key
from ..rerank.scorer import LlamaScorer, ScorerConfig
from ..types import Candidate
from ..vocab.model import Vocabulary
from .dataset import read_jsonl


@dataclass
class CandidateResult:
    label: str  # e.g. "Q8_0", or "LoRA" for an adapter over the base file
    path: str
    calibration: Calibration
    terms_per_s: float = 0.0  # llama.cpp scoring speed on the validation terms, on this machine


# What a vocabulary gets when no installed model reads its language (RerankerRegistry.serving_name).
RETRIEVER_ALONE = "the retriever alone"


@dataclass
class ValidationReport:
    terms: int
    retriever: RankingScores
    current_name: str
    current: Calibration
    candidates: list[CandidateResult]
    chosen: CandidateResult | None  # the best exported file (registered under the new name)
    registered: RerankerModel | None = None
    activated: bool = False
    warnings: list[str] = field(default_factory=list)
    language: str | None = None  # the vocabulary language it was compared and activated for (None: all)

    def lines(self) -> list[str]:
        out = [f"validation: {self.terms} held-out terms", self.retriever.line("retriever")]
        if self.current_name != RETRIEVER_ALONE:
            out.append(self.current.reranked.line(f"{self.current_name}"[:14]))
        for c in self.candidates:
            out.append(c.calibration.reranked.line(f"new {c.label}"[:14]) + f", {c.terms_per_s:.1f} terms/s")
        where, flag = (f" for {self.language!r} vocabularies", f" --language {self.language}") if self.language else ("", "")
        if self.activated and self.registered:
            out.append(f"activated {self.registered.name} ({self.chosen.label}){where}; "
                       f"`termlinker models rollback{flag}` restores the previous re-ranker")
        elif self.registered:
            out.append(f"registered {self.registered.name} ({self.chosen.label}); not activated: "
                       f"{self.current_name} stays in use{where} (activate by hand with "
                       f"`termlinker models activate {self.registered.name}{flag}`)")
        return out


def score_margins(model_path: str, prompt_version: str, terms: list[str], retrieved: list[list[Candidate]],
                  depth: int, threads: int, progress: ProgressFn = no_progress,
                  cancel: CancelToken | None = None, adapter: str | None = None) -> list[list[float]]:
    """LLM margins of every term's first ``depth`` candidates, one llama_decode per term."""
    scorer = LlamaScorer(model_path, load_template(prompt_version), ScorerConfig(threads=threads, max_candidates=depth),
                         adapter_path=adapter)
    try:
        out = []
        for i, (term, cands) in enumerate(zip(terms, retrieved)):
            if cancel is not None:
                cancel.raise_if_cancelled()
            out.append([float(x) for x in scorer.score(term, [c.name for c in cands[:depth]])])
            progress(i + 1, len(terms))
        return out
    finally:
        scorer.close()


def validate_and_register(dataset_dir: str | Path, vocab: Vocabulary, dirs: DataDirs, name: str,
                          files: dict[str, str], base_model: str, prompt_version: str,
                          encoder: str | None = None, threads: int = 2, activate: bool = True, depth: int = 10,
                          progress: ProgressFn = no_progress, cancel: CancelToken | None = None,
                          base_path: str | None = None) -> ValidationReport:
    """``files``: export kind -> GGUF path (from ``train_reranker``); ``base_path``: the model file a
    ``LoRA`` adapter export applies over (``RerankerTrainReport.base_path``)."""
    from ..linker import Linker, LinkerConfig
    from .gguf_export import ADAPTER

    if ADAPTER in files and not base_path:
        raise InputError("A LoRA adapter export needs its base model file to be validated.")

    rows = [r for r in read_jsonl(Path(dataset_dir) / "retriever_val.jsonl") if r["concept_id"] in vocab]
    if not rows:
        raise InputError(f"{dataset_dir} has no validation terms, so the new re-ranker cannot be compared with the "
                         "current one. Build the data with a validation share (--val-share 0.1) and more labels.")
    registry = RerankerRegistry(dirs)
    language = vocab.info.language  # compared with, and activated for, this language's vocabularies
    # "Current" is the model serving the language (RerankerRegistry.serving_name); when no installed
    # model reads it, its vocabularies are not re-ranked (Linker) and the retriever's order is the bar.
    serving = registry.serving_name(language)
    compare = serving is not None
    current = registry.resolve(serving) if compare else None
    linker = Linker(LinkerConfig(vocabulary=vocab.info.name, encoder=encoder, threads=threads), dirs=dirs,
                    vocabulary=vocab)
    terms = [r["term"] for r in rows]
    golds = [r["concept_id"] for r in rows]
    retrieved = [list(r.candidates) for r in linker.link_terms(terms, top_k=depth)]
    steps = len(terms) * (int(compare) + len(files))

    def part(k: int) -> ProgressFn:
        return lambda done, _total: progress(k * len(terms) + done, steps)

    if compare:
        current_name = current.name
        current_cal = calibrate(golds, retrieved, score_margins(current.path, current.prompt_version, terms,
                                                                retrieved, depth, threads, part(0), cancel,
                                                                current.adapter))
    else:
        current_name, current_cal = RETRIEVER_ALONE, calibrate(golds, retrieved, [None] * len(terms))
    results = []
    for k, (label, path) in enumerate(files.items(), start=int(compare)):
        model, adapter = (base_path, path) if label == ADAPTER else (path, None)
        began = time.monotonic()
        margins = score_margins(model, prompt_version, terms, retrieved, depth, threads, part(k), cancel, adapter)
        speed = len(terms) / max(1e-9, time.monotonic() - began)
        results.append(CandidateResult(label, path, calibrate(golds, retrieved, margins), speed))
    best = max(results, key=lambda c: (c.calibration.reranked.acc1, c.calibration.reranked.mrr, c.terms_per_s),
               default=None)
    report = ValidationReport(len(terms), current_cal.retriever, current_name, current_cal, results, best)
    better = best is not None and best.calibration.reranked.acc1 > current_cal.reranked.acc1
    if best is None:
        return report
    scores = {"val_acc1": best.calibration.reranked.acc1, "val_acc5": best.calibration.reranked.acc5,
              "val_retriever_acc1": current_cal.retriever.acc1, "val_previous_acc1": current_cal.reranked.acc1,
              "val_terms": float(len(terms)), "val_terms_per_s": round(best.terms_per_s, 2)}
    model, adapter = (base_path, best.path) if best.label == ADAPTER else (best.path, None)
    report.registered = registry.register(name, model, base_model, prompt_version, scores=scores,
                                          rules=asdict(best.calibration.rules), adapter=adapter)
    if activate and better:
        registry.activate(name, language)
    report.activated = activate and better
    report.language = language_key(language)
    if not better:
        report.warnings.append(f"{name} is not better than {current_name} on validation: registered, not activated")
    return report
