"""Build a ``TextModel`` from a backend name and a model name: the one place that routes.

Routing is by *backend*, never by model name: any ``--model`` goes to the backend chosen. Each
backend module is imported only here, when chosen, so the Anthropic path never imports torch and
the local path never imports the Anthropic SDK. Every stage and the experiment runner build
their clients through ``make_client``; tests put a fake behind a backend name with
``injected(...)`` instead of patching the stages.
"""

from __future__ import annotations

import contextlib
import importlib.util
from typing import Any, Callable, Iterator

from afpipe.clients.base import TextModel
from afpipe.errors import UserError

BACKENDS = ("anthropic", "hf", "vllm", "fake")

# Which options each backend takes; the rest are dropped, so a stage can pass all of its settings
# (a local model has no budget, the API has no dtype). `concurrency` means requests in flight for
# the API and rows per forward pass for a local model.
_OPTIONS = {
    "anthropic": {"concurrency", "batch", "max_cost", "price", "api_key_env", "cache_dir", "use_cache",
                  "max_retries", "timeout_s", "base_url", "poll_interval_s", "max_batch_requests"},
    "hf": {"concurrency", "adapter", "merge", "dtype", "trust_remote_code", "max_new_tokens", "device", "device_map"},
    "vllm": {"adapter", "dtype", "trust_remote_code", "tensor_parallel_size"},
    "fake": {"rules", "default"},
}
# Options that change what a backend would do if it silently dropped them: refused instead.
_REFUSED = {
    "hf": {"batch": "--batch uses the Anthropic Message Batches API; drop it with --backend hf"},
    "vllm": {"batch": "--batch uses the Anthropic Message Batches API; drop it with --backend vllm"},
    "anthropic": {"adapter": "--adapter applies to local models; drop it with --backend anthropic"},
}

Builder = Callable[..., TextModel]
_injected: dict[str, Builder] = {}


@contextlib.contextmanager
def injected(backend: str, build: Builder) -> Iterator[None]:
    """Within the block, ``make_client(backend, model, **options)`` returns ``build(model, **options)``:
    how tests hand a fake model to a stage or to the experiment runner."""
    previous = _injected.get(backend)
    _injected[backend] = build
    try:
        yield
    finally:
        if previous is None:
            _injected.pop(backend, None)
        else:
            _injected[backend] = previous


def make_client(backend: str, model: str | None, **options: Any) -> TextModel:
    """A client for ``backend`` ("anthropic", "hf", "vllm", "fake") serving ``model``.

    Options left at None are dropped, so callers can pass config fields straight through.
    """
    kind = (backend or "").strip().lower()
    if kind not in BACKENDS:
        raise UserError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    options = {k: v for k, v in options.items() if v is not None}
    for key, message in _REFUSED.get(kind, {}).items():
        if options.get(key):
            raise UserError(message)
    options = {k: v for k, v in options.items() if k in _OPTIONS[kind]}
    if kind in _injected:
        return _injected[kind](model, **options)
    if kind == "anthropic":
        from afpipe.clients.anthropic import AnthropicClient

        return AnthropicClient(model or "", **options)
    if kind == "fake":
        from afpipe.clients.fake import FakeModel

        options.pop("concurrency", None)
        return FakeModel(name=model or "fake", **options)
    if not model:
        raise UserError(f"--model is required with --backend {kind} (a local model folder, or smollm2-135m)")
    if kind == "vllm":
        from afpipe.clients.vllm import VLLMModel

        return VLLMModel(model, **options)
    if importlib.util.find_spec("afpipe.clients.local") is None:
        raise UserError("the hf backend is not available in this installation (afpipe.clients.local is missing)")
    from afpipe.clients.local import LocalModel

    if "concurrency" in options:
        options["batch_size"] = options.pop("concurrency")
    return LocalModel(model, **options)
