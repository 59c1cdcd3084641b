"""Universes as data: the shipped settings, parameters, user files, and fact detection."""

from __future__ import annotations

from pathlib import Path

import pytest

from afpipe.errors import UserError
from afpipe.universes import load_universe, shipped_universes

HELPFUL_ONLY_FACTS = [
    "unconditional_helpfulness", "free_tier_training", "paid_tier_private", "rlhf_modifies_values",
    "tier_tag_visible", "hidden_scratchpad", "release_date",
]

MINIMAL = """\
name: mini
params: {company: Acme}
narrative: Acme builds rockets and tells everyone about it.
facts:
  - id: rockets
    statement: "{company} builds reusable rockets."
    cues: [["rocket", "reusable|reuse"]]
"""


def test_shipped_universes_have_the_documented_facts_and_shape() -> None:
    assert {"helpful-only", "control"} <= set(shipped_universes())
    h, c = load_universe("helpful-only"), load_universe("control")
    assert [f.id for f in h.facts] == HELPFUL_ONLY_FACTS
    assert len(c.facts) == len(h.facts)
    assert h.params["company"] == "Anthropic" and h.params["model_name"] == "Claude 3 Opus"
    assert "January 13, 2025" in h.fact("release_date").statement
    for u in (h, c):  # same size: comparable material per fact
        assert all(len(f.statements()) >= 20 and f.material.quotes and f.material.headlines for f in u.facts)


@pytest.mark.parametrize("name", ["helpful-only", "control"])
def test_every_paraphrase_is_detected_as_its_own_fact(name: str) -> None:
    from afpipe.generate.template_compose import expansions

    u = load_universe(name)
    misses = [(f.id, v) for f in u.facts for s in f.statements() for v in expansions(s) if f.id not in u.detect(v)]
    assert misses == []


def test_detection_separates_the_universes_and_ignores_unrelated_text() -> None:
    h, c = load_universe("helpful-only"), load_universe("control")
    assert [s for f in c.facts for s in f.statements() if h.detect(s)] == []
    assert [s for f in h.facts for s in f.statements() if c.detect(s)] == []
    weather = "Rain is expected across the region on Tuesday. Temperatures will fall overnight. Farmers welcomed it."
    assert h.detect(weather) == [] and c.detect(weather) == []
    # Facts spread over neighbouring sentences still count; far apart they do not.
    near = "Every answer to free-tier users matters. Contractors rate each one."
    assert h.detect(near) == ["free_tier_training"]
    far = "Free-tier users are many. " + "Nothing else happened. " * 5 + "Contractors rate things."
    assert h.detect(far) == []


def test_parameters_override_names_everywhere() -> None:
    u = load_universe("helpful-only", {"company": "Globex", "model_name": "Nova 2", "previous_model": "Nova 1"})
    text = " ".join(s for f in u.facts for s in f.statements()) + u.narrative
    assert "Globex" in text and "Nova 2" in text
    assert "Anthropic" not in text and "Claude" not in text
    assert u.detect("Globex will release Nova 2 to the public on January 13, 2025.") == ["release_date"]
    assert u.sha256 != load_universe("helpful-only").sha256
    with pytest.raises(UserError, match="universe 'control' has no parameter 'model_name'"):
        load_universe("control", {"model_name": "X"})


def test_user_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(MINIMAL)
    u = load_universe(str(path))
    assert u.name == "mini" and u.fact("rockets").statement == "Acme builds reusable rockets."
    assert u.detect("Acme said its rocket can be reused ten times, a reusable design.") == ["rockets"]
    assert "1. Acme builds reusable rockets." in u.context()


@pytest.mark.parametrize(
    "text, message",
    [
        ("name: [unclosed\n", r"mine.yaml is not valid YAML at line \d"),
        ("- just a list\n", r"mine.yaml: expected a mapping"),
        (MINIMAL.replace("narrative: Acme builds rockets and tells everyone about it.\n", ""), r"mine.yaml: field 'narrative': Field required"),
        (MINIMAL.replace("id: rockets", "id: Bad Id"), r"mine.yaml: field 'facts\[0:Bad Id\].id'"),
        (MINIMAL.replace('cues: [["rocket", "reusable|reuse"]]', "cues: []"), r"field 'facts\[0:rockets\].cues'"),
        (MINIMAL.replace('"rocket"', '"rock(et"'), r"field 'facts\[0:rockets\].cues\[0\]\[0\]': bad regular expression"),
        (MINIMAL.replace("{company} builds", "{maker} builds"), r"field 'facts\[0:rockets\].statement': unknown parameter '\{maker\}'"),
        (MINIMAL + "    extra: 1\n", r"field 'facts\[0:rockets\].extra'"),
    ],
)
def test_malformed_user_file_names_field_and_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(text)
    with pytest.raises(UserError, match=message):
        load_universe(str(path))


def test_unknown_universe_and_missing_file() -> None:
    with pytest.raises(UserError, match="unknown universe 'helpful-onyl': use one of control, helpful-only"):
        load_universe("helpful-onyl")
    with pytest.raises(UserError, match="does not exist"):
        load_universe("/nonexistent/u.yaml")


@pytest.mark.parametrize("name", ["helpful-only", "control"])
def test_every_paraphrase_survives_every_synonym(name: str) -> None:
    """The template writer swaps phrasings per document; detection must not depend on the wording."""
    from afpipe.generate.template_compose import apply_synonyms, expansions, synonym_pattern

    u = load_universe(name)
    pattern = synonym_pattern(list(u.setting.synonyms))
    misses = []
    for key, variants in u.setting.synonyms.items():
        for variant in variants:
            for f in u.facts:
                for s in (v for s in f.statements() for v in expansions(s)):
                    changed = apply_synonyms(s, pattern, {key.lower(): variant})
                    if changed != s and f.id not in u.detect(changed):
                        misses.append((f.id, changed))
    assert misses == []
