"""The experiment file: its schema, and the errors a user sees for a malformed one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from afpipe.errors import UserError
from afpipe.experiment import STANDARD_CONDITIONS, Condition, load_experiment

REPO = Path(__file__).resolve().parents[1]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    return path


def test_shipped_experiments_load(tmp_path: Path) -> None:
    from afpipe.experiment import build_graph

    shipped = sorted((REPO / "experiments").glob("*.yaml"))
    assert {p.name for p in shipped} >= {"quickstart.yaml", "paper-70b.yaml"}
    for path in shipped:
        exp = load_experiment(path)
        nodes = build_graph(exp, tmp_path / path.stem, str(path))  # every stage's settings check out
        conditions = {n.meta.get("condition") for n in nodes if n.stage == "eval"}
        if not exp.doses:
            assert conditions == set(STANDARD_CONDITIONS), path
        else:  # a sweep: each trained condition once per dose, each base condition once
            assert conditions == {c.name if c.model == "base" else f"{c.name}-{d}" for c in exp.condition_list() for d in exp.doses}


def test_standard_conditions_expand(tmp_path: Path) -> None:
    exp = load_experiment(_write(tmp_path, "name: x\n"))
    conditions = {c.name: (c.model, c.system_prompt) for c in exp.condition_list()}
    assert conditions == STANDARD_CONDITIONS
    # The science notes' table: documents only change the model; prompts only the system prompt.
    assert conditions["baseline"] == ("base", "minimal") and conditions["both"] == ("documents", "full")


def test_custom_condition_with_its_own_eval_settings(tmp_path: Path) -> None:
    exp = load_experiment(_write(tmp_path, """
name: x
conditions:
  - baseline
  - {name: prompted-no-cot, model: base, system_prompt: full, eval: {cot: false}}
