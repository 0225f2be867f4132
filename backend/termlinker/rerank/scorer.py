"""Score (term, candidate) pairs with a GGUF causal LM run by llama.cpp.

Each candidate gets its own yes/no question (see ``resources/prompts``); its score is
``logsumexp(positive label logits) - logsumexp(negative label logits)`` at the last
prompt token. No text is generated and nothing is parsed.

All candidates of a term go through llama.cpp in one ``llama_decode`` call: the fixed
prefix sits in KV sequence 0 (evaluated once, when the model loads), each candidate is
its own sequence that starts as a copy of sequence 0, the term's tokens are added once
and shared by all candidate sequences, and each candidate's own tokens follow. The KV
cache is unified so that the copies share cells instead of duplicating them.

A LoRA adapter GGUF (a distilled re-ranker exported as an adapter) can be applied over the
model file; llama.cpp then adds the adapter's low-rank update in every projection it covers.

A scorer is not thread-safe: one llama.cpp context, one caller at a time.
"""

from __future__ import annotations

import ctypes
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ModelError
from .prompt import PromptTemplate

GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class ScorerConfig:
    threads: int = 2
    n_gpu_layers: int = 0  # layers offloaded to a GPU when llama.cpp was built with one
    max_candidates: int = 10  # candidates per llama_decode call; more are scored in chunks
    max_term_tokens: int = 48
    max_candidate_tokens: int = 40  # tokens of one candidate name; longer names are shortened
    # llama.cpp's CPU backend switches matrix kernels at 64 tokens per micro-batch, and the two
    # kernels round differently (margins move by up to ~0.2). Micro-batches below 64 keep a
    # candidate's score independent of how many others share its llama_decode call.
    n_ubatch: int = 32


@dataclass
class ScorerStats:
    calls: int = 0  # llama_decode calls made for terms (not counting the prefix)
    prompt_tokens: int = 0  # tokens evaluated for terms (not counting the cached prefix)


