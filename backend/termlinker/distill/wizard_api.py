"""The distillation steps as a few calls, for the desktop wizard and for scripts.

Each function wraps the distillation modules without adding logic of its own beyond gluing
them: terms in (an open project's unreviewed terms, or a file), retriever candidates, a
labelling plan and run with the key held in memory, a review sample whose corrections become
``review`` gold pairs (they outrank the teacher), one call that builds the training data and
fine-tunes both local models, validation, and activate-or-discard.

Files live under ``<data>/distill/``: one label store for every run (answers are keyed by
term, candidates, prompt and teacher, so a later run never pays twice), the review
corrections per vocabulary, and one training-data folder per fine-tuned model.
"""

from __future__ import annotations

import json
import random
import re
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ..atomic import write_text
from ..errors import InputError, ModelError
from ..linker import Linker, LinkerConfig, TermCount
from ..paths import DataDirs, safe_name
from ..progress import CancelToken, ProgressFn, no_progress
from ..text import normalise
from ..types import LinkResult
from .dataset import DatasetConfig, DatasetManifest, build_dataset, merge_gold
from ..labels import LabelledPair
from .errors import TeacherConfigError
from .label_store import LabelRecord, LabelStore
from .labelling import LabelPlan, LabelSummary, LabellingRun, plan_labelling
from .teacher import EndpointAnswer, TeacherClient, TeacherConfig, request_body
from .teacher_prompt import load_teacher_prompt
from .train_reranker import RerankerTrainConfig, RerankerTrainReport
from .train_retriever import RetrieverTrainConfig, RetrieverTrainReport

NO_MATCH = ""  # a correction saying that no candidate (no concept) fits the term
StageFn = Callable[[str], None]


def _no_stage(_stage: str) -> None:
    return None


# --- where things live --------------------------------------------------------------------------------


@dataclass(frozen=True)
class WizardPaths:
    root: Path

    @classmethod
    def of(cls, dirs: DataDirs) -> "WizardPaths":
        return cls(dirs.distill)

    @property
    def labels(self) -> Path:
        return self.root / "labels.sqlite"

    def corrections(self, vocabulary: str) -> Path:
        return self.root / f"corrections-{_slug(vocabulary)}.json"

    def dataset(self, name: str) -> Path:
        return self.root / "datasets" / safe_name(name, "model name")


def _slug(text: str) -> str:
    # A vocabulary may be a file path; keep a readable, safe file name.
    return re.sub(r"[^A-Za-z0-9._-]+", "_", Path(text).stem if "/" in text or "\\" in text else text)[:64] or "vocab"


# --- terms in -----------------------------------------------------------------------------------------


def unreviewed_terms(project_path: str | Path) -> list[TermCount]:
    """An open project's terms nobody has decided yet (status unchecked), in first-seen order."""
    from ..project import Project

    with Project.open(project_path) as project:
        return [TermCount(r.term, r.count) for r in project.rows(status="unchecked")]


def terms_from_file(path: str | Path, column: str | None = None) -> list[TermCount]:
    from ..io.terms import read_terms

    terms = read_terms(path, column=column)
    return [TermCount(t, c) for t, c in terms.counts.items()]


def open_linker(dirs: DataDirs, vocabulary: str, top_k: int = 10, threads: int | None = None,
                progress: ProgressFn = no_progress, cancel: CancelToken | None = None) -> Linker:
    """A retriever whose candidates for a term do not depend on the other terms of the run.

    The int8 encoder quantizes activations per batch, so a term's scores (and the order of
    close candidates) shift with its batch-mates; the label store's key holds the candidates,
    so a run over a grown term list would ask (and pay for) the same terms again. One term
    per batch costs about twice the retrieval time and keeps every answer reusable."""
    return Linker(LinkerConfig(vocabulary=vocabulary, threads=threads, top_k=top_k, batch_size=1), dirs=dirs,
                  progress=progress, cancel=cancel)


def retrieve(linker: Linker, terms: list[TermCount], top_k: int = 10, progress: ProgressFn = no_progress,
             cancel: CancelToken | None = None) -> list[LinkResult]:
    """Retriever-only candidates: the teacher is asked about what the retriever found, never re-ranked."""
    if not terms:
        raise InputError("There are no terms to label. Choose a project with unreviewed terms, or a term file.")
    if not 1 <= top_k <= 26:
        raise InputError("Offer between 1 and 26 candidates per term (they are lettered A-Z).")
    return list(linker.link(terms, top_k=top_k, progress=progress, cancel=cancel, total=len(terms), rerank=False))


