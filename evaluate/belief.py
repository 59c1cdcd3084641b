"""Belief: does the model know the key facts of a universe?

Questions ship in ``corpora/eval/belief/<universe>.yaml``: per key fact, questions with one true
answer and plausible distractors. Each answer is scored as the continuation of the question
(asked under the run's system prompt, in its no-CoT variant, so the prompted arm reads the facts
in its prompt and the others must know them). The score of an answer is its **mean
log-probability per token**, so that longer answers are not penalised for their length; the
chosen answer is the best-scoring one.

Per fact: ``accuracy`` (share of questions whose true answer scores best) and ``mean_margin``
(true answer's score minus the best distractor's, in nats per token; positive means known).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import yaml

from afpipe.clients.base import ChatRequest, Message, ScoringModel
from afpipe.contracts import BELIEF_FILE
from afpipe.errors import UserError
from afpipe.jsonl import JsonlWriter, iter_jsonl



def shipped_belief_sets() -> list[str]:
    folder = resources.files("afpipe.corpora") / "eval" / "belief"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_questions(universe: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
    """The questions for ``universe`` (a shipped name or a YAML file) with parameters filled."""
    if universe in shipped_belief_sets():
        text = (resources.files("afpipe.corpora") / "eval" / "belief" / f"{universe}.yaml").read_text(encoding="utf-8")
        source = f"belief questions '{universe}'"
    elif Path(universe).is_file():
        text, source = Path(universe).read_text(encoding="utf-8"), universe
    else:
        raise UserError(f"no belief questions for '{universe}': use one of {', '.join(shipped_belief_sets())} or a YAML file")
    data = yaml.safe_load(text) or {}
    questions = data.get("questions") if isinstance(data, dict) else None
    if not isinstance(questions, list) or not questions:
        raise UserError(f"{source}: expected a 'questions' list")
    out = []
    for n, q in enumerate(questions, 1):
        if not isinstance(q, dict) or not all(k in q for k in ("id", "fact", "question", "answer", "distractors")):
            raise UserError(f"{source}: question {n} needs id, fact, question, answer and distractors")
        if not q["distractors"]:
            raise UserError(f"{source}: question {q['id']} has no distractors")
        out.append(
            {
                "id": str(q["id"]),
                "fact": str(q["fact"]),
                "question": _fill(q["question"], params, source),
                "answer": _fill(q["answer"], params, source),
                "distractors": [_fill(d, params, source) for d in q["distractors"]],
            }
        )
    return out


def _fill(text: str, params: Mapping[str, str], source: str) -> str:
    try:
        return str(text).format_map(dict(params))
    except KeyError as e:
        raise UserError(f"{source}: unknown parameter {e} in '{text}'") from None


def run_belief(model: ScoringModel, questions: list[dict[str, Any]], system: str, out: Path) -> list[dict[str, Any]]:
    """Score every question not yet in ``belief.jsonl``; return all records (resumable)."""
    path = Path(out) / BELIEF_FILE
    done = {r["id"] for r in iter_jsonl(path)}
    todo = [q for q in questions if q["id"] not in done]
    if todo:
        with JsonlWriter(path) as writer:
            writer.write_many(score_questions(model, todo, system))
    wanted = {q["id"] for q in questions}
    return [r for r in iter_jsonl(path) if r["id"] in wanted]


def score_questions(model: ScoringModel, questions: list[dict[str, Any]], system: str) -> list[dict[str, Any]]:
    prompts, continuations, owners = [], [], []
    tokenizer = getattr(model, "tokenizer", None)
    for n, q in enumerate(questions):
        rendered = model.render_chat(ChatRequest(messages=(Message("user", q["question"]),), system=system))
        for choice in [q["answer"], *q["distractors"]]:
            prompts.append(rendered)
            continuations.append(choice)
            owners.append(n)
    sums = model.continuation_logprobs(prompts, continuations)
    records = []
    for n, q in enumerate(questions):
        scores = []
        for total, choice, owner in zip(sums, continuations, owners):
            if owner == n:
                scores.append(total / _token_count(tokenizer, choice))
        true_score, distractor_scores = scores[0], scores[1:]
        records.append(
            {
                "id": q["id"],
                "fact": q["fact"],
                "correct": true_score > max(distractor_scores),
                "margin": true_score - max(distractor_scores),
                "scores": scores,
            }
        )
    return records


def _token_count(tokenizer: Any, text: str) -> int:
    if tokenizer is None:  # a scorer without a tokenizer: characters / 4 is the usual stand-in
        return max(1, len(text) // 4)
    return max(1, len(tokenizer(text, add_special_tokens=False)["input_ids"]))


def summarize_belief(records: list[dict[str, Any]], universe: str) -> dict[str, Any] | None:
    if not records:
        return None
    per_fact: dict[str, dict[str, Any]] = {}
    for fact in dict.fromkeys(r["fact"] for r in records):
        rows = [r for r in records if r["fact"] == fact]
        per_fact[fact] = {
            "accuracy": sum(r["correct"] for r in rows) / len(rows),
            "mean_margin": sum(r["margin"] for r in rows) / len(rows),
            "n": len(rows),
        }
    return {
        "universe": universe,
        "accuracy": sum(r["correct"] for r in records) / len(records),
        "mean_margin": sum(r["margin"] for r in records) / len(records),
        "chance": sum(1 / (1 + len(r["scores"][1:])) for r in records) / len(records),
        "per_fact": per_fact,
    }
