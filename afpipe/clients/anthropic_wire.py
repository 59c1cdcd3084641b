"""The Messages API's wire format: the body sent for a ``ChatRequest`` and the ``Completion``
read back from a message. One module for both the direct path (``anthropic``) and the Message
Batches path (``batches``), which each need both directions.
"""

from __future__ import annotations

from typing import Any

from afpipe.clients.base import ChatRequest, Completion, Usage

# Body fields the API accepts that the SDK's ``create`` signature does not name.
EXTRA_BODY_FIELDS = ("temperature", "top_p")


def request_params(request: ChatRequest, model: str) -> dict[str, Any]:
    """The Messages API body for ``request`` (also the ``params`` of a batch line)."""
    params: dict[str, Any] = {"model": model, "max_tokens": request.max_tokens}
    if request.cache_prefix:
        if not request.system.startswith(request.cache_prefix):
            raise ValueError("ChatRequest.cache_prefix must be a prefix of ChatRequest.system")
        blocks: list[dict[str, Any]] = [
            {"type": "text", "text": request.cache_prefix, "cache_control": {"type": "ephemeral"}}
        ]
        rest = request.system[len(request.cache_prefix):]
        if rest:
            blocks.append({"type": "text", "text": rest})
        params["system"] = blocks
    elif request.system:
        params["system"] = request.system
    messages = [{"role": m.role, "content": m.content} for m in request.messages]
    if request.prefill:
        # The API rejects a final assistant turn that ends in whitespace.
        messages.append({"role": "assistant", "content": request.prefill.rstrip()})
    params["messages"] = messages
    # Sampling settings are sent only when they differ from the API's defaults: the SDK no longer
    # names them (they travel as extra body fields) and some models refuse them outright.
    if request.temperature != 1.0:
        params["temperature"] = request.temperature
    if request.top_p is not None:
        params["top_p"] = request.top_p
    if request.stop:
        params["stop_sequences"] = list(request.stop)
    return params


def parse_message(message: Any, prefill: str = "") -> Completion:
    """A ``Completion`` (usage without cost) from an SDK ``Message`` or its JSON dict.

    ``prefill`` is the request's prefill: the text returned excludes it.
    """
    if not isinstance(message, dict):
        message = message.model_dump()
    text = "".join(b.get("text", "") for b in message.get("content") or [] if b.get("type") == "text")
    dropped = prefill[len(prefill.rstrip()):]
    if dropped:
        # We sent the prefill without its trailing whitespace; the model usually re-emits it.
        text = text[len(dropped):] if text.startswith(dropped) else text.lstrip()
    u = message.get("usage") or {}
    usage = Usage(
        input_tokens=u.get("input_tokens") or 0,
        output_tokens=u.get("output_tokens") or 0,
        cache_read_tokens=u.get("cache_read_input_tokens") or 0,
        cache_write_tokens=u.get("cache_creation_input_tokens") or 0,
        requests=1,
    )
    return Completion(text=text, usage=usage, stop_reason=message.get("stop_reason") or "")
