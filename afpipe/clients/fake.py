"""A scripted ``TextModel`` for tests of the stages that use models (generate, evaluate, judge).

Answers are deterministic: the first rule whose pattern matches the request's text wins, else
``default`` (a function of the request, or a fixed string). Every request is recorded in
``requests`` so a test can check what a stage asked; ``usage`` counts fake tokens (4 characters
per token) so usage plumbing is exercised too.
"""

from __future__ import annotations

import hashlib
import re
from typing import Callable, Sequence, Union

from afpipe.clients.base import ChatRequest, Completion, ProgressFn, Usage

Reply = Union[str, Callable[[ChatRequest], str]]


def request_text(request: ChatRequest) -> str:
    """Everything a rule may match: system prompt, every message, and the prefill."""
    parts = [request.system, *(m.content for m in request.messages), request.prefill]
    return "\n".join(p for p in parts if p)


def _default_reply(request: ChatRequest) -> str:
    digest = hashlib.sha256(request_text(request).encode("utf-8") + str(request.seed).encode()).hexdigest()[:10]
    return f"fake answer {digest}"


class FakeModel:
    """Deterministic scripted answers.

    ``rules``: ``(pattern, reply)`` pairs; ``pattern`` is a regular expression searched in
    ``request_text(request)``; ``reply`` a string or ``f(request) -> str``. A reply starting with
    ``"!error "`` makes that request fail with the rest as its error (to test failure paths).
    """

    def __init__(
        self,
        rules: Sequence[tuple[str, Reply]] = (),
        default: Reply | None = None,
        name: str = "fake",
    ):
        self._name = name
        self.rules = [(re.compile(p, re.DOTALL), r) for p, r in rules]
        self.default: Reply = default if default is not None else _default_reply
        self.requests: list[ChatRequest] = []
        self.usage = Usage()

    @property
    def name(self) -> str:
        return self._name

    def _reply(self, request: ChatRequest) -> str:
        text = request_text(request)
        for pattern, reply in self.rules:
            if pattern.search(text):
                return reply(request) if callable(reply) else reply
        return self.default(request) if callable(self.default) else self.default

    def complete(self, requests: Sequence[ChatRequest], progress: ProgressFn | None = None) -> list[Completion]:
        out = []
        for request in requests:
            self.requests.append(request)
            reply = self._reply(request)
            if reply.startswith("!error "):
                out.append(Completion(text="", error=reply[len("!error "):]))
            else:
                for s in request.stop:
                    if s in reply:
                        reply = reply[: reply.index(s)]
                usage = Usage(
                    input_tokens=(len(request_text(request)) + 3) // 4,
                    output_tokens=(len(reply) + 3) // 4,
                    requests=1,
                )
                self.usage.add(usage)
                out.append(Completion(text=reply, usage=usage, stop_reason="end_turn"))
            if progress:
                progress(1)
        return out

    def report(self) -> dict[str, object]:
        return {"backend": "fake", "model": self._name, **self.usage.as_dict()}