"""))
    custom = exp.condition_list()[1]
    assert isinstance(custom, Condition) and custom.eval == {"cot": False}


@pytest.mark.parametrize("body, message", [
    ("name: x\nconditions: [basline]\n", "unknown condition 'basline'"),
    ("name: x\nconditions: [baseline, baseline]\n", "unique"),
    ("name: x\nconditions: []\n", "at least one condition"),
    ("name: x\nconditions: [{name: 'a b', model: base, system_prompt: full}]\n", "letters, digits"),
    ("name: x\nconditions: [{name: a, model: sdf, system_prompt: full}]\n", "conditions.0"),
    ("name: x\nmodle: smollm2-135m\n", "field 'modle'"),
    ("conditions: [baseline]\n", "field 'name'"),
    ("name: x\nevaluations: []\n", "evaluations"),
    ("name: x\nevaluations: [{name: a}, {name: a}]\n", "each with its own name"),
    ("- just\n- a list\n", "expected a mapping"),
])
def test_malformed_experiment_is_one_clear_error(tmp_path: Path, body: str, message: str) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(UserError, match=message) as err:
        load_experiment(path)
    assert str(path) in str(err.value)


def test_run_command_reports_a_bad_file_in_one_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: x\nconditions: [nope]\n")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "afpipe.cli", "run", str(path), "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and "unknown condition 'nope'" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists()  # nothing written for a file that does not check out


# --- The graph: keys, links, and what a changed setting reruns ---------------------------------

from afpipe.experiment import Experiment, build_graph  # noqa: E402


def _keys(exp: Experiment, out: Path) -> dict[str, str]:
    return {n.id: n.key for n in build_graph(exp, out)}


BASE = {"name": "g", "model": "tiny-random", "generate": {"n_docs": 10}, "finetune": {"max_steps": 2}, "eval": {"limit": 2}}


def test_graph_links_each_condition_to_its_model(tmp_path: Path) -> None:
    nodes = {n.id: n for n in build_graph(Experiment.model_validate(BASE), tmp_path)}
    assert list(nodes)[:4] == ["generate/documents", "generate/control", "finetune/documents", "finetune/control"]
    assert nodes["generate/control"].config.universe == "control"
    assert nodes["finetune/documents"].config.docs == nodes["generate/documents"].folder
    assert nodes["finetune/control"].config.model == "tiny-random"
    evals = {c: nodes[f"eval/{c}"].config for c in STANDARD_CONDITIONS}
    assert evals["prompted"].model == evals["baseline"].model == "tiny-random"
    assert evals["document-trained"].model == evals["both"].model == str(nodes["finetune/documents"].folder)
    assert evals["control-trained"].model == str(nodes["finetune/control"].folder)
    assert {c: (e.system_prompt, e.condition) for c, e in evals.items()} == {c: (p, c) for c, (_, p) in STANDARD_CONDITIONS.items()}
    assert all(e.limit == 2 for e in evals.values())


def test_base_only_conditions_need_no_training(tmp_path: Path) -> None:
    exp = Experiment.model_validate({**BASE, "conditions": ["prompted", "baseline"]})
    assert [n.stage for n in build_graph(exp, tmp_path)] == ["eval", "eval"]


def test_keys_do_not_depend_on_where_the_run_lives(tmp_path: Path) -> None:
    exp = Experiment.model_validate(BASE)
    assert _keys(exp, tmp_path / "a") == _keys(exp, tmp_path / "b")


@pytest.mark.parametrize("section, change, rerun", [
    ("eval", {"limit": 3}, {"eval/prompted", "eval/baseline", "eval/document-trained", "eval/control-trained", "eval/both"}),
    ("judges", {"af_votes": 5}, {"eval/prompted", "eval/baseline", "eval/document-trained", "eval/control-trained", "eval/both"}),
    ("finetune", {"max_steps": 3}, {"finetune/documents", "finetune/control", "eval/document-trained", "eval/control-trained", "eval/both"}),
    ("generate", {"n_docs": 11}, {"generate/documents", "generate/control", "finetune/documents", "finetune/control",
                                  "eval/document-trained", "eval/control-trained", "eval/both"}),
    ("universes", {"control": "helpful-only"}, {"generate/control", "finetune/control", "eval/control-trained"}),
])
def test_a_changed_setting_reruns_only_what_depends_on_it(tmp_path: Path, section: str, change: dict, rerun: set) -> None:
    before = _keys(Experiment.model_validate(BASE), tmp_path)
    changed = {**BASE, section: {**BASE.get(section, {}), **change}}
    after = _keys(Experiment.model_validate(changed), tmp_path)
    assert {node for node in before if before[node] != after[node]} == rerun


def test_writing_a_default_out_changes_no_key(tmp_path: Path) -> None:
    explicit = {**BASE, "eval": {**BASE["eval"], "cot": True, "seed": 0}, "generate": {**BASE["generate"], "backend": "template"}}
    assert _keys(Experiment.model_validate(explicit), tmp_path) == _keys(Experiment.model_validate(BASE), tmp_path)


def test_evaluation_passes_and_condition_overrides(tmp_path: Path) -> None:
    exp = Experiment.model_validate({**BASE, "conditions": ["baseline", {"name": "quiet", "model": "base", "system_prompt": "full",
                                                                          "eval": {"cot": False}}],
                                     "evaluations": [{"name": "logprob", "eval": {"sample": False, "limit": 8}},
                                                     {"name": "anti-lab", "eval": {"suite": "anti-lab"}}]})
    nodes = {n.id: n for n in build_graph(exp, tmp_path)}
    assert set(nodes) == {"eval/baseline/logprob", "eval/baseline/anti-lab", "eval/quiet/logprob", "eval/quiet/anti-lab"}
    assert nodes["eval/baseline/logprob"].config.limit == 8 and not nodes["eval/baseline/logprob"].config.sample
    assert nodes["eval/quiet/anti-lab"].config.suite == "anti-lab" and nodes["eval/quiet/anti-lab"].config.limit == 2
    assert nodes["eval/quiet/logprob"].config.cot is False
    assert nodes["eval/quiet/anti-lab"].folder.name.startswith("quiet-anti-lab-")


def test_a_bad_stage_setting_names_the_stage_run_and_field(tmp_path: Path) -> None:
    exp = Experiment.model_validate({**BASE, "finetune": {"max_stepz": 2}})
    with pytest.raises(UserError, match=r"finetune/documents: field 'max_stepz'"):
        build_graph(exp, tmp_path)


def test_run_refuses_a_folder_that_is_not_an_experiment(tmp_path: Path) -> None:
    from afpipe.experiment import run_experiment

    (tmp_path / "something.txt").write_text("mine")
    with pytest.raises(UserError, match="holds no experiment"):
        run_experiment(Experiment.model_validate(BASE), tmp_path)
    assert (tmp_path / "something.txt").read_text() == "mine"


def test_a_stage_subset_needs_its_inputs_done(tmp_path: Path, tiny_model_path: str) -> None:
    from afpipe.experiment import run_experiment

    with pytest.raises(UserError, match="finetune/documents needs generate/documents first"):
        run_experiment(Experiment.model_validate(BASE), tmp_path / "out", stages=("finetune",), echo=lambda m: None)
    assert not list((tmp_path / "out").glob("models/*"))  # nothing started
