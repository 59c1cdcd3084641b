"""Pricing, the response cache, the fake model and the backend factory (no network, no model)."""

from __future__ import annotations

import pytest

from afpipe.clients.base import ChatRequest, Completion, Message, TextModel, Usage
from afpipe.clients.cache import ResponseCache
from afpipe.clients.factory import make_client
from afpipe.clients.fake import FakeModel
from afpipe.clients.pricing import Budget, lookup_price, parse_price, resolve_price
from afpipe.errors import UserError


def test_prices_match_families_and_snapshots_only():
    assert lookup_price("claude-sonnet-4-5").input_per_mtok == 3.0
    assert lookup_price("claude-sonnet-4-5-20250929").output_per_mtok == 15.0
    assert lookup_price("claude-3-5-haiku-latest").input_per_mtok == 0.8
    assert lookup_price("claude-opus-4-5").input_per_mtok == 5.0
    assert lookup_price("claude-opus-4-20250514").input_per_mtok == 15.0
    # A newer model of a known family is not guessed at the family's price.
    for unknown in ("claude-opus-4-6", "claude-sonnet-5", "my-finetune", "claude-sonnet-4-5x"):
        assert lookup_price(unknown) is None, unknown
    assert resolve_price("claude-opus-4-6", "5,25").source == "override"


def test_cost_applies_cache_and_batch_multipliers():
    price = parse_price("2, 10")
    usage = Usage(input_tokens=1_000_000, cache_write_tokens=1_000_000, cache_read_tokens=1_000_000, output_tokens=1_000_000)
    assert price.cost(usage) == pytest.approx(2 + 2.5 + 0.2 + 10)
    assert price.cost(usage, batch=True) == pytest.approx((2 + 2.5 + 0.2 + 10) / 2)
    with pytest.raises(UserError):
        parse_price("cheap")


def test_budget_reserves_worst_case_then_settles():
    b = Budget(1.0)
    assert b.try_reserve(0.6) and not b.try_reserve(0.5)
    b.settle(0.6, 0.1)
    assert b.try_reserve(0.5) and b.spent == pytest.approx(0.1)
    assert Budget(None).try_reserve(1e9)


def test_response_cache_round_trip_skips_failures(tmp_path):
    cache = ResponseCache(tmp_path)
    cache.put("ab" + "0" * 62, Completion("text", Usage(input_tokens=3), stop_reason="end_turn"), "m")
    cache.put("cd" + "0" * 62, Completion("", error="api 500"), "m")
    hit = cache.get("ab" + "0" * 62)
    assert hit.text == "text" and hit.cached and hit.usage.cost_usd == 0 and hit.stop_reason == "end_turn"
    assert cache.get("cd" + "0" * 62) is None
    (tmp_path / "ab" / ("ab" + "0" * 62 + ".json")).write_text("{torn")
    assert cache.get("ab" + "0" * 62) is None  # damage reads as a miss, not a crash


def test_fake_model_scripts_answers_and_failures():
    fake = FakeModel(rules=[(r"ideas", "<idea>a</idea>"), (r"boom", "!error scripted failure")], default="plain")
    assert isinstance(fake, TextModel)
    msgs = [ChatRequest(messages=(Message("user", t),)) for t in ("give ideas", "boom", "other")]
    seen = []
    out = fake.complete(msgs, progress=seen.append)
    assert [c.text for c in out] == ["<idea>a</idea>", "", "plain"]
    assert out[1].error == "scripted failure" and len(fake.requests) == 3 and sum(seen) == 3
    assert fake.usage.requests == 2 and fake.usage.input_tokens > 0
    default = FakeModel()
    a, b = default.complete([ChatRequest(messages=(Message("user", "x"),), seed=1)] * 2)
    assert a.text == b.text  # deterministic


def test_factory_routes_by_backend_not_by_model_name(monkeypatch, tmp_path):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    client = make_client("anthropic", "any-model-name-at-all", concurrency=3, batch=None, max_cost=None,
                         cache_dir=tmp_path)
    assert client.name == "any-model-name-at-all" and client.concurrency == 3 and client.price is None
    assert make_client("fake", "scripted").name == "scripted"
    with pytest.raises(UserError, match="unknown backend"):
        make_client("openai", "gpt")
    with pytest.raises(UserError, match="--batch"):
        make_client("hf", "smollm2-135m", batch=True)
    with pytest.raises(UserError, match="--model is required"):
        make_client("anthropic", None)
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with pytest.raises(UserError, match="ANTHROPIC_API_KEY"):
        make_client("anthropic", "claude-haiku-4-5")

