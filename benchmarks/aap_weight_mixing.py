"""Ask A Patient with every train label: the fine-tuned encoder's weights mixed back towards the
zero-shot encoder's (figures, not a test).

    TERMLINKER_HOME=/tmp/tl-full python benchmarks/aap_weight_mixing.py \\
        [--data-dir ../shared/data] [--folds 0-3] [--mix 0,0.5,0.7,0.85,1] [--json out.json]

Fine-tuning on a fold's labels lifts its phrases but may pull the encoder away from what it knew of
phrases nobody labelled. Interpolating the weights, θ = m · θ_fine-tuned + (1 - m) · θ_zero-shot
(WiSE-FT, Wortsman et al. 2022), costs nothing at link time: the mix is one more encoder of the same
size. Per fold and mix, the encoder is exported as the product exports (int8, per-token scales) and
scored as the product links, alone and with the fold's train labels as learned aliases (the setting
that matters here), on the validation split (which chooses) and the test split (which confirms).
m = 1 is the fine-tuned encoder itself and m = 0 the zero-shot one, measured in the same run.

Needs the fold's fine-tuned model from ``aap_full_labels.py --train-folds K --epochs E`` in the same
data folder (``models/training/aap-full-fK-eE/model``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from aap_full_labels import scores
from bench_common import folds as parse_folds
from termlinker.distill.train_retriever import work_folder
from termlinker.evaluation.datasets import askapatient_split, askapatient_vocabulary
from termlinker.labels import LabelledPair
from termlinker.linker import Linker, LinkerConfig
from termlinker.paths import DataDirs
from termlinker.retrieval.export import default_model_source, export_encoder
from termlinker.vocab.aliases import learn_aliases


def mixed_model(base: Path, tuned: Path, mix: float, target: Path) -> None:
    """A sentence-transformers folder like ``tuned`` whose weights are mix · tuned + (1 - mix) · base."""
    import numpy as np
    from safetensors.numpy import load_file, save_file

    shutil.copytree(tuned, target)
    zero, fine = load_file(str(base / "model.safetensors")), load_file(str(tuned / "model.safetensors"))
    out = {}
    for key, value in fine.items():
        if key in zero and np.issubdtype(value.dtype, np.floating):
            out[key] = (mix * value.astype(np.float32) + (1.0 - mix) * zero[key].astype(np.float32)).astype(value.dtype)
        else:
            out[key] = value
    save_file(out, str(target / "model.safetensors"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--folds", default="0-3")
    parser.add_argument("--epochs", type=int, default=1, help="which fine-tuned model: aap-full-fK-eE")
    parser.add_argument("--mix", default="0,0.5,0.7,0.85,1", help="shares of the fine-tuned weights")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default="bench-aap-weight-mixing.json")
    args = parser.parse_args()
    dirs = DataDirs.default().ensure()
    vocab = askapatient_vocabulary(args.data_dir)
    base = default_model_source()
    rows = []
    for fold in parse_folds(args.folds):
        name = f"aap-full-f{fold}-e{args.epochs}"
        tuned = work_folder(dirs, name) / "model"
        if not (tuned / "model.safetensors").exists():
            raise SystemExit(f"no fine-tuned model at {tuned}: run aap_full_labels.py --train-folds {fold} first")
        train = askapatient_split(fold, "train", args.data_dir)
        learned, _ = learn_aliases(vocab, (LabelledPair(e.term, e.gold) for e in train))
        plain = LinkerConfig(vocabulary="askapatient", threads=args.threads)
        for mix in (float(m) for m in args.mix.split(",")):
            began = time.monotonic()
            if mix == 0.0:
                config = plain
            elif mix == 1.0:
                config = replace(plain, encoder=name)
            else:
                mixed = f"{name}-mix{mix:g}"
                with tempfile.TemporaryDirectory(prefix="termlinker-mix-") as tmp:
                    mixed_model(base, tuned, mix, Path(tmp) / "model")
                    export_encoder(Path(tmp) / "model", dirs.encoders / mixed, mixed)
                config = replace(plain, encoder=mixed)
            row = {"fold": fold, "mix": mix, "export_s": round(time.monotonic() - began, 1),
                   "alone": scores(Linker(config, dirs=dirs, vocabulary=vocab), fold, args),
                   "aliases": scores(Linker(config, dirs=dirs, vocabulary=learned), fold, args)}
            rows.append(row)
            print(json.dumps(row), flush=True)
            with open(args.json, "w", encoding="utf-8") as fh:
                json.dump({"args": vars(args), "rows": rows}, fh, indent=2)
    for mix in sorted({r["mix"] for r in rows}):
        having = [r for r in rows if r["mix"] == mix]
        line = []
        for kind in ("alone", "aliases"):
            for split in ("validation", "test"):
                line.append(f"{kind} {split} {sum(r[kind][split]['acc1'] for r in having) / len(having):.4f}")
        print(f"mix {mix:g} (folds {[r['fold'] for r in having]}): " + ", ".join(line))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
