"""Terms written in a script the vocabulary does not use (头痛 against the English HPO) get links that
are nonsense; the engine counts them by one rule and the command line says so in one stderr line."""

from __future__ import annotations

import pytest

from termlinker.api import Concept, DataDirs, Vocabulary, VocabularyStore, script_warning
from termlinker.cli import main
from termlinker.vocab.model import VocabularyInfo
from termlinker.vocab.scripts import dominant_script, script_mismatch, vocabulary_scripts

ENGLISH = Vocabulary(VocabularyInfo("en-mini"), [
    Concept("T:1", "Headache", ("Cephalgia",)), Concept("T:2", "Fever"), Concept("T:3", "β-thalassemia"),
    Concept("T:4", "Type 2 diabetes mellitus", ("T2DM",)),
])
CHINESE = Vocabulary(VocabularyInfo("zh-mini", language="zh"), [
    Concept("A1", "头痛", ("Headache",)), Concept("A2", "发热", ("Fever",)), Concept("A3", "2型糖尿病"),
])
ZH_TSV = "code\tname\nR51\t头痛\nR50\t发热\nE11\t2型糖尿病\n"


@pytest.mark.parametrize("text, script", [
    ("头痛", "Han"), ("headache", "Latin"), ("2型糖尿病 T2DM", "Han"), ("123 / 45", None),
    ("β-thalassemia", "Latin"), ("головная боль", "Cyrillic"), ("ＨＥＡＤＡＣＨＥ", "Latin"), ("두통", "Hangul"),
])
def test_a_terms_script_is_the_script_of_most_of_its_letters(text, script):
    assert dominant_script(text) == script


def test_a_vocabularys_scripts_come_from_a_sample_of_its_names():
    assert vocabulary_scripts(ENGLISH) == {"Latin"}  # one Greek letter does not make Greek a script of HPO
    assert vocabulary_scripts(CHINESE) == {"Han", "Latin"}


def test_terms_in_a_script_the_vocabulary_lacks_are_counted():
    found = script_mismatch(["头痛", "发烧", "headache", "42"], ENGLISH)
    assert found is not None and (found.terms, found.total, found.script) == (2, 3, "Han")
    assert script_mismatch(["headache", "fever", "2型 diabetes"], ENGLISH) is None
    assert script_mismatch(["头痛", "headache"], CHINESE) is None  # a bilingual vocabulary takes both


def test_the_warning_names_an_installed_vocabulary_in_the_terms_script(tmp_path):
    dirs = DataDirs(tmp_path / "home").ensure()
    (tmp_path / "zh.tsv").write_text(ZH_TSV, encoding="utf-8")
    VocabularyStore(dirs).import_file(tmp_path / "zh.tsv", "zh-clinic")
    message = script_warning(["头痛", "发烧", "headache"], ENGLISH, dirs)
    assert message is not None and len(message.splitlines()) == 1
    assert "2 of 3 terms" in message and "en-mini" in message and "zh-clinic" in message
    assert script_warning(["headache"], ENGLISH, dirs) is None


def test_without_one_the_warning_names_the_builtin_chinese_vocabulary(tmp_path):
    message = script_warning(["头痛"], ENGLISH, DataDirs(tmp_path / "empty"))
    assert message is not None and "1 of 1 term" in message and "icd10-zh" in message


def test_cli_link_warns_in_one_stderr_line(home, tiny_vocab_path, tmp_path, capsys):
    terms = tmp_path / "t.txt"
    terms.write_text("头痛\n发烧\nheadache\n头痛\n", encoding="utf-8")
    rc = main(["--home", str(home.root), "-q", "link", str(terms), "--vocab", str(tiny_vocab_path), "-o",
               str(tmp_path / "out.csv")])
    err = capsys.readouterr().err
    assert rc == 0
    warnings = [line for line in err.splitlines() if "script" in line]
    assert len(warnings) == 1 and "warning" in warnings[0] and "2 of 3 terms" in warnings[0], err
    assert "icd10-zh" in warnings[0]

    terms.write_text("headache\nfever\n", encoding="utf-8")
    main(["--home", str(home.root), "-q", "link", str(terms), "--vocab", str(tiny_vocab_path), "-o",
          str(tmp_path / "out.csv")])
    assert "script" not in capsys.readouterr().err


def test_cli_project_link_warns_too(home, tiny_vocab_path, tmp_path, capsys):
    terms = tmp_path / "t.txt"
    terms.write_text("头痛\nheadache\n", encoding="utf-8")
    proj = str(tmp_path / "p.tlproj")
    assert main(["--home", str(home.root), "-q", "project", "new", proj, "--vocab", str(tiny_vocab_path),
                 "--terms", str(terms)]) == 0
    capsys.readouterr()
    assert main(["--home", str(home.root), "-q", "project", "link", proj]) == 0
    err = capsys.readouterr().err
    assert "1 of 2 terms" in err and len([line for line in err.splitlines() if "script" in line]) == 1
