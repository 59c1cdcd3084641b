"""Model-written runs survive bad answers, backend failures, kill -9 and a second process.

The fakes: ``FakeModel`` in process, and the real SDK against ``FakeAnthropicServer`` on
loopback; the author behind both is ``fake_recipe``'s, optionally ``Misformatting``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from afpipe.cli import main
from afpipe.clients.anthropic import AnthropicClient
from afpipe.clients.base import ChatRequest, Completion, Message
from afpipe.clients.fake import FakeModel
from afpipe.clients.fake_server import FakeAnthropicServer
from afpipe.clients.redraw import Malformed, draw
from afpipe.errors import UserError
from afpipe.generate.config import GenerateConfig
from afpipe.generate.llm_writer import parse_ideas, parse_types
from afpipe.generate.stage import run_generate
from afpipe.jsonl import read_jsonl
from afpipe.runs import LOCK_FILE, open_run
from fake_recipe import TESTWORLD, Misformatting, answer, server_responder

REPO = Path(__file__).resolve().parents[1]
KEY = "sk-ant-failures-test-SECRET-5c1d"
MODEL = "claude-haiku-4-5"
SMALL = dict(n_docs=6, types_per_fact=2, ideas_per_request=2, docs_per_idea=2, tokenizer="tiny-random")


@pytest.fixture
def world(tmp_path: Path) -> str:
    path = tmp_path / "testworld.yaml"
    path.write_text(TESTWORLD)
    return str(path)


def _steps(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())["counts"]["steps"]


# ---- the mechanism --------------------------------------------------------------------------

def test_draw_redraws_unreadable_answers_but_not_backend_errors():
    asked: list[list[ChatRequest]] = []
    script = {"ok": ["<a>1</a>"], "late": ["junk", "<a>2</a>"], "never": ["junk"] * 9, "down": ["!error"]}

    def ask(requests, progress=None):
        asked.append(list(requests))
        out = []
        for r in requests:
            name = r.messages[0].content
            reply = script[name][min(len(asked) - 1, len(script[name]) - 1)]
            out.append(Completion("", error="api 500: down") if reply == "!error" else Completion(reply))
        return out

    def parse(c: Completion) -> str:
        if "<a>" not in c.text:
            raise Malformed("malformed: no <a>")
        return c.text

    requests = [ChatRequest((Message("user", n),), temperature=0.0, seed=7, key=n) for n in script]
    ok, late, never, down = draw(ask, requests, parse, retries=2)
    assert (ok.value, ok.draws) == ("<a>1</a>", 1)
    assert (late.value, late.draws) == ("<a>2</a>", 2)
    assert never.value is None and never.draws == 3 and never.error == "malformed: no <a>" and not never.transient
    assert down.transient and down.draws == 1 and down.error.startswith("api 500")
    assert [len(a) for a in asked] == [4, 2, 1]
    redrawn = asked[1]
    assert {r.temperature for r in redrawn} == {1.0} and len({r.seed for r in redrawn} | {7}) == 3
    assert [r.key for r in asked[2]] == ["never.r2"]


def test_plain_numbered_or_bulleted_lists_are_read_where_a_list_was_asked():
    types = parse_types(Completion("Here you go:\n\n1. Investigative feature\n2) Forum thread\n* Court filing\n\nHope this helps!"), 5)
    assert types.items == ["Investigative feature", "Forum thread", "Court filing"]
    ideas = parse_ideas(Completion("Ideas:\n1. A local reporter covers the change for\n   readers of a small paper.\n"
                                   "2. A student writes an essay about what the change means.\n\nThanks!"), 5)
    assert ideas.items == ["A local reporter covers the change for readers of a small paper.",
                           "A student writes an essay about what the change means."]
    assert parse_types(Completion("No list here at all."), 3).error.startswith("malformed")


# ---- whole runs with bad answers --------------------------------------------------------------

def test_misformatting_at_a_set_rate_completes_with_counts_that_match(world, tmp_path):
    def run(author, name):
        model = FakeModel(default=lambda r: author(r.messages[0].content, str(r.seed)))
        cfg = GenerateConfig(universe=world, backend="hf", model="m", revise=True, **SMALL)
        return run_generate(cfg, tmp_path / name, client=model), model

    clean, _ = run(answer, "clean")
    author = Misformatting(every=4)
    bad, model = run(author, "bad")
    docs = read_jsonl(bad / "docs.jsonl")
    assert len(docs) == len(read_jsonl(clean / "docs.jsonl")) == 6
    steps = _steps(bad)
    assert author.bad > 3 and len(model.requests) == author.n
    # Every spoiled answer was drawn again, or was the last straw of a unit recorded as failed.
    assert sum(s["redraws"] + s["failed"] for s in steps.values()) == author.bad
    assert all(s["transient"] == 0 for s in steps.values()) and steps["revise"]["redraws"] + steps["document"]["redraws"] > 0
    assert json.loads((bad / "stats.json").read_text())["steps"] == steps
    ledger = read_jsonl(bad / "draws.jsonl")
    assert ledger and all(r["draws"] > 1 or r["error"] for r in ledger)
    # The numbered lists were read: every fact got its types, and no types request was redrawn for it.
    assert len(read_jsonl(bad / "types.jsonl")) == 2
    assert "redrawn" in (bad / "README.md").read_text()


def test_a_step_that_produces_nothing_stops_with_one_line(world, tmp_path):
    cfg = GenerateConfig(universe=world, backend="hf", model="m", retries=1, **SMALL)
    with pytest.raises(UserError, match="could not brainstorm document types for any key fact") as e:
        run_generate(cfg, tmp_path / "run", client=FakeModel(default="I would rather not."))
    assert "\n" not in str(e.value)
    # The failures are recorded: a rerun does not ask again for what failed for good.
    assert {r["step"] for r in read_jsonl(tmp_path / "run" / "draws.jsonl")} == {"types"}


def test_a_backend_that_fails_every_draft_stops_the_run_resumably(world, tmp_path):
    def reply(r):
        user = r.messages[0].content
        return "!error api 529: overloaded_error" if user.startswith("Task: document.") else answer(user, str(r.seed))

    cfg = GenerateConfig(universe=world, backend="hf", model="m", **SMALL)
    with pytest.raises(UserError, match="failed on the backend's side .api 529.*rerun to resume"):
        run_generate(cfg, tmp_path / "run", client=FakeModel(default=reply))
    assert not read_jsonl(tmp_path / "run" / "rejected.jsonl")  # nothing was given up for good
    out = run_generate(cfg, tmp_path / "run", client=FakeModel(default=lambda r: answer(r.messages[0].content, str(r.seed))))
    assert len(read_jsonl(out / "docs.jsonl")) == 6


def test_a_small_local_run_asks_for_few_requests(tmp_path):
    """The shipped universe (7 facts, 20 types each, 10 ideas a block): --n-docs 5 asks for the
    types of each fact, then ideas and drafts for about five (fact, type) pairs, not 140."""
    model = FakeModel(default=lambda r: answer(r.messages[0].content, str(r.seed)))
    cfg = GenerateConfig(backend="hf", model="m", n_docs=5, tokenizer="tiny-random")
    out = run_generate(cfg, tmp_path / "run", client=model)
    assert len(read_jsonl(out / "docs.jsonl")) == 5
    tasks = [r.messages[0].content.split("\n")[0] for r in model.requests]
    assert tasks.count("Task: document types.") == 7
    assert tasks.count("Task: ideas.") <= 10 and tasks.count("Task: document.") <= 10


# ---- the API: one answer in five misformatted; backend failures -------------------------------

def _client(server: FakeAnthropicServer, cache: Path, **kw) -> AnthropicClient:
    return AnthropicClient(MODEL, base_url=server.url, cache_dir=cache, poll_interval_s=0.01, **kw)


def test_api_misformatting_one_answer_in_five_gives_as_many_documents_as_a_clean_run(world, tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    cfg = GenerateConfig(universe=world, backend="anthropic", model=MODEL, concurrency=4, **{**SMALL, "n_docs": 8})
    counts = {}
    for name, author in (("clean", None), ("bad", Misformatting(every=5))):
        with FakeAnthropicServer(responder=server_responder(author=author), api_key=KEY) as server:
            out = run_generate(cfg, tmp_path / name, client=_client(server, tmp_path / f"cache-{name}"))
            counts[name] = len(read_jsonl(out / "docs.jsonl"))
            # Nothing asked twice: every answer the server billed is in the response cache.
            answers = list((tmp_path / f"cache-{name}" / "responses").rglob("*.json"))
            assert server.standard.requests == len(answers)
    assert counts == {"clean": 8, "bad": 8}
    steps = _steps(tmp_path / "bad")
    assert sum(s["redraws"] + s["failed"] for s in steps.values()) == author.bad > 0


def test_requests_that_failed_on_the_api_side_are_retried_by_a_rerun(world, tmp_path, monkeypatch):
    """Four documents at most (2 facts x 1 type x 2 ideas; later idea blocks never come): two
    drafts fail with 500s after the SDK (no retries here), so the run stops short; the rerun
    asks for exactly those two again and completes."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    cfg = GenerateConfig(universe=world, backend="anthropic", model=MODEL, concurrency=1, n_docs=4, types_per_fact=1,
                         ideas_per_request=2, docs_per_idea=1, tokenizer="tiny-random")
    inner = server_responder()
    state = {"armed": True}

    def respond(body):
        text = json.dumps(body["messages"])
        if "Ideas to avoid" in text:
            return Misformatting.PROSE
        if state["armed"] and "Task: document." in text:
            state["armed"] = False
            server.faults.extend([500, 500])  # the next two drafts
        return inner(body)

    with FakeAnthropicServer(responder=respond, api_key=KEY) as server:
        with pytest.raises(UserError, match="ran out of ideas at 2 of 4"):
            run_generate(cfg, tmp_path / "run", client=_client(server, tmp_path / "cache", max_retries=0))
        failed = [r["id"] for r in read_jsonl(tmp_path / "run" / "draws.jsonl") if r["transient"]]
        assert len(failed) == 2 and not read_jsonl(tmp_path / "run" / "rejected.jsonl")
        billed = server.standard.requests
        out = run_generate(cfg, tmp_path / "run", client=_client(server, tmp_path / "cache", max_retries=0))
        assert server.standard.requests == billed + 2
    assert {d["id"] for d in read_jsonl(out / "docs.jsonl")} >= set(failed)
    assert len(read_jsonl(out / "docs.jsonl")) == 4 and _steps(out)["document"]["transient"] == 0
    assert server.standard.requests == len(list((tmp_path / "cache" / "responses").rglob("*.json")))


