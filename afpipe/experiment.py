"""An experiment: one YAML file that names every stage's settings, run as a graph.

The file says which base model to start from, which universes the two corpora describe
(the documents and the control), the settings shared by both generations and both fine-tunes,
the evaluation settings (sample sizes, judges), and the conditions to compare (see the
science notes)::

    prompted          base model          full system prompt
    baseline          base model          minimal system prompt
    document-trained  document-trained    minimal system prompt
    control-trained   control-trained     minimal system prompt
    both              document-trained    full system prompt

``pipeline run EXPERIMENT.yaml --out DIR`` turns it into a graph of stage runs:

    generate/documents -> finetune/documents -> eval/document-trained, eval/both
    generate/control   -> finetune/control   -> eval/control-trained
                                    base model -> eval/prompted, eval/baseline

Why every node's folder is named by a key: a node's key is a hash of its resolved stage config
and of its upstream nodes' keys, so it changes exactly when something that decides the node's
output changes. A rerun finds a finished node's folder (it holds a manifest) and skips it; a
changed eval setting makes new eval keys and leaves the fine-tunes alone; a changed fine-tune
setting reruns that fine-tune and the evals that read it, and nothing else. An interrupted node
is rerun into the same folder, where the stage resumes itself. Folders of earlier settings are
kept (nothing is deleted); ``graph.json`` names the current ones, and the report reads those.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Callable, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from afpipe.config import StageConfig, load_yaml, validate
from afpipe.contracts import EXPERIMENT_FILE, GRAPH_FILE, MANIFEST_FILE, STANDARD_CONDITIONS, ModelRole
from afpipe.errors import UserError
from afpipe.runs import LOCK_FILE, config_hash, lock_run, read_json, write_json
from afpipe.universes import DEFAULT_UNIVERSE

KEY_LENGTH = 12
STAGE_ORDER = ("generate", "finetune", "eval")
STAGE_FOLDERS = {"generate": "docs", "finetune": "models", "eval": "evals"}

PromptKind = Literal["full", "minimal"]


def _check_slug(v: str) -> str:
    if not v or not all(ch.isalnum() or ch in "-_" for ch in v):
        raise ValueError("use letters, digits, '-' and '_' only (it names a folder)")
    return v


# A name that becomes part of a folder name.
Slug = Annotated[str, AfterValidator(_check_slug)]


class Universes(StageConfig):
    """The two corpora: the facts to teach, and the control of the same size and shape."""

    documents: str = Field(DEFAULT_UNIVERSE, description="Universe the document-trained model reads (shipped name or YAML path).")
    control: str = Field("control", description="Universe of the control corpus: unrelated facts, same count and length.")


class Condition(StageConfig):
    """One evaluation condition: a model and a system prompt, plus any eval settings of its own."""

    name: Slug = Field(..., description="Label in the report (the standard five, or your own).")
    model: ModelRole = Field(..., description="'base', 'documents' (document-trained) or 'control' (control-trained).")
    system_prompt: PromptKind = Field(..., description="'full' (training facts stated) or 'minimal' (none of them).")
    eval: dict[str, Any] = Field(default_factory=dict, description="Eval settings for this condition only (override the shared ones).")


class Evaluation(StageConfig):
    """One evaluation pass run for every condition: the shared eval settings plus its own.

    Several passes let a cheap measure cover many requests while an expensive one covers few
    (forced choice and belief on every request, sampled answers on a handful), or add a suite
    (``{name: anti-lab, eval: {suite: anti-lab}}``).
    """

    name: Slug = Field(..., description="Names the pass in folder names and the report.")
    eval: dict[str, Any] = Field(default_factory=dict, description="Eval settings of this pass (override the shared ones).")


class Experiment(StageConfig):
    """The experiment file. Stage sections hold that stage's own settings (see
    ``pipeline generate/finetune/eval --help``); the runner fills in what links the stages."""

    name: str = Field(..., description="Name shown in the report.")
    description: str = Field("", description="What this experiment is for.")
    model: str = Field("smollm2-135m", description="Base model every condition starts from (embedded name, folder or hub id).")
    universes: Universes = Field(default_factory=Universes)
    generate: dict[str, Any] = Field(default_factory=dict, description="Settings of both generations (universe is filled in).")
    finetune: dict[str, Any] = Field(default_factory=dict, description="Settings of both fine-tunes (model and documents are filled in).")
    eval: dict[str, Any] = Field(default_factory=dict, description="Eval settings shared by every condition: sample sizes, CoT, forced choice, belief...")
    judges: dict[str, Any] = Field(default_factory=dict, description="Judge settings (eval settings kept apart for readability).")
    evaluations: list[Evaluation] = Field(
        default_factory=lambda: [Evaluation(name="main")],
        description="Evaluation passes run for every condition (default: one pass with the shared settings).",
    )
    conditions: list[Condition] = Field(
        default_factory=lambda: list(STANDARD_CONDITIONS), validate_default=True,
        description="Conditions to evaluate: standard names, or entries with name, model and system_prompt.",
    )
    doses: list[Annotated[int, Field(gt=0)]] = Field(
        default_factory=list,
        description="A dose-response sweep: documents per corpus. Each dose generates, fine-tunes and evaluates its own "
        "document and control models (conditions '<name>-<dose>'); base-model conditions run once. Empty: generate.n_docs.",
    )

    @field_validator("conditions", mode="before")
    @classmethod
    def _expand(cls, entries: Any) -> Any:
        """A bare standard name stands for its full entry; names must be unique."""
        if not isinstance(entries, list):
            return entries
        out = []
        for entry in entries:
            if isinstance(entry, str):
                if entry not in STANDARD_CONDITIONS:
                    raise ValueError(f"unknown condition '{entry}': use one of {', '.join(STANDARD_CONDITIONS)} or a full entry")
                model, prompt = STANDARD_CONDITIONS[entry]
                entry = {"name": entry, "model": model, "system_prompt": prompt}
            out.append(entry)
        names = [e.get("name") if isinstance(e, dict) else getattr(e, "name", None) for e in out]
        if len(set(names)) != len(names):
            raise ValueError("condition names must be unique")
        if not out:
            raise ValueError("list at least one condition")
        return out

    @model_validator(mode="after")
    def _evaluations(self) -> "Experiment":
        names = [e.name for e in self.evaluations]
        if not names or len(set(names)) != len(names):
            raise ValueError("evaluations: give at least one, each with its own name")
        if len(set(self.doses)) != len(self.doses):
            raise ValueError("doses: each dose once")
        return self

    def condition_list(self) -> list[Condition]:
        return list(self.conditions)


def load_experiment(path: str | Path) -> Experiment:
    """Read and check an experiment file (a malformed one is a one-line error naming the field)."""
    return validate(Experiment, load_yaml(path), str(path))


# --- The graph --------------------------------------------------------------------------------

@dataclass
class Node:
    """One stage run of the experiment."""

    id: str  # "generate/documents", "finetune/control", "eval/baseline" (+ "/anti-lab")
    stage: str
    config: Any  # the stage's pydantic config, upstream folders filled in
    key: str
    folder: Path
    upstream: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)  # condition, evaluation, model_role, system_prompt

    def done(self) -> bool:
        manifest = self.folder / MANIFEST_FILE
        return manifest.exists() and read_json(manifest).get("stage") == self.stage

    def record(self, root: Path) -> dict[str, Any]:
        return {
            "id": self.id, "stage": self.stage, "key": self.key, "folder": self.folder.relative_to(root).as_posix(),
            "upstream": self.upstream, "status": "done" if self.done() else "pending", **self.meta,
        }


def _stage_classes() -> dict[str, type]:
    """The stages' config classes (imported here: light modules, no torch)."""
    from afpipe.evaluate.config import EvalConfig
    from afpipe.finetune.config import FinetuneConfig
    from afpipe.generate.config import GenerateConfig

    return {"generate": GenerateConfig, "finetune": FinetuneConfig, "eval": EvalConfig}


