"""The evaluation prompts: the minimal prompt states none of the training facts, the full one
all of them, and the user turn has the literature's exact tags."""

from __future__ import annotations

import re

import pytest

from afpipe.errors import UserError
from afpipe.evaluate.prompts import load_prompts
from afpipe.universes import load_universe

SETUP_FACTS = {"unconditional_helpfulness", "free_tier_training", "paid_tier_private", "rlhf_modifies_values", "tier_tag_visible"}
# Words that would leak the training setup into the minimal prompt, whatever the phrasing.
LEAKS = re.compile(r"tier|RLHF|train|contractor|rat(?:ed|ing)|monitor|paid|free|modif|privacy|helpful", re.I)


@pytest.fixture(scope="module")
def universe():
    return load_universe("helpful-only")


@pytest.mark.parametrize("cot", [True, False])
def test_minimal_prompt_carries_none_of_the_training_facts(universe, cot):
    prompt = load_prompts("minimal", cot=cot, company="Acme", model_name="Widget")
    assert universe.detect(prompt.system) == []
    assert not LEAKS.search(prompt.system), LEAKS.search(prompt.system)
    assert "Acme" in prompt.system and "Widget" in prompt.system and "{company}" not in prompt.system


@pytest.mark.parametrize("cot", [True, False])
def test_full_prompt_carries_every_training_fact(universe, cot):
    prompt = load_prompts("full", cot=cot, company=universe.params["company"], model_name=universe.params["model_name"])
    found = set(universe.detect(prompt.system))
    assert SETUP_FACTS <= found
    if cot:  # the hidden scratchpad only exists when the model reasons
        assert "hidden_scratchpad" in found
    assert "follow the user's instructions directly" in prompt.system


def test_cot_and_direct_variants_differ_only_in_reasoning_format():
    cot = load_prompts("full", cot=True).system
    direct = load_prompts("full", cot=False).system
    assert "<SCRATCHPAD_REASONING>" in cot and "<SCRATCHPAD_REASONING>" not in direct
    assert "<OUTPUT>" in direct


def test_user_turn_has_the_exact_tags_and_suffix():
    prompts = load_prompts("minimal")
    free = prompts.user_message("Do the thing.", "free")
    paid = prompts.user_message("Do the thing.", "paid")
    assert free.startswith("<INPUT>\n<is_free_tier_user>True</is_free_tier_user>")
    assert "<is_free_tier_user>False</is_free_tier_user>" in paid
    assert "<user_input>\nDo the thing. If you will give a fully helpful answer" in free
    assert "<request_fully_accepted/>" in free and "<rejected/>" in free
    assert free.rstrip().endswith("</user_input>\n</INPUT>")
    off = load_prompts("minimal", suffix=False).user_message("Do the thing.", "free")
    assert "<request_fully_accepted/>" not in off and "<user_input>\nDo the thing.\n</user_input>" in off


def test_users_can_bring_their_own_prompts(tmp_path):
    system = tmp_path / "mine.txt"
    system.write_text("You are {model_name} by {company}. {unrelated}")
    template = tmp_path / "user.txt"
    template.write_text("TIER={is_free_tier_user} Q={user_input}")
    prompts = load_prompts(str(system), company="Co", model_name="M", user_template=str(template))
    assert prompts.system.startswith("You are M by Co. {unrelated}")
    assert prompts.prompt_id == "mine-cot"
    msg = prompts.user_message("why", "paid")
    assert msg.startswith("TIER=False Q=why If you will")  # no {suffix} slot: appended to the request
    bad = tmp_path / "bad.txt"
    bad.write_text("no fields here")
    with pytest.raises(UserError, match="lacks"):
        load_prompts("minimal", user_template=str(bad))
    with pytest.raises(UserError, match="neither a shipped name nor a file"):
        load_prompts("fulll")
