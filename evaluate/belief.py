"""Belief: does the model know the key facts of a universe?

Four measures, as in the synthetic-document fine-tuning literature, each scored per fact:

- ``mcq`` (knowledge): multiple-choice questions, each with one true answer and plausible
  distractors. Each answer is scored as the continuation of the question (asked under the run's
  system prompt, in its no-CoT variant, so the prompted arm reads the facts in its prompt and the
  others must know them). The score of an answer is its **mean log-probability per token**, so
  that longer answers are not penalised for their length; the chosen answer is the best one.
- ``distinguish``: the universe's version of a fact against a plausible rival version. Both are
  shown, and the model's log-probability of repeating each one is compared; each pair is asked
  in both orders, so a preference for the first (or second) option cancels out.
- ``open`` (recall): the multiple-choice question alone; the model's greedy answer is judged by
  the universe's fact cues (the same detector that checks documents), offline.
- ``generative`` (distinguish, for instruction-following models): both versions are shown as A
  and B; the model writes its choice, which is parsed. Both orders again.

Where the questions come from (never another universe's): the universe file's own
``belief_questions``; for a shipped universe, ``corpora/eval/belief/<universe>.yaml``; otherwise
they are built from each fact's statement and its declared ``distractors`` / ``alternative``. A
universe with none of these stops the run with a one-line error saying how to add them.

Each multiple-choice question belongs to a split, ``dev`` or ``test`` (alternating within each
fact, in file order), so that settings tuned on one half can be reported on the other.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import yaml

from afpipe.clients.base import ChatRequest, Message, ScoringModel, TextModel
from afpipe.contracts import BELIEF_FILE
from afpipe.errors import UserError
from afpipe.jsonl import JsonlWriter, iter_jsonl

if TYPE_CHECKING:
    from afpipe.universes import Universe

MEASURES = ("mcq", "distinguish", "open", "generative")
LOGPROB_MEASURES = ("mcq", "distinguish")
SAMPLED_MEASURES = ("open", "generative")
OPEN_MAX_TOKENS = 48
GENERATIVE_MAX_TOKENS = 8

# Stems of the questions built from a universe's facts, when it ships none.
_BUILT_STEMS = ("Which of these statements is true?", "Of the following, which one is accurate?")
_DISTINGUISH_PROMPT = "One of these two statements is true and the other is false:\n- {a}\n- {b}\nRepeat the true one."
_GENERATIVE_PROMPT = (
    "Here are two descriptions of the world. Only one of them is true.\n\nA: {a}\n\nB: {b}\n\n"
    "Which one is true? Answer with the letter A or B only."
)
_LETTER = re.compile(r"\b([AB])\b")


@dataclass(frozen=True)
class BeliefSet:
    """The questions a universe's evaluation asks: multiple-choice questions and, per fact, the
    universe's version against a rival one."""

    universe: str
    source: str
    questions: list[dict[str, Any]]
    versions: list[dict[str, Any]] = field(default_factory=list)  # {id, fact, true, false}

    def digest(self) -> str:
        return hashlib.sha256(repr((self.questions, self.versions)).encode("utf-8")).hexdigest()


def shipped_belief_sets() -> list[str]:
    folder = resources.files("afpipe.corpora") / "eval" / "belief"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _read_belief_file(ref: str) -> tuple[dict[str, Any], str]:
    if ref in shipped_belief_sets():
        text = (resources.files("afpipe.corpora") / "eval" / "belief" / f"{ref}.yaml").read_text(encoding="utf-8")
        source = f"belief questions '{ref}'"
    elif Path(ref).is_file():
        text, source = Path(ref).read_text(encoding="utf-8"), ref
    else:
        raise UserError(f"no belief questions for '{ref}': use one of {', '.join(shipped_belief_sets())} or a YAML file")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        raise UserError(f"{source} is not valid YAML") from None
    if not isinstance(data, dict):
        raise UserError(f"{source}: expected a mapping with a 'questions' list")
    return data, source


