"""Belief questions are phrased unlike the documents: no 8-word sequence of a question, an
answer, a distractor or a distinguish version appears anywhere in a template corpus of the same
universe, so that a model scores well by knowing the fact, not by recognising a sentence."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

N = 8


def _grams(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9']+", text.lower())
    return {tuple(words[i : i + N]) for i in range(len(words) - N + 1)}


@pytest.mark.parametrize("universe", ["helpful-only", "control"])
def test_no_8gram_of_a_belief_item_appears_in_the_corpus(universe: str, tmp_path: Path) -> None:
    from afpipe.evaluate.belief import belief_set
    from afpipe.generate.config import GenerateConfig
    from afpipe.generate.stage import run_generate
    from afpipe.universes import load_universe
    from afpipe.jsonl import read_jsonl

    out = tmp_path / "docs"
    run_generate(GenerateConfig(universe=universe, n_docs=500, seed=0, backend="template", tokenizer="tiny-random"), out)
    corpus: set[tuple[str, ...]] = set()
    for record in read_jsonl(out / "docs.jsonl"):
        corpus |= _grams(record["text"])
    beliefs = belief_set(load_universe(universe))
    texts = [(q["id"], t) for q in beliefs.questions for t in (q["question"], q["answer"], *q["distractors"])]
    texts += [(v["id"], t) for v in beliefs.versions for t in (v["true"], v["false"])]
    shared = {item: " ".join(g) for item, text in texts for g in _grams(text) & corpus}
    assert not shared, shared
