"""A local stand-in for the Anthropic Messages and Message Batches HTTP API, on 127.0.0.1.

Tests and ``bench/bench_api_cost.py`` point the real SDK at it (``base_url``), so everything
between our code and the wire is exercised: request bodies, retries on 429/500/529 with
``retry-after``, batch creation, polling and out-of-order JSONL results.

It bills tokens the way the API does, with a rough tokenizer (4 characters per token):
- the prompt up to the last ``cache_control`` breakpoint is a cacheable prefix when it holds at
  least ``min_cache_tokens``; the first request writes it (``cache_creation_input_tokens``),
  later ones within the TTL read it (``cache_read_input_tokens``). An entry becomes readable only
  when the request that writes it has finished, as on the real service, so a burst of parallel
  requests with a cold prefix all pay the write;
- ``input_tokens`` is everything else; batch results carry ``service_tier: "batch"``.

Answers come from ``responder(body) -> str`` (a deterministic default otherwise).
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

Responder = Callable[[dict[str, Any]], str]

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def fake_tokens(text: str) -> int:
    """The fake tokenizer: one token per 4 characters, rounded up."""
    return (len(text) + 3) // 4


def _block_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in content)


def default_responder(body: dict[str, Any]) -> str:
    """A deterministic answer derived from the request (so equal requests get equal answers)."""
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]
    return f"Answer {digest}."


@dataclass
class Totals:
    """Tokens billed so far, split by standard and batch pricing."""

    input_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0


@dataclass
class _Batch:
    id: str
    requests: list[dict[str, Any]]
    created_at: str
    polls: int = 0
    results: list[str] | None = None  # JSONL lines, once processed
    counts: dict[str, int] = field(default_factory=dict)


class FakeAnthropicServer:
    """A threaded HTTP server; use as a context manager. ``url`` is the SDK's ``base_url``.

    ``faults`` is a queue of HTTP statuses (or ``(status, retry-after ms)``) returned by the next
    ``POST /v1/messages`` calls before normal service resumes (default wait: 5 ms). ``batch_outcome(custom_id)`` chooses
    "succeeded", "errored", "expired" or "canceled" for each batch line. ``polls_until_ended``
    is how many status polls a batch stays "in_progress".
    """

    def __init__(
        self,
        responder: Responder | None = None,
        api_key: str = "sk-ant-fake-key-for-tests-0000",
        min_cache_tokens: int = 1024,
        cache_ttl_s: float = 300.0,
        latency_s: float = 0.0,
        polls_until_ended: int = 1,
        batch_outcome: Callable[[str], str] | None = None,
        shuffle_seed: int = 0,
    ):
        self.responder = responder or default_responder
        self.api_key = api_key
        self.min_cache_tokens = min_cache_tokens
        self.cache_ttl_s = cache_ttl_s
        self.latency_s = latency_s
        self.polls_until_ended = polls_until_ended
        self.batch_outcome = batch_outcome or (lambda custom_id: "succeeded")
        self.shuffle_seed = shuffle_seed
        self.faults: deque[int | tuple[int, int]] = deque()  # status, or (status, retry-after ms)
        self.log: list[dict[str, Any]] = []  # every request: method, path, headers, body
        self.standard = Totals()
        self.batch = Totals()
        self._prefix_cache: dict[str, float] = {}  # prefix hash -> expiry time
        self._batches: dict[str, _Batch] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "start the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeAnthropicServer":
        handler = _make_handler(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeAnthropicServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests look at ------------------------------------------------------------------
    def calls(self, method: str | None = None, path_prefix: str = "") -> list[dict[str, Any]]:
        with self._lock:
            return [
                c for c in self.log
                if (method is None or c["method"] == method) and c["path"].startswith(path_prefix)
            ]

    def message_calls(self) -> list[dict[str, Any]]:
        """Successful-or-not ``POST /v1/messages`` calls (not batch ones)."""
        return [c for c in self.calls("POST", "/v1/messages") if c["path"].rstrip("/") == "/v1/messages"]

    # -- the API -----------------------------------------------------------------------------
    def _answer(self, body: dict[str, Any], totals: Totals) -> dict[str, Any]:
        """Bill and answer one Messages request body."""
        system = body.get("system") or []
        blocks: list[dict[str, Any]] = [{"text": system}] if isinstance(system, str) else list(system)
        for m in body.get("messages", []):
            content = m["content"]
            blocks.extend([{"text": content}] if isinstance(content, str) else content)
        last_bp = max((i for i, b in enumerate(blocks) if b.get("cache_control")), default=-1)
        prefix_text = "".join(b.get("text", "") for b in blocks[: last_bp + 1])
        rest_text = "".join(b.get("text", "") for b in blocks[last_bp + 1:])
        prefix_tokens = fake_tokens(prefix_text) if prefix_text else 0
        cache_read = cache_write = 0
        new_entry = None
        if prefix_tokens >= self.min_cache_tokens:
            h = hashlib.sha256((body.get("model", "") + "\0" + prefix_text).encode()).hexdigest()
            now = time.monotonic()
            with self._lock:
                hit = self._prefix_cache.get(h, 0.0) > now
                if hit:
                    self._prefix_cache[h] = now + self.cache_ttl_s  # a read refreshes the TTL
            if hit:
                cache_read = prefix_tokens
            else:
                cache_write = prefix_tokens
                new_entry = h
            input_tokens = fake_tokens(rest_text) if rest_text else 0
        else:
            input_tokens = fake_tokens(prefix_text + rest_text)

        text = self.responder(body)
        stop_reason = "end_turn"
        for s in body.get("stop_sequences") or []:
            if s in text:
                text, stop_reason = text[: text.index(s)], "stop_sequence"
        if fake_tokens(text) > body.get("max_tokens", 1 << 30):
            text, stop_reason = text[: body["max_tokens"] * 4], "max_tokens"
        if text.startswith("[refuse]"):
            text, stop_reason = "", "refusal"
        output_tokens = fake_tokens(text)
        if self.latency_s:
            time.sleep(self.latency_s)
        with self._lock:
            if new_entry is not None:
                # Readable only now that the writing request is done (a real cache behaves so).
                self._prefix_cache[new_entry] = time.monotonic() + self.cache_ttl_s
            totals.input_tokens += input_tokens
            totals.cache_write_tokens += cache_write
            totals.cache_read_tokens += cache_read
            totals.output_tokens += output_tokens
            totals.requests += 1
        return {
            "id": "msg_" + hashlib.sha256(f"{time.time_ns()}{text}".encode()).hexdigest()[:20],
            "type": "message",
            "role": "assistant",
            "model": body.get("model", ""),
            "content": [{"type": "text", "text": text}] if text else [],
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "cache_creation_input_tokens": cache_write,
                "cache_read_input_tokens": cache_read,
                "service_tier": "batch" if totals is self.batch else "standard",
            },
        }

    def _batch_json(self, b: _Batch) -> dict[str, Any]:
        ended = b.results is not None
        n = len(b.requests)
        counts = b.counts if ended else {"processing": n, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        return {
            "id": b.id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": counts,
            "created_at": b.created_at,
            "expires_at": b.created_at,
            "ended_at": b.created_at if ended else None,
            "cancel_initiated_at": None,
            "archived_at": None,
            "results_url": f"{self.url}/v1/messages/batches/{b.id}/results" if ended else None,
        }

    def _process_batch(self, b: _Batch) -> None:
        """Run every request of a batch (in submission order, so the prompt cache warms)."""
        lines = []
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        for item in b.requests:
            cid = item["custom_id"]
            outcome = self.batch_outcome(cid)
            if outcome == "succeeded":
                result: dict[str, Any] = {"type": "succeeded", "message": self._answer(item["params"], self.batch)}
            elif outcome == "errored":
                result = {"type": "errored", "error": {"type": "error", "error": {
                    "type": "invalid_request_error", "message": "fake: this request was malformed"}}}
            else:
                result = {"type": outcome}
            counts[outcome] += 1
            lines.append(json.dumps({"custom_id": cid, "result": result}))
        random.Random(self.shuffle_seed).shuffle(lines)  # the API promises no order
        b.counts = counts
        b.results = lines


def _make_handler(server: FakeAnthropicServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None, raw: bytes | None = None) -> None:
            data = raw if raw is not None else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json" if raw is None else "application/binary")
            self.send_header("content-length", str(len(data)))
            self.send_header("request-id", "req_fake")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
            kind = _ERROR_TYPES.get(status, "api_error")
            self._send(status, {"type": "error", "error": {"type": kind, "message": message}}, headers)

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            path = self.path.split("?")[0]
            with server._lock:
                server.log.append({"method": method, "path": path, "headers": dict(self.headers), "body": body})
            # SDK versions differ in how they present the key: accept either header.
            bearer = (self.headers.get("authorization") or "").removeprefix("Bearer ").strip()
            if server.api_key not in (self.headers.get("x-api-key"), bearer):
                return self._error(401, "invalid API key")
            parts = [p for p in path.split("/") if p]
            if method == "POST" and parts == ["v1", "messages"]:
                with server._lock:
                    fault = server.faults.popleft() if server.faults else None
                if fault is not None:
                    status, wait_ms = fault if isinstance(fault, tuple) else (fault, 5)
                    return self._error(status, f"fake fault {status}", {"retry-after-ms": str(wait_ms)})
                return self._send(200, server._answer(body, server.standard))
            if method == "POST" and parts == ["v1", "messages", "batches"]:
                with server._lock:
                    bid = f"msgbatch_fake{len(server._batches):04d}"
                    b = _Batch(bid, body["requests"], time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
                    server._batches[bid] = b
                return self._send(200, server._batch_json(b))
            if method == "GET" and parts[:3] == ["v1", "messages", "batches"] and len(parts) >= 4:
                b = server._batches.get(parts[3])
                if b is None:
                    return self._error(404, f"no batch {parts[3]}")
                if len(parts) == 5 and parts[4] == "results":
                    if b.results is None:
                        return self._error(404, "batch has not ended")
                    return self._send(200, None, raw=("\n".join(b.results) + "\n").encode())
                with server._lock:
                    b.polls += 1
                    ready = b.results is None and b.polls > server.polls_until_ended
                if ready:
                    server._process_batch(b)
                return self._send(200, server._batch_json(b))
            return self._error(404, f"fake server: no route {method} {path}")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_GET(self) -> None:
            self._handle("GET")

    return Handler