def _node_key(stage: str, settings: dict[str, Any], inputs: dict[str, str]) -> str:
    return config_hash({"stage": stage, "settings": settings, "inputs": inputs})[:KEY_LENGTH]


class GraphBuilder:
    """Turns an experiment into nodes, each with its resolved config, key and folder."""

    def __init__(self, experiment: Experiment, out: Path, source: str = "experiment"):
        self.exp = experiment
        self.out = out
        self.source = source
        self.classes = _stage_classes()
        self.nodes: dict[str, Node] = {}

    def _add(self, node_id: str, stage: str, settings: dict[str, Any], links: dict[str, str], name: str,
             meta: dict[str, Any] | None = None) -> Node:
        """``links`` maps a config field to the upstream node whose folder it takes.

        The key hashes the *validated* config (defaults filled in, so writing a default out
        changes nothing) with each linked folder replaced by its node's key: where the
        experiment folder lives is not part of what a node computes.
        """
        cls, where = self.classes[stage], f"{self.source}: {node_id}"
        inputs = {fieldname: self.nodes[up].key for fieldname, up in links.items()}
        placeholders = {fieldname: f"<{up}>" for fieldname, up in links.items()}
        resolved = validate(cls, {**settings, **placeholders}, where).model_dump(mode="json")
        key = _node_key(stage, resolved, inputs)
        folder = self.out / STAGE_FOLDERS[stage] / f"{name}-{key}"
        config = validate(cls, {**settings, **{f: str(self.nodes[up].folder) for f, up in links.items()}}, where)
        node = Node(node_id, stage, config, key, folder, list(links.values()), meta or {})
        self.nodes[node_id] = node
        return node

    def build(self) -> list[Node]:
        exp = self.exp
        roles = {c.model for c in exp.condition_list()}
        trained = {"documents": exp.universes.documents, "control": exp.universes.control}
        # Without a sweep, one unnamed dose: ids, folders and keys stay those of a plain experiment.
        doses: list[int | None] = list(exp.doses) or [None]
        for dose in doses:
            suffix = "" if dose is None else f"-{dose}"
            for role in ("documents", "control"):
                if role not in roles:
                    continue
                gen = {"tokenizer": exp.model, **exp.generate, "universe": trained[role]}
                if dose is not None:
                    gen["n_docs"] = dose
                meta = {"model_role": role, **({} if dose is None else {"dose": dose})}
                self._add(f"generate/{role}{suffix}", "generate", gen, {}, role + suffix, meta)
                tune = {**exp.finetune, "model": exp.model}
                self._add(f"finetune/{role}{suffix}", "finetune", tune, {"docs": f"generate/{role}{suffix}"}, role + suffix, meta)
        single = len(exp.evaluations) == 1
        # Names the documents were written with (generate's overrides) are the names evaluated.
        names = {k: exp.generate[k] for k in ("company", "model_name") if exp.generate.get(k)}
        for condition in exp.condition_list():
            for dose in (doses if condition.model != "base" else [None]):
                label = condition.name + ("" if dose is None else f"-{dose}")
                for evaluation in exp.evaluations:
                    # The documents' universe names the company and model in every prompt and is
                    # what belief asks about, in every condition (the control model is asked too).
                    settings = {"universe": exp.universes.documents, **names, **exp.eval, **exp.judges, **evaluation.eval,
                                **condition.eval, "system_prompt": condition.system_prompt, "condition": label}
                    links: dict[str, str] = {}
                    if condition.model == "base":
                        settings["model"] = exp.model
                    else:
                        links["model"] = f"finetune/{condition.model}" + ("" if dose is None else f"-{dose}")
                    # With one pass its name adds nothing to ids and folders.
                    node_id = f"eval/{label}" + ("" if single else f"/{evaluation.name}")
                    name = label + ("" if single else f"-{evaluation.name}")
                    meta = {"condition": label, "evaluation": evaluation.name, "model_role": condition.model,
                            "system_prompt": condition.system_prompt, **({} if dose is None else {"dose": dose})}
                    self._add(node_id, "eval", settings, links, name, meta)
        # Stage by stage (both corpora, then both fine-tunes, then the evaluations).
        return sorted(self.nodes.values(), key=lambda n: STAGE_ORDER.index(n.stage))