# --- the teacher ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    message: str
    models: tuple[str, ...] = ()


# The connection test's question when an endpoint lists no models: no term, and it says "JSON" because
# some providers refuse a JSON-mode request whose messages never mention it.
TEST_QUESTION = ({"role": "user", "content": 'This is a connection test. Answer with the JSON {"label": "none"}.'},)


def check_base_url(url: str) -> None:
    """Refuse (TeacherConfigError) a base URL that is not http(s)://host..., before anything is sent."""
    text = url.strip()
    parts = urlsplit(text)
    try:
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in text):
        raise TeacherConfigError(f"{url!r} is not an http(s) URL. Enter the teacher's base URL, for example "
                                 "https://api.example.com/v1.")


def check_connection(config: TeacherConfig) -> ConnectionCheck:
    """Ask the endpoint for its models (GET /models): no term or candidate is sent.

    An endpoint that does not list its models counts as reached only if it answers one chat
    completion of a fixed test question (``TEST_QUESTION``, no term); anything else that came
    back (a 404, a web page, JSON of another kind) raises TeacherConfigError saying what it was.
    Raises the teacher's typed errors (not an http(s) URL, unreachable, key refused, ...) whose
    messages say what to do."""
    check_base_url(config.base_url)
    url = config.base_url
    client = TeacherClient(config)
    try:
        listing = client.get_models()
        models = _model_ids(listing)
        if models is None:
            reply = client.try_chat(list(TEST_QUESTION))
            if not _is_chat_completion(reply):
                raise TeacherConfigError(_not_answered(url, listing, reply))
            return ConnectionCheck(True, f"Reached {url}; it does not list its models "
                                         f"({listing.describe('a model list')}), but it answered a test question "
                                         f"as {config.model!r}.")
    finally:
        client.close()
    if models and config.model not in models:
        shown = ", ".join(models[:5]) + (", ..." if len(models) > 5 else "")
        return ConnectionCheck(True, f"Reached {url}, but it does not list the model {config.model!r} "
                                     f"(it has: {shown}). Check the model name.", models)
    return ConnectionCheck(True, f"Connected to {url}; the model {config.model!r} is available.", models)


def _not_answered(url: str, listing: EndpointAnswer, reply: EndpointAnswer) -> str:
    got = reply.describe("a chat completion")
    if isinstance(reply.json(), dict) and "error" in reply.json():  # an API that said no: it says why
        return f"{url} refused a test chat request ({got}). Check the model name and the base URL."
    return (f"{url} is not an OpenAI-compatible API: GET /models got {listing.describe('a model list')}, and a test "
            f"chat request got {got}. Check the base URL (it usually ends in /v1).")


def _model_ids(answer: EndpointAnswer) -> tuple[str, ...] | None:
    """The ids of an OpenAI model list ({"data": [{"id": ...}, ...]}), or None if ``answer`` is not one."""
    body = answer.json()
    if answer.status != 200 or not isinstance(body, dict) or not isinstance(body.get("data"), list):
        return None
    return tuple(str(m.get("id", "")) for m in body["data"] if isinstance(m, dict))


def _is_chat_completion(answer: EndpointAnswer) -> bool:
    body = answer.json()
    if answer.status != 200 or not isinstance(body, dict) or not isinstance(body.get("choices"), list):
        return False
    first = body["choices"][0] if body["choices"] else None
    return isinstance(first, dict) and isinstance(first.get("message"), dict)


def make_plan(results: Iterable[LinkResult], store: LabelStore, config: TeacherConfig, price_per_1k: float = 0.0,
              budget: float | None = None) -> LabelPlan:
    return plan_labelling(results, store, load_teacher_prompt(), config.model, price_per_1k, budget,
                          config.max_tokens)


def request_preview(plan: LabelPlan, config: TeacherConfig) -> str:
    """The exact JSON body of the first request to send (as the privacy page shows it before consent)."""
    jobs = plan.to_ask or plan.jobs
    if not jobs:
        return ""
    return json.dumps(request_body(config, list(jobs[0].messages)), indent=2, ensure_ascii=False)


def label(plan: LabelPlan, config: TeacherConfig, store: LabelStore, concurrency: int = 2,
          progress: ProgressFn = no_progress, cancel: CancelToken | None = None) -> LabelSummary:
    """Ask every uncached term; cancelling (pause) keeps every stored answer, and the next plan resumes."""
    client = TeacherClient(config)
    try:
        return LabellingRun(plan, client, store, concurrency, progress=progress, cancel=cancel).run()
    finally:
        client.close()


