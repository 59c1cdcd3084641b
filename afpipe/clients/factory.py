"""Build a ``TextModel`` from a backend name and a model name: the one place that routes.

Routing is by *backend*, never by model name: any ``--model`` goes to the backend chosen. Each
backend module is imported only here, when chosen, so the Anthropic path never imports torch and
the local path never imports the Anthropic SDK.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from afpipe.clients.base import TextModel
from afpipe.errors import UserError

BACKENDS = ("anthropic", "hf", "fake")

# Options that only make sense for the API; a local model ignores them (or refuses `batch`).
_API_ONLY = ("batch", "max_cost", "price", "api_key_env", "cache_dir", "use_cache", "max_retries",
             "timeout_s", "base_url", "poll_interval_s", "max_batch_requests")


def make_client(backend: str, model: str | None, **options: Any) -> TextModel:
    """A client for ``backend`` ("anthropic", "hf", "fake") serving ``model``.

    Options left at None are dropped, so callers can pass config fields straight through.
    ``concurrency`` means requests in flight for the API and the generation batch size for a
    local model.
    """
    options = {k: v for k, v in options.items() if v is not None}
    kind = (backend or "").strip().lower()
    if kind == "anthropic":
        from afpipe.clients.anthropic import AnthropicClient

        return AnthropicClient(model or "", **options)
    if kind == "hf":
        if not model:
            raise UserError("--model is required with --backend hf (a local model folder, or smollm2-135m)")
        if options.get("batch"):
            raise UserError("--batch uses the Anthropic Message Batches API; drop it with --backend hf")
        if importlib.util.find_spec("afpipe.clients.local") is None:
            raise UserError("the hf backend is not available in this installation (afpipe.clients.local is missing)")
        from afpipe.clients.local import LocalModel

        local_options = {k: v for k, v in options.items() if k not in _API_ONLY}
        if "concurrency" in local_options:
            local_options["batch_size"] = local_options.pop("concurrency")
        return LocalModel(model, **local_options)
    if kind == "fake":
        from afpipe.clients.fake import FakeModel

        return FakeModel(name=model or "fake", **{k: v for k, v in options.items() if k not in _API_ONLY + ("concurrency",)})
    raise UserError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
