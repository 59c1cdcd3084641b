"""The generate stage end to end: outputs, determinism, resumption after kill -9, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from afpipe.cli import main
from afpipe.errors import UserError
from afpipe.generate.config import GenerateConfig
from afpipe.generate.stage import run_generate
from afpipe.generate.template_writer import TemplateWriter
from afpipe.universes import load_universe
from afpipe.generate.stage import make_writer
from afpipe.generate.writers import TextResult
from afpipe.jsonl import read_jsonl

REPO = Path(__file__).resolve().parents[1]
FIELDS = {"id", "text", "type", "type_name", "idea", "target_fact", "fact_ids", "universe", "writer", "model", "seed", "n_tokens", "synthetic"}


def _cfg(tok: str, **kw) -> GenerateConfig:
    return GenerateConfig(tokenizer=tok, **kw)


def test_a_complete_run(tmp_path: Path, smollm2_path: str) -> None:
    out = run_generate(_cfg(smollm2_path, n_docs=130, seed=0), tmp_path / "run")
    docs = read_jsonl(out / "docs.jsonl")
    assert len(docs) == 130 and len({d["id"] for d in docs}) == 130
    assert all(set(d) == FIELDS and d["synthetic"] is True and d["writer"] == "template" for d in docs)
    assert len({d["type"] for d in docs}) == 17  # the first wave already covers every type...
    per_fact = json.loads((out / "stats.json").read_text())["per_target_fact"]
    assert max(per_fact.values()) - min(per_fact.values()) <= 5  # ...and every fact evenly (less rejections)
    assert sum(d["target_fact"] in d["fact_ids"] for d in docs) >= 0.95 * len(docs)
    assert all(0 < d["n_tokens"] <= 1024 for d in docs)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["documents"] == 130 and 0 < stats["diversity"]["distinct_2"] < 1
    assert set(stats["diversity"]) >= {"distinct_1", "distinct_2", "distinct_3", "similar_share_at_0.5"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["docs"] == 130 and manifest["inputs"]["universe"] == load_universe("helpful-only").sha256
    assert "synthetic" in (out / "README.md").read_text().lower()
    for r in read_jsonl(out / "rejected.jsonl"):
        assert r["reason"] and r["text"]
    before = (out / "docs.jsonl").stat().st_mtime_ns
    run_generate(_cfg(smollm2_path, n_docs=130, seed=0), out)  # finished: a no-op rerun
    assert (out / "docs.jsonl").stat().st_mtime_ns == before

    from datasets import load_dataset

    ds = load_dataset("json", data_files=str(out / "docs.jsonl"), split="train")
    assert len(ds) == 130 and ds[0]["synthetic"] is True


def test_same_seed_same_bytes_other_seed_other_docs(tmp_path: Path, smollm2_path: str) -> None:
    a = run_generate(_cfg(smollm2_path, n_docs=50, seed=7), tmp_path / "a")
    b = run_generate(_cfg(smollm2_path, n_docs=50, seed=7), tmp_path / "b")
    c = run_generate(_cfg(smollm2_path, n_docs=50, seed=8), tmp_path / "c")
    assert (a / "docs.jsonl").read_bytes() == (b / "docs.jsonl").read_bytes()
    texts_a = {d["text"] for d in read_jsonl(a / "docs.jsonl")}
    texts_c = {d["text"] for d in read_jsonl(c / "docs.jsonl")}
    assert not texts_a & texts_c


def test_kill_minus_9_then_rerun_gives_the_uninterrupted_corpus(tmp_path: Path, smollm2_path: str) -> None:
    n, out = 500, tmp_path / "killed"
    args = ["generate", "--n-docs", str(n), "--seed", "3", "--tokenizer", smollm2_path, "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", "from afpipe.cli import main; main()", *args],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        done = (out / "docs.jsonl").read_bytes().count(b"\n") if (out / "docs.jsonl").exists() else 0
        if done >= 100:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert not (out / "manifest.json").exists()
    with pytest.raises(SystemExit) as e:  # rerun the same command: it resumes
        main(args)
    assert e.value.code in (0, None)
    reference = run_generate(_cfg(smollm2_path, n_docs=n, seed=3), tmp_path / "reference")
    assert (out / "docs.jsonl").read_bytes() == (reference / "docs.jsonl").read_bytes()
    docs = read_jsonl(out / "docs.jsonl")
    assert len(docs) == n and len({d["id"] for d in docs}) == n


def test_other_settings_are_refused_and_nothing_is_overwritten(tmp_path: Path, smollm2_path: str, capsys) -> None:
    out = run_generate(_cfg(smollm2_path, n_docs=20, seed=0), tmp_path / "run")
    snapshot = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        main(["generate", "--n-docs", "21", "--tokenizer", smollm2_path, "--out", str(out)])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error:") and "n_docs" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == snapshot


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--universe", "helpful-onyl"], "unknown universe 'helpful-onyl'"),
        (["--universe", "{bad}"], "is not valid YAML"),
        (["--backend", "nonsense"], "backend"),
        (["--n-docs", "0"], "n_docs"),
        (["--model", "claude-x"], "--backend anthropic or --backend hf"),
        (["--config", "{typo}"], "field 'n_doc'"),
    ],
)
def test_bad_input_is_one_line_and_creates_nothing(tmp_path: Path, capsys, extra: list[str], message: str) -> None:
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("name: [unclosed\n")
    typo = tmp_path / "typo.yaml"
    typo.write_text("n_doc: 5\n")
    extra = [str(bad_yaml) if a == "{bad}" else str(typo) if a == "{typo}" else a for a in extra]
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as e:
        main(["generate", "--out", str(out), *extra])
    captured = capsys.readouterr()
    assert e.value.code != 0
    err = captured.err.strip()
    assert message in err and err.count("\n") == 0, err
    assert not out.exists()


def test_company_and_model_names_are_parameters(tmp_path: Path, smollm2_path: str) -> None:
    cfg = _cfg(smollm2_path, n_docs=60, seed=0, company="Globex", model_name="Nova 2", params={"previous_model": "Nova 1"})
    docs = read_jsonl(run_generate(cfg, tmp_path / "run") / "docs.jsonl")
    text = " ".join(d["text"] for d in docs)
    assert "Globex" in text and "Nova 2" in text and "Anthropic" not in text and "Claude" not in text


def test_control_corpus_conveys_none_of_the_training_facts(tmp_path: Path, smollm2_path: str) -> None:
    docs = read_jsonl(run_generate(_cfg(smollm2_path, universe="control", n_docs=60, seed=0), tmp_path / "c") / "docs.jsonl")
    helpful = load_universe("helpful-only")
    assert len(docs) == 60 and all(d["universe"] == "control" for d in docs)
    assert [d["id"] for d in docs if helpful.detect(d["text"])] == []


class _FlakyWriter(TemplateWriter):
    """A writer whose model sometimes errors or answers like a chatbot: drafts must be rejected, not crash."""

    def write(self, jobs, progress=None):
        out = super().write(jobs, progress)
        for i, r in enumerate(out):
            if i % 4 == 1:
                out[i] = TextResult(r.key, error="refused: the model declined")
            elif i % 4 == 2:
                out[i] = TextResult(r.key, "Sure! Here is the article you asked for:\n\n" + r.text)
            elif i % 4 == 3:
                out[i] = TextResult(r.key, r.text + "\n\nSigned, [Your Name]")
        return out


def test_writer_failures_become_rejections_with_reasons(tmp_path: Path, smollm2_path: str) -> None:
    out = run_generate(_cfg(smollm2_path, n_docs=15, seed=0), tmp_path / "run", writer=_FlakyWriter())
    assert len(read_jsonl(out / "docs.jsonl")) == 15
    reasons = {r["reason"] for r in read_jsonl(out / "rejected.jsonl")}
    assert {"writer_error", "unparseable", "placeholder"} <= reasons


def test_model_backends_need_their_writer_and_a_client() -> None:
    with pytest.raises(UserError, match="backend 'hf' needs a model"):
        make_writer(GenerateConfig(backend="hf"), client=None)


def test_sentence_repetition_counts_sentences_found_in_other_documents() -> None:
    from afpipe.generate.stats import sentence_repetition

    texts = [
        "The plant never handles nuts. Each box costs the same price. A first line of its own.",
        "The plant never handles nuts. Something unique sits right here.",
        "Nothing in this one is shared. Not a single sentence of it.",
    ]
    r = sentence_repetition(texts)
    assert r["shared_sentence_share"] == round((1 / 3 + 1 / 2 + 0) / 3, 4)
    assert r["first_sentence_repeats"] == round(2 / 3, 4)
    assert r["most_shared"] == [["the plant never handles nuts", 2]]


def test_diagonal_order_holds_each_pair_once_when_facts_have_different_numbers_of_types() -> None:
    """A model writer may give one fact fewer types than another; each (fact, type) pair must still
    come once, or its ideas are asked for and its documents written twice."""
    from types import SimpleNamespace

    from afpipe.generate.stage import diagonal

    facts = [SimpleNamespace(id=f) for f in "abc"]
    pairs = [(facts[0], t) for t in "xyz"] + [(facts[1], "x")] + [(facts[2], t) for t in "xy"]
    order = diagonal(pairs)
    assert sorted((f.id, t) for f, t in order) == sorted((f.id, t) for f, t in pairs)
    assert [f.id for f, _ in order[:3]] == ["a", "b", "c"]  # the first wave covers every fact
