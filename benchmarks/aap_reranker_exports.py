"""Ask A Patient: the distilled re-ranker merged and quantized (Q8_0, Q4_K_M) vs as a GGUF LoRA adapter.

    flock /tmp/heavy.lock .venv/bin/python benchmarks/aap_reranker_exports.py --home HOME --work WORK \
        [--data-dir ../shared/data] [--folds 0-2] [--p 0.9] [--unlabelled 600] [--models ...] [--json OUT]
    .venv/bin/python benchmarks/aap_reranker_exports.py --report OUT1 OUT2 ...   # the table again

Runs after ``aap_distill_experiment.py`` and ``aap_learned_ranking.py`` (same ``--home`` and
``--work``) and reuses, per fold, the fine-tuned retriever, the trained LoRA adapter
(``models/training/<name>/adapter``), its merged Q8_0 and Q4_K_M files, the re-ranker's validation
terms and the learned ranking. The adapter is exported here as a GGUF LoRA adapter
(``gguf_export.write_lora_adapter``) and applied by llama.cpp over the base SmolLM2 Q4_1 file.

Each model scores every validation and test term's candidates once (the retriever's top 10 and
the ranking's top 10), timed; the systems are then put together offline from those margins with
the product's own code (``Reranker.rerank``):
- "LLM over the retriever": fusion and skip rules calibrated on the validation terms;
- "LLM over the learned ranking": ``fusion.fuse_ranked`` at the ranking's LLM weight.
Speed is terms scored per second by llama.cpp on this machine, all models in the same process.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from bench_common import FoldFiles, Lookup, experiment_parser, reranker_name, run_folds, score_all
from termlinker.distill.gguf_export import ADAPTER, write_lora_adapter
from termlinker.distill.train_reranker import output_folder, work_folder
from termlinker.evaluation.datasets import askapatient_split, askapatient_vocabulary
from termlinker.evaluation.metrics import score_rankings
from termlinker.linker import Linker, LinkerConfig
from termlinker.paths import DataDirs
from termlinker.rerank.calibration import calibrate
from termlinker.rerank.registry import DEFAULT_RERANKER, RerankerRegistry
from termlinker.rerank.reranker import Reranker


MODELS = ("base Q4_1", "Q8_0", "Q4_K_M", "LoRA over base Q4_1")


def run_fold(fold: int, args, dirs: DataDirs) -> dict:
    vocab = askapatient_vocabulary(args.data_dir)
    test = [(e.term, e.gold) for e in askapatient_split(fold, "test", args.data_dir)]
    files = FoldFiles.of(fold, args)
    with open(files.dataset / "retriever_val.jsonl", encoding="utf-8") as fh:
        val = [(r["term"], r["concept_id"]) for r in map(json.loads, fh) if r["concept_id"] in vocab]
    name = reranker_name(fold, args)
    base = RerankerRegistry(dirs).resolve(DEFAULT_RERANKER)
    began = time.monotonic()
    adapter = write_lora_adapter(base.path, work_folder(dirs, name) / "adapter",
                                 output_folder(dirs, name) / f"{name}.{ADAPTER}.gguf", name=name)
    export_seconds = round(time.monotonic() - began, 2)
    encoder = f"aap-f{fold}-s{args.share:g}"
    plain = Linker(LinkerConfig(vocabulary="askapatient", encoder=encoder, threads=args.threads), dirs=dirs,
                   vocabulary=vocab)
    ranked = Linker(LinkerConfig(vocabulary="askapatient", encoder=encoder, threads=args.threads,
                                 ranker=str(files.ranking)), dirs=dirs, vocabulary=vocab)
    terms = list(dict.fromkeys(t for t, _ in val + test))
    by_retriever = dict(zip(terms, (list(r.candidates) for r in plain.link_terms(terms, top_k=10))))
    by_ranking = dict(zip(terms, (list(r.candidates) for r in ranked.link_terms(terms, top_k=10))))
    jobs = {t: list(dict.fromkeys(c.name for c in by_retriever[t] + by_ranking[t])) for t in terms}
    out_dir = output_folder(dirs, name)
    models = {"base Q4_1": (base.path, None),
              "Q8_0": (str(out_dir / f"{name}.Q8_0.gguf"), None),
              "Q4_K_M": (str(out_dir / f"{name}.Q4_K_M.gguf"), None),
              "LoRA over base Q4_1": (base.path, str(adapter))}
    models = {k: v for k, v in models.items() if k in args.models.split(",")}
    row = {"fold": fold, "terms": len(terms), "candidate_names": sum(map(len, jobs.values())),
           "adapter_export_seconds": export_seconds, "models": {}}
    for label, (model, lora) in models.items():
        margins, speed = score_all(model, lora, jobs, args.threads)
        lookup = Lookup(margins)
        val_margins = [lookup.score(t, [c.name for c in by_retriever[t]]) for t, _ in val]
        cal = calibrate([g for _, g in val], [by_retriever[t] for t, _ in val], val_margins)
        over_retriever = Reranker(lookup, cal.rules)
        over_ranking = Reranker(lookup)
        weight = ranked.ranker.llm_weight

        def acc(items, system):
            return score_rankings([g for _, g in items], [system(t) for t, _ in items]).to_json()

        size = Path(lora or model).stat().st_size / 2**20
        row["models"][label] = {
            **speed, "file_mb": round(size, 1),
            "llm_over_retriever": {split: acc(items, lambda t: [c.concept_id for c in over_retriever.rerank(
                t, by_retriever[t]).candidates]) for split, items in (("validation", val), ("test", test))},
            "llm_over_ranking": {split: acc(items, lambda t: [c.concept_id for c in over_ranking.rerank(
                t, by_ranking[t], weight).candidates]) for split, items in (("validation", val), ("test", test))}}
        print(f"fold {fold} {label}: {speed}", flush=True)
    return row


def print_table(rows: list[dict]) -> None:
    print("\n| model | " + " | ".join(f"fold {r['fold']}" for r in rows)
          + " | mean Acc@1 over retriever | mean Acc@1 over ranking | terms/s | file MB |")
    print("|---|" + "---|" * (len(rows) + 4))
    for label in dict.fromkeys(k for r in rows for k in r["models"]):
        if not all(label in r["models"] for r in rows):
            continue
        cells = [f"{r['models'][label]['llm_over_retriever']['test']['acc1']:.3f} / "
                 f"{r['models'][label]['llm_over_ranking']['test']['acc1']:.3f}" for r in rows]
        mean = lambda key: sum(r["models"][label][key]["test"]["acc1"] for r in rows) / len(rows)  # noqa: E731
        speed = sum(r["models"][label]["terms_per_s"] for r in rows) / len(rows)
        print(f"| {label} | " + " | ".join(cells) + f" | {mean('llm_over_retriever'):.3f} | "
              f"{mean('llm_over_ranking'):.3f} | {speed:.2f} | {rows[0]['models'][label]['file_mb']:.1f} |", flush=True)


def main() -> None:
    ap = experiment_parser("bench-aap-reranker-exports.json", required=False)
    ap.add_argument("--models", default=",".join(MODELS), help=f"which of {', '.join(MODELS)} to score")
    ap.add_argument("--report", nargs="+", metavar="JSON", help="only print the table of earlier runs' JSON files")
    args = ap.parse_args()
    if args.report:
        print_table([row for f in args.report for row in json.loads(Path(f).read_text())["rows"]])
        return
    if not (args.home and args.work):
        ap.error("--home and --work are needed (or --report)")
    run_folds(args, run_fold, print_table)

if __name__ == "__main__":
    main()