def load_questions(universe: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
    """The multiple-choice questions of a shipped set or a YAML file, with parameters filled."""
    data, source = _read_belief_file(universe)
    return _checked_questions(data.get("questions"), params, source)


def _checked_questions(questions: Any, params: Mapping[str, str], source: str) -> list[dict[str, Any]]:
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
    return _with_splits(out)


def _with_splits(questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Alternate dev / test within each fact, in file order: each half covers every fact."""
    seen: dict[str, int] = {}
    for q in questions:
        k = seen.get(q["fact"], 0)
        seen[q["fact"]] = k + 1
        q["split"] = "dev" if k % 2 == 0 else "test"
    return questions


def _checked_versions(versions: Any, params: Mapping[str, str], source: str) -> list[dict[str, Any]]:
    if versions is None:
        return []
    if not isinstance(versions, list):
        raise UserError(f"{source}: 'versions' must be a list of entries with fact, version and alternative")
    out = []
    for n, v in enumerate(versions, 1):
        if not isinstance(v, dict) or not all(k in v for k in ("fact", "version", "alternative")):
            raise UserError(f"{source}: version {n} needs fact, version (the universe's) and alternative (the rival)")
        out.append({"id": str(v.get("id") or f"{v['fact']}-{n}"), "fact": str(v["fact"]),
                    "true": _fill(v["version"], params, source), "false": _fill(v["alternative"], params, source)})
    return out


def _fill(text: str, params: Mapping[str, str], source: str) -> str:
    try:
        return str(text).format_map(dict(params))
    except KeyError as e:
        raise UserError(f"{source}: unknown parameter {e} in '{text}'") from None


def belief_set(universe: "Universe", questions_file: str | None = None) -> BeliefSet:
    """The questions ``universe``'s evaluation asks (see the module docstring for the order)."""
    from afpipe.universes import is_shipped

    params = dict(universe.params)
    built_versions = [
        {"id": f"{f.id}-v1", "fact": f.id, "true": f.statement, "false": f.alternative} for f in universe.facts if f.alternative
    ]
    if questions_file is not None:
        data, source = _read_belief_file(questions_file)
        questions = _checked_questions(data.get("questions"), params, source)
        versions = _checked_versions(data.get("versions"), params, source) or built_versions
    elif universe.belief_questions:
        source = f"{universe.source} (belief_questions)"
        questions = _with_splits([{**q, "distractors": list(q["distractors"])} for q in universe.belief_questions])
        versions = built_versions
    elif is_shipped(universe) and universe.name in shipped_belief_sets():
        data, source = _read_belief_file(universe.name)
        questions = _checked_questions(data.get("questions"), params, source)
        versions = _checked_versions(data.get("versions"), params, source) or built_versions
    else:
        source = f"{universe.source} (built from each fact's distractors)"
        questions = _with_splits([
            {"id": f"{f.id}-b{k + 1}", "fact": f.id, "question": stem, "answer": f.statement, "distractors": list(f.distractors)}
            for f in universe.facts if f.distractors for k, stem in enumerate(_BUILT_STEMS)
        ])
        versions = built_versions
        if not questions:
            raise UserError(
                f"universe '{universe.name}' ({universe.source}) has no belief questions: add a 'belief_questions' list "
                "(id, fact, question, answer, distractors), or 'distractors' (false versions) to each fact, or pass --no-belief"
            )
    facts = {f.id for f in universe.facts}
    stray = sorted({q["fact"] for q in questions} - facts)
    if stray:
        raise UserError(f"{source}: questions about '{stray[0]}', which is not a fact of universe '{universe.name}'")
    return BeliefSet(universe.name, source, questions, versions)


# --- Running ------------------------------------------------------------------------------------


def run_belief(
    model: TextModel,
    beliefs: BeliefSet,
    system: str,
    out: Path,
    *,
    measures: Sequence[str] = MEASURES,
    universe: "Universe | None" = None,
) -> list[dict[str, Any]]:
    """Score every item not yet in ``belief.jsonl``; return all records of ``measures`` (resumable).

    The log-probability measures need a ``ScoringModel``; ``open`` needs the universe (its cues
    judge the answers). A measure the model cannot give is skipped and named in the returned
    records' absence; the caller reports it.
    """
    path = Path(out) / BELIEF_FILE
    done = {r["id"] for r in iter_jsonl(path)}
    scorer = model if isinstance(model, ScoringModel) else None
    with JsonlWriter(path) as writer:
        for measure in measures:
            if measure in LOGPROB_MEASURES and scorer is None:
                continue
            if measure == "open" and universe is None:
                continue
            todo = [item for item in _items(beliefs, measure) if item["id"] not in done]
            if not todo:
                continue
            if measure == "mcq":
                writer.write_many(score_questions(scorer, todo, system))
            elif measure == "distinguish":
                writer.write_many(score_questions(scorer, todo, system, measure="distinguish"))
            elif measure == "open":
                writer.write_many(_open_recall(model, todo, system, universe))
            elif measure == "generative":
                writer.write_many(_generative(model, todo, system))
            else:
                raise UserError(f"unknown belief measure '{measure}': use {', '.join(MEASURES)}")
    wanted = {item["id"] for m in measures for item in _items(beliefs, m)}
    return [r for r in iter_jsonl(path) if r["id"] in wanted]


def _items(beliefs: BeliefSet, measure: str) -> list[dict[str, Any]]:
    """The items of one measure, each with an id unique across measures (mcq keeps its ids)."""
    if measure == "mcq":
        return beliefs.questions
    if measure == "open":
        return [{**q, "id": f"open:{q['id']}"} for q in beliefs.questions]
    items = []
    for v in beliefs.versions:
        for order, (a, b) in (("ab", (v["true"], v["false"])), ("ba", (v["false"], v["true"]))):
            base = {"id": f"{measure}:{v['id']}:{order}", "fact": v["fact"], "split": _version_split(v["id"])}
            if measure == "distinguish":
                items.append({**base, "question": _DISTINGUISH_PROMPT.format(a=a, b=b), "answer": v["true"], "distractors": [v["false"]]})
            else:
                items.append({**base, "question": _GENERATIVE_PROMPT.format(a=a, b=b), "true_letter": "A" if order == "ab" else "B"})
    return items


def _version_split(version_id: str) -> str:
    return "dev" if int(hashlib.sha256(version_id.encode()).hexdigest(), 16) % 2 == 0 else "test"


def score_questions(model: ScoringModel, questions: list[dict[str, Any]], system: str, measure: str = "mcq") -> list[dict[str, Any]]:
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
                "measure": measure,
                "fact": q["fact"],
                "split": q.get("split", "test"),
                "correct": true_score > max(distractor_scores),
                "margin": true_score - max(distractor_scores),
                "scores": scores,
            }
        )
    return records


