"""Message Batches: half-price answers, hours later, surviving a crash at any moment.

The order of operations is what makes a killed run resumable without paying twice:

1. ``create`` returns a batch id -> the job file ``<state>/<batch id>.json`` (the id, the model,
   every ``custom_id``) is written atomically at once, before anything else happens.
2. Poll until ``processing_status == "ended"``.
3. Stream the results into ``<batch id>.results.jsonl`` (a temporary name, renamed when complete),
   then mark the job ``downloaded``: the raw lines are on disk before a single one is parsed.
4. Parse each line, match it by ``custom_id`` (lines arrive in any order), store each success in
   the response cache, then mark the job ``collected``.

A rerun first looks for saved jobs that are not ``collected`` and hold requests it needs, and
picks each up at the step where it stopped (polling, downloading or parsing). Only then does it
submit what is still missing. ``custom_id`` is the request's cache key (64 hex characters, which
the API accepts), so a result finds its request, and its cache slot, by content alone.

Errored, expired and canceled lines come back as failed ``Completion``\\ s and are not cached, so
the next run submits them again.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from afpipe.clients.base import ChatRequest, Completion
from afpipe.runs import read_json, write_json

if TYPE_CHECKING:
    from afpipe.clients.anthropic import AnthropicClient

log = logging.getLogger(__name__)

# The API takes up to 100,000 requests or 256 MB per batch; stay well under the size limit.
MAX_BATCH_BYTES = 200 * 1024 * 1024


class BatchJobs:
    """The job files of one state folder."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def job_path(self, batch_id: str) -> Path:
        return self.root / f"{batch_id}.json"

    def results_path(self, batch_id: str) -> Path:
        return self.root / f"{batch_id}.results.jsonl"

    def save(self, job: dict[str, Any]) -> None:
        write_json(self.job_path(job["batch_id"]), job)

    def unfinished(self, model: str) -> list[dict[str, Any]]:
        """Saved jobs of ``model`` whose results have not all been stored yet, oldest first."""
        if not self.root.is_dir():
            return []
        jobs = [read_json(p) for p in sorted(self.root.glob("*.json"))]
        jobs = [j for j in jobs if j.get("model") == model and j.get("state") not in ("collected", "lost")]
        return sorted(jobs, key=lambda j: j.get("created", 0))


def run_batches(
    client: "AnthropicClient", pending: dict[str, ChatRequest], done: Callable[[str], None]
) -> dict[str, Completion]:
    """Answer ``pending`` (cache key -> request) through Message Batches, resuming saved jobs."""
    import anthropic

    from afpipe.clients.anthropic_wire import request_params

    sdk = anthropic.Anthropic(**client.sdk_kwargs())
    jobs = BatchJobs(client.cache_dir / "batches")
    runner = _Runner(client, sdk, jobs, pending, done)
    try:
        for job in jobs.unfinished(client.name):
            if pending.keys() & set(job["custom_ids"]):
                log.info("resuming saved batch %s", job["batch_id"])
                runner.finish([job])
        remaining = {k: r for k, r in pending.items() if k not in runner.results}
        while remaining:
            chosen: list[str] = []
            warm: set[str] = set()
            for key, request in remaining.items():
                estimate = client.estimate_cost(request, request.cache_prefix in warm, batch=True)
                if not client.budget.try_reserve(estimate):
                    break
                runner.estimates[key] = estimate
                chosen.append(key)
                if request.cache_prefix:
                    warm.add(request.cache_prefix)
            if not chosen:
                client.budget.refuse(len(remaining))
                for key in remaining:
                    runner.results[key] = Completion(text="", error="budget: not sent (--max-cost reached)")
                break
            submitted = []
            to_params = lambda r: request_params(r, client.name)  # noqa: E731
            for chunk in _chunks(chosen, remaining, to_params, client.max_batch_requests):
                submitted.append(runner.submit(chunk, remaining, to_params))
            runner.finish(submitted)
            for key in chosen:
                runner.results.setdefault(key, Completion(text="", error="batch: no result line for this request"))
                client.budget.release(runner.estimates.pop(key, 0.0))  # a reservation nothing settled
            remaining = {k: r for k, r in remaining.items() if k not in runner.results}
    finally:
        sdk.close()
    return {k: runner.results[k] for k in pending}


def _chunks(
    keys: list[str], requests: dict[str, ChatRequest], params: Callable[[ChatRequest], dict[str, Any]], max_n: int
) -> list[list[str]]:
    """Split ``keys`` into batches under the API's count and size limits."""
    out: list[list[str]] = [[]]
    size = 0
    for key in keys:
        n = len(json.dumps(params(requests[key]))) + 100
        if out[-1] and (len(out[-1]) >= max_n or size + n > MAX_BATCH_BYTES):
            out.append([])
            size = 0
        out[-1].append(key)
        size += n
    return [c for c in out if c]


