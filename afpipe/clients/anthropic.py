"""The Anthropic API as a ``TextModel``: concurrent, cached, budgeted, optionally batched.

Design (what each piece is for, and what it deliberately does not do):

- **Any model name.** ``model`` goes to the API as given; nothing here routes on it. Prices come
  from ``pricing`` and may be unknown (then cost is reported as unknown, never guessed).
- **One semaphore.** ``complete`` runs every request as an asyncio task; at most ``concurrency``
  are in flight.
- **Retries are the SDK's.** The SDK already retries 408/409/429/5xx (529 included) with
  exponential backoff and honours ``retry-after``; we only set ``max_retries``. A request that
  still fails comes back as a ``Completion`` with ``error`` set, and the run goes on.
- **Prompt caching.** ``ChatRequest.cache_prefix`` (the universe context, shared by thousands of
  requests) becomes its own system block with ``cache_control``. The first request of each prefix
  is sent alone, then the rest in parallel, so one request writes the cache and the others read
  it (a cold burst would pay the write in every request).
- **Disk cache.** Every answer is stored under ``ChatRequest.cache_key(model)`` before it is
  handed back; a rerun (after a crash, or of the same command) is served from disk for free.
- **Batches.** With ``batch=True`` requests go through the Message Batches API (``batches``),
  at half price; batch ids are saved the moment they exist so a killed run resumes by polling.
- **Budget.** With ``max_cost`` each request's worst case (prompt estimated high, ``max_tokens``
  of output) is reserved before sending; a request that would pass the limit is not sent, the
  requests in flight finish and are cached, then ``BudgetExceeded`` (a ``UserError``) stops the run.
- **The key.** Read once from the environment variable named in the config and handed to the SDK;
  it is never stored in this object's repr, the cache, job files or usage reports.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

from afpipe.clients.anthropic_wire import EXTRA_BODY_FIELDS, parse_message, request_params
from afpipe.clients.base import ChatRequest, Completion, ProgressFn, Usage
from afpipe.clients.cache import ResponseCache
from afpipe.clients.pricing import Budget, BudgetExceeded, Price, estimate_tokens, resolve_price
from afpipe.errors import UserError

log = logging.getLogger(__name__)

DEFAULT_KEY_ENV = "ANTHROPIC_API_KEY"
def read_api_key(env_var: str) -> str:
    """The key from ``env_var``; a one-line ``UserError`` (naming the variable, not a value) if unset."""
    key = os.environ.get(env_var, "").strip()
    if not key:
        raise UserError(
            f"the Anthropic API key is missing: set the environment variable {env_var} "
            "(or choose a local backend, e.g. --backend hf)"
        )
    return key


class AnthropicClient:
    """``TextModel`` over the Anthropic API. See the module docstring for the design.

    ``usage`` is cumulative over the client's life (tokens and estimated dollars);
    ``report()`` is what a manifest records.
    """

    def __init__(
        self,
        model: str,
        *,
        api_key_env: str = DEFAULT_KEY_ENV,
        concurrency: int = 8,
        batch: bool = False,
        max_cost: float | None = None,
        price: str | Price | None = None,
        cache_dir: str | Path | None = None,
        use_cache: bool = True,
        max_retries: int = 8,
        timeout_s: float = 600.0,
        base_url: str | None = None,
        poll_interval_s: float = 30.0,
        max_batch_requests: int = 10_000,
    ):
        if not model or not model.strip():
            raise UserError("--model is required with --backend anthropic (an API model id, e.g. claude-sonnet-4-5)")
        if concurrency < 1:
            raise UserError(f"concurrency must be at least 1, got {concurrency}")
        self._model = model.strip()
        self.api_key_env = api_key_env
        self._api_key = read_api_key(api_key_env)  # before any work: fail fast
        self.price = resolve_price(self._model, price)
        if max_cost is not None and self.price is None:
            raise UserError(
                f"--max-cost needs a price, and none is known for model {self._model!r}: "
                "pass one with --price IN,OUT (US dollars per million input and output tokens, e.g. --price 3,15)"
            )
        self.concurrency = concurrency
        self.batch = batch
        self.budget = Budget(max_cost)
        if cache_dir is None:
            from afpipe.models import cache_dir as afpipe_cache_dir

            cache_dir = afpipe_cache_dir() / "anthropic"
        self.cache_dir = Path(cache_dir)
        self.cache = ResponseCache(self.cache_dir / "responses") if use_cache else None
        self.max_retries = max_retries
        self.timeout_s = timeout_s
        self.base_url = base_url
        self.poll_interval_s = poll_interval_s
        self.max_batch_requests = max_batch_requests
        self.usage = Usage()
        self.cached_responses = 0
        self.failed_requests = 0
        self._cache_warned = False

    def __repr__(self) -> str:  # never show the key
        return f"AnthropicClient(model={self._model!r}, batch={self.batch}, concurrency={self.concurrency})"

    @property
    def name(self) -> str:
        return self._model

    # -- accounting ---------------------------------------------------------------------------
    def cost_of(self, usage: Usage, batch: bool) -> float:
        return self.price.cost(usage, batch=batch) if self.price else 0.0

    def estimate_cost(self, request: ChatRequest, prefix_warm: bool, batch: bool) -> float:
        """Worst-case dollars for one request: prompt estimated high, output at ``max_tokens``."""
        if self.price is None:
            return 0.0
        prefix = estimate_tokens(request.cache_prefix) if request.cache_prefix else 0
        rest = estimate_tokens(request.system[len(request.cache_prefix):] + request.prefill)
        rest += sum(estimate_tokens(m.content) + 8 for m in request.messages)
        usage = Usage(
            input_tokens=rest,
            cache_read_tokens=prefix if prefix_warm else 0,
            cache_write_tokens=0 if prefix_warm else prefix,
            output_tokens=request.max_tokens,
        )
        return self.price.cost(usage, batch=batch)

    def record(self, key: str, completion: Completion, batch: bool) -> Completion:
        """Price a fresh answer, add it to the run's usage, and cache it. Returns it."""
        completion.usage.cost_usd = self.cost_of(completion.usage, batch)
        self.usage.add(completion.usage)
        if self.cache is not None:
            self.cache.put(key, completion, self._model, extra={"batch": batch})
        return completion

    def report(self) -> dict[str, Any]:
        """Tokens and estimated cost of this run, for a manifest (no secrets in it)."""
        return {
            "backend": "anthropic",
            "model": self._model,
            "batch": self.batch,
            "input_tokens": self.usage.input_tokens,
            "cache_read_tokens": self.usage.cache_read_tokens,
            "cache_write_tokens": self.usage.cache_write_tokens,
            "output_tokens": self.usage.output_tokens,
            "requests": self.usage.requests,
            "cached_responses": self.cached_responses,
            "failed_requests": self.failed_requests,
            "cost_usd": round(self.usage.cost_usd, 6) if self.price else None,
            "price": self.price.as_dict() if self.price else "unknown",
            "max_cost": self.budget.limit,
            "api_key_env": self.api_key_env,
        }

    # -- the TextModel interface ----------------------------------------------------------------
    def complete(self, requests: Sequence[ChatRequest], progress: ProgressFn | None = None) -> list[Completion]:
        """Answer every request, in order: from the disk cache where possible, else from the API."""
        keys = [r.cache_key(self._model) for r in requests]
        answers: dict[str, Completion] = {}
        pending: dict[str, ChatRequest] = {}
        for key, request in zip(keys, requests):
            if key in answers or key in pending:
                continue  # identical requests are asked once
            hit = self.cache.get(key) if self.cache is not None else None
            if hit is not None:
                answers[key] = hit
                self.cached_responses += 1
            else:
                pending[key] = request
        if progress and answers:
            progress(sum(1 for k in keys if k in answers))
        if pending:
            copies = Counter(keys)

            def done(key: str) -> None:
                if progress:
                    progress(copies[key])

            if self.batch:
                from afpipe.clients.batches import run_batches

                answers.update(run_batches(self, pending, done))
            else:
                answers.update(asyncio.run(self._complete_async(pending, done)))
            self._check_prompt_cache(pending, answers)
        out = [answers[k] for k in keys]
        self.failed_requests += sum(1 for c in out if c.error)
        if self.budget.refused:
            raise BudgetExceeded(self.budget.stop_message(self._model))
        return out

    def _check_prompt_cache(self, pending: dict[str, ChatRequest], answers: dict[str, Completion]) -> None:
        """Warn once when requests marked for prompt caching neither wrote nor read the cache."""
        shared = [(r, answers[k].usage) for k, r in pending.items() if r.cache_prefix and answers[k].ok]
        if self._cache_warned or len(shared) < 2 or any(u.cache_read_tokens or u.cache_write_tokens for _, u in shared):
            return
        self._cache_warned = True
        log.warning(
            "prompt caching had no effect on %d requests to %s: the shared prefix (about %d tokens) is "
            "probably below the model's minimum cacheable length, so every request pays for it in full",
            len(shared), self._model, estimate_tokens(shared[0][0].cache_prefix) * 3 // 4,
        )

    # -- concurrent path --------------------------------------------------------------------------
    def sdk_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"api_key": self._api_key, "max_retries": self.max_retries, "timeout": self.timeout_s}
        if self.base_url:
            kwargs["base_url"] = self.base_url
        return kwargs

    async def _complete_async(self, pending: dict[str, ChatRequest], done: Any) -> dict[str, Completion]:
        import anthropic

        client = anthropic.AsyncAnthropic(**self.sdk_kwargs())
        semaphore = asyncio.Semaphore(self.concurrency)
        warm_prefixes: set[str] = set()
        results: dict[str, Completion] = {}

        async def one(key: str, request: ChatRequest) -> None:
            try:
                await ask(key, request)
            finally:
                done(key)

        async def ask(key: str, request: ChatRequest) -> None:
            async with semaphore:
                estimate = self.estimate_cost(request, request.cache_prefix in warm_prefixes, batch=False)
                if not self.budget.try_reserve(estimate):
                    self.budget.refuse()
                    results[key] = Completion(text="", error="budget: not sent (--max-cost reached)")
                    return
                try:
                    params = request_params(request, self._model)
                    extra = {k: params.pop(k) for k in EXTRA_BODY_FIELDS if k in params}
                    message = await client.messages.create(**params, extra_body=extra or None)
                except anthropic.AuthenticationError:
                    raise UserError(
                        f"the API rejected the key in {self.api_key_env} (401 authentication_error): check it"
                    ) from None
                except anthropic.PermissionDeniedError as e:
                    raise UserError(f"the API refused access for model {self._model!r} (403): {_api_message(e)}") from None
                except anthropic.NotFoundError as e:
                    raise UserError(f"the API does not know model {self._model!r} (404: {_api_message(e)}); check --model") from None
                except anthropic.APIStatusError as e:
                    # The SDK has already retried what can be retried; record and move on.
                    self.budget.release(estimate)
                    results[key] = Completion(text="", error=f"api {e.status_code}: {_api_message(e)}")
                    log.warning("request failed after retries: %s", results[key].error)
                    return
                except anthropic.APIConnectionError as e:
                    self.budget.release(estimate)
                    results[key] = Completion(text="", error=f"api connection: {type(e).__name__}")
                    return
                completion = parse_message(message, request.prefill)
                self.budget.settle(estimate, self.cost_of(completion.usage, batch=False))
                results[key] = self.record(key, completion, batch=False)
                if request.cache_prefix:
                    warm_prefixes.add(request.cache_prefix)

        # One request per distinct shared prefix first, so that the rest read a warm cache.
        first: dict[str, str] = {}
        for key, request in pending.items():
            if request.cache_prefix and request.cache_prefix not in first:
                first[request.cache_prefix] = key
        leaders = set(first.values())
        try:
            await asyncio.gather(*(one(k, pending[k]) for k in leaders))
            await asyncio.gather(*(one(k, r) for k, r in pending.items() if k not in leaders))
        finally:
            await client.close()
        return results


def _api_message(error: Any) -> str:
    """The API's own error message (never includes the key), or the exception's text."""
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        if isinstance(inner, dict) and inner.get("message"):
            return f"{inner.get('type', 'error')}: {inner['message']}"
    return str(getattr(error, "message", "") or type(error).__name__)
