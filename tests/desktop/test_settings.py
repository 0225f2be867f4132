"""Settings: JSON under the config folder, written atomically, forgiving when read."""

from __future__ import annotations

import json

from termlinker_desktop.settings import Settings, load_settings, save_settings, settings_path
from termlinker_desktop.settings_dialog import SettingsDialog


def test_settings_live_under_the_config_home_and_round_trip(tmp_path):
    path = settings_path()
    assert path.parent == tmp_path / "config"  # TERMLINKER_CONFIG_HOME, set by conftest
    chosen = Settings(rerank=True, reranker="mine", threads=4, gpu_layers=12, top_k=5, bulk_approve_min=0.8,
                      data_folder="/data", vocabulary="icd10cm").with_recent("/p/a.tlproj")
    save_settings(chosen)
    assert load_settings() == chosen
    assert [p.name for p in path.parent.iterdir()] == ["desktop.json"], "no temporary file is left behind"


def test_a_damaged_or_odd_settings_file_gives_defaults(tmp_path):
    path = tmp_path / "config" / "desktop.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json", encoding="utf-8")
    assert load_settings() == Settings()
    path.write_text(json.dumps({"top_k": "many", "threads": 3, "unknown": 1, "rerank": "yes"}), encoding="utf-8")
    assert load_settings() == Settings(threads=3)


def test_recent_projects_are_most_recent_first_without_repeats():
    settings = Settings().with_recent("/a").with_recent("/b").with_recent("/a")
    assert settings.recent_projects[:2] == ("/a", "/b")


def test_the_linker_config_follows_the_settings():
    config = Settings(rerank=True, reranker="mine", threads=3, gpu_layers=7, top_k=4).linker_config("hpo")
    assert (config.vocabulary, config.rerank, config.top_k, config.threads) == ("hpo", True, 4, 3)
    assert (config.reranker.model, config.reranker.n_gpu_layers) == ("mine", 7)


def test_the_settings_dialog_edits_every_field(qtbot):
    dialog = SettingsDialog(Settings(), ["smollm2-135m", "distilled"])
    qtbot.addWidget(dialog)
    dialog.rerank.setChecked(True)
    dialog.reranker.setCurrentText("distilled")
    dialog.threads.setValue(2)
    dialog.gpu_layers.setValue(10)
    dialog.learned_ranking.setChecked(True)
    dialog.top_k.setValue(7)
    dialog.bulk_min.setValue(0.85)
    dialog.data_folder.setText("/tmp/tl")
    result = dialog.result_settings()
    assert result == Settings(rerank=True, reranker="distilled", learned_ranking=True, threads=2, gpu_layers=10, top_k=7,
                              bulk_approve_min=0.85, data_folder="/tmp/tl")


def test_applied_settings_are_saved_and_used_for_the_next_run(window, tmp_path):
    window.apply_settings(Settings(vocabulary="tiny", data_folder=window.settings.data_folder, top_k=3))
    assert load_settings(tmp_path / "config" / "desktop.json").top_k == 3
    assert window.bulk_min.value() == 0.9
