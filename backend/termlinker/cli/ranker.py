"""``termlinker ranker train``: learn a ranking from labelled terms (rerank.learn_ranking)."""

from __future__ import annotations

import argparse

from ..errors import InputError
from ..overwrite import refuse_for_command
from ..paths import DataDirs
from ..vocab.builtin import DEFAULT_BUILTIN
from .common import Commands, add_group, bar, say


def add_parsers(sub: argparse._SubParsersAction) -> None:
    rsub = add_group(sub, "ranker", help="learn how to order candidates from labelled terms")
    train = rsub.add_parser("train", help="fit a ranking on gold pairs and approved review decisions")
    train.add_argument("--vocab", default=DEFAULT_BUILTIN, help=f"vocabulary the pairs' concept ids belong to (default: {DEFAULT_BUILTIN})")
    train.add_argument("--pairs", action="append", required=True, metavar="FILE",
                       help="term<TAB>concept id file, review project .tlproj (approved decisions) or teacher "
                            "labels .jsonl (`distill label -o`); repeatable")
    train.add_argument("--name", help="save under models/rankers/NAME.json (default: the vocabulary's name)")
    train.add_argument("-o", "--output", help="save to this file instead")
    train.add_argument("--encoder", help="retriever encoder (default: the vocabulary's default)")
    train.add_argument("--llm-weight", type=float, default=None, metavar="W",
                       help="weight of an LLM re-ranker's margin after this ranking (--rerank); default 0.5")

    sets = rsub.add_parser("train-sets", help="learn which further concepts a term names (set rules) from "
                                              "labelled terms with several concepts; use with link --split")
    sets.add_argument("--vocab", default=DEFAULT_BUILTIN, help="vocabulary the pairs' concept ids belong to")
    sets.add_argument("--pairs", action="append", required=True, metavar="FILE",
                      help="term<TAB>concept id file (a term on several lines names several concepts), review "
                           "project .tlproj or teacher labels .jsonl; repeatable")
    sets.add_argument("--name", help="save under models/rankers/NAME.sets.json (default: the vocabulary's name)")
    sets.add_argument("-o", "--output", help="save to this file instead")
    sets.add_argument("--min-precision", type=float, default=None, metavar="P",
                      help="a rule's least share of the labelled terms holding its text piece (default 0.7)")
    sets.add_argument("--min-support", type=int, default=None, metavar="N",
                      help="a rule's least number of labelled terms (default 5)")


def train_ranking(args: argparse.Namespace, dirs: DataDirs) -> int:
    from ..labels import read_labelled_pairs
    from ..linker import Linker, LinkerConfig
    from ..rerank.feature_ranker import saved_ranker_path
    from ..rerank.learn_ranking import learn_and_save
    from ..vocab.store import VocabularyStore

    if args.llm_weight is not None and not 0 <= args.llm_weight < 100:
        raise InputError("--llm-weight must be between 0 and 100 (0: the re-ranker does not change the order).")
    refuse_for_command(args, "output", ("pairs", "vocab"), "-o")
    pairs = read_labelled_pairs(args.pairs)
    vocabulary = VocabularyStore(dirs.ensure()).get(args.vocab)
    name = args.name or vocabulary.info.name
    path = args.output or saved_ranker_path(dirs, name)  # an unusable name is refused before indexing
    # The ranking is learned over the plain vocabulary. Used with the same labels as learned aliases
    # (link --aliases) it overrides their exact matches (measured: -0.036 on AAP); link warns.
    linker = Linker(LinkerConfig(vocabulary=args.vocab, encoder=args.encoder, threads=args.threads), dirs=dirs,
                    vocabulary=vocabulary, progress=bar(args, "indexing"))
    ranker = learn_and_save(linker, pairs, path, args.pairs, progress=bar(args, "linking "),
                            llm_weight=args.llm_weight)
    held = ranker.trained_on["held_out"]
    say(f"ranking learned from {ranker.trained_on['terms']} labelled terms "
        f"({ranker.trained_on['lists_with_gold']} had their concept among the candidates); held-out "
        f"{held['terms']} terms: Acc@1 {held['retriever_acc1']:.3f} retriever alone, "
        f"{held['ranker_acc1']:.3f} with the ranking. Saved to {path}; use it with --ranker "
        f"{path if args.output else name}.")
    return 0


def train_set_rules(args: argparse.Namespace, dirs: DataDirs) -> int:
    from ..labels import read_labelled_pairs
    from ..rerank.set_rules import DEFAULT_MIN_PRECISION, DEFAULT_MIN_SUPPORT, SetRules
    from ..paths import safe_name
    from ..vocab.store import VocabularyStore

    refuse_for_command(args, "output", ("pairs", "vocab"), "-o")
    vocabulary = VocabularyStore(dirs.ensure()).get(args.vocab)
    pairs = [p for p in read_labelled_pairs(args.pairs) if p.concept_id in vocabulary]
    rules = SetRules.learn(pairs, DEFAULT_MIN_SUPPORT if args.min_support is None else args.min_support,
                           DEFAULT_MIN_PRECISION if args.min_precision is None else args.min_precision)
    name = safe_name(args.name or vocabulary.info.name, "--name")
    path = args.output or dirs.rankers / f"{name}.sets.json"
    if not args.output:
        dirs.rankers.mkdir(parents=True, exist_ok=True)
    rules.save(path)
    say(f"{len(rules)} set rules learned from {len({p.term for p in pairs})} labelled terms; saved to {path}; "
        f"use them with link --split --set-rules {path if args.output else name}.")
    return 0


COMMANDS: Commands = {"ranker": {"train": train_ranking, "train-sets": train_set_rules}}
