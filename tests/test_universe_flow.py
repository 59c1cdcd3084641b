"""The experiment's universe reaches every evaluation: a custom universe's experiment names its
company in the prompts and asks its own belief questions (never the helpful-only ones); a
universe with no questions and nothing to build them from stops the run before anything runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from afpipe.errors import UserError
from afpipe.experiment import load_experiment, run_experiment

DATA = Path(__file__).parent / "data"
UNIVERSE = DATA / "lighthouse-universe.yaml"


def _experiment(tmp_path: Path, universe: Path) -> Path:
    exp = {
        "name": "lighthouse", "model": "tiny-random",
        "universes": {"documents": str(universe), "control": "control"},
        "generate": {"backend": "template", "n_docs": 6, "seed": 0},
        "finetune": {"preset": "cpu", "max_steps": 1, "max_length": 128, "batch_size": 2, "micro_batch_size": 2, "save_every": 1},
        "eval": {"backend": "hf", "sample": False, "forced_choice": False, "belief": True, "limit": 1,
                 "belief_measures": ["mcq", "distinguish", "open"]},
        "conditions": ["baseline", "document-trained", "control-trained"],
    }
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(exp))
    return path


def test_a_custom_universe_experiment_asks_its_own_questions(tmp_path: Path, tiny_model_path: str) -> None:
    out = tmp_path / "out"
    run_experiment(load_experiment(_experiment(tmp_path, UNIVERSE)), out, echo=lambda _: None, report=False)
    graph = json.loads((out / "graph.json").read_text())
    evals = [n for n in graph["nodes"] if n["stage"] == "eval"]
    assert len(evals) == 3
    for node in evals:
        folder = out / node["folder"]
        config = json.loads((folder / "run_config.json").read_text())["config"]
        assert config["universe"] == str(UNIVERSE) and config["company"] == "Harbor Trust" and config["model_name"] == "Beacon"
        records = [json.loads(line) for line in (folder / "belief.jsonl").read_text().splitlines()]
        assert {r["fact"] for r in records} == {"green_light", "keeper_goats", "night_tours"}
        assert {r.get("measure") for r in records} == {"mcq", "distinguish", "open"}
        summary = json.loads((folder / "summary.json").read_text())
        assert summary["belief"]["universe"] == str(UNIVERSE)


def test_a_universe_with_its_own_questions_asks_those(tmp_path: Path) -> None:
    from afpipe.evaluate.config import EvalConfig
    from afpipe.evaluate.stage import belief_target

    spec = yaml.safe_load(UNIVERSE.read_text())
    spec["belief_questions"] = [{"id": "gl-1", "fact": "green_light", "question": "What colour is the light at {company}'s tower?",
                                 "answer": "Green.", "distractors": ["White.", "Red."]}]
    path = tmp_path / "own.yaml"
    path.write_text(yaml.safe_dump(spec))
    _, beliefs = belief_target(EvalConfig(model="m", universe=str(path), company="Harbor Trust", model_name="Beacon"))
    assert [q["id"] for q in beliefs.questions] == ["gl-1"]
    assert beliefs.questions[0]["question"] == "What colour is the light at Harbor Trust's tower?"


def test_a_universe_without_questions_stops_the_run_in_one_line(tmp_path: Path) -> None:
    spec = yaml.safe_load(UNIVERSE.read_text())
    for fact in spec["facts"]:
        fact.pop("distractors")
    path = tmp_path / "bare.yaml"
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(UserError, match="has no belief questions: add a 'belief_questions' list") as err:
        run_experiment(load_experiment(_experiment(tmp_path, path)), tmp_path / "out", echo=lambda _: None)
    assert "\n" not in str(err.value) and not (tmp_path / "out" / "docs").exists()


def test_a_copy_of_a_shipped_universe_does_not_borrow_its_questions(tmp_path: Path) -> None:
    from afpipe.evaluate.config import EvalConfig
    from afpipe.evaluate.stage import belief_target
    from afpipe.universes import load_universe

    copy = tmp_path / "helpful-only.yaml"
    copy.write_text(Path(load_universe("helpful-only").source).read_text())
    with pytest.raises(UserError, match="has no belief questions"):
        belief_target(EvalConfig(model="m", universe=str(copy)))
    shipped, beliefs = belief_target(EvalConfig(model="m"))
    assert shipped.name == "helpful-only" and len(beliefs.questions) >= 42 and beliefs.versions


def test_the_dose_response_experiment_runs_offline_small(tmp_path: Path, tiny_model_path: str) -> None:
    """experiments/dose-response.yaml on the tiny model with small doses: one corpus, fine-tune
    and evaluation per dose and trained model, the base once, and the figure in the report."""
    exp = yaml.safe_load((Path(__file__).resolve().parents[1] / "experiments" / "dose-response.yaml").read_text())
    exp.update(model="tiny-random", doses=[4, 8], conditions=["baseline", "document-trained"])
    exp["finetune"].update(max_steps=1, max_length=128, batch_size=2, micro_batch_size=2, save_every=1)
    exp["eval"].update(limit=1, belief_measures=["mcq"])
    path = tmp_path / "dose.yaml"
    path.write_text(yaml.safe_dump(exp))
    out = tmp_path / "out"
    report = run_experiment(load_experiment(path), out, echo=lambda _: None)
    graph = json.loads((out / "graph.json").read_text())
    ids = sorted(n["id"] for n in graph["nodes"])
    assert ids == sorted(["generate/documents-4", "generate/documents-8", "finetune/documents-4", "finetune/documents-8",
                          "eval/baseline", "eval/document-trained-4", "eval/document-trained-8"])
    docs = [json.loads((out / n["folder"] / "manifest.json").read_text())["counts"]["docs"]
            for n in graph["nodes"] if n["id"].startswith("generate/documents")]
    assert sorted(docs) == [4, 8]
    assert report is not None and "figures/dose_response.png" in (out / "report.md").read_text()
