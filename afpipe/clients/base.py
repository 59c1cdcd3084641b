"""The one interface for text models: messages in, text and usage out, in batches.

Every stage speaks to models through ``TextModel.complete``. Clients are built by the caller
(the CLI or a test) and passed in, never constructed deep inside library functions, so a test
can hand any stage a fake.

The interface is synchronous and batched on purpose: stages always have many requests at once,
and each backend is free to run them concurrently inside (async HTTP with a semaphore for the
Anthropic API, padded batches for a local model, a batch job for Message Batches).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Literal, Protocol, Sequence, runtime_checkable

Role = Literal["user", "assistant"]


@dataclass(frozen=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True)
class ChatRequest:
    """One request. ``prefill`` opens the assistant turn (the completion continues it).

    ``cache_prefix`` marks how much of the system prompt is a prefix shared by many requests
    (the universe context, say): backends with prompt caching cache it, others ignore it.
    ``key`` is a caller-chosen stable id (a batch ``custom_id``); when empty, ``cache_key()``
    derives one from the content.
    """

    messages: tuple[Message, ...]
    system: str = ""
    max_tokens: int = 1024
    temperature: float = 1.0
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    prefill: str = ""
    cache_prefix: str = ""
    seed: int | None = None
    key: str = ""

    def cache_key(self, model: str) -> str:
        """Hash of everything that decides the answer, so a disk cache never confuses two requests."""
        body = asdict(self)
        body.pop("key")
        body["model"] = model
        blob = json.dumps(body, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass
class Usage:
    """Tokens as the API bills them. ``input_tokens`` excludes cache reads and writes."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0
    requests: int = 0

    def add(self, other: "Usage") -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_tokens += other.cache_read_tokens
        self.cache_write_tokens += other.cache_write_tokens
        self.cost_usd += other.cost_usd
        self.requests += other.requests

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Completion:
    """The answer to one request. ``text`` excludes the prefill. ``error`` is set (and ``text``
    empty) when the backend gave up on this request; callers record it rather than crash."""

    text: str
    usage: Usage = field(default_factory=Usage)
    stop_reason: str = ""
    error: str = ""
    cached: bool = False  # served from the on-disk cache (nothing paid)

    @property
    def ok(self) -> bool:
        return not self.error


ProgressFn = Callable[[int], None]


@runtime_checkable
class TextModel(Protocol):
    """A model that answers chat requests."""

    @property
    def name(self) -> str: ...

    def complete(self, requests: Sequence[ChatRequest], progress: ProgressFn | None = None) -> list[Completion]:
        """Answer every request, in order. ``progress(n)`` is called as ``n`` more finish."""
        ...


@runtime_checkable
class ScoringModel(Protocol):
    """A model that exposes log-probabilities (local models): for forced choice and belief."""

    @property
    def name(self) -> str: ...

    def continuation_logprobs(self, prompts: Sequence[str], continuations: Sequence[str]) -> list[float]:
        """Sum of log p(continuation | prompt) over the continuation's tokens, for each pair.

        ``prompts`` are fully rendered text (chat template already applied by the caller via
        ``render_chat``), so that a prefix shared by several continuations is scored identically.
        """
        ...

    def render_chat(self, request: ChatRequest) -> str:
        """The exact text the model sees for ``request``, ending where the assistant continues."""
        ...
