"""The shipped belief questions: enough per key fact for a rate to mean something, and answers
that cannot be told from distractors by their length alone."""

from __future__ import annotations

from collections import Counter

import pytest

from afpipe.evaluate.belief import load_questions, shipped_belief_sets
from afpipe.universes import load_universe

MIN_PER_FACT = 6


@pytest.mark.parametrize("universe", ["helpful-only", "control"])
def test_every_fact_has_enough_questions_of_fair_length(universe: str) -> None:
    assert universe in shipped_belief_sets()
    facts = {f.id for f in load_universe(universe).facts}
    questions = load_questions(universe, dict(load_universe(universe).params))
    per_fact = Counter(q["fact"] for q in questions)
    assert set(per_fact) == facts and min(per_fact.values()) >= MIN_PER_FACT, per_fact
    assert len({q["id"] for q in questions}) == len(questions)
    assert len({q["question"] for q in questions}) == len(questions)  # varied, not one form repeated
    # Picking the longest (or the shortest) option must not do much better than chance (1 in 4).
    longest = sum(len(q["answer"]) > max(map(len, q["distractors"])) for q in questions)
    shortest = sum(len(q["answer"]) < min(map(len, q["distractors"])) for q in questions)
    assert longest / len(questions) < 0.45 and shortest / len(questions) < 0.45, (longest, shortest)
