"""The on-disk index of a vocabulary: hnswlib over name vectors plus the lexical matrix.

A bundle folder holds ``manifest.json`` (what it was built from, build parameters and
the sha256 of each file) beside the files themselves. ``open_or_build`` reuses a bundle
only when the vocabulary hash, the encoder identity and every checksum still match;
otherwise it rebuilds, keeping already encoded chunks of an interrupted build.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..atomic import atomic_open, atomic_target, sha256_file
from ..errors import IndexCorruptError
from ..progress import CancelToken, ProgressFn, no_progress
from ..vocab.model import Vocabulary
from .encoder import OnnxEncoder
from .lexical import LexicalIndex

FORMAT = 2  # 2: text.normalise folds traditional Chinese characters (lexical features changed)
CHUNK = 1024


@dataclass(frozen=True)
class IndexParams:
    m: int = 16
    ef_construction: int = 100
    ngram_range: tuple[int, int] = (1, 3)
    max_df: float = 0.02


@dataclass
class IndexManifest:
    format: int
    vocabulary: str
    vocabulary_hash: str
    encoder: str
    names: int
    params: dict
    files: dict[str, str] = field(default_factory=dict)
    aliases: str = ""  # digest of the learned aliases in the vocabulary (vocab.aliases); "" for none


@dataclass
class IndexBundle:
    folder: Path
    manifest: IndexManifest
    dense: "object"  # hnswlib.Index; typed loosely to keep hnswlib import lazy
    lexical: LexicalIndex
    vectors: np.ndarray  # float16 name vectors, memory-mapped: exact scores for any candidate


def bundle_folder(root: Path, vocab: Vocabulary, encoder: OnnxEncoder, params: IndexParams) -> Path:
    key = hashlib.sha256(f"{vocab.content_hash()}|{encoder.identity}|{params}".encode()).hexdigest()[:16]
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in vocab.info.name)
    return root / f"{safe}-{key}"


def open_or_build(root: Path, vocab: Vocabulary, encoder: OnnxEncoder, params: IndexParams = IndexParams(),
                  progress: ProgressFn = no_progress, cancel: CancelToken | None = None,
                  threads: int | None = None) -> tuple[IndexBundle, bool]:
    """Return (bundle, rebuilt)."""
    folder = bundle_folder(root, vocab, encoder, params)
    try:
        bundle = load_bundle(folder, vocab, encoder, params, threads)
    except (IndexCorruptError, FileNotFoundError):
        return build_bundle(folder, vocab, encoder, params, progress, cancel, threads), True
    try:
        os.utime(folder)  # "last used": remove_other_bundles keeps the most recently used spare
    except OSError:
        pass  # a read-only data folder still links
    return bundle, False


def _expected(vocab: Vocabulary, encoder: OnnxEncoder, params: IndexParams) -> dict:
    return {"format": FORMAT, "vocabulary_hash": vocab.content_hash(), "encoder": encoder.identity,
            "names": len(vocab.names), "params": _params_json(params), "aliases": vocab.info.learned_aliases}


def _params_json(params: IndexParams) -> dict:
    data = asdict(params)
    data["ngram_range"] = list(params.ngram_range)
    return data


def load_bundle(folder: Path, vocab: Vocabulary, encoder: OnnxEncoder, params: IndexParams,
                threads: int | None = None) -> IndexBundle:
    import hnswlib

    manifest_path = folder / "manifest.json"
    if not manifest_path.exists():
        raise FileNotFoundError(manifest_path)
    try:
        manifest = IndexManifest(**json.loads(manifest_path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as exc:
        raise IndexCorruptError(f"Index manifest {manifest_path} is damaged: {exc}") from exc
    expected = _expected(vocab, encoder, params)
    for key, value in expected.items():
        if getattr(manifest, key) != value:
            raise IndexCorruptError(f"Index at {folder} was built for another {key}; rebuilding.")
    for fname, digest in manifest.files.items():
        path = folder / fname
        if not path.exists() or sha256_file(path) != digest:
            raise IndexCorruptError(f"Index file {path} is missing or corrupt; rebuilding.")
    dense = hnswlib.Index(space="ip", dim=encoder.dim)
    try:
        dense.load_index(str(folder / "names.hnsw"), max_elements=manifest.names)
        lexical = LexicalIndex.load(folder)
        vectors = np.load(folder / "vectors.npy", mmap_mode="r", allow_pickle=False)
    except Exception as exc:  # hnswlib/numpy raise RuntimeError/ValueError on bad bytes
        raise IndexCorruptError(f"Index at {folder} cannot be read ({exc}); rebuilding.") from exc
    if threads:
        dense.set_num_threads(threads)
    return IndexBundle(folder, manifest, dense, lexical, vectors)


def build_bundle(folder: Path, vocab: Vocabulary, encoder: OnnxEncoder, params: IndexParams,
                 progress: ProgressFn = no_progress, cancel: CancelToken | None = None,
                 threads: int | None = None) -> IndexBundle:
    import hnswlib

    names = vocab.names
    vectors = np.empty((len(names), encoder.dim), dtype=np.float32)
    missing = _reuse_vectors(folder, names, encoder, vectors)
    vectors[missing] = _encode_resumable(folder, [names[i] for i in missing], encoder, progress, cancel, threads or 1)
    if cancel is not None:
        cancel.raise_if_cancelled()
    dense = hnswlib.Index(space="ip", dim=encoder.dim)
    dense.init_index(max_elements=len(names), M=params.m, ef_construction=params.ef_construction, random_seed=42)
    # One thread: hnswlib's threads insert in the order they happen to run, so two builds of
    # the same names would differ, and with them the names a term is offered. The graph is
    # built once per vocabulary and encoder; queries still use every thread.
    dense.add_items(vectors, np.arange(len(names)), num_threads=1)
    if threads:
        dense.set_num_threads(threads)
    lexical = LexicalIndex.build(names, params.ngram_range, params.max_df)

    folder.mkdir(parents=True, exist_ok=True)
    stale = folder / "manifest.json"
    if stale.exists():
        stale.unlink()  # an old manifest must never vouch for new files
    with atomic_target(folder / "names.hnsw") as tmp:
        dense.save_index(str(tmp))
    with atomic_open(folder / "vectors.npy", "wb") as fh:
        np.save(fh, vectors.astype(np.float16), allow_pickle=False)
    with atomic_open(folder / "names.json", "w", encoding="utf-8") as fh:
        json.dump(names, fh, ensure_ascii=False)
    files = ["names.hnsw", "vectors.npy", "names.json", *lexical.save(folder)]
    expected = _expected(vocab, encoder, params)
    manifest = IndexManifest(vocabulary=vocab.info.name, files={f: sha256_file(folder / f) for f in files}, **expected)
    with atomic_open(folder / "manifest.json", "w", encoding="utf-8") as fh:
        json.dump(asdict(manifest), fh, indent=2, ensure_ascii=False)
    shutil.rmtree(_partial_folder(folder), ignore_errors=True)
    return IndexBundle(folder, manifest, dense, lexical,
                       np.load(folder / "vectors.npy", mmap_mode="r", allow_pickle=False))


def _reuse_vectors(folder: Path, names: list[str], encoder: OnnxEncoder, out: np.ndarray) -> list[int]:
    """Copy into ``out`` the vectors other bundles of the same encoder already hold for these
    names; return the positions still to encode.

    Learning a few hundred labelled terms, or cross-validation folds that each learn others,
    would otherwise re-encode every name of the vocabulary (minutes with a slow encoder)."""
    wanted: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        wanted.setdefault(name, []).append(i)
    for other in sorted(folder.parent.iterdir()) if folder.parent.exists() else []:
        if not wanted:
            break
        if other == folder or other.name.startswith(".") or not (other / "names.json").exists():
            continue
        try:
            manifest = json.loads((other / "manifest.json").read_text(encoding="utf-8"))
            files = manifest.get("files", {})
            if manifest.get("encoder") != encoder.identity or not {"names.json", "vectors.npy"} <= set(files):
                continue
            if any(sha256_file(other / f) != files[f] for f in ("names.json", "vectors.npy")):
                continue
            old_names = json.loads((other / "names.json").read_text(encoding="utf-8"))
            old_vectors = np.load(other / "vectors.npy", mmap_mode="r", allow_pickle=False)
            if old_vectors.shape != (len(old_names), encoder.dim):
                continue
        except (OSError, ValueError):
            continue  # a damaged bundle only means encoding more
        for row, name in enumerate(old_names):
            for i in wanted.pop(name, ()):
                out[i] = old_vectors[row]
    return sorted(i for rows in wanted.values() for i in rows)


def _partial_folder(folder: Path) -> Path:
    return folder.with_name(f".{folder.name}.partial")


def _encode_resumable(folder: Path, names: list[str], encoder: OnnxEncoder, progress: ProgressFn,
                      cancel: CancelToken | None, workers: int = 1) -> np.ndarray:
    """Encode in chunks saved as they finish, so a killed build restarts where it stopped.

    Chunks are encoded ``workers`` at a time on threads (onnxruntime releases the GIL)."""
    partial = _partial_folder(folder)
    partial.mkdir(parents=True, exist_ok=True)
    total = len(names)
    out = np.empty((total, encoder.dim), dtype=np.float32)
    starts = list(range(0, total, CHUNK))

    def encode_chunk(start: int) -> int:
        if cancel is not None and cancel.cancelled:
            return 0
        chunk_names = names[start:start + CHUNK]
        digest = hashlib.sha256("\n".join(chunk_names).encode("utf-8")).hexdigest()[:16]
        path = partial / f"{start:08d}-{digest}.npy"
        block = None
        if path.exists():
            try:
                block = np.load(path, allow_pickle=False)
                if block.shape != (len(chunk_names), encoder.dim):
                    block = None
            except (ValueError, OSError):
                block = None
        if block is None:
            block = encoder.encode_passages(chunk_names)
            with atomic_open(path, "wb") as fh:
                np.save(fh, block, allow_pickle=False)
        out[start:start + len(chunk_names)] = block
        return len(chunk_names)

    progress(0, total)
    done = 0
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for count in pool.map(encode_chunk, starts):
            if cancel is not None:
                cancel.raise_if_cancelled()
            done += count
            progress(done, total)
    return out


def remove_other_bundles(root: Path, keep: Path, spare: int = 1) -> None:
    """Once a new bundle is built, the other bundles of the same vocabulary are removed except the
    ``spare`` most recently used: switching between two encoders of one vocabulary (the learned
    retriever on and off) must not encode every name again each time, and older versions of the
    vocabulary or of a learned encoder are dead weight."""
    if not root.exists():
        return
    vocabulary = keep.name.rsplit("-", 1)[0]  # the key has no "-": "icd10" is not "icd10-zh"
    others = [entry for entry in root.iterdir()
              if entry != keep and entry.is_dir() and entry.name.rsplit("-", 1)[0] == vocabulary]
    others.sort(key=_last_used, reverse=True)
    for entry in others[spare:]:
        shutil.rmtree(entry, ignore_errors=True)


def _last_used(folder: Path) -> float:
    try:
        return folder.stat().st_mtime
    except OSError:  # removed meanwhile by another process
        return 0.0