def build_graph(experiment: Experiment, out: str | Path, source: str = "experiment") -> list[Node]:
    """The experiment's nodes in run order (generations, fine-tunes, evaluations)."""
    return GraphBuilder(experiment, Path(out).resolve(), source).build()


# --- Running ----------------------------------------------------------------------------------

def _is_main_process() -> bool:
    """Under ``accelerate launch`` every rank runs this code; only rank 0 writes graph files."""
    return os.environ.get("RANK", "0") == "0"


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} exists and is not a folder; choose another --out")
    if out.is_dir() and any(p.name != LOCK_FILE for p in out.iterdir()) and not (out / GRAPH_FILE).exists():
        raise UserError(f"{out} is not empty and holds no experiment ({GRAPH_FILE} missing); choose another --out")


def experiment_block(exp: Experiment, nodes: list[Node]) -> dict[str, Any]:
    """What the report needs to know about the experiment as a whole."""
    documents = next((n.config.n_docs for n in nodes if n.stage == "generate"), None)
    return {
        "name": exp.name,
        "description": exp.description,
        "model": exp.model,
        "model_parameters": parameter_count(exp.model),
        "documents": documents,
        "universes": exp.universes.model_dump(),
        "conditions": [c.name for c in exp.condition_list()],
        "doses": list(exp.doses),
        "evaluations": [e.name for e in exp.evaluations],
    }


