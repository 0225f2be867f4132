"""A Run that first indexes its vocabulary shows two stages, each named and each running to its own
total once (issue 18, item 12: "an index progress ran to its total twice")."""

from __future__ import annotations

from termlinker_desktop.runs import RunsController

from .conftest import wait_for_run


def test_each_stage_of_a_run_is_named_and_runs_to_its_total_once(qtbot, window, monkeypatch):
    shown: list[tuple[str, int, int]] = []  # (the ETA line's stage, the bar's value, its maximum)
    on_progress = RunsController._on_progress

    def record(self, *report):
        on_progress(self, *report)
        shown.append((window.eta_label.text().split(":")[0], window.progress.value(), window.progress.maximum()))

    monkeypatch.setattr(RunsController, "_on_progress", record)
    terms = 300
    window.paste_box.setPlainText("\n".join(f"headache {i}" for i in range(terms)))
    window.run()
    # Keep the GUI thread away until the worker is done, as a busy GUI thread would: every report,
    # the index build's included, is still queued when the worker has moved on to linking.
    window._op._worker.wait()
    wait_for_run(qtbot, window)

    stages = list(dict.fromkeys(stage for stage, _v, _m in shown))
    assert stages == ["Indexing the vocabulary", "Linking"], shown
    names = len(window.runs.linker.vocabulary.names)
    for stage, total in zip(stages, (names, terms)):
        values = [(value, maximum) for s, value, maximum in shown if s == stage]
        assert {maximum for _v, maximum in values} == {total}, (stage, values)
        assert [v for v, _m in values] == sorted(v for v, _m in values), (stage, values)
        assert [v for v, _m in values].count(total) == 1, f"{stage} ran to its total more than once: {values}"
