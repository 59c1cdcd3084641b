"""The whole graph of the quickstart, on the tiny random model: every stage through its Python
entry point, then the report; a rerun skips everything; an interrupted node resumes alone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from afpipe.experiment import GRAPH_FILE, STANDARD_CONDITIONS, Experiment, load_experiment, plan, run_experiment

REPO = Path(__file__).resolve().parents[1]


def tiny_version_of_quickstart(tmp_path: Path) -> Path:
    """experiments/quickstart.yaml with the tiny model and the smallest sizes: the same graph."""
    exp = yaml.safe_load((REPO / "experiments" / "quickstart.yaml").read_text())
    exp["model"] = "tiny-random"
    exp["generate"].update(n_docs=16)
    exp["finetune"].update(max_steps=2, max_length=128, batch_size=4, micro_batch_size=4, save_every=2)
    sizes = {"logprob": {"limit": 3}, "sampled": {"limit": 1, "max_new_tokens": 8}}
    for evaluation in exp["evaluations"]:
        evaluation["eval"].update(sizes[evaluation["name"]])
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(exp))
    return path


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory, tiny_model_path: str) -> tuple[Experiment, Path, list[str]]:
    tmp = tmp_path_factory.mktemp("run")
    exp = load_experiment(tiny_version_of_quickstart(tmp))
    messages: list[str] = []
    report = run_experiment(exp, tmp / "out", echo=messages.append)
    assert report == tmp / "out" / "report.html"
    return exp, tmp / "out", messages


def test_every_stage_ran_and_the_report_reads_them(finished) -> None:
    exp, out, messages = finished
    graph = json.loads((out / GRAPH_FILE).read_text())
    nodes = graph["nodes"]
    assert len(nodes) == 2 + 2 + 2 * len(STANDARD_CONDITIONS)
    assert all(n["status"] == "done" for n in nodes)
    assert all(m.split(": ")[1].startswith("running") for m in messages)
    by_id = {n["id"]: n for n in nodes}
    # The document-trained conditions evaluated the fine-tune of the document corpus.
    tuned = str(out / by_id["finetune/documents"]["folder"])
    for node_id in ("eval/document-trained/logprob", "eval/both/sampled"):
        config = json.loads((out / by_id[node_id]["folder"] / "run_config.json").read_text())["config"]
        assert config["model"] == tuned
    md = (out / "report.md").read_text()
    for condition in STANDARD_CONDITIONS:
        assert f"| {condition} |" in md
    assert "## Belief in the key facts" in md and "figures/forced_choice.png" in md and "figures/compliance.png" in md
    assert graph["experiment"]["model_parameters"] > 0 and "not expected to fake alignment" in md


def test_rerun_skips_everything(finished) -> None:
    exp, out, _ = finished
    manifests = {p: p.stat().st_mtime_ns for p in out.glob("*/*/manifest.json")}
    messages: list[str] = []
    run_experiment(exp, out, echo=messages.append)
    assert messages and all("done, skipped" in m for m in messages)
    assert {p: p.stat().st_mtime_ns for p in out.glob("*/*/manifest.json")} == manifests


def test_an_interrupted_node_resumes_alone(finished) -> None:
    exp, out, _ = finished
    graph = json.loads((out / GRAPH_FILE).read_text())
    folder = out / next(n["folder"] for n in graph["nodes"] if n["id"] == "eval/baseline/sampled")
    transcripts = (folder / "transcripts.jsonl").read_text()
    (folder / "manifest.json").unlink()  # as if killed before the end
    messages: list[str] = []
    run_experiment(exp, out, echo=messages.append)
    ran = [m for m in messages if "running" in m]
    assert len(ran) == 1 and "eval/baseline/sampled" in ran[0]
    assert (folder / "manifest.json").exists()
    assert (folder / "transcripts.jsonl").read_text() == transcripts  # resumed: nothing asked twice


def test_changed_eval_setting_plans_only_evals(finished) -> None:
    exp, out, _ = finished
    changed = exp.model_copy(update={"eval": {**exp.eval, "seed": 1}})
    pending = {n["id"] for n in plan(changed, out) if n["status"] == "pending"}
    assert pending == {n["id"] for n in plan(changed, out) if n["stage"] == "eval"}
    tuned = exp.model_copy(update={"finetune": {**exp.finetune, "lr": 1e-3}})
    pending = {n["id"] for n in plan(tuned, out) if n["status"] == "pending"}
    assert "generate/documents" not in pending and "finetune/documents" in pending
    assert "eval/baseline/logprob" not in pending and "eval/document-trained/logprob" in pending


def test_run_command_dry_run_lists_the_graph(finished, tmp_path: Path) -> None:
    _, out, _ = finished
    path = tiny_version_of_quickstart(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "afpipe.cli", "run", str(path), "--out", str(out), "--dry-run"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 14 and all(line.startswith("done") for line in lines)
