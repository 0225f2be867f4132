"""The distillation wizard's pages, for ``docs/screenshots.py`` (which runs this under Xvfb).

Everything runs for real in a temporary data folder, so the user's own models are never
touched: the tiny test vocabulary, a project of patient phrases, a simulated teacher of
accuracy 0.9 on loopback (stdlib; no key leaves the machine), the review page with one
correction, a small LoRA fine-tune (8 examples, Q8_0 only) and the validation of the result
(shown before the choice; the new model is then activated if it is better, else discarded).

``shoot_wizard_chinese`` walks the same pages for a Chinese clinic (a small Chinese vocabulary
and diagnoses) up to the fine-tune page, whose proposed model name shows the base chosen for
Chinese (Gemma 3 270M); it trains nothing.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "tests" / "data" / "tiny_vocab.jsonl"
PHRASES = {"my head hurts": "Headache", "pounding head": "Headache", "can't sleep at night": "Insomnia",
           "awake all night": "Insomnia", "sore legs": "Pain in lower limb", "legs ache": "Pain in lower limb",
           "feel like throwing up": "Nausea", "queasy": "Nausea", "blood pressure up": "Hypertension",
           "ears ringing": "Tinnitus", "always tired": "Fatigue", "heart racing": "Palpitations"}
# A Chinese clinic's scene: ICD-10-style codes with Chinese names (synonyms after |), and
# diagnoses as wards write them, each with the name the simulated teacher knows is right.
ZH_VOCAB = """I10\t高血压\t高血压病
E11.9\t2型糖尿病\t
I25.1\t冠状动脉粥样硬化性心脏病\t冠心病
J18.9\t肺炎\t
K29.7\t胃炎\t
R51\t头痛\t
N18.9\t慢性肾脏病\t
I63.9\t脑梗死\t
J44.9\t慢性阻塞性肺疾病\t慢阻肺
C50.9\t乳腺恶性肿瘤\t乳腺癌
K80.2\t胆囊结石\t
M54.5\t腰痛\t
"""
ZH_PHRASES = {"高血压3级": "高血压", "血压高": "高血压", "2型糖尿病伴血糖控制不佳": "2型糖尿病",
              "糖尿病2型": "2型糖尿病", "冠心病不稳定型心绞痛": "冠状动脉粥样硬化性心脏病",
              "社区获得性肺炎": "肺炎", "慢性浅表性胃炎": "胃炎", "头疼": "头痛", "慢性肾功能不全": "慢性肾脏病",
              "多发性脑梗塞": "脑梗死", "慢阻肺急性加重": "慢性阻塞性肺疾病", "左乳癌术后": "乳腺恶性肿瘤",
              "胆囊结石伴胆囊炎": "胆囊结石", "腰疼": "腰痛"}


def shoot_wizard(tmp: Path, main_home: Path, settle: Callable, save: Callable) -> None:
    _walk(tmp / "wizard-home", main_home, TINY, "tiny", PHRASES, "wizard-", settle, save, train=True)


def shoot_wizard_chinese(tmp: Path, main_home: Path, settle: Callable, save: Callable) -> None:
    codes = tmp / "ward-codes.tsv"
    codes.write_text(ZH_VOCAB, encoding="utf-8")
    _walk(tmp / "wizard-zh-home", main_home, codes, "ward-codes", ZH_PHRASES, "wizard-zh-", settle, save, train=False,
          pages=("3", "5", "6"))  # the request as sent, the teacher's Chinese labels, the model's name


def _walk(home: Path, main_home: Path, vocab_file: Path, vocab: str, phrases: dict[str, str], prefix: str,
          settle: Callable, save: Callable, train: bool, pages: tuple[str, ...] | None = None) -> None:
    """The wizard's pages over a project of ``phrases`` linked to ``vocab``; ``train`` runs the
    fine-tune and the validation, else the walk stops on the fine-tune page, before Start.
    ``pages``: the page numbers to save (all when None)."""
    keep = save

    def save(widget, name: str) -> None:
        if pages is None or name.removeprefix(prefix).split("-")[0] in pages:
            keep(widget, name)

    if str(ROOT) not in sys.path:  # benchmarks/ (the simulated teacher) sits at the repository root
        sys.path.insert(0, str(ROOT))
    from benchmarks.simulated_teacher import SimulatedTeacher, serve
    from termlinker.distill.train_reranker import RerankerTrainConfig
    from termlinker.distill.train_retriever import RetrieverTrainConfig
    from termlinker.distill.wizard_api import FineTuneConfig
    from termlinker.linker import Linker, LinkerConfig
    from termlinker.models import ensure_encoder
    from termlinker.paths import DataDirs
    from termlinker.project import Project
    from termlinker.vocab.store import VocabularyStore
    from termlinker_desktop.distill.wizard import DistillWizard
    from termlinker_desktop.settings import Settings

    dirs = DataDirs(home).ensure()
    shared = main_home / "models" / "encoders" / "minilm"
    if (shared / "encoder.json").exists():  # reuse the exported encoder instead of exporting it again
        (dirs.models / "encoders").mkdir(parents=True, exist_ok=True)
        os.symlink(shared, dirs.models / "encoders" / "minilm")
    else:
        ensure_encoder(dirs)
    VocabularyStore(dirs).import_file(vocab_file, vocab, replace=True)
    project_path = dirs.projects / "clinic-phrases.tlproj"
    with Project.create(project_path, vocab) as project:
        project.add_terms({t: 1 for t in phrases})
        project.link(Linker(LinkerConfig(vocabulary=vocab), dirs=dirs))

    class SlowTeacher(SimulatedTeacher):
        """A quarter second an answer, so the labelling page can be caught mid-run."""

        def answer(self, term: str, labels: list[tuple[str, str]]) -> str:
            time.sleep(0.25)
            return super().answer(term, labels)

    teacher = SlowTeacher(phrases, p=0.9, seed=1)
    server = serve(teacher)
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    training = FineTuneConfig(retriever=RetrieverTrainConfig(epochs=1, batch_size=4, threads=2),
                              reranker=RerankerTrainConfig(max_examples=8, batch_size=8, quantizations=("Q8_0",),
                                                           threads=2))
    settings = Settings(vocabulary=vocab, data_folder=str(dirs.root), teacher_base_url=url,
                        teacher_model=teacher.model, teacher_price_per_1k=0.0006, teacher_budget=2.0)
    wizard = DistillWizard(settings, dirs, project_path, vocab, training=training)
    wizard.resize(900, 680)
    wizard.show()
    try:
        settle()
        save(wizard, f"{prefix}1-terms.png")
        wizard.next()
        page = wizard.teacher_page
        page.api_key.setText("sk-example-not-a-real-key")
        page.test_connection()
        settle(lambda: not page.op.running)
        save(wizard, f"{prefix}2-teacher.png")
        wizard.next()
        privacy = wizard.privacy_page
        settle(lambda: wizard.ctx.plan is not None and not privacy.op.running)
        privacy.consent.setChecked(True)
        settle()
        save(wizard, f"{prefix}3-privacy.png")
        wizard.next()
        labelling = wizard.labelling_page
        settle(lambda: labelling.answered >= 5 or not labelling.op.running)
        save(wizard, f"{prefix}4-labelling.png")
        settle(lambda: not labelling.op.running)
        wizard.next()
        review = wizard.review_page
        wrong = next((r for r in review.sample if r.concept_name != phrases[r.term]), review.sample[0])
        gold = next((cid for cid, name in wrong.candidates if name == phrases[wrong.term]), None)
        review.set_correction(wrong.term, gold or "")
        settle()
        save(wizard, f"{prefix}5-review.png")
        wizard.next()
        tune = wizard.fine_tune_page
        if not train:
            settle()
            save(wizard, f"{prefix}6-fine-tune.png")  # the name proposed for the new model
            return
        tune.start()
        settle(lambda: tune.op.stage == "Fine-tuning the re-ranker" or not tune.op.running)
        save(wizard, "wizard-6-fine-tune-running.png")
        settle(lambda: not tune.op.running, timeout=1800)
        if wizard.ctx.fine_tune is None:
            raise SystemExit(f"fine-tuning failed: {tune.op.status.text()}")
        save(wizard, "wizard-6-fine-tune.png")
        wizard.next()
        validation = wizard.validation_page
        settle(lambda: not validation.op.running, timeout=1800)
        if wizard.ctx.validation is None:
            raise SystemExit(f"validation failed: {validation.op.status.text()}")
        save(wizard, "wizard-7-validation.png")  # the choice, before it is made
        better = wizard.ctx.validation.activated or (
            wizard.ctx.validation.chosen is not None
            and wizard.ctx.validation.chosen.calibration.reranked.acc1 > wizard.ctx.validation.current.reranked.acc1)
        if better:
            validation.activate()
        else:
            validation.discard()
        settle()
    finally:
        wizard.reject()
        server.shutdown()
        server.server_close()
