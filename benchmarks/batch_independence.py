"""Issue 23's check: is a term's answer independent of its neighbours, and at what cost?

    python benchmarks/batch_independence.py --data-dir ../shared/data [--folds 0-9] [--json out.json]

Two encoders from the same fp32 graph, measured in this one process: the int8 graph with
onnxruntime's dynamic (per-batch) scales, as exported before, and the per-token graph the
product exports now (retrieval.quantize). For each:
- the first 127 distinct phrases of AAP's test splits, linked alone and then inside a list of
  1,427 distinct test phrases (the sizes the issue reports): rankings and first candidates that differ;
- encoder texts/s and linking terms/s (10,000 noisy vocabulary names, 2 threads), best of 3
  rounds that alternate the two encoders, so that a busy machine slows both alike;
- zero-shot AAP Acc@1 / Acc@5, 10-fold means, on validation (which chooses) and test (which confirms).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from termlinker.atomic import sha256_file
from termlinker.cli.bench import bench_terms
from termlinker.evaluation.datasets import askapatient_split, askapatient_vocabulary
from termlinker.evaluation.runner import evaluate_askapatient
from termlinker.linker import Linker, LinkerConfig
from termlinker.models import encoder_folder, ensure_encoder
from termlinker.paths import DataDirs
from termlinker.retrieval.encoder import EncoderManifest

from bench_common import folds as parse_folds


def dynamic_copy(dirs: DataDirs) -> str:
    """The default encoder with the int8 graph TermLinker exported before per-token scales."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    source = ensure_encoder(dirs)
    target = encoder_folder(dirs, "minilm-dynamic")
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    shutil.copy2(source / "tokenizer.json", target / "tokenizer.json")
    quantize_dynamic(str(source / "model.onnx"), str(target / "model.int8.onnx"), weight_type=QuantType.QInt8)
    manifest = EncoderManifest.load(source)
    files = {f: sha256_file(target / f) for f in ("model.int8.onnx", "tokenizer.json")}
    replace(manifest, name="minilm-dynamic", files=files, int8_scheme="dynamic").save(target)
    return "minilm-dynamic"


def neighbours_check(linker: Linker, phrases: list[str], probes: int = 127) -> dict:
    def ranking(result):
        return [(c.concept_id, c.score) for c in result.candidates]

    alone = {r.term: ranking(r) for r in linker.link_terms(phrases[:probes])}
    inside = {r.term: ranking(r) for r in linker.link_terms(phrases)}
    differ = first = 0
    for term, ranked in alone.items():
        other = inside[term]
        same = [i for i, _ in ranked] == [i for i, _ in other] and all(
            abs(a - b) <= 1e-6 for (_, a), (_, b) in zip(ranked, other))
        differ += not same
        first += ranked[0][0] != other[0][0]
    return {"probes": len(alone), "list": len(phrases), "rankings_differ": differ, "first_differs": first}


def speed(linker: Linker, terms: list[str]) -> dict:
    texts = terms[:3000]
    linker.encoder.encode_queries(texts[:200])
    began = time.perf_counter()
    linker.encoder.encode_queries(texts)
    encode = len(texts) / (time.perf_counter() - began)
    began = time.perf_counter()
    linker.link_terms(terms)
    return {"encoder_texts_per_s": round(encode), "link_terms_per_s": round(len(terms) / (time.perf_counter() - began))}


def accuracy(linker: Linker, split: str, folds: list[int], data_dir: str) -> dict:
    rows = [evaluate_askapatient(f, split, data_dir, linker=linker).to_json()["scores"]["all"] for f in folds]
    return {k: round(sum(r[k] for r in rows) / len(rows), 4) for k in ("acc1", "acc5")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--folds", default="0-9")
    parser.add_argument("--home", default=None, help="a data folder with the default encoder (default: a scratch one)")
    parser.add_argument("--json", default="bench-batch-independence.json")
    args = parser.parse_args()
    dirs = DataDirs(Path(args.home or tempfile.mkdtemp(prefix="tl-batch-"))).ensure()
    vocab = askapatient_vocabulary(args.data_dir)
    phrases = list(dict.fromkeys(e.term for fold in range(10) for e in askapatient_split(fold, "test", args.data_dir)))
    phrases = phrases[:1427]
    encoders = {"dynamic int8 (before)": dynamic_copy(dirs), "per-token int8 (now)": None}
    linkers = {label: Linker(LinkerConfig(threads=2, encoder=encoder), dirs=dirs, vocabulary=vocab)
               for label, encoder in encoders.items()}
    terms = bench_terms(next(iter(linkers.values())), 10_000)
    out: dict[str, dict] = {label: {} for label in linkers}
    for _ in range(3):
        for label, linker in linkers.items():
            for key, value in speed(linker, terms).items():
                out[label][key] = max(out[label].get(key, 0), value)
    for label, linker in linkers.items():
        out[label]["neighbours"] = neighbours_check(linker, phrases)
        for split in ("validation", "test"):
            out[label][split] = accuracy(linker, split, parse_folds(args.folds), args.data_dir)
        print(f"{label}: {json.dumps(out[label])}", flush=True)
    before, now = out.values()
    out["ratios"] = {k: round(now[k] / before[k], 3) for k in ("encoder_texts_per_s", "link_terms_per_s")}
    print("per-token / dynamic:", out["ratios"])
    with open(args.json, "w", encoding="utf-8") as fh:
        json.dump(out, fh, indent=2)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
