"""Learning the retriever straight from labelled terms (approved mappings, a gold file): the door the
desktop's Tools ▸ Learn the Retriever and `distill train-retriever --project/--gold` share."""

from __future__ import annotations

import pytest

from termlinker.cli import main
from termlinker.labels import LabelledPair, MAX_REVIEW_REPEATS, read_review_decisions
from termlinker.distill.learn_retriever import MIN_TERMS, learn_retriever, learned_encoder_name
from termlinker.distill.train_retriever import RetrieverTrainConfig
from termlinker.errors import InputError
from termlinker.linker import Linker, LinkerConfig
from termlinker.models import encoder_folder
from termlinker.project.project import Project
from termlinker.vocab.store import VocabularyStore

from .test_train_retriever import PAIRS

QUICK = RetrieverTrainConfig(epochs=1, batch_size=8, threads=2)


@pytest.fixture
def tiny_home(home, tiny_vocab_path):
    VocabularyStore(home).import_file(tiny_vocab_path, "tiny")
    return home


def test_labelled_pairs_become_the_vocabularys_learned_encoder(tiny_home):
    linker = Linker(LinkerConfig(vocabulary="tiny"), dirs=tiny_home)
    report = learn_retriever([LabelledPair(t, c, "review") for t, c in PAIRS.items()], linker, tiny_home, config=QUICK)
    assert report.name == learned_encoder_name("tiny") == "tiny-learned"
    assert report.before is not None and report.after is not None
    assert report.lines()[1].startswith("MiniLM fine-tuned from ")
    assert (encoder_folder(tiny_home, "tiny-learned") / "encoder.json").is_file()
    tuned = Linker(LinkerConfig(vocabulary="tiny", encoder="tiny-learned"), dirs=tiny_home)
    assert tuned.link_terms(["my head hurts"])[0].best.concept_id == "T:001"


def test_too_few_terms_or_terms_of_another_vocabulary_are_refused_before_any_work(tiny_home):
    linker = Linker(LinkerConfig(vocabulary="tiny"), dirs=tiny_home)
    few = [LabelledPair(t, c, "review") for t, c in list(PAIRS.items())[:MIN_TERMS - 1]]
    with pytest.raises(InputError, match=f"at least {MIN_TERMS}"):
        learn_retriever(few, linker, tiny_home, config=QUICK)
    foreign = [LabelledPair(t, "HP:9999999", "review") for t in PAIRS]
    with pytest.raises(InputError, match=f"{len(PAIRS)} others name concepts it does not have"):
        learn_retriever(foreign, linker, tiny_home, config=QUICK)
    assert not encoder_folder(tiny_home, "tiny-learned").exists()


def test_a_projects_approved_terms_weigh_by_their_count_within_a_bound(tmp_path):
    project = tmp_path / "p.tlproj"
    with Project.create(project, "tiny") as p:
        p.add_terms({"my head hurts": 3, "legs ache": 5000, "ears ringing": 1})
        p.decide("my head hurts", "approved", "T:001", concept_name="Headache")
        p.decide("legs ache", "approved", "T:003", concept_name="Leg pain")
        p.decide("ears ringing", "flagged", "T:007", concept_name="Tinnitus")
    assert {(g.term, g.count) for g in read_review_decisions(project)} == {
        ("my head hurts", 3), ("legs ache", MAX_REVIEW_REPEATS)}


def test_cli_learns_from_a_project_and_names_the_encoder_after_the_vocabulary(tiny_home, tmp_path, capsys):
    project = tmp_path / "p.tlproj"
    with Project.create(project, "tiny") as p:
        p.add_terms({t: 1 for t in PAIRS})
        for term, concept in PAIRS.items():
            p.decide(term, "approved", concept, concept_name="a name")
    rc = main(["--home", str(tiny_home.root), "-q", "distill", "train-retriever", "--project", str(project),
               "--vocab", "tiny", "--epochs", "1", "--batch-size", "8"])
    out = capsys.readouterr().out
    assert rc == 0 and "encoder tiny-learned" in out and "--encoder tiny-learned" in out
    assert (encoder_folder(tiny_home, "tiny-learned") / "encoder.json").is_file()


@pytest.mark.parametrize("extra", [[], ["DATASET", "--gold", "g.tsv"], ["--gold", "g.tsv", "--base", "minilm"]])
def test_cli_wants_one_source_of_pairs(tiny_home, tmp_path, capsys, extra, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.tsv").write_text("".join(f"{t}\t{c}\n" for t, c in PAIRS.items()))
    rc = main(["--home", str(tiny_home.root), "-q", "distill", "train-retriever", "--vocab", "tiny", *extra])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1
