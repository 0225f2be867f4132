"""``TeacherClient``: one chat completion at a time to any OpenAI-compatible endpoint, with our own retries.

The openai client's own retries are off (``max_retries=0``) so that backoff, Retry-After and the
error messages are ours and testable. Each attempt, retries included, is announced to the
caller's ``SendLedger`` before it is sent and settled after, so a retry is never spent unseen.
The API key is read from an environment variable, or given directly (``TeacherConfig.api_key``,
for the desktop wizard), and kept only in memory: it is left out of the config's repr and of every
request body, and nothing here writes it anywhere.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .errors import (TeacherAuthError, TeacherConfigError, TeacherError, TeacherRateLimited,
                     TeacherServerError, TeacherUnreachable)

# The openai client announces the OS, CPU and Python version in headers; only the term text and
# candidate names should leave the machine, so those headers are dropped.
_PLATFORM_HEADERS = ("X-Stainless-OS", "X-Stainless-Arch", "X-Stainless-Runtime", "X-Stainless-Runtime-Version",
                     "X-Stainless-Lang", "X-Stainless-Package-Version", "X-Stainless-Async")


@dataclass(frozen=True)
class TeacherConfig:
    base_url: str
    model: str
    api_key_env: str  # name of the variable holding the key; "" when ``api_key`` is given
    timeout_s: float = 60.0
    max_attempts: int = 5  # per request, for 429 / 5xx / timeouts / refused connections
    backoff_s: float = 1.0  # first wait; doubles each attempt, with jitter
    backoff_max_s: float = 30.0
    max_tokens: int = 24  # {"label": "none"} is about 6 tokens; the rest is slack for chatty teachers
    temperature: float = 0.0
    json_mode: bool = True  # response_format json_object; a help, never trusted (the validator decides)
    # The key itself, held in memory only; repr=False keeps it out of logs and tracebacks.
    api_key: str | None = field(default=None, repr=False, compare=False)

    @property
    def key_source(self) -> str:
        """Where the key came from, for error messages (never the key)."""
        return "the API key you entered" if self.api_key else f"the key in the environment variable {self.api_key_env}"


@dataclass(frozen=True)
class TeacherReply:
    text: str
    request: dict[str, Any]  # exactly the body that was sent (no headers, no key)
    tokens_in: int
    tokens_out: int
    usage_estimated: bool  # True when the endpoint gave no usage and chars/4 was used
    attempts: int


@dataclass(frozen=True)
class EndpointAnswer:
    """What an endpoint sent back to one request, read as it came: status, content type, text."""

    status: int
    content_type: str
    text: str

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.text)
        except ValueError:
            return None

    def describe(self, expected: str) -> str:
        """What came back, in words: "HTTP 404 with an HTML page", "HTTP 200 with JSON that is not <expected>"."""
        body = self.json()
        kind = self.content_type.split(";")[0].strip().lower()
        if isinstance(body, dict) and isinstance(body.get("error"), dict | str):
            error = body["error"]
            message = error.get("message", "") if isinstance(error, dict) else error
            what = f"an error: {_clip(_one_line(str(message)))}" if message else "an error"
        elif body is not None:
            what = f"JSON that is not {expected}"
        elif not self.text.strip():
            what = "an empty body"
        elif "html" in kind or self.text.lstrip()[:15].lower().startswith(("<!doctype html", "<html")):
            what = "an HTML page"
        else:
            what = f"{kind or 'untyped text'}: {_clip(_one_line(self.text))!r}"
        return f"HTTP {self.status} with {what}"


class SendLedger(Protocol):
    """Told about every attempt of one ``ask``: before it is sent, and once its fate is known."""

    def sending(self, body: dict[str, Any]) -> None:
        """Called before each attempt leaves; raising here sends nothing more (e.g. the budget is spent)."""

    def answered(self, tokens_in: int, tokens_out: int) -> None:
        """The attempt came back with a chat completion and this usage."""

    def unanswered(self, may_be_billed: bool) -> None:
        """The attempt brought back no usable answer; ``may_be_billed`` unless the provider surely refused it."""


# httpx (and httpx2, which the openai client may use) raise these before any byte of the request
# has left: nothing can have been processed. Matched by name so that either package's class counts.
_NOT_SENT_ERRORS = frozenset({"ConnectError", "ConnectTimeout", "PoolTimeout", "UnsupportedProtocol"})


def may_be_billed(exc: BaseException) -> bool:
    """Whether an attempt that failed with ``exc`` may still have been processed, and billed.

    Only a refusal we can see is free: a connection that never opened, or a 4xx or a 503 (busy),
    which a provider sends instead of generating. A timeout or a connection lost after sending
    leaves us not knowing, and another 5xx or an unreadable 200 may come after the model ran."""
    openai = _openai()
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code >= 500 and exc.status_code != 503
    if isinstance(exc, openai.APIConnectionError):  # APITimeoutError included
        cause = exc.__cause__
        return cause is None or not {c.__name__ for c in type(cause).__mro__} & _NOT_SENT_ERRORS
    return True


def estimate_tokens(text: str) -> int:
    """A cautious token count without a tokenizer: ASCII at 3 characters a token, anything else 1 each.

    Chinese and other scripts tokenise near one token a character, so chars/4 would under-count them
    and let a budget be overspent.
    """
    ascii_chars = sum(1 for ch in text if ord(ch) < 128)
    return ascii_chars // 3 + (len(text) - ascii_chars) + 1


def estimate_request_tokens(messages: list[dict[str, str]]) -> int:
    # About four tokens of chat framing per message.
    return sum(estimate_tokens(m["content"]) + 4 for m in messages)


@dataclass
class TeacherClient:
    config: TeacherConfig
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        import openai

        name = self.config.api_key_env
        key = self.config.api_key or (self.env.get(name) if name else None)
        if not key and not name:
            raise TeacherConfigError("No API key was given for the teacher. Enter the key (it is kept in memory "
                                     "only) and try again.")
        if not key:
            raise TeacherConfigError(f"The environment variable {name} is not set. Put the teacher's API key in it "
                                     f"(export {name}=...) and run again; the key is never written to disk.")
        headers = {h: openai.Omit() for h in _PLATFORM_HEADERS}
        self._client = openai.OpenAI(base_url=self.config.base_url, api_key=key, timeout=self.config.timeout_s,
                                     max_retries=0, default_headers=headers)
        self._rng = random.Random()

    def request_body(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        return request_body(self.config, messages)

    def get_models(self) -> EndpointAnswer:
        """GET /models once, as it came back (any HTTP status): a connection test that sends no term.

        Raises ``TeacherUnreachable`` when nothing answered, and ``TeacherAuthError`` on 401/403."""
        return self._exchange(lambda: self._client.models.with_raw_response.list())

    def try_chat(self, messages: list[dict[str, str]]) -> EndpointAnswer:
        """One chat completion of ``messages``, sent once and not retried, as it came back (any status)."""
        body = self.request_body(messages)
        return self._exchange(lambda: self._client.chat.completions.with_raw_response.create(**body))

    def _exchange(self, send: Callable[[], Any]) -> EndpointAnswer:
        openai = _openai()
        try:
            response = send().http_response
        except openai.APIStatusError as exc:
            if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
                raise self._classify(exc, self.config.max_attempts)[0] from exc
            response = exc.response
        except Exception as exc:  # noqa: BLE001 - no answer at all: mapped like ask()'s errors
            error, _wait = self._classify(exc, self.config.max_attempts)
            raise error from exc
        return EndpointAnswer(response.status_code, response.headers.get("content-type", ""), response.text)

    def ask(self, messages: list[dict[str, str]], ledger: SendLedger | None = None) -> TeacherReply:
        """One answer, retrying 429 / 5xx / timeouts; ``ledger`` hears of every attempt (see SendLedger)."""
        body = self.request_body(messages)
        attempt = 0
        while True:
            attempt += 1
            if ledger is not None:
                ledger.sending(body)
            try:
                response = self._client.chat.completions.create(**body)
                reply = self._reply(response, body, attempt)
            except Exception as exc:  # noqa: BLE001 - every openai error is mapped below
                if ledger is not None:  # settled first: _classify re-raises what it does not know
                    ledger.unanswered(may_be_billed(exc))
                error, retry_after = self._classify(exc, attempt)
                if retry_after is None or attempt >= self.config.max_attempts:
                    raise error from exc
                self.sleep(retry_after)
                continue
            if ledger is not None:
                ledger.answered(reply.tokens_in, reply.tokens_out)
            return reply

    def close(self) -> None:
        self._client.close()

    def _reply(self, response: Any, body: dict[str, Any], attempts: int) -> TeacherReply:
        try:
            text = response.choices[0].message.content or ""
        except (AttributeError, IndexError, TypeError) as exc:
            raise TeacherServerError(f"The teacher at {self.config.base_url} answered something that is not a chat "
                                     "completion. Check that --base-url points at an OpenAI-compatible /v1 "
                                     "endpoint.") from exc
        usage = getattr(response, "usage", None)
        tokens_in = getattr(usage, "prompt_tokens", None)
        tokens_out = getattr(usage, "completion_tokens", None)
        estimated = not isinstance(tokens_in, int) or not isinstance(tokens_out, int)
        if estimated:
            tokens_in = estimate_request_tokens(body["messages"])
            tokens_out = estimate_tokens(text)
        return TeacherReply(text, body, int(tokens_in), int(tokens_out), estimated, attempts)

    def _classify(self, exc: Exception, attempt: int) -> tuple[TeacherError, float | None]:
        """The error to raise if we give up, and how long to wait before retrying (None: do not retry)."""
        openai = _openai()
        url = self.config.base_url
        wait = self._backoff(attempt)
        if isinstance(exc, openai.APITimeoutError):
            return TeacherUnreachable(f"The teacher at {url} did not answer within {self.config.timeout_s:g} s "
                                      f"after {self.config.max_attempts} tries. Check the URL and the network, "
                                      "then run again; finished answers are kept."), wait
        if isinstance(exc, openai.APIConnectionError):
            return TeacherUnreachable(f"Cannot reach the teacher at {url}. Check --base-url and the network, then "
                                      "run again; finished answers are kept."), wait
        if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
            return TeacherAuthError(f"The teacher at {url} refused the API key (HTTP {exc.status_code}). Check "
                                    f"{self.config.key_source}; finished answers are kept."), None
        if isinstance(exc, openai.RateLimitError):
            return TeacherRateLimited(f"The teacher at {url} kept answering 429 (rate limit or quota) after "
                                      f"{self.config.max_attempts} tries. Wait, lower --concurrency or check the "
                                      "account's quota, then run again; finished answers are kept."), \
                self._retry_after(exc, wait)
        if isinstance(exc, openai.NotFoundError):
            return TeacherConfigError(f"The teacher at {url} answered 404. Check --base-url (usually ending in /v1) "
                                      f"and that the model {self.config.model!r} exists there."), None
        if isinstance(exc, openai.APIStatusError) and exc.status_code >= 500:
            return TeacherServerError(f"The teacher at {url} kept failing (HTTP {exc.status_code}) after "
                                      f"{self.config.max_attempts} tries. Try again later; finished answers are "
                                      "kept."), self._retry_after(exc, wait)
        if isinstance(exc, openai.APIStatusError):
            return TeacherConfigError(f"The teacher at {url} rejected the request (HTTP {exc.status_code}: "
                                      f"{_short(exc)}). Check --model and --base-url."), None
        if isinstance(exc, (openai.APIResponseValidationError, ValueError)):
            return TeacherServerError(f"The teacher at {url} sent a reply that is not valid JSON. Check that "
                                      "--base-url points at an OpenAI-compatible /v1 endpoint."), wait
        raise exc

    def _backoff(self, attempt: int) -> float:
        # Jitter spreads the retries of concurrent workers so they do not hit a rate limit together.
        base = min(self.config.backoff_max_s, self.config.backoff_s * 2 ** min(attempt - 1, 10))
        return base * (0.5 + self._rng.random() / 2)

    def _retry_after(self, exc: Any, fallback: float) -> float:
        try:
            value = float(exc.response.headers.get("retry-after", ""))
        except (AttributeError, TypeError, ValueError):
            return fallback
        return max(0.0, min(value, self.config.backoff_max_s))


def request_body(config: TeacherConfig, messages: list[dict[str, str]]) -> dict[str, Any]:
    """Exactly the JSON body sent for ``messages`` (no headers, no key); also shown before consent."""
    body: dict[str, Any] = {"model": config.model, "messages": messages, "temperature": config.temperature,
                            "max_tokens": config.max_tokens}
    if config.json_mode:
        body["response_format"] = {"type": "json_object"}
    return body


def _openai() -> Any:
    import openai

    return openai


def _short(exc: Exception) -> str:
    return _clip(str(getattr(exc, "message", exc)))


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) < limit else text[:limit] + "..."


def _one_line(text: str) -> str:
    return " ".join(text.split())
