"""The Anthropic client against a fake API server on loopback (the real SDK, a fake wire)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from afpipe.clients.anthropic import AnthropicClient, request_params
from afpipe.clients.base import ChatRequest, Message
from afpipe.clients.fake_server import FakeAnthropicServer
from afpipe.clients.pricing import BudgetExceeded, lookup_price
from afpipe.errors import UserError

KEY = "sk-ant-test-SECRET-4f1c9a77e2"
MODEL = "claude-haiku-4-5"
PREFIX = "The world as it stands. " * 300  # ~1800 fake tokens: above the 1024-token cache minimum


def req(i: int, prefix: str = PREFIX, **kw) -> ChatRequest:
    return ChatRequest(
        messages=(Message("user", f"write document {i}"),), system=prefix + "\nWrite well.", cache_prefix=prefix,
        max_tokens=kw.pop("max_tokens", 100), **kw,
    )


@pytest.fixture
def server():
    with FakeAnthropicServer(api_key=KEY) as s:
        yield s


@pytest.fixture
def key_env(monkeypatch):
    monkeypatch.setenv("AFPIPE_TEST_KEY", KEY)
    return "AFPIPE_TEST_KEY"


@pytest.fixture
def make(server, key_env, tmp_path):
    def build(**kw) -> AnthropicClient:
        opts = dict(api_key_env=key_env, base_url=server.url, cache_dir=tmp_path / "cache", poll_interval_s=0.01)
        opts.update(kw)
        return AnthropicClient(kw.pop("model", MODEL), **{k: v for k, v in opts.items() if k != "model"})

    return build


def user_text(call: dict) -> str:
    return call["body"]["messages"][0]["content"]


def test_request_body_carries_prompt_cache_prefill_and_stops(make, server):
    client = make()
    r = ChatRequest(
        messages=(Message("user", "hello"),), system=PREFIX + "tail", cache_prefix=PREFIX,
        prefill="<OUTPUT>\n", stop=("</OUTPUT>",), temperature=0.3, max_tokens=50,
    )
    [c] = client.complete([r])
    body = server.message_calls()[0]["body"]
    assert body["model"] == MODEL and body["max_tokens"] == 50
    assert body["system"][0] == {"type": "text", "text": PREFIX, "cache_control": {"type": "ephemeral"}}
    assert body["system"][1] == {"type": "text", "text": "tail"}
    assert body["messages"][-1] == {"role": "assistant", "content": "<OUTPUT>"}  # no trailing whitespace
    assert body["stop_sequences"] == ["</OUTPUT>"] and body["temperature"] == 0.3
    assert c.ok and c.text.startswith("Answer") and c.usage.cache_write_tokens > 1000
    assert c.usage.cost_usd == pytest.approx(lookup_price(MODEL).cost(c.usage))
    # The default temperature is the API's own: not sent (some models refuse sampling settings).
    assert "temperature" not in request_params(req(1), MODEL) and "system" not in request_params(
        ChatRequest(messages=(Message("user", "x"),)), MODEL)


def test_shared_prefix_is_written_once_then_read(make, server):
    client = make(concurrency=8)
    out = client.complete([req(i) for i in range(12)])
    assert all(c.ok for c in out)
    writes = [c for c in out if c.usage.cache_write_tokens]
    assert len(writes) == 1  # the leader warmed the cache before the burst
    assert server.standard.cache_read_tokens == 11 * writes[0].usage.cache_write_tokens
    report = client.report()
    assert report["cache_read_tokens"] == server.standard.cache_read_tokens
    assert report["requests"] == 12 and report["cost_usd"] > 0


def test_disk_cache_makes_a_rerun_free(make, server):
    first = make().complete([req(i) for i in range(5)])
    n = len(server.message_calls())
    seen: list[int] = []
    again = make().complete([req(i) for i in range(5)] + [req(99), req(99)], progress=seen.append)
    assert sum(seen) == 7  # cached, fresh and duplicate requests all reported
    assert len(server.message_calls()) == n + 1  # only the new request reached the API
    assert [c.text for c in again[:5]] == [c.text for c in first]
    assert all(c.cached and c.usage.cost_usd == 0 for c in again[:5]) and not again[5].cached
    other = make(model="claude-opus-4-5").complete([req(0)])
    assert not other[0].cached  # the model is part of the key


def test_transient_errors_are_retried_by_the_sdk_honouring_retry_after(make, server):
    server.faults.extend([429, 529, (500, 400)])
    t0 = time.monotonic()
    [c] = make(max_retries=4).complete([req(0, prefix="")])
    assert c.ok
    calls = server.message_calls()
    assert len(calls) == 4 and [x["headers"].get("x-stainless-retry-count") for x in calls] == ["0", "1", "2", "3"]
    assert time.monotonic() - t0 >= 0.4  # waited as long as retry-after-ms said


def test_persistent_failure_is_reported_not_raised_and_not_cached(make, server):
    server.faults.extend([500, 500])
    out = make(max_retries=1, concurrency=1).complete([req(0, prefix=""), req(1, prefix="")])
    assert not out[0].ok and out[0].error.startswith("api 500") and out[1].ok
    [c] = make().complete([req(0, prefix="")])
    assert c.ok and not c.cached  # the failure was not cached: the rerun asked again


def test_missing_key_is_one_line_error_before_any_request(server, monkeypatch, tmp_path):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(UserError) as e:
        AnthropicClient(MODEL, base_url=server.url, cache_dir=tmp_path)
    assert "ANTHROPIC_API_KEY" in str(e.value) and "\n" not in str(e.value)
    assert server.log == []


def test_wrong_key_stops_with_user_error(server, monkeypatch, tmp_path):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-wrong")
    client = AnthropicClient(MODEL, base_url=server.url, cache_dir=tmp_path, max_retries=0)
    with pytest.raises(UserError, match="rejected the key in ANTHROPIC_API_KEY"):
        client.complete([req(0)])


def test_unknown_price_is_reported_unknown_and_refused_for_a_budget(make):
    client = make(model="claude-opus-9-9")
    client.complete([req(0)])
    assert client.report()["cost_usd"] is None and client.report()["price"] == "unknown"
    with pytest.raises(UserError, match="needs a price"):
        make(model="claude-opus-9-9", max_cost=1.0)
    assert make(model="claude-opus-9-9", max_cost=1.0, price="2,10").price.input_per_mtok == 2.0


def test_budget_stops_before_it_is_passed_and_keeps_finished_work(make, server):
    price = lookup_price(MODEL)
    client = make(concurrency=2, max_cost=0.006)
    with pytest.raises(BudgetExceeded, match="--max-cost") as e:
        client.complete([req(i, max_tokens=200) for i in range(40)])
    assert "\n" not in str(e.value)
    billed = price.cost(_usage(server.standard))
    assert 0 < billed <= 0.006 and client.usage.cost_usd == pytest.approx(billed)
    sent = len(server.message_calls())
    assert 0 < sent < 40
    # Finished work is kept: a rerun with a larger budget pays only for the rest.
    make(concurrency=2, max_cost=1.0).complete([req(i, max_tokens=200) for i in range(40)])
    assert len(server.message_calls()) == 40


def _usage(t):
    from afpipe.clients.base import Usage

    return Usage(t.input_tokens, t.output_tokens, t.cache_read_tokens, t.cache_write_tokens)


def test_batch_results_out_of_order_with_errored_and_expired_lines(make, server, tmp_path):
    server.polls_until_ended = 2
    reqs = [req(i) for i in range(8)]
    bad = {reqs[2].cache_key(MODEL): "errored", reqs[5].cache_key(MODEL): "expired"}
    server.batch_outcome = lambda cid: bad.get(cid, "succeeded")
    client = make(batch=True)
    out = client.complete(reqs)
    assert len(server.calls("POST", "/v1/messages/batches")) == 1
    assert not out[2].ok and "errored" in out[2].error and "invalid_request_error" in out[2].error
    assert not out[5].ok and "expired" in out[5].error
    for i in (0, 1, 3, 4, 6, 7):  # matched by custom_id although the lines came shuffled
        assert out[i].ok and out[i].text == make().complete([reqs[i]])[0].text
    lines = (tmp_path / "cache" / "batches" / "msgbatch_fake0000.results.jsonl").read_text().splitlines()
    assert [json.loads(x)["custom_id"] for x in lines] != [r.cache_key(MODEL) for r in reqs]  # out of order
    job = json.loads((tmp_path / "cache" / "batches" / "msgbatch_fake0000.json").read_text())
    assert job["state"] == "collected" and len(job["custom_ids"]) == 8
    assert client.report()["cost_usd"] == pytest.approx(lookup_price(MODEL).cost(_usage(server.batch), batch=True))
    # A rerun resubmits only the two failures.
    server.batch_outcome = lambda cid: "succeeded"
    again = make(batch=True).complete(reqs)
    second = server.calls("POST", "/v1/messages/batches")[1]["body"]["requests"]
    assert sorted(r["custom_id"] for r in second) == sorted(bad) and all(c.ok for c in again)


def test_batch_killed_after_create_resumes_by_polling(make, server, monkeypatch, tmp_path):
    from afpipe.clients import batches

    server.polls_until_ended = 3
    reqs = [req(i) for i in range(5)]
    real_finish = batches._Runner.finish

    def crash(self, jobs):
        raise KeyboardInterrupt  # the process dies while the batch is running

    monkeypatch.setattr(batches._Runner, "finish", crash)
    with pytest.raises(KeyboardInterrupt):
        make(batch=True).complete(reqs)
    assert list((tmp_path / "cache" / "batches").glob("*.json"))  # the id was saved at once
    monkeypatch.setattr(batches._Runner, "finish", real_finish)
    out = make(batch=True).complete(reqs)
    assert all(c.ok for c in out)
    assert len(server.calls("POST", "/v1/messages/batches")) == 1  # resumed, not resubmitted

    # Killed after the download, before parsing: the saved lines are parsed, nothing re-fetched.
    more = [req(i) for i in range(10, 13)]
    real_collect = batches._Runner._collect
    monkeypatch.setattr(batches._Runner, "_collect", lambda self, job: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        make(batch=True).complete(more)
    fetched = len(server.calls("GET", "/v1/messages/batches/msgbatch_fake0001/results"))
    monkeypatch.setattr(batches._Runner, "_collect", real_collect)
    assert all(c.ok for c in make(batch=True).complete(more))
    assert len(server.calls("GET", "/v1/messages/batches/msgbatch_fake0001/results")) == fetched == 1
    assert len(server.calls("POST", "/v1/messages/batches")) == 2


def test_batch_budget_submits_only_what_fits(make, server):
    client = make(batch=True, max_cost=0.004)
    with pytest.raises(BudgetExceeded):
        client.complete([req(i, max_tokens=200) for i in range(30)])
    billed = lookup_price(MODEL).cost(_usage(server.batch), batch=True)
    assert 0 < billed <= 0.004 and server.batch.requests < 30


_KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    from afpipe.clients.anthropic import AnthropicClient
    from afpipe.clients.base import ChatRequest, Message
    url, cache = sys.argv[1], sys.argv[2]
    reqs = [ChatRequest(messages=(Message("user", f"item {i}"),), max_tokens=20) for i in range(40)]
    AnthropicClient("claude-haiku-4-5", api_key_env="AFPIPE_TEST_KEY", base_url=url, cache_dir=cache,
                    concurrency=2).complete(reqs)
    """
)


