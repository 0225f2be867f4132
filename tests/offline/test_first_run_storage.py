"""First run: an unusable data folder or a full disk gives a clear message and loses nothing."""

from __future__ import annotations

import errno
import os

import pytest

from termlinker.atomic import write_text
from termlinker.cli import main
from termlinker.errors import StorageError


def test_data_folder_that_cannot_be_created_is_exit_2_with_advice(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    terms = tmp_path / "t.txt"
    terms.write_text("headache\n")
    rc = main(["--home", str(blocker / "home"), "-q", "link", str(terms)])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert "data folder" in err and "TERMLINKER_HOME" in err


def test_full_disk_keeps_the_old_file_and_says_so(tmp_path, monkeypatch):
    # A real full disk cannot be produced on demand here: the rename is made to fail as ENOSPC.
    target = tmp_path / "results.csv"
    target.write_text("old results\n")

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(StorageError, match="disk is full"):
        write_text(target, "new results\n")
    assert target.read_text() == "old results\n"
    assert [p.name for p in tmp_path.iterdir()] == ["results.csv"], "no temporary file is left behind"