def check_gguf(path: str | os.PathLike[str]) -> Path:
    """Fail early, with a message a user can act on, before llama.cpp sees the file."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"Re-ranker model file not found: {path}. Give the path of a .gguf file or a registered "
                         "re-ranker name (`termlinker models list`).")
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic != GGUF_MAGIC:
        raise ModelError(f"{path} is not a GGUF model file (it does not start with 'GGUF'). Convert the model to "
                         "GGUF with llama.cpp's convert_hf_to_gguf.py, or choose another file.")
    return path


class LlamaScorer:
    def __init__(self, model_path: str | os.PathLike[str], template: PromptTemplate,
                 config: ScorerConfig = ScorerConfig(), adapter_path: str | os.PathLike[str] | None = None) -> None:
        self.path = check_gguf(model_path)
        self.adapter_path = check_gguf(adapter_path) if adapter_path else None
        self.template = template
        self.config = config
        self.stats = ScorerStats()
        llama_cpp, internals = _import_llama()
        self._llama = llama_cpp
        model_params = llama_cpp.llama_model_default_params()
        model_params.n_gpu_layers = config.n_gpu_layers
        try:
            self._model = internals.LlamaModel(path_model=str(self.path), params=model_params, verbose=False)
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(f"llama.cpp could not load {self.path}: the file is truncated, corrupt, or of a model "
                             "architecture this llama.cpp does not know. Re-download it or choose another "
                             "GGUF file.") from exc
        if not llama_cpp.llama_model_has_decoder(self._model.model) or llama_cpp.llama_model_has_encoder(self._model.model):
            raise ModelError(f"{self.path} is not a decoder-only language model (an embedding or encoder model?). "
                             "The re-ranker needs a causal LM such as SmolLM2-135M-Instruct.")
        adapter = self._load_adapter() if self.adapter_path else None
        self._positive = self._label_ids(template.positive)
        self._negative = self._label_ids(template.negative)
        bos = [self._model.token_bos()] if self._model.add_bos_token() else []
        self._prefix = bos + self._tokens(template.prefix)
        self._overhead = len(self._tokens(template.candidate_part(""))) + 1
        self.n_ctx = self._context_size()
        ctx_params = llama_cpp.llama_context_default_params()
        ctx_params.n_ctx = self.n_ctx
        ctx_params.n_batch = self.n_ctx
        ctx_params.n_ubatch = min(self.n_ctx, config.n_ubatch)
        ctx_params.n_seq_max = config.max_candidates + 1
        ctx_params.kv_unified = True  # candidate sequences share the prefix's and the term's cells
        ctx_params.n_threads = config.threads
        ctx_params.n_threads_batch = config.threads
        try:
            self._ctx = internals.LlamaContext(model=self._model, params=ctx_params, verbose=False)
        except ValueError as exc:
            raise ModelError(f"llama.cpp could not create a context of {self.n_ctx} tokens for {self.path}: "
                             "not enough memory? Lower --top-k or close other programs.") from exc
        if adapter is not None:
            adapters = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(adapter)
            if llama_cpp.llama_set_adapters_lora(self._ctx.ctx, adapters, 1, (ctypes.c_float * 1)(1.0)) != 0:
                raise ModelError(f"llama.cpp could not apply the adapter {self.adapter_path} to {self.path}.")
        self._batch = internals.LlamaBatch(n_tokens=self.n_ctx, embd=0, n_seq_max=config.max_candidates,
                                           verbose=False)
        self._memory = llama_cpp.llama_get_memory(self._ctx.ctx)
        self._decode_prefix()

    # -- public ---------------------------------------------------------------------------

    def score(self, term: str, candidates: Sequence[str]) -> np.ndarray:
        """Yes-minus-no logit margin per candidate, using the cached prefix."""
        if not candidates:
            return np.zeros(0, dtype=np.float32)
        term_tokens = self._tokens(self.template.term_part(self.fit(term, self.config.max_term_tokens)))
        out: list[float] = []
        step = self.config.max_candidates
        for start in range(0, len(candidates), step):
            out.extend(self._score_chunk(term_tokens, candidates[start:start + step]))
        return np.asarray(out, dtype=np.float32)

    def score_uncached(self, term: str, candidates: Sequence[str]) -> np.ndarray:
        """Each candidate's whole prompt from an empty cache; slow, for checking the cached path."""
        term_part = self.template.term_part(self.fit(term, self.config.max_term_tokens))
        out = []
        for name in candidates:
            tokens = self._prefix + self._tokens(term_part) + self._tokens(self.template.candidate_part(
                self.fit(name, self._candidate_budget(len(self._tokens(term_part)), len(candidates)))))
            out.append(self._score_alone(tokens))
        return np.asarray(out, dtype=np.float32)

    def score_prompt(self, prompt: str) -> float:
        """The margin of one fully rendered prompt (as training data stores it), from an empty cache."""
        bos = self._prefix[:1] if self._model.add_bos_token() else []
        return self._score_alone(bos + self._tokens(prompt))

    def _score_alone(self, tokens: list[int]) -> float:
        self._llama.llama_memory_clear(self._memory, True)
        try:
            self._batch.reset()
            for pos, token in enumerate(tokens[:self.n_ctx]):
                self._add(token, pos, (0,), pos == min(len(tokens), self.n_ctx) - 1)
            self._decode()
            return self._margin(self._batch.n_tokens() - 1)
        finally:
            self._llama.llama_memory_clear(self._memory, True)
            self._decode_prefix()

    def tokenize(self, text: str) -> list[int]:
        """The model's tokens for prompt text (special tokens such as <|im_end|> recognised)."""
        return self._tokens(text)

    def fit(self, text: str, max_tokens: int) -> str:
        """``text`` cut (at the end) until it is at most ``max_tokens`` tokens; short text unchanged."""
        n = len(self._tokens(text))
        while n > max_tokens and text:
            text = text[:max(0, min(len(text) - 1, int(len(text) * max_tokens / n)))].rstrip()
            n = len(self._tokens(text))
        return text

    def close(self) -> None:
        for item in (getattr(self, "_batch", None), getattr(self, "_ctx", None), getattr(self, "_model", None)):
            if item is not None:
                item.close()

    # -- internals -------------------------------------------------------------------------

    def _load_adapter(self):
        # Freed by llama.cpp together with the model; freeing it here as well would free it twice.
        adapter = self._llama.llama_adapter_lora_init(self._model.model, str(self.adapter_path).encode())
        if not adapter:
            raise ModelError(f"llama.cpp could not apply the LoRA adapter {self.adapter_path} to {self.path}: it "
                             "is damaged, not an adapter, or made for another base model. Choose the adapter's "
                             "own base model, or export the re-ranker merged.")
        return adapter

    def _context_size(self) -> int:
        c = self.config
        need = len(self._prefix) + c.max_term_tokens + 8 + c.max_candidates * (self._overhead + c.max_candidate_tokens)
        return -(-need // 256) * 256

    def _candidate_budget(self, term_len: int, k: int) -> int:
        free = self.n_ctx - len(self._prefix) - term_len
        per = free // max(1, min(k, self.config.max_candidates)) - self._overhead
        return max(1, min(self.config.max_candidate_tokens, per))

    def _score_chunk(self, term_tokens: list[int], names: Sequence[str]) -> list[float]:
        budget = self._candidate_budget(len(term_tokens), len(names))
        seqs = tuple(range(1, len(names) + 1))
        for seq in seqs:
            self._llama.llama_memory_seq_cp(self._memory, 0, seq, -1, -1)
        self._batch.reset()
        start = len(self._prefix)
        for i, token in enumerate(term_tokens):
            self._add(token, start + i, seqs, False)
        start += len(term_tokens)
        last = []
        for seq, name in zip(seqs, names):
            tokens = self._tokens(self.template.candidate_part(self.fit(name, budget)))
            for i, token in enumerate(tokens):
                self._add(token, start + i, (seq,), i == len(tokens) - 1)
            last.append(self._batch.n_tokens() - 1)
        n_tokens = self._batch.n_tokens()
        try:
            self._decode()
            return [self._margin(i) for i in last]
        finally:
            for seq in seqs:
                self._llama.llama_memory_seq_rm(self._memory, seq, -1, -1)
            self.stats.calls += 1
            self.stats.prompt_tokens += n_tokens

    def _decode_prefix(self) -> None:
        self._batch.reset()
        for pos, token in enumerate(self._prefix):
            self._add(token, pos, (0,), False)
        self._decode()

    def _add(self, token: int, pos: int, seqs: tuple[int, ...], logits: bool) -> None:
        b = self._batch.batch
        j = b.n_tokens
        b.token[j] = token
        b.pos[j] = pos
        b.n_seq_id[j] = len(seqs)
        for s, seq in enumerate(seqs):
            b.seq_id[j][s] = seq
        b.logits[j] = logits
        b.n_tokens = j + 1

    def _decode(self) -> None:
        rc = self._llama.llama_decode(self._ctx.ctx, self._batch.batch)
        if rc != 0:
            raise ModelError(f"llama.cpp failed to evaluate a prompt (code {rc}) with {self.path}; "
                             "the model may be damaged. Choose another re-ranker model.")

    def _margin(self, index: int) -> float:
        logits = self._llama.llama_get_logits_ith(self._ctx.ctx, index)
        pos = np.array([logits[t] for t in self._positive], dtype=np.float64)
        neg = np.array([logits[t] for t in self._negative], dtype=np.float64)
        with np.errstate(invalid="ignore"):
            margin = float(np.logaddexp.reduce(pos) - np.logaddexp.reduce(neg))
        if not np.isfinite(margin):
            # A damaged model file (flipped bytes in a tensor) loads and evaluates, but its logits
            # are NaN or infinite: every "re-ranked" answer would be noise while the run exits 0.
            raise ModelError(f"The re-ranker {self.path} gives no finite scores: the model file is damaged. "
                             "Reinstall or re-register it, or choose another re-ranker.")
        return margin

    def _tokens(self, text: str) -> list[int]:
        if not text:
            return []
        return list(self._model.tokenize(text.encode("utf-8"), False, True))

    def _label_ids(self, labels: tuple[str, ...]) -> list[int]:
        return single_token_ids(self._tokens, labels, f"{self.path.name} (prompt {self.template.version})")


def single_token_ids(tokenize: Callable[[str], list[int]], labels: tuple[str, ...], what: str) -> list[int]:
    """The token id of each answer label; a label that is not one token cannot be read from one logit."""
    ids = []
    for label in labels:
        tokens = tokenize(label)
        if len(tokens) != 1:
            raise ModelError(f"The label {label!r} is {len(tokens)} tokens for {what}; labels must be single "
                             "tokens. Use a prompt made for this model.")
        ids.append(tokens[0])
    return ids


def _import_llama():
    """Import llama.cpp's bindings quietly: its loader logs would clutter the CLI's stderr."""
    import llama_cpp
    import llama_cpp._internals as internals
    import llama_cpp._logger as llama_logger

    llama_logger.logger.setLevel(logging.CRITICAL)
    return llama_cpp, internals