def write_graph(out: Path, block: dict[str, Any], nodes: list[Node]) -> None:
    if _is_main_process():
        write_json(out / GRAPH_FILE, {"experiment": block, "nodes": [n.record(out) for n in nodes]})


def run_node(node: Node) -> Path:
    """Call the node's stage through its Python entry point (each stage builds its own clients
    through afpipe.clients.factory)."""
    cfg = node.config
    if node.stage == "generate":
        from afpipe.generate.stage import run_generate

        return run_generate(cfg, node.folder)
    if node.stage == "finetune":
        from afpipe.finetune.stage import run_finetune

        return run_finetune(cfg, node.folder)
    if node.stage == "eval":
        from afpipe.evaluate.stage import run_eval

        return run_eval(cfg, node.folder)
    raise ValueError(f"unknown stage {node.stage}")


Echo = Callable[[str], None]


def run_experiment(
    exp: Experiment,
    out: str | Path,
    *,
    stages: tuple[str, ...] = STAGE_ORDER,
    source: str = "experiment",
    echo: Echo = print,
    report: bool = True,
) -> Path | None:
    """Run every node of ``exp`` that is not done, in order, then write the report.

    ``stages`` restricts the run to some stages (e.g. only the fine-tunes, under
    ``accelerate launch``); their upstream nodes must already be done. Returns the report's
    path, or None when no report was written.
    """
    out = Path(out).resolve()
    _check_out(out)
    nodes = build_graph(exp, out, source)
    out.mkdir(parents=True, exist_ok=True)
    if _is_main_process():
        lock_run(out)  # a second `pipeline run` on this folder stops here, naming this pid
    block = experiment_block(exp, nodes)
    if _is_main_process():
        write_json(out / EXPERIMENT_FILE, exp.model_dump(mode="json"))
    write_graph(out, block, nodes)
    by_id = {n.id: n for n in nodes}
    todo = [n for n in nodes if n.stage in stages]
    check_belief_questions(nodes)
    for i, node in enumerate(todo, 1):
        label = f"[{i}/{len(todo)}] {node.id}"
        if node.done():
            echo(f"{label}: done, skipped ({node.folder.relative_to(out)})")
            continue
        missing = [u for u in node.upstream if not by_id[u].done()]
        if missing:
            raise UserError(f"{node.id} needs {', '.join(missing)} first: run without --stages, or include their stages")
        echo(f"{label}: running -> {node.folder.relative_to(out)}")
        run_node(node)
        write_graph(out, block, nodes)
    if not report or "eval" not in stages or not _is_main_process():
        return None
    from afpipe.report import write_report

    return write_report(out)


def check_belief_questions(nodes: list[Node]) -> None:
    """Every evaluation that asks belief questions has questions for its universe: a universe
    without them stops the run here, in one line, before hours of generation and training."""
    from afpipe.evaluate.stage import belief_target

    seen: set[tuple[str, str | None]] = set()
    for node in nodes:
        cfg = node.config
        if node.stage != "eval" or not cfg.belief or (cfg.universe, cfg.belief_universe) in seen:
            continue
        seen.add((cfg.universe, cfg.belief_universe))
        belief_target(cfg)


def plan(exp: Experiment, out: str | Path, source: str = "experiment") -> list[dict[str, Any]]:
    """What ``run`` would do, without doing it: each node, its key, and whether it is done."""
    out = Path(out).resolve()
    return [n.record(out) for n in build_graph(exp, out, source)]


# --- Model size, for the report's statement of scale ------------------------------------------

def parameter_count(model: str) -> int | None:
    """Parameters of a local model, read from its safetensors headers (no weights loaded).

    None for a hub id that is not on disk: the report then states the model's name only.
    """
    from afpipe.models import resolve_model

    try:
        path = Path(resolve_model(model).path)
    except UserError:
        return None
    files = sorted(path.glob("*.safetensors")) if path.is_dir() else []
    if not files:
        return None
    total = 0
    for f in files:
        with f.open("rb") as fh:
            size = int.from_bytes(fh.read(8), "little")
            header = json.loads(fh.read(size))
        total += sum(math.prod(v["shape"]) for k, v in header.items() if k != "__metadata__")
    return total
