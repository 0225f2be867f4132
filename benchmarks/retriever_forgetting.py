"""Does fine-tuning on a clinic's labels make the retriever forget the rest of a vocabulary?
(figures, not a test)

    TERMLINKER_HOME=/tmp/tl-recipe python benchmarks/retriever_forgetting.py \\
        --encoders minilm,aap-f0-before,aap-f0-hard-neg_repeat-5ep-lr1e-4 [--concepts 2000] [--json out.json]

A task no AAP label touches: HPO's own synonyms. For a seeded sample of HPO concepts that have a
synonym differing from their other names, one synonym is held out of the vocabulary and linked
as a query against all 19,000 concepts (the rest of their names stay). Acc@1 / Acc@5 per encoder,
each encoder linking as the product does (int8, lexical channel, fusion).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import replace

from termlinker.linker import Linker, LinkerConfig
from termlinker.paths import DataDirs
from termlinker.text import normalise
from termlinker.vocab.model import Vocabulary, VocabularyInfo
from termlinker.vocab.store import VocabularyStore


def held_out(vocab: Vocabulary, n: int, seed: int) -> tuple[Vocabulary, list[tuple[str, str]]]:
    """The vocabulary without one synonym of ``n`` sampled concepts, and those (synonym, concept id) queries."""
    rng = random.Random(seed)
    candidates = []
    for concept in vocab.concepts:
        for alias in concept.aliases:
            if normalise(alias) != normalise(concept.canonical_name):
                candidates.append((concept.concept_id, alias))
                break
    chosen = dict(rng.sample(candidates, min(n, len(candidates))))
    concepts = []
    for concept in vocab.concepts:
        alias = chosen.get(concept.concept_id)
        if alias is not None:
            concept = replace(concept, aliases=tuple(a for a in concept.aliases if a != alias))
        concepts.append(concept)
    queries = [(alias, cid) for cid, alias in chosen.items()]
    info = VocabularyInfo(name=f"{vocab.info.name}-heldout", version=vocab.info.version)
    return Vocabulary(info, concepts), queries


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vocab", default="hpo")
    parser.add_argument("--encoders", required=True, help="comma-separated encoder names (minilm = the default)")
    parser.add_argument("--concepts", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--temperatures", default="",
                        help="name pooling temperatures to score (FusionConfig.pooling_temperature; default: the configured one)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default="bench-retriever-forgetting.json")
    args = parser.parse_args()
    dirs = DataDirs.default().ensure()
    vocab, queries = held_out(VocabularyStore(dirs).get(args.vocab), args.concepts, args.seed)
    terms = [q for q, _ in queries]
    rows = []
    for encoder in args.encoders.split(","):
        began = time.monotonic()
        linker = Linker(LinkerConfig(vocabulary=vocab.info.name, encoder=None if encoder == "minilm" else encoder,
                                     threads=args.threads), dirs=dirs, vocabulary=vocab)
        temperatures = ([float(t) for t in args.temperatures.split(",")] if args.temperatures
                        else [linker.retriever.fusion.pooling_temperature])
        for temperature in temperatures:
            linker.retriever.fusion = replace(linker.retriever.fusion, pooling_temperature=temperature)
            ranked = [[c.concept_id for c in r.candidates] for r in linker.link_terms(terms, top_k=5)]
            acc1 = sum(r[:1] == [g] for r, (_, g) in zip(ranked, queries)) / len(queries)
            acc5 = sum(g in r[:5] for r, (_, g) in zip(ranked, queries)) / len(queries)
            rows.append({"encoder": encoder, "pooling_temperature": temperature, "queries": len(queries),
                         "acc1": round(acc1, 4), "acc5": round(acc5, 4), "seconds": round(time.monotonic() - began, 1)})
            print(json.dumps(rows[-1]), flush=True)
    with open(args.json, "w", encoding="utf-8") as fh:
        json.dump(rows, fh, indent=2)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
