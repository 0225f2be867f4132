"""``LinkOptions`` → ``LinkerConfig``: the one place both front ends' choices become the engine's
configuration (the CLI's flags and the desktop's settings give the same linker for the same choice)."""

from __future__ import annotations

from termlinker.api import LinkOptions, linker_config, saved_ranker_path
from termlinker.cli import build_parser
from termlinker.cli.common import linker_config_from_args
from termlinker.models import encoder_folder


def test_threads_left_to_the_machine_give_the_reranker_two(home):
    assert linker_config(LinkOptions(), home).reranker.threads == 2
    config = linker_config(LinkOptions(threads=6, gpu_layers=3, reranker="mine", rerank=True), home)
    assert (config.threads, config.reranker.threads, config.reranker.n_gpu_layers) == (6, 6, 3)
    assert config.rerank and config.reranker.model == "mine"


def test_learned_ranking_and_retriever_are_used_only_when_switched_on_and_present(home):
    on = LinkOptions(vocabulary="tiny", learned_ranking=True, learned_retriever=True)
    assert (linker_config(on, home).ranker, linker_config(on, home).encoder) == (None, None)
    ranking = saved_ranker_path(home, "tiny")
    ranking.parent.mkdir(parents=True)
    ranking.write_text("{}")
    encoder_folder(home, "tiny-learned").mkdir(parents=True)
    assert linker_config(on, home).ranker == str(ranking)
    assert linker_config(on, home).encoder == "tiny-learned"
    off = LinkOptions(vocabulary="tiny")
    assert (linker_config(off, home).ranker, linker_config(off, home).encoder) == (None, None)
    chosen = LinkOptions(vocabulary="tiny", learned_retriever=True, encoder="other", ranker="r.json",
                         learned_ranking=True)
    assert (linker_config(chosen, home).encoder, linker_config(chosen, home).ranker) == ("other", "r.json")


def test_a_vocabulary_file_has_no_learned_models(home):
    options = LinkOptions(vocabulary="../x/vocab.jsonl", learned_ranking=True, learned_retriever=True)
    config = linker_config(options, home)
    assert (config.ranker, config.encoder) == (None, None)


def test_the_cli_and_the_desktop_settings_build_the_same_config(home):
    from termlinker_desktop.settings import Settings

    args = build_parser().parse_args(["--home", str(home.root), "--threads", "3", "link", "t.txt", "--vocab", "tiny",
                                      "--reranker", "mine"])
    cli = linker_config_from_args(args, top_k=10)
    gui = Settings(rerank=True, reranker="mine", threads=3, data_folder=str(home.root)).linker_config("tiny")
    assert cli == gui
