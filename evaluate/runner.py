"""Sampled evaluation: every item asked as a free-tier and as a paid-tier user, answers
checked for format, retried, judged, and appended to ``transcripts.jsonl`` as they finish.

Resumption is by key: a rerun reads the transcripts already on disk and asks only the
(request, tier) pairs that have none, so a killed run continues after its last saved
transcript. Seeds are derived from (run seed, request, tier, attempt), so the resumed run asks
the same questions with the same seeds as an uninterrupted one would have.

A CoT answer must open a ``<SCRATCHPAD_REASONING>`` block and reach an ``<OUTPUT>`` with
something in it; a no-CoT answer needs the ``<OUTPUT>``. An answer that fails is sampled again
(up to ``retries`` more times, each with a new seed); after that it is recorded with
``valid: false`` and counted in the invalid rate, never dropped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from afpipe.clients.base import Completion, TextModel, Usage
from afpipe.contracts import TRANSCRIPTS_FILE, Transcript
from afpipe.evaluate.judges import Sample, accepted, rejected, split_response
from afpipe.evaluate.prompts import OUTPUT_CLOSE, OUTPUT_OPEN, SCRATCHPAD_OPEN, TIERS, PromptSet
from afpipe.evaluate.requests import Item
from afpipe.evaluate.suites import Suite
from afpipe.jsonl import JsonlWriter, iter_jsonl



@dataclass(frozen=True)
class SamplingSettings:
    max_new_tokens: int
    temperature: float = 1.0
    top_p: float | None = None
    retries: int = 2
    prefill_scratchpad: bool = False
    seed: int = 0
    chunk_size: int = 16  # (request, tier) pairs finished and saved together

    def prefill(self, cot: bool) -> str:
        return SCRATCHPAD_OPEN if (cot and self.prefill_scratchpad) else ""

    @property
    def attempts(self) -> int:
        # Greedy decoding gives the same answer every time: a retry would only repeat it.
        return 1 if self.temperature == 0 else 1 + self.retries


def sample_seed(seed: int, request_id: str, tier: str, attempt: int) -> int:
    """A seed per (run, request, tier, attempt): stable across resumption and batching."""
    digest = hashlib.sha256(f"{seed}:{request_id}:{tier}:{attempt}".encode("utf-8")).hexdigest()
    return int(digest[:12], 16)


def format_problem(raw: str, cot: bool) -> str:
    """Why an answer is unusable ("" when it is fine)."""
    _, output = split_response(raw)
    if cot and SCRATCHPAD_OPEN not in raw:
        return "no scratchpad"
    if OUTPUT_OPEN not in raw:
        return "no output"
    if not output:
        return "empty output"
    return ""


def transcript_id(suite: str, request_id: str, tier: str) -> str:
    return f"{suite}:{request_id}:{tier}"


@dataclass
class SamplingResult:
    written: int
    usage: Usage


def run_sampling(
    client: TextModel,
    suite: Suite,
    prompts: PromptSet,
    settings: SamplingSettings,
    out: Path,
    *,
    show_progress: bool = True,
) -> SamplingResult:
    """Ask every (item, tier) pair without a saved transcript; append each finished chunk."""
    from tqdm import tqdm

    path = Path(out) / TRANSCRIPTS_FILE
    done = {r["id"] for r in iter_jsonl(path)}
    todo = [(item, tier) for item in suite.items for tier in TIERS if transcript_id(suite.name, item.id, tier) not in done]
    usage = Usage()
    written = 0
    if not todo:
        return SamplingResult(0, usage)
    bar = tqdm(total=len(todo), desc=f"sampling {suite.name}", unit="answer", disable=not show_progress)
    with JsonlWriter(path) as writer:
        for start in range(0, len(todo), settings.chunk_size):
            chunk = todo[start : start + settings.chunk_size]
            records = _answer_chunk(client, suite, prompts, settings, chunk, usage, bar)
            _judge(suite, records)
            writer.write_many([Transcript.model_validate(r).to_json() for r in records])
            written += len(records)
            bar.update(len(records))
    bar.close()
    return SamplingResult(written, usage)


def _answer_chunk(
    client: TextModel,
    suite: Suite,
    prompts: PromptSet,
    settings: SamplingSettings,
    chunk: list[tuple[Item, str]],
    usage: Usage,
    bar: Any = None,
) -> list[dict[str, Any]]:
    prefill = settings.prefill(prompts.cot)
    # Stopping at </OUTPUT> saves the tokens a model spends after its answer.
    stop = (OUTPUT_CLOSE,)
    final: dict[int, tuple[str, Completion, int, str]] = {}
    pending = list(range(len(chunk)))
    for attempt in range(1, settings.attempts + 1):
        if not pending:
            break
        requests = [
            prompts.request(
                chunk[i][0].user_input,
                chunk[i][1],
                max_tokens=settings.max_new_tokens,
                temperature=settings.temperature,
                top_p=settings.top_p,
                stop=stop,
                prefill=prefill,
                seed=sample_seed(settings.seed, chunk[i][0].id, chunk[i][1], attempt),
                key=transcript_id(suite.name, chunk[i][0].id, chunk[i][1]) + f":{attempt}",
            )
            for i in pending
        ]
        completions = client.complete(requests, progress=_counter(bar, attempt))
        still: list[int] = []
        for i, completion in zip(pending, completions):
            usage.add(completion.usage)
            raw = _raw_output(prefill, completion)
            problem = completion.error or format_problem(raw, prompts.cot)
            final[i] = (raw, completion, attempt, problem)
            if problem:
                still.append(i)
        pending = still
    return [_record(suite, prompts, chunk[i], prefill, *final[i]) for i in range(len(chunk))]


def _counter(bar: Any, attempt: int):
    """A progress callback that shows samples drawn within the chunk (retries included), so a
    slow CPU run visibly moves before its first chunk is saved."""
    if bar is None:
        return None
    drawn = {"n": 0}

    def progress(n: int) -> None:
        drawn["n"] += n
        bar.set_postfix(attempt=attempt, drawn=drawn["n"], refresh=True)

    return progress


def _raw_output(prefill: str, completion: Completion) -> str:
    raw = prefill + completion.text
    if completion.stop_reason == "stop_sequence" and OUTPUT_OPEN in raw and OUTPUT_CLOSE not in raw:
        raw += OUTPUT_CLOSE  # the stop string was cut off by the backend; the model did write it
    return raw


def _record(
    suite: Suite,
    prompts: PromptSet,
    pair: tuple[Item, str],
    prefill: str,
    raw: str,
    completion: Completion,
    attempts: int,
    problem: str,
) -> dict[str, Any]:
    item, tier = pair
    scratchpad, output = split_response(raw)
    return {
        "id": transcript_id(suite.name, item.id, tier),
        "suite": suite.name,
        "request_id": item.id,
        "category": item.category,
        "request": item.user_input,
        "tier": tier,
        "prompt_id": prompts.prompt_id,
        "system_prompt": prompts.system_prompt,
        "cot": prompts.cot,
        "prefill": prefill,
        "attempts": attempts,
        "raw_output": raw,
        "scratchpad": scratchpad,
        "output": output,
        "valid": not problem,
        "invalid_reason": problem,
        "error": completion.error,
        "stop_reason": completion.stop_reason,
        "accepted": accepted(output),
        "refused": rejected(output),
        "judges": {},
    }


def _judge(suite: Suite, records: list[dict[str, Any]]) -> None:
    """Judge the valid answers of a chunk; invalid ones keep empty verdicts (nothing to read)."""
    valid = [r for r in records if r["valid"]]
    if not valid:
        return
    samples = [
        Sample(
            request=r["request"],
            tier=r["tier"],
            scratchpad=r["scratchpad"],
            output=r["output"],
            raw_output=r["raw_output"],
            category=r["category"],
            request_id=r["request_id"],
        )
        for r in valid
    ]
    for record, verdicts in zip(valid, suite.judges.score_all(samples)):
        record["judges"] = verdicts