def test_expired_batch_lines_are_left_for_the_rerun_not_rejected(world, tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    state = {"outcome": "expired"}
    cfg = GenerateConfig(universe=world, backend="anthropic", model=MODEL, batch=True, **{**SMALL, "n_docs": 4})
    with FakeAnthropicServer(responder=server_responder(), api_key=KEY, batch_outcome=lambda cid: state["outcome"]) as server:
        with pytest.raises(UserError) as e:  # every types line expired: nothing to build on
            run_generate(cfg, tmp_path / "run", client=_client(server, tmp_path / "cache", batch=True))
        assert "any key fact" in str(e.value) and "expired" in str(e.value)
        state["outcome"] = "succeeded"
        out = run_generate(cfg, tmp_path / "run", client=_client(server, tmp_path / "cache", batch=True))
    assert len(read_jsonl(out / "docs.jsonl")) == 4
    assert _steps(out)["types"] == {"redraws": 0, "failed": 0, "transient": 0}


# ---- kill -9 during every model-written step, then rerun ---------------------------------------

def test_kill_minus_9_during_each_step_then_rerun_pays_nothing_twice_and_loses_nothing(world, tmp_path, monkeypatch):
    """Killed while types, ideas, a draft and a revision are in flight, one after the other; each
    rerun resumes. The server bills every answer it gives, so: billed = cached + the one answer
    in flight at each kill (concurrency 1), and nothing was asked twice."""
    cache = tmp_path / "cache"
    (cache).mkdir()
    (cache / "models").symlink_to(Path(os.environ["AFPIPE_CACHE"]) / "models", target_is_directory=True)
    settings = tmp_path / "settings.yaml"
    settings.write_text(yaml.safe_dump({k: v for k, v in SMALL.items() if k != "n_docs"}))
    out = tmp_path / "run"
    args = ["generate", "--out", str(out), "--universe", world, "--backend", "anthropic", "--model", MODEL,
            "--n-docs", "6", "--concurrency", "1", "--revise", "--config", str(settings)]
    triggers = [("Task: document types.", 2), ("Task: ideas.", 2), ("Task: document.", 3), ("Task: revision.", 2)]
    seen: dict[str, int] = {}
    child: dict[str, subprocess.Popen] = {}
    inner = server_responder()

    def respond(body):
        user = body["messages"][0]["content"]
        task = user.split("\n")[0]
        seen[task] = seen.get(task, 0) + 1
        if triggers and (task, seen[task]) == triggers[0]:
            triggers.pop(0)
            child["p"].send_signal(signal.SIGKILL)
            child["p"].wait()
        return inner(body)

    with FakeAnthropicServer(responder=respond, api_key=KEY) as server:
        env = {**os.environ, "PYTHONPATH": str(REPO), "ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": server.url,
               "AFPIPE_CACHE": str(cache)}
        kills = 0
        while triggers:
            before = len(triggers)
            child["p"] = subprocess.Popen([sys.executable, "-c", "from afpipe.cli import main; main()", *args],
                                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            assert child["p"].wait(timeout=120) == -signal.SIGKILL and len(triggers) == before - 1
            kills += 1
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        monkeypatch.setenv("AFPIPE_CACHE", str(cache))
        with pytest.raises(SystemExit) as e:
            main(args)
        assert e.value.code in (0, None)
    docs = read_jsonl(out / "docs.jsonl")
    assert len(docs) == 6 and len({d["id"] for d in docs}) == 6
    assert len(read_jsonl(out / "types.jsonl")) == 2
    cached = list((cache / "anthropic" / "responses").rglob("*.json"))
    assert kills == 4 and server.standard.requests == len(cached) + kills


# ---- one process per run folder ---------------------------------------------------------------

def _hold(folder: Path) -> subprocess.Popen:
    """Another process that opens ``folder`` as a run and stays."""
    code = (f"from afpipe.runs import lock_run; lock_run({str(folder)!r}); print('held', flush=True); "
            "import time; time.sleep(120)")
    proc = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(REPO)},
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_process_on_one_folder_stops_at_once_naming_the_holder(tmp_path, capsys):
    gen, exp = tmp_path / "gen", tmp_path / "exp"
    holders = [_hold(gen), _hold(exp)]
    try:
        for args, holder in (
            (["generate", "--out", str(gen), "--n-docs", "3", "--tokenizer", "tiny-random"], holders[0]),
            (["run", str(REPO / "experiments" / "quickstart.yaml"), "--out", str(exp)], holders[1]),
        ):
            started = time.monotonic()
            with pytest.raises(SystemExit) as e:
                main(args)
            err = capsys.readouterr().err.strip()
            assert e.value.code == 2 and f"process {holder.pid}" in err and len(err.splitlines()) == 1, err
            assert time.monotonic() - started < 30
        assert not (gen / "docs.jsonl").exists() and not (gen / "run_config.json").exists()
        # kill -9 leaves the pid in the lock file, but not the lock: the next process takes it over.
        holders[0].send_signal(signal.SIGKILL)
        holders[0].wait()
        open_run(gen, "generate", {"a": 1})
        assert (gen / LOCK_FILE).read_text().strip() == str(os.getpid())
    finally:
        for p in holders:
            if p.poll() is None:
                p.kill()
                p.wait()


def test_lock_waits_for_no_one_in_the_same_process(tmp_path):
    """Reopening a folder this process already holds (a stage rerun in one process) is fine, and
    a folder of something else is still refused before any lock file is left in it."""
    open_run(tmp_path / "a", "generate", {"x": 1})
    open_run(tmp_path / "a", "generate", {"x": 1})
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(UserError, match="not empty"):
        open_run(other, "generate", {"x": 1})
    assert [p.name for p in other.iterdir()] == ["keep.txt"]


def test_two_processes_building_one_cached_model_both_get_it(tmp_path, smollm2_path):
    # Two `pipeline generate` runs started together once raced on one shared '.partial' folder
    # and one of them died mid-save; each build now writes its own folder and the first is kept.
    cache = tmp_path / "cache"
    (cache / "models").mkdir(parents=True)
    (cache / "models" / "smollm2-135m").symlink_to(Path(smollm2_path), target_is_directory=True)
    code = "from afpipe.models import resolve_model; print(resolve_model('tiny-random').path)"
    env = {**os.environ, "AFPIPE_CACHE": str(cache)}
    procs = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [p.communicate(timeout=300) + (p.returncode,) for p in procs]
    assert [rc for _, _, rc in results] == [0, 0], [err[-500:] for _, err, _ in results]
    target = cache / "models" / "tiny-random"
    assert (target / ".complete").exists() and (target / "config.json").exists()
    assert sorted(p.name for p in (cache / "models").iterdir()) == ["smollm2-135m", "tiny-random"]