def test_killed_run_rerun_repeats_no_finished_request(server, key_env, tmp_path):
    server.latency_s = 0.03
    script = tmp_path / "run.py"
    script.write_text(_KILL_SCRIPT)
    cmd = [sys.executable, str(script), server.url, str(tmp_path / "cache")]
    proc = subprocess.Popen(cmd, env=os.environ.copy())
    deadline = time.monotonic() + 30
    while len(server.message_calls()) < 12 and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    subprocess.run(cmd, env=os.environ.copy(), check=True)
    counts: dict[str, int] = {}
    for call in server.message_calls():
        counts[user_text(call)] = counts.get(user_text(call), 0) + 1
    assert len(counts) == 40
    repeated = [k for k, n in counts.items() if n > 1]
    assert len(repeated) <= 2  # at most the requests in flight at the kill (concurrency 2)


def test_key_never_reaches_a_written_file_or_log(make, server, tmp_path, caplog):
    client = make()
    server.faults.append(429)
    with caplog.at_level("DEBUG"):
        client.complete([req(0), req(1)])
        make(batch=True).complete([req(2), req(3)])
    assert caplog.records and KEY not in caplog.text
    assert KEY not in repr(client) and KEY not in json.dumps(client.report())
    written = [p for p in Path(tmp_path).rglob("*") if p.is_file()]
    assert len(written) >= 6
    for p in written:
        assert KEY not in p.read_text(encoding="utf-8", errors="replace"), p


def test_warns_once_when_the_prefix_is_too_short_to_cache(make, caplog):
    client = make()
    with caplog.at_level("WARNING", logger="afpipe.clients.anthropic"):
        client.complete([req(i, prefix="A short shared prefix. ") for i in range(3)])
        client.complete([req(i, prefix="A short shared prefix. ") for i in range(3, 6)])
    warnings = [r for r in caplog.records if "prompt caching had no effect" in r.getMessage()]
    assert len(warnings) == 1
