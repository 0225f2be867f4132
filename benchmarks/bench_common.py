"""Small helpers the benchmark scripts share (they run as scripts, so this folder is on sys.path)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from termlinker.evaluation.metrics import score_rankings
from termlinker.linker import Linker


def folds(text: str) -> list[int]:
    """'0-2' -> [0, 1, 2]; '1' -> [1]; '0,3' -> [0, 3]."""
    if "," in text:
        return [int(x) for x in text.split(",") if x]
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def link_scores(linker: Linker, items: list[tuple[str, str]]) -> dict:
    """Acc@k etc. of ``linker``'s top 10 over (term, gold) items, each distinct term linked once, timed."""
    terms = list(dict.fromkeys(t for t, _ in items))
    began = time.monotonic()
    ranked = dict(zip(terms, ([c.concept_id for c in r.candidates] for r in linker.link_terms(terms, top_k=10))))
    out = score_rankings([g for _, g in items], [ranked[t] for t, _ in items]).to_json()
    return {**out, "seconds": round(time.monotonic() - began, 1)}


class Lookup:
    """A PairScorer over margins computed beforehand."""

    def __init__(self, margins: dict[tuple[str, str], float]) -> None:
        self.margins = margins

    def score(self, term, candidates):
        return [self.margins[(term, name)] for name in candidates]


def score_all(model: str, adapter: str | None, jobs: dict[str, list[str]], threads: int, prompt: str | None = None):
    """Every (term, candidate name) margin of ``jobs`` by one llama.cpp model, with its speed."""
    from termlinker.rerank.prompt import DEFAULT_PROMPT, load_template
    from termlinker.rerank.scorer import LlamaScorer, ScorerConfig

    began = time.monotonic()
    scorer = LlamaScorer(model, load_template(prompt or DEFAULT_PROMPT), ScorerConfig(threads=threads),
                         adapter_path=adapter)
    loaded = time.monotonic() - began
    began = time.monotonic()
    margins = {}
    try:
        for term, names in jobs.items():
            margins.update(zip(((term, n) for n in names), map(float, scorer.score(term, names))))
    finally:
        scorer.close()
    seconds = time.monotonic() - began
    return margins, {"load_seconds": round(loaded, 2), "score_seconds": round(seconds, 1),
                     "terms_per_s": round(len(jobs) / seconds, 2)}


def experiment_parser(json_default: str, required: bool = True):
    """The arguments of the scripts that reuse ``aap_distill_experiment.py``'s folders, per fold."""
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default="../shared/data")
    ap.add_argument("--home", required=required, help="the experiment's data folder (encoders, re-rankers)")
    ap.add_argument("--work", required=required, help="the experiment's --work folder (labels, datasets)")
    ap.add_argument("--folds", default="0-2")
    ap.add_argument("--p", type=float, default=0.9)
    ap.add_argument("--unlabelled", type=int, default=600)
    ap.add_argument("--share", type=float, default=0.1)
    ap.add_argument("--quant", default="Q4_K_M")
    ap.add_argument("--loss", choices=("pointwise", "listwise"), default="listwise",
                    help="which of the experiment's distilled re-rankers (its --loss)")
    ap.add_argument("--tag", default="", help="the experiment's --tag")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=json_default)
    return ap


def setting(args) -> str:
    """The experiment's teacher, its accuracy p and the number of unlabelled terms, as a name part."""
    return f"{getattr(args, 'teacher', 'simulated')}-p{args.p:g}-n{args.unlabelled}"


@dataclass(frozen=True)
class FoldFiles:
    """One fold's files under ``--work`` for one experiment setting.

    The names carry the setting, so a run with another p or ``--unlabelled`` in the same ``--work``
    neither overwrites these files nor is measured on them."""

    folder: Path
    setting: str

    @classmethod
    def of(cls, fold: int, args) -> "FoldFiles":
        return cls(Path(args.work) / f"fold{fold}", setting(args))

    @property
    def labels(self) -> Path:
        return self.folder / f"labels-{self.setting}.jsonl"

    @property
    def dataset(self) -> Path:
        return self.folder / f"rerank-ds-{self.setting}"

    @property
    def ranking(self) -> Path:
        return self.folder / f"ranker-{self.setting}.json"

    @property
    def teacher_retriever_ranking(self) -> Path:
        return self.folder / f"ranker-teacher-retriever-{self.setting}.json"


def reranker_name(fold: int, args) -> str:
    """The distilled re-ranker ``aap_distill_experiment.py`` registered for this fold and these arguments."""
    name = f"aap-f{fold}-rr-{setting(args)}"
    name += "" if args.loss == "pointwise" else f"-{args.loss}"
    return f"{name}-{args.tag}" if args.tag else name


def reranker_model(fold: int, args, dirs):
    """That re-ranker as registered (its prompt; base + adapter when it is one), pointed at its
    ``--quant`` file; ``picked``: the file its validation chose and registered."""
    from dataclasses import replace

    from termlinker.rerank.registry import RerankerRegistry

    name = reranker_name(fold, args)
    model = RerankerRegistry(dirs).get(name)
    if args.quant == "picked":
        return model
    return replace(model, path=str(dirs.models / "rerankers" / name / f"{name}.{args.quant}.gguf"), adapter=None)


def run_folds(args, run_fold, report) -> list[dict]:
    """``run_fold(fold, args, dirs)`` per fold; the JSON is rewritten and ``report(rows)`` called after each."""
    import json
    from pathlib import Path

    from termlinker.paths import DataDirs

    dirs = DataDirs.at(args.home)
    rows: list[dict] = []
    for fold in folds(args.folds):
        rows.append(run_fold(fold, args, dirs))
        Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2))
        report(rows)
    return rows