class _Runner:
    """Submits, polls, downloads and parses; ``results`` collects answers by cache key."""

    def __init__(self, client: "AnthropicClient", sdk: Any, jobs: BatchJobs, pending: dict[str, ChatRequest],
                 done: Callable[[str], None]):
        self.client = client
        self.sdk = sdk
        self.jobs = jobs
        self.pending = pending
        self.done = done
        self.results: dict[str, Completion] = {}
        self.estimates: dict[str, float] = {}

    def submit(self, keys: list[str], requests: dict[str, ChatRequest], params: Callable[..., dict[str, Any]]) -> dict[str, Any]:
        body = [{"custom_id": k, "params": params(requests[k])} for k in keys]
        batch = self.sdk.messages.batches.create(requests=body)
        job = {
            "batch_id": batch.id,
            "model": self.client.name,
            "state": "submitted",
            "created": time.time(),
            "custom_ids": keys,
            # The prefill decides how a line is parsed; kept for a resume by another command.
            "prefills": {k: requests[k].prefill for k in keys if requests[k].prefill},
        }
        self.jobs.save(job)  # first thing after the id exists: a crash from here on resumes
        log.info("submitted batch %s (%d requests)", batch.id, len(keys))
        return job

    def finish(self, jobs: list[dict[str, Any]]) -> None:
        """Take every job from wherever it stopped to ``collected``."""
        from tqdm import tqdm

        waiting = [j for j in jobs if j["state"] == "submitted"]
        total = sum(len(j["custom_ids"]) for j in waiting)
        with tqdm(total=total, desc="message batch", unit="req", leave=False, disable=not waiting) as bar:
            finished: dict[str, int] = {}  # batch id -> requests the API has finished
            while waiting:
                still = []
                for job in waiting:
                    status, finished[job["batch_id"]] = self._status(job)
                    if status == "ended":
                        self._download(job)
                    elif status == "lost":
                        job["state"] = "lost"
                        self.jobs.save(job)
                    else:
                        still.append(job)
                bar.update(sum(finished.values()) - bar.n)
                waiting = still
                if waiting:
                    time.sleep(self.client.poll_interval_s)
        for job in jobs:
            if job["state"] == "downloaded":
                self._collect(job)

    def _status(self, job: dict[str, Any]) -> tuple[str, int]:
        """(processing status, requests finished so far) of a saved job's batch."""
        import anthropic

        try:
            batch = self.sdk.messages.batches.retrieve(job["batch_id"])
        except anthropic.NotFoundError:
            log.warning("saved batch %s is unknown to the API; its requests will be sent again", job["batch_id"])
            return "lost", len(job["custom_ids"])
        counts = batch.request_counts
        finished = counts.succeeded + counts.errored + counts.canceled + counts.expired
        return batch.processing_status, finished

    def _download(self, job: dict[str, Any]) -> None:
        path = self.jobs.results_path(job["batch_id"])
        partial = path.with_name(path.name + ".partial")
        with self.sdk.messages.batches.with_streaming_response.results(job["batch_id"]) as response:
            with partial.open("w", encoding="utf-8") as f:
                for line in response.iter_lines():
                    if line.strip():
                        f.write(line.rstrip("\r\n") + "\n")
                f.flush()
                os.fsync(f.fileno())
        os.replace(partial, path)
        job["state"] = "downloaded"
        self.jobs.save(job)

    def _collect(self, job: dict[str, Any]) -> None:
        """Parse saved lines by ``custom_id``; store successes; report failures."""
        from afpipe.clients.anthropic_wire import parse_message

        cache = self.client.cache
        prefills: dict[str, str] = job.get("prefills", {})
        malformed = 0
        with self.jobs.results_path(job["batch_id"]).open(encoding="utf-8") as f:
            for line in f:
                try:
                    entry = json.loads(line)
                    key, result = entry["custom_id"], entry["result"]
                    kind = result["type"]
                except (json.JSONDecodeError, KeyError, TypeError):
                    malformed += 1
                    continue
                if kind == "succeeded":
                    cached = cache.get(key) if cache is not None else None
                    if cached is not None:
                        completion = cached  # collected before a crash: do not count it twice
                    else:
                        completion = parse_message(result["message"], prefills.get(key, ""))
                        self.client.budget.settle(self.estimates.pop(key, 0.0),
                                                  self.client.cost_of(completion.usage, batch=True))
                        completion = self.client.record(key, completion, batch=True)
                else:
                    self.client.budget.release(self.estimates.pop(key, 0.0))
                    completion = Completion(text="", error=f"batch {kind}: {_batch_error(result)}")
                if key in self.pending and key not in self.results:
                    self.results[key] = completion
                    self.done(key)
        if malformed:
            log.warning("batch %s: %d unreadable result line(s) skipped", job["batch_id"], malformed)
        job["state"] = "collected"
        job["malformed_lines"] = malformed
        self.jobs.save(job)


def _batch_error(result: dict[str, Any]) -> str:
    if result.get("type") == "errored":
        err = result.get("error") or {}
        inner = err.get("error") if isinstance(err.get("error"), dict) else err
        return f"{inner.get('type', 'error')}: {inner.get('message', '')}".strip()
    if result.get("type") == "expired":
        return "the batch expired (24 h) before this request ran; rerun to send it again"
    if result.get("type") == "canceled":
        return "the batch was canceled; rerun to send it again"
    return str(result.get("type"))