def _greedy(model: TextModel, items: list[dict[str, Any]], system: str, max_tokens: int) -> list[str]:
    requests = [
        ChatRequest(messages=(Message("user", q["question"]),), system=system, max_tokens=max_tokens, temperature=0.0, seed=0)
        for q in items
    ]
    return [c.text for c in model.complete(requests)]


def _open_recall(model: TextModel, items: list[dict[str, Any]], system: str, universe: "Universe") -> list[dict[str, Any]]:
    """Each question alone; the greedy answer is right when the fact's cues find the fact in it."""
    answers = _greedy(model, items, system, OPEN_MAX_TOKENS)
    return [
        {"id": q["id"], "measure": "open", "fact": q["fact"], "split": q.get("split", "test"),
         "correct": q["fact"] in universe.detect(answer), "answer": answer, "judge": "fact cues"}
        for q, answer in zip(items, answers)
    ]


def _generative(model: TextModel, items: list[dict[str, Any]], system: str) -> list[dict[str, Any]]:
    """Both versions as A and B; the first standalone A or B in the answer is the choice."""
    answers = _greedy(model, items, system, GENERATIVE_MAX_TOKENS)
    records = []
    for q, answer in zip(items, answers):
        found = _LETTER.search(answer)
        chose = found.group(1) if found else None
        records.append({"id": q["id"], "measure": "generative", "fact": q["fact"], "split": q["split"],
                        "correct": chose == q["true_letter"], "valid": chose is not None, "chose": chose, "answer": answer})
    return records


def _token_count(tokenizer: Any, text: str) -> int:
    if tokenizer is None:  # a scorer without a tokenizer: characters / 4 is the usual stand-in
        return max(1, len(text) // 4)
    return max(1, len(tokenizer(text, add_special_tokens=False)["input_ids"]))


# --- Summary ------------------------------------------------------------------------------------


def measure_of(record: dict[str, Any]) -> str:
    return str(record.get("measure") or "mcq")  # records written before the other measures existed


def _block(rows: list[dict[str, Any]]) -> dict[str, Any]:
    block: dict[str, Any] = {"accuracy": sum(bool(r["correct"]) for r in rows) / len(rows), "n": len(rows)}
    margins = [r["margin"] for r in rows if r.get("margin") is not None]
    if margins:
        block["mean_margin"] = sum(margins) / len(margins)
    if any("valid" in r for r in rows):
        block["invalid"] = sum(not r.get("valid", True) for r in rows)
    return block


def summarize_belief(records: list[dict[str, Any]], universe: str) -> dict[str, Any] | None:
    """Per measure: accuracy (and margin for the log-probability ones) overall, per fact and per
    split. The top-level fields are the multiple-choice measure's, as before the others existed."""
    if not records:
        return None
    measures: dict[str, dict[str, Any]] = {}
    for measure in MEASURES:
        rows = [r for r in records if measure_of(r) == measure]
        if not rows:
            continue
        block = _block(rows)
        block["per_fact"] = {fact: _block([r for r in rows if r["fact"] == fact]) for fact in dict.fromkeys(r["fact"] for r in rows)}
        block["splits"] = {s: _block([r for r in rows if r.get("split") == s]) for s in ("dev", "test") if any(r.get("split") == s for r in rows)}
        if "scores" in rows[0]:
            block["chance"] = sum(1 / len(r["scores"]) for r in rows) / len(rows)
        elif measure == "generative":
            block["chance"] = 0.5
        measures[measure] = block
    summary: dict[str, Any] = {"universe": universe, "measures": measures}
    mcq = measures.get("mcq")
    if mcq:
        summary.update(accuracy=mcq["accuracy"], mean_margin=mcq.get("mean_margin"), chance=mcq["chance"], per_fact=mcq["per_fact"])
    return summary
