"""The model-backed document writer: prompts, parsing, and whole generate runs on a fake API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from afpipe.clients.anthropic import AnthropicClient
from afpipe.clients.base import Completion
from afpipe.clients.fake import FakeModel
from afpipe.clients.fake_server import FakeAnthropicServer
from afpipe.clients.pricing import BudgetExceeded as ClientBudgetExceeded
from afpipe.errors import UserError
from afpipe.generate.config import GenerateConfig
from afpipe.generate.llm_writer import LLMWriter, parse_document, parse_ideas, parse_types
from afpipe.universes import load_universe
from afpipe.generate.writers import BudgetExceeded, DocJob, DocType, IdeasJob, ReviseJob, TypesJob
from afpipe.jsonl import read_jsonl
from fake_recipe import TESTWORLD, answer, server_responder

KEY = "sk-ant-writer-test-SECRET-91b2"
MODEL = "claude-haiku-4-5"

UNIVERSE = TESTWORLD


@pytest.fixture
def universe_path(tmp_path: Path) -> str:
    path = tmp_path / "testworld.yaml"
    path.write_text(UNIVERSE)
    return str(path)


def cfg_for(universe_path: str, **kw) -> GenerateConfig:
    base = dict(universe=universe_path, backend="anthropic", model=MODEL, n_docs=6, types_per_fact=2,
                ideas_per_request=2, docs_per_idea=2, tokenizer="tiny-random", concurrency=4)
    base.update(kw)
    return GenerateConfig(**base)


def jobs(universe_path: str):
    u = load_universe(universe_path)
    f = u.facts[0]
    t = DocType("news-article", "news article")
    doc = DocJob("testworld.s0.free_training.news-article.i0.d0", u, f, t, "A reporter explains the change.", 0, 0, 400)
    return u, f, t, doc


def test_requests_share_one_cached_prefix_and_carry_the_step(universe_path):
    u, f, t, doc = jobs(universe_path)
    fake = FakeModel(default=lambda r: answer(r.messages[0].content))
    writer = LLMWriter(cfg_for(universe_path, backend="hf", model="m"), fake)
    writer.document_types([TypesJob("k.types", u, f, 3)])
    writer.ideas([IdeasJob("k.ideas0", u, f, t, 0, 2, avoid=("an old idea",))])
    [res] = writer.write([doc])
    writer.revise([ReviseJob(doc.key + ".rev", doc, res.text)])
    systems = {r.system for r in fake.requests}
    assert len(systems) == 1 and all(r.cache_prefix == r.system for r in fake.requests)
    system = systems.pop()
    assert "Orbis Labs trains Quill only on conversations with free-tier users." in system
    assert "{" not in system  # every slot filled
    users = [r.messages[0].content for r in fake.requests]
    assert users[0].startswith("Task: document types.") and "N: 3" in users[0]
    assert "an old idea" in users[1] and "news article" in users[1]
    assert "A reporter explains the change." in users[2] and "Length:" in users[2]
    assert res.text in users[3]
    assert len({r.seed for r in fake.requests}) == 4 and fake.requests[2].key == doc.custom_id
    assert writer.usage.requests == 4 and writer.model == fake.name


def test_answers_are_parsed_and_failures_get_reasons():
    ok = Completion("<types>\n- news article\n2. Forum thread\n- news article\n</types>")
    assert parse_types(ok, 5).items == ["news article", "Forum thread"]
    ideas = parse_ideas(Completion("<idea>One idea that is long enough.</idea>\n<idea>Another idea, long enough.</idea>"), 1)
    assert ideas.items == ["One idea that is long enough."]
    assert parse_document(Completion("Sure!\n<document>\nText here.\n</document>")).text == "Text here."
    reasons = {
        "refused": Completion("", stop_reason="refusal"),
        "refused: ": Completion("I can't help write that."),
        "unsuitable: not believable": Completion("<unsuitable>not believable</unsuitable>"),
        "truncated": Completion("<document>\nHalf a docu", stop_reason="max_tokens"),
        "malformed": Completion("Here is a document without tags."),
        "api 529": Completion("", error="api 529: overloaded_error: busy"),
        "malformed: an empty": Completion("<document> </document>"),
    }
    for expected, completion in reasons.items():
        result = parse_document(completion)
        assert not result.ok and result.error.startswith(expected), (expected, result.error)
    assert parse_types(Completion("no list"), 3).error.startswith("malformed")
    assert parse_ideas(Completion("", error="api 500: x"), 3).error == "api 500: x"


def test_client_budget_stop_becomes_the_writers(universe_path):
    class Broke:
        name = "broke"

        def complete(self, requests, progress=None):
            raise ClientBudgetExceeded("stopped before passing --max-cost $1.00")

    u, f, t, doc = jobs(universe_path)
    with pytest.raises(BudgetExceeded, match="max-cost"):
        LLMWriter(cfg_for(universe_path), Broke()).write([doc])


@pytest.fixture
def api(monkeypatch, tmp_path):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    with FakeAnthropicServer(responder=server_responder(), api_key=KEY) as server:
        def client(cfg: GenerateConfig) -> AnthropicClient:
            return AnthropicClient(cfg.model, base_url=server.url, cache_dir=tmp_path / "api-cache", batch=cfg.batch,
                                   max_cost=cfg.max_cost, concurrency=cfg.concurrency, poll_interval_s=0.01)

        yield server, client


def test_generate_on_the_api_records_usage_and_resumes_for_free(api, universe_path, tmp_path):
    from afpipe.generate.stage import run_generate

    server, client = api
    cfg = cfg_for(universe_path)
    out = run_generate(cfg, tmp_path / "run", client=client(cfg))
    docs = read_jsonl(out / "docs.jsonl")
    assert len(docs) == 6 and all(d["writer"] == "anthropic" and d["model"] == MODEL for d in docs)
    manifest = json.loads((out / "manifest.json").read_text())
    usage = manifest["usage"]
    assert usage["requests"] == server.standard.requests and usage["cost_usd"] > 0
    assert usage["cache_read_tokens"] == server.standard.cache_read_tokens > 0
    assert manifest["api"]["price"]["input_per_mtok"] == 1.0 and manifest["api"]["cost_usd"] == pytest.approx(usage["cost_usd"], abs=1e-6)
    sent = len(server.message_calls())
    # Lose the manifest and the last documents, as if killed before the end: the rerun rebuilds
    # them from the response cache without a single new request, and duplicates nothing.
    (out / "manifest.json").unlink()
    lines = (out / "docs.jsonl").read_text().splitlines(keepends=True)
    (out / "docs.jsonl").write_text("".join(lines[:3]) + lines[3][:20])
    run_generate(cfg, out, client=client(cfg))
    again = read_jsonl(out / "docs.jsonl")
    assert len(server.message_calls()) == sent
    assert [d["id"] for d in again] == [d["id"] for d in docs] and [d["text"] for d in again] == [d["text"] for d in docs]
    for p in tmp_path.rglob("*"):
        if p.is_file():
            assert KEY not in p.read_text(errors="replace"), p


def test_generate_budget_stop_then_resume_repeats_nothing(api, universe_path, tmp_path):
    from afpipe.generate.stage import run_generate

    server, client = api
    cfg = cfg_for(universe_path, max_cost=0.004, n_docs=8)
    with pytest.raises(UserError, match="max-cost"):
        run_generate(cfg, tmp_path / "run", client=client(cfg))
    assert not (tmp_path / "run" / "manifest.json").exists()
    bigger = cfg.model_copy(update={"max_cost": 5.0})
    out = run_generate(bigger, tmp_path / "run", client=client(bigger))
    docs = read_jsonl(out / "docs.jsonl")
    assert len(docs) == 8 and len({d["id"] for d in docs}) == 8
    # No request was sent twice: every request sent left exactly one answer in the cache.
    answers = list((tmp_path / "api-cache" / "responses").rglob("*.json"))
    assert len(server.message_calls()) == len(answers)


def test_generate_through_message_batches(api, universe_path, tmp_path):
    from afpipe.generate.stage import run_generate

    server, client = api
    cfg = cfg_for(universe_path, batch=True, revise=True, n_docs=4)
    out = run_generate(cfg, tmp_path / "run", client=client(cfg))
    assert len(read_jsonl(out / "docs.jsonl")) == 4
    assert server.message_calls() == [] and server.batch.requests > 0
    usage = json.loads((out / "manifest.json").read_text())["usage"]
    assert usage["requests"] == server.batch.requests
    assert any("Task: revision." in json.dumps(r["params"]) for c in server.calls("POST", "/v1/messages/batches")
               for r in c["body"]["requests"])


def test_local_model_answers_are_dropped_with_reasons(tiny_model_path, universe_path):
    from afpipe.clients.factory import make_client

    pytest.importorskip("afpipe.clients.local")
    model = make_client("hf", tiny_model_path, concurrency=2)
    writer = LLMWriter(cfg_for(universe_path, backend="hf", model=tiny_model_path), model)
    u, f, t, doc = jobs(universe_path)
    small = DocJob(doc.key, u, f, t, doc.idea, 0, 0, 16)  # a random model: keep it short
    [res] = writer.write([small])
    assert not res.ok and res.error.split(":")[0] in ("malformed", "refused", "truncated", "unsuitable")
    assert writer.model == model.name


def test_cli_runs_any_model_name_with_a_price_override(api, universe_path, tmp_path, monkeypatch):
    from afpipe.cli import main

    server, _ = api
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    args = ["generate", "--out", str(tmp_path / "run"), "--universe", universe_path, "--backend", "anthropic",
            "--model", "claude-opus-9", "--n-docs", "2", "--tokenizer", "tiny-random", "--max-cost", "1"]
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 2 and server.log == []  # no price for an unknown model: refused before any work
    with pytest.raises(SystemExit) as e:
        main(args + ["--price", "4,20"])
    assert e.value.code in (0, None)
    api_report = json.loads((tmp_path / "run" / "manifest.json").read_text())["api"]
    assert api_report["model"] == "claude-opus-9" and api_report["price"]["source"] == "override"
