"""Redrawing answers that cannot be read: one mechanism for every model-written step.

A model that is asked for tags and answers with prose, a truncated list or a refusal has given
one unlucky *sample*, not a verdict on the request. So every model-written step (brainstorming
types and ideas, drafting, revising, judging) asks through ``draw``: an answer its parser rejects
is asked again with a new seed (at temperature 1 when the request was greedy, since a greedy
redraw would repeat itself), up to ``retries`` times; after that the unit fails with the last
reason and the caller records it and goes on with the rest.

What is *not* redrawn: an error the backend gave up on (the API after the SDK's own retries, an
errored or expired batch line, a request refused by the spending limit). Nothing was paid for
it and nothing was parsed, so ``draw`` returns it as ``transient``: the caller leaves that unit
undone, and a rerun asks again. Paid answers are never asked twice by a rerun: redraws have their
own seeds, so each has its own slot in a client's response cache.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Callable, Generic, Sequence, TypeVar

from afpipe.clients.base import ChatRequest, Completion, ProgressFn

T = TypeVar("T")
Ask = Callable[[list[ChatRequest], "ProgressFn | None"], list[Completion]]


class Malformed(ValueError):
    """Raised by a parser for an answer worth drawing again; the message is the reason."""


@dataclass
class Drawn(Generic[T]):
    """The outcome of one unit: ``value`` when an answer parsed, else ``error``.

    ``draws`` counts the answers asked for (1 when the first one parsed); ``transient`` marks an
    error of the backend rather than of the answer (retry on a rerun, not now).
    """

    value: T | None
    error: str = ""
    draws: int = 1
    transient: bool = False

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def redraws(self) -> int:
        return self.draws - 1


def redraw_request(request: ChatRequest, attempt: int) -> ChatRequest:
    """The request of draw number ``attempt`` (1 = the first redraw): a seed of its own, and a
    temperature that can give another answer."""
    # From the whole request (its own seed included): two requests never share a redraw's seed.
    seed = int.from_bytes(hashlib.sha256(f"{request.cache_key('')}:redraw{attempt}".encode()).digest()[:8], "big") >> 1
    key = f"{request.key}.r{attempt}" if request.key else ""
    return replace(request, seed=seed, temperature=request.temperature or 1.0, key=key)


def draw(
    ask: Ask,
    requests: Sequence[ChatRequest],
    parse: Callable[[Completion], T],
    retries: int,
    progress: ProgressFn | None = None,
) -> list[Drawn[T]]:
    """Ask every request; redraw those whose answer ``parse`` rejects with ``Malformed``.

    ``ask(requests, progress)`` is the client's ``complete`` (or a wrapper that keeps accounts);
    each round of redraws is one call, so a batching backend sees them together. Results are in
    request order.
    """
    out: list[Drawn[T] | None] = [None] * len(requests)
    pending = list(range(len(requests)))
    current = list(requests)
    for attempt in range(retries + 1):
        if not pending:
            break
        completions = ask([current[i] for i in pending], progress)
        still = []
        for i, completion in zip(pending, completions):
            if completion.error:
                out[i] = Drawn(None, completion.error, attempt + 1, transient=True)
                continue
            try:
                out[i] = Drawn(parse(completion), draws=attempt + 1)
            except Malformed as e:
                out[i] = Drawn(None, str(e), attempt + 1)
                still.append(i)
                current[i] = redraw_request(requests[i], attempt + 1)
        pending = still
    return [d for d in out if d is not None]
