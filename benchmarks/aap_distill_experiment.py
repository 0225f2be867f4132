"""The method's experiment on Ask A Patient: does a distilled re-ranker beat the fine-tuned retriever?

    TERMLINKER_HOME=/tmp/tl-exp flock /tmp/heavy.lock .venv/bin/python benchmarks/aap_distill_experiment.py \
        [--data-dir ../shared/data] [--folds 0-2] [--share 0.1] [--unlabelled 800] [--p 0.9] \
        [--teacher simulated|llama] [--json bench-aap-distill.json]

Per fold, the low-resource protocol of the data README:
1. a random ``share`` of the fold's train split (seed 0) is the user's gold; the retriever is
   fine-tuned on it (``distill dataset`` + ``train_retriever``);
2. ``--unlabelled`` other train phrases (distinct, not in the gold share; a seeded sample) are
   the unannotated terms; the teacher labels them through the real labelling code over HTTP on
   loopback: the SIMULATED teacher of accuracy p (gold with probability p, else a wrong
   candidate), or ``--teacher llama``: SmolLM2-135M served by ``python -m llama_cpp.server``;
3. re-ranker data = gold share + teacher labels (hard negatives from the fine-tuned retriever);
   LoRA training, GGUF export + quantization, validation-calibrated fusion (``train_reranker``,
   ``validate_and_register``);
4. the fold's test split, Acc@1/Acc@5: zero-shot retriever, fine-tuned retriever, + base
   re-ranker, + distilled re-ranker (each re-ranker with the rules calibrated on the data's
   validation terms; the test split never chooses anything).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import random
import resource
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from bench_common import FoldFiles, folds, reranker_name
from termlinker.distill.gguf_export import ADAPTER
from termlinker.distill.dataset import DatasetConfig, build_dataset, merge_gold
from termlinker.labels import LabelledPair, read_teacher_labels
from termlinker.distill.label_store import LabelStore
from termlinker.distill.labelling import LabellingRun, export_labels, plan_labelling
from simulated_teacher import SimulatedTeacher, serve
from termlinker.distill.teacher import TeacherClient, TeacherConfig
from termlinker.distill.teacher_prompt import load_teacher_prompt
from termlinker.distill.train_reranker import RerankerTrainConfig, train_reranker
from termlinker.distill.train_retriever import RetrieverTrainConfig, train_retriever
from termlinker.distill.validate_reranker import score_margins, validate_and_register
from termlinker.evaluation.datasets import askapatient_split, askapatient_vocabulary
from termlinker.evaluation.metrics import score_rankings
from termlinker.linker import Linker, LinkerConfig
from termlinker.paths import DataDirs
from termlinker.rerank.calibration import ranked_ids
from termlinker.rerank.fusion import is_decisive
from termlinker.rerank.prompt import DEFAULT_PROMPT, load_template
from termlinker.rerank.registry import DEFAULT_RERANKER, RerankerRegistry
from termlinker.text import normalise

KEY_ENV = "TERMLINKER_EXPERIMENT_KEY"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def teacher_labels(terms: list[str], gold_names: dict[str, str], linker: Linker, out: Path, args) -> dict:
    """Label ``terms`` with the chosen teacher over loopback HTTP; returns the labelling summary."""
    results = linker.link_terms(terms, top_k=10)
    os.environ.setdefault(KEY_ENV, "experiment-no-key")
    server = proc = None
    if args.teacher == "simulated":
        teacher = SimulatedTeacher(gold_names, args.p, seed=args.seed)
        server = serve(teacher)
        url, model = f"http://127.0.0.1:{server.server_address[1]}/v1", teacher.model
    else:
        proc, url, model = start_llama_server(args)
    try:
        with LabelStore(out.with_suffix(".sqlite")) as store:
            plan = plan_labelling(results, store, load_teacher_prompt(), model)
            client = TeacherClient(TeacherConfig(url, model, KEY_ENV, timeout_s=120))
            try:
                summary = LabellingRun(plan, client, store, concurrency=4 if server else 1).run()
            finally:
                client.close()
            export_labels(plan, store, out)
        return {"teacher": model, **{k: v for k, v in asdict(summary).items() if isinstance(v, (int, float, dict))}}
    finally:
        if server is not None:
            server.shutdown()
        if proc is not None:
            proc.terminate()
            proc.wait(30)


def start_llama_server(args):
    import socket
    import subprocess
    import sys
    import urllib.request

    from termlinker.rerank.registry import builtin_models

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    model = builtin_models()["smollm2-135m"].path
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", model, "--host", "127.0.0.1",
                             "--port", str(port), "--n_ctx", "2048", "--n_threads", "2", "--model_alias",
                             "smollm2-135m"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(120):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=1)
            break
        except OSError:
            time.sleep(0.5)
    return proc, f"http://127.0.0.1:{port}/v1", "smollm2-135m"


def test_scores(linker: Linker, test, models: dict[str, tuple[str, str, object, str | None]], threads: int) -> dict:
    """Acc@1/5 on the test split for the retriever and each (path, prompt, rules, adapter) re-ranker.

    The LLM scores only the terms its rules would send to it (skipping is part of the method)."""
    terms = list(dict.fromkeys(e.term for e in test))
    retrieved = dict(zip(terms, (list(r.candidates) for r in linker.link_terms(terms, top_k=10))))
    golds = [e.gold for e in test]
    out = {"retriever": asdict(score_rankings(golds, [[c.concept_id for c in retrieved[e.term]] for e in test]))}
    for label, (path, prompt, rules, adapter) in models.items():
        sent = [t for t in terms if not is_decisive(retrieved[t], rules)]
        began = time.monotonic()
        margins = dict(zip(sent, score_margins(path, prompt, sent, [retrieved[t] for t in sent], rules.depth,
                                               threads, adapter=adapter)))
        seconds = time.monotonic() - began
        preds = [ranked_ids(retrieved[e.term], margins.get(e.term), rules) for e in test]
        out[label] = {**asdict(score_rankings(golds, preds)), "terms_sent_to_llm": len(sent),
                      "llm_seconds": round(seconds, 1), "rules": asdict(rules)}
    return out


def run_fold(fold: int, args, dirs: DataDirs) -> dict:
    data = args.data_dir
    vocab = askapatient_vocabulary(data)
    names = {c.concept_id: c.canonical_name for c in vocab.concepts}
    train = askapatient_split(fold, "train", data)
    test = askapatient_split(fold, "test", data)
    gold = random.Random(args.seed).sample(train, max(1, round(args.share * len(train))))
    gold_terms = {normalise(e.term) for e in gold}
    pool = {}
    for e in train:
        if normalise(e.term) not in gold_terms:
            pool.setdefault(normalise(e.term), e)
    unlabelled = random.Random(args.seed + 1).sample(sorted(pool.values(), key=lambda e: e.term),
                                                     min(args.unlabelled, len(pool)))
    row: dict = {"fold": fold, "gold_share": args.share, "gold_examples": len(gold),
                 "unlabelled_terms": len(unlabelled), "teacher_mode": args.teacher,
                 "p": args.p if args.teacher == "simulated" else None, "timings_s": {}}
    t = row["timings_s"]
    files = FoldFiles.of(fold, args)
    work = files.folder
    work.mkdir(parents=True, exist_ok=True)
    zero = Linker(LinkerConfig(vocabulary="askapatient", threads=args.threads), dirs=dirs, vocabulary=vocab)

    # 1) retriever fine-tuned on the gold share (reused when this home already trained it)
    began = time.monotonic()
    pairs, stats = merge_gold([LabelledPair(e.term, e.gold, "gold") for e in gold], vocab)
    build_dataset(pairs, zero, work / "retriever-ds", DatasetConfig(), source_stats=stats)
    encoder = f"aap-f{fold}-s{args.share:g}"
    train_retriever(work / "retriever-ds", vocab, dirs, encoder,
                    RetrieverTrainConfig(threads=args.threads), evaluate=False)
    tuned = Linker(LinkerConfig(vocabulary="askapatient", encoder=encoder, threads=args.threads), dirs=dirs,
                   vocabulary=vocab)
    t["retriever_train"] = round(time.monotonic() - began, 1)

    # 2) the teacher labels the unlabelled terms (candidates from the fine-tuned retriever)
    began = time.monotonic()
    labels_path = files.labels
    row["labelling"] = teacher_labels([e.term for e in unlabelled], {e.term: names[e.gold] for e in unlabelled},
                                      tuned, labels_path, args)
    teacher = read_teacher_labels(labels_path)
    truth = {e.term: e.gold for e in unlabelled}
    row["teacher_ok_labels"] = len(teacher)
    row["teacher_label_accuracy"] = (sum(truth.get(p.term) == p.concept_id for p in teacher) / len(teacher)
                                     if teacher else None)
    t["labelling"] = round(time.monotonic() - began, 1)
    if args.label_only:
        return row

    # 3) re-ranker data and distillation
    began = time.monotonic()
    pairs, stats = merge_gold([LabelledPair(e.term, e.gold, "gold") for e in gold] + teacher, vocab)
    registry = RerankerRegistry(dirs)
    base = registry.resolve(args.base)
    ds = files.dataset
    if base.prompt_version != DEFAULT_PROMPT:  # the same examples, rendered in this base's prompt
        ds = ds.with_name(f"{ds.name}-{base.prompt_version}")
    build_dataset(pairs, tuned, ds, DatasetConfig(val_share=args.val_share, negatives=3),
                  template=load_template(base.prompt_version), source_stats=stats)
    name = reranker_name(fold, args)
    cfg = RerankerTrainConfig(threads=args.threads, epochs=args.epochs, max_examples=args.max_examples,
                              quantizations=tuple(args.exports.split(",")), loss=args.loss)
    report = train_reranker(ds, dirs, name, cfg, base=args.base)
    t["reranker_train"] = round(report.train_seconds, 1)
    t["export_quantize_check"] = round(report.export_seconds, 1)
    row["reranker"] = {"examples": report.examples, "steps": report.steps, "final_loss": report.final_loss,
                       "checks": [asdict(c) for c in report.checks]}
    began = time.monotonic()
    validation = validate_and_register(ds, vocab, dirs, name, report.files, base.base_model,
                                       base.prompt_version, encoder=encoder, threads=args.threads, activate=False,
                                       base_path=report.base_path)
    t["validation"] = round(time.monotonic() - began, 1)
    row["validation"] = {"terms": validation.terms, "retriever": asdict(validation.retriever),
                         "base": asdict(validation.current.reranked),
                         **{f"distilled_{c.label}": asdict(c.calibration.reranked) for c in validation.candidates}}
    t["total_to_model"] = round(sum(t.values()), 1)

    # 4) test split
    began = time.monotonic()
    models = {"base_reranker": (base.path, base.prompt_version, validation.current.rules, None)}
    for c in validation.candidates:
        adapter = c.path if c.label == ADAPTER else None
        models[f"distilled_{c.label}"] = (base.path if adapter else c.path, base.prompt_version, c.calibration.rules,
                                          adapter)
    row["test"] = test_scores(tuned, test, models, args.threads)
    row["test"]["zero_shot_retriever"] = asdict(score_rankings(
        [e.gold for e in test], [[c.concept_id for c in r.candidates] for r in zero.link_terms(
            [e.term for e in test], top_k=10)]))
    t["test"] = round(time.monotonic() - began, 1)
    row["peak_rss_mb"] = round(peak_rss_mb(), 1)
    return row


@contextlib.contextmanager
def heavy_lock(path: str | None):
    if not path:
        yield
        return
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default="../shared/data")
    ap.add_argument("--folds", default="0-2")
    ap.add_argument("--share", type=float, default=0.1)
    ap.add_argument("--unlabelled", type=int, default=800)
    ap.add_argument("--p", type=float, default=0.9)
    ap.add_argument("--teacher", choices=("simulated", "llama"), default="simulated")
    ap.add_argument("--label-only", action="store_true", help="stop after labelling (teacher statistics only)")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--max-examples", type=int, default=None)
    ap.add_argument("--loss", choices=("pointwise", "listwise"), default="listwise")
    ap.add_argument("--base", default=DEFAULT_RERANKER,
                    help="the re-ranker to distil into, also the '+ base re-ranker' row (e.g. gemma3-270m; "
                         "give a --tag too, so the names differ from SmolLM2's)")
    ap.add_argument("--tag", default="", help="appended to the re-ranker's name, to keep runs with other settings apart")
    ap.add_argument("--exports", default="Q8_0,Q4_K_M,LoRA",
                    help="re-ranker exports to compare (merged quantizations and/or the LoRA adapter)")
    ap.add_argument("--val-share", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--home", default=None)
    ap.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "tl-distill-experiment"))
    ap.add_argument("--json", default="bench-aap-distill.json")
    ap.add_argument("--lock", default=None, help="a lock file held during each fold (e.g. /tmp/heavy.lock)")
    args = ap.parse_args()
    dirs = DataDirs.at(args.home).ensure()
    rows = []
    for fold in folds(args.folds):
        with heavy_lock(args.lock):  # one fold at a time holds the machine's shared heavy-work lock
            rows.append(run_fold(fold, args, dirs))
        Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2))
        if not args.label_only:
            print_table(rows, args)
        else:
            print(json.dumps(rows[-1], indent=1))


def print_table(rows: list[dict], args) -> None:
    mode = f"SIMULATED teacher p={args.p:g}" if args.teacher == "simulated" else "teacher: SmolLM2-135M via llama_cpp.server"
    print(f"\nAAP test folds, {args.share:g} gold share, {args.unlabelled} unlabelled terms, {mode}")
    labels = [("zero_shot_retriever", "zero-shot retriever"), ("retriever", "fine-tuned retriever"),
              ("base_reranker", "+ base re-ranker")] + [
        (k, "+ distilled re-ranker " + k.removeprefix("distilled_")) for k in rows[0]["test"] if k.startswith("distilled_")]
    print("| system | " + " | ".join(f"fold {r['fold']} Acc@1 / Acc@5" for r in rows) + " | mean Acc@1 |")
    print("|---|" + "---|" * (len(rows) + 1))
    for key, label in labels:
        cells = [f"{r['test'][key]['acc1']:.3f} / {r['test'][key]['acc5']:.3f}" for r in rows]
        mean = sum(r["test"][key]["acc1"] for r in rows) / len(rows)
        print(f"| {label} | " + " | ".join(cells) + f" | {mean:.3f} |")
    for r in rows:
        print(f"fold {r['fold']}: teacher ok labels {r['teacher_ok_labels']} (accuracy "
              f"{r['teacher_label_accuracy']}), re-ranker examples {r['reranker']['examples']}, timings {r['timings_s']}, "
              f"peak RSS {r['peak_rss_mb']} MB")


if __name__ == "__main__":
    main()