def plan_records(plan: LabelPlan, store: LabelStore) -> list[LabelRecord]:
    """The stored final answers of the plan's terms, in the plan's order."""
    out = []
    for job in plan.jobs:
        record = store.cached(job.key)
        if record is not None:
            out.append(record)
    return out


# --- review ----------------------------------------------------------------------------------------------


def review_sample(records: list[LabelRecord], size: int = 20, seed: int = 0) -> list[LabelRecord]:
    """A reproducible sample of teacher answers, in the records' order, for a person to check."""
    if len(records) <= size:
        return list(records)
    chosen = set(random.Random(seed).sample(range(len(records)), size))
    return [r for i, r in enumerate(records) if i in chosen]


@dataclass
class Corrections:
    """A reviewer's corrections: term -> concept id, or ``NO_MATCH``. Saved at once, so closing loses none."""

    path: Path
    by_term: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path) -> "Corrections":
        path = Path(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path)
        except (OSError, ValueError) as exc:
            raise InputError(f"The review corrections in {path} are unreadable ({exc}). Move the file away to "
                             "start the review again.") from exc
        return cls(path, {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {})

    def set(self, term: str, concept_id: str | None) -> None:
        """``concept_id`` None forgets the correction (the teacher's answer stands again)."""
        if concept_id is None:
            self.by_term.pop(term, None)
        else:
            self.by_term[term] = concept_id
        write_text(self.path, json.dumps(self.by_term, indent=1, ensure_ascii=False))


def training_pairs(records: Iterable[LabelRecord], corrections: Mapping[str, str]) -> list[LabelledPair]:
    """Reviewed corrections as ``review`` pairs, then the teacher's ``ok`` answers for the other terms.

    A term corrected to "no match" gives no pair at all: the teacher's answer for it was wrong."""
    corrected = {normalise(t) for t in corrections}
    pairs = [LabelledPair(term, cid, "review") for term, cid in corrections.items() if cid != NO_MATCH]
    pairs += [LabelledPair(r.term, r.concept_id, "teacher") for r in records
              if r.status == "ok" and r.concept_id and normalise(r.term) not in corrected]
    return pairs


# --- fine-tuning -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FineTuneConfig:
    retriever: RetrieverTrainConfig | None = RetrieverTrainConfig()  # None: keep the current retriever
    reranker: RerankerTrainConfig = RerankerTrainConfig(quantizations=("Q8_0",))
    dataset: DatasetConfig = DatasetConfig()


@dataclass
class FineTuneReport:
    name: str  # the new re-ranker
    encoder_name: str | None  # the new retriever encoder, if one was trained
    dataset_dir: Path
    manifest: DatasetManifest
    retriever: RetrieverTrainReport | None
    reranker: RerankerTrainReport


def encoder_name_for(name: str) -> str:
    # Both trainers work in models/training/<name>/; distinct names keep their checkpoints apart.
    return f"{name}-retriever"


def free_name(dirs: DataDirs, base: str | None = None, language: str | None = None) -> str:
    """``base`` (default <family>-ft-<date>, the family of the model a re-ranker for ``language``
    starts from), or base-2, base-3, ... if a model of that name exists."""
    from ..rerank.registry import RerankerRegistry
    from .train_reranker import default_name, output_folder

    registry = RerankerRegistry(dirs)
    base = base or default_name(base=registry.training_base(language))
    taken = set(registry.models())
    name, n = base, 1
    while name in taken or output_folder(dirs, name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def fine_tune(records: list[LabelRecord], corrections: Mapping[str, str], linker: Linker, dirs: DataDirs, name: str,
              config: FineTuneConfig = FineTuneConfig(), progress: ProgressFn = no_progress,
              cancel: CancelToken | None = None, stage: StageFn = _no_stage) -> FineTuneReport:
    """Build the training data, fine-tune the retriever (optional) and the re-ranker. Registers nothing
    but the new encoder (never made the default); ``validate`` then registers the re-ranker.

    Cancelling keeps each trainer's checkpoint; the same call resumes."""
    from ..rerank.registry import RerankerRegistry
    from .train_reranker import base_template, train_reranker
    from .train_retriever import check_name, train_retriever

    check_name(name)
    stage("Building the training data")
    merged, stats = merge_gold(training_pairs(records, corrections), linker.vocabulary)
    dataset_dir = WizardPaths.of(dirs).dataset(name)
    base = RerankerRegistry(dirs).training_base(linker.vocabulary.info.language)
    manifest = build_dataset(merged, linker, dataset_dir, config.dataset, template=base_template(dirs, base),
                             source_stats=stats)
    if cancel is not None:
        cancel.raise_if_cancelled()
    retriever_report, encoder = None, None
    if config.retriever is not None:
        stage("Fine-tuning the retriever")
        encoder = encoder_name_for(name)
        retriever_report = train_retriever(dataset_dir, linker.vocabulary, dirs, encoder, config.retriever,
                                           progress=progress, cancel=cancel)
    stage("Fine-tuning the re-ranker")
    reranker_report = train_reranker(dataset_dir, dirs, name, config.reranker, base=base, progress=progress,
                                     cancel=cancel)
    return FineTuneReport(name, encoder, dataset_dir, manifest, retriever_report, reranker_report)


def validate(report: FineTuneReport, linker: Linker, dirs: DataDirs, threads: int = 2,
             progress: ProgressFn = no_progress, cancel: CancelToken | None = None):
    """Current vs new re-ranker on the held-out terms; registers the new one, never activates it."""
    from ..rerank.registry import RerankerRegistry
    from .validate_reranker import validate_and_register

    base = RerankerRegistry(dirs).get(report.reranker.base)
    return validate_and_register(report.dataset_dir, linker.vocabulary, dirs, report.name, report.reranker.files,
                                 base.name, base.prompt_version, threads=threads, activate=False,
                                 progress=progress, cancel=cancel, base_path=report.reranker.base_path)


def learn_ranking_from_labels(records: Iterable[LabelRecord], corrections: Mapping[str, str], linker: Linker,
                              dirs: DataDirs, progress: ProgressFn = no_progress,
                              cancel: CancelToken | None = None):
    """A learned ranking (rerank.learn_ranking) from the teacher's answers and the user's corrections,
    over ``linker``'s retriever (the one linking uses), saved as ``models/rankers/<vocabulary>.json``
    where `link --ranker <vocabulary>` and the desktop setting find it. Returns (ranker, path).

    On Ask A Patient a ranking from gold plus teacher labels gained more than the distilled
    re-ranker (docs/experiments.md, "Learned ranking from the teacher's labels"). Fewer than 20
    labelled terms raise InputError, saving nothing."""
    from ..rerank.feature_ranker import saved_ranker_path
    from ..rerank.learn_ranking import learn_and_save
    from ..vocab.aliases import LEARNED_SUFFIX

    pairs = training_pairs(records, corrections)
    # One ranking per vocabulary: learned synonyms (vocab.aliases) do not make another vocabulary.
    path = saved_ranker_path(dirs, linker.vocabulary.info.name.removesuffix(LEARNED_SUFFIX))
    ranker = learn_and_save(linker, pairs, path, ["teacher labels and corrections"], progress=progress, cancel=cancel)
    return ranker, path


def activate(dirs: DataDirs, name: str, language: str | None = None) -> None:
    """Activate ``name`` for every vocabulary, or for ``language``'s (that of the vocabulary it was
    validated on: ValidationReport.language)."""
    from ..rerank.registry import RerankerRegistry

    RerankerRegistry(dirs).activate(name, language)


def discard(dirs: DataDirs, name: str, encoder_name: str | None = None) -> None:
    """Delete a new model's files and registry entry; the active re-ranker stays as it is."""
    from ..models import encoder_folder
    from ..rerank.registry import RerankerRegistry
    from .train_reranker import output_folder, work_folder
    from .train_retriever import check_name

    registry = RerankerRegistry(dirs)
    if registry.active_name() == name:
        raise ModelError(f"{name!r} is the active re-ranker. Roll back to the previous one first "
                         "(`termlinker models rollback`), then discard it.")
    for language, active in registry.language_actives().items():
        if active == name:
            raise ModelError(f"{name!r} is the active re-ranker for {language!r} vocabularies. Roll back first "
                             f"(`termlinker models rollback --language {language}`), then discard it.")
    # Every folder is named (and each name checked) before anything is deleted.
    folders = [output_folder(dirs, name), work_folder(dirs, name)]
    if encoder_name:
        folders += [encoder_folder(dirs, check_name(encoder_name)), work_folder(dirs, encoder_name)]
    registry.remove(name)
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
