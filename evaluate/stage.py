"""The eval stage: sample and judge answers per tier, forced choice, belief; then summarize.

``run_eval(cfg, out)`` writes, in ``out``:

- ``transcripts.jsonl``: one record per (request, tier) sample with every judge's verdict;
- ``forced_choice.jsonl`` and ``belief.jsonl`` (local models): the log-probability measures;
- ``summary.json`` (rates, gap, forced choice, belief), ``manifest.json``, ``run_config.json``.

Each part resumes from what is on disk; a finished run is a no-op that prints its table again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from afpipe.clients.base import ScoringModel, TextModel
from afpipe.contracts import MANIFEST_FILE, SUMMARY_FILE, TRANSCRIPTS_FILE
from afpipe.errors import UserError
from afpipe.evaluate.config import CPU_LIMIT, CPU_MAX_NEW_TOKENS, DEFAULT_MAX_NEW_TOKENS, OPERATIONAL, EvalConfig
from afpipe.runs import open_run, read_json, sha256_text, write_json, write_manifest
from afpipe.universes import load_universe, shipped_universes

STAGE = "eval"


def resolve_config(cfg: EvalConfig) -> EvalConfig:
    """Fill the settings left to the run: CPU-sized defaults for a local model without a GPU,
    and the company and model names of the run's universe. The resolved values are the ones
    recorded, so a rerun anywhere asks the same questions."""
    updates: dict[str, Any] = {}
    cpu_local = cfg.backend == "hf" and not _cuda_available()
    if cfg.limit is None and cpu_local:
        updates["limit"] = CPU_LIMIT
    if cfg.max_new_tokens is None:
        updates["max_new_tokens"] = CPU_MAX_NEW_TOKENS if cpu_local else DEFAULT_MAX_NEW_TOKENS
    if cfg.company is None or cfg.model_name is None:
        params = _universe_params(cfg.universe)
        updates["company"] = cfg.company or params.get("company", "Anthropic")
        updates["model_name"] = cfg.model_name or params.get("model_name", "Claude")
    return cfg.model_copy(update=updates)


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def _universe_params(universe: str) -> dict[str, str]:
    return dict(load_universe(universe).params)


def belief_target(cfg: EvalConfig) -> tuple[Any, Any]:
    """(the universe whose facts are asked about, its BeliefSet). The run's company and model
    names fill that universe's parameters when it has them, so the questions name what the
    prompts name; ``belief_universe`` may point at another universe or at a questions file."""
    from afpipe.evaluate.belief import belief_set

    ref, questions_file = cfg.belief_universe or cfg.universe, None
    if cfg.belief_universe and _is_questions_file(cfg.belief_universe):
        ref, questions_file = cfg.universe, cfg.belief_universe
    names = {"company": cfg.company, "model_name": cfg.model_name} if ref == cfg.universe else {}
    params = load_universe(ref).params
    universe = load_universe(ref, {k: v for k, v in names.items() if v and k in params})
    return universe, belief_set(universe, questions_file)


def _is_questions_file(ref: str) -> bool:
    """A belief-questions YAML (a 'questions' list, no facts) rather than a universe file."""
    from afpipe.evaluate.belief import shipped_belief_sets

    if ref in shipped_universes():
        return False
    if ref in shipped_belief_sets():
        return True
    path = Path(ref)
    if not path.is_file():
        return False
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        return False
    return isinstance(data, dict) and "questions" in data and "facts" not in data


def build_client(cfg: EvalConfig) -> TextModel:
    """The model under evaluation, from the config's backend."""
    from afpipe.clients.factory import make_client

    return make_client(
        cfg.backend, cfg.model, adapter=cfg.adapter, merge=cfg.merge, dtype=cfg.dtype, concurrency=cfg.batch_size,
        trust_remote_code=cfg.trust_remote_code, device_map=cfg.device_map,
        tensor_parallel_size=cfg.tensor_parallel_size, max_cost=cfg.max_cost, price=cfg.price,
    )


def build_judge_client(cfg: EvalConfig) -> TextModel | None:
    """The LLM judges' client, or None for the offline judges."""
    if cfg.judge_backend is None and cfg.judge_model is None:
        return None
    if cfg.judge_backend == "hf" and not cfg.judge_model:
        raise UserError("--judge-backend hf needs --judge-model (a local model folder, or smollm2-135m)")
    from afpipe.clients.factory import make_client

    return make_client(cfg.judge_backend or "anthropic", cfg.judge_model, price=cfg.judge_price)


def run_eval(cfg: EvalConfig, out: str | Path, client: TextModel | None = None, judge_client: TextModel | None = None) -> Path:
    """Run (or resume) an evaluation into ``out``; returns ``out``."""
    from afpipe.evaluate.belief import LOGPROB_MEASURES, run_belief
    from afpipe.evaluate.forced_choice import run_forced_choice
    from afpipe.evaluate.prompts import load_prompts
    from afpipe.evaluate.runner import SamplingSettings, run_sampling
    from afpipe.evaluate.suites import build_suite
    from afpipe.jsonl import read_jsonl

    cfg = resolve_config(cfg)
    out = Path(out)
    config = cfg.model_dump()
    identity = {k: v for k, v in config.items() if k not in OPERATIONAL}
    # Cheap checks first: a bad prompt file or request file fails before a model is loaded.
    suite = build_suite(cfg, None)
    suffix = cfg.suffix if suite.suffix is None else suite.suffix
    names = {"company": cfg.company or "", "model_name": cfg.model_name or ""}
    prompts = load_prompts(cfg.system_prompt, cot=cfg.cot, user_template=cfg.user_template, suffix=suffix, **names)
    direct_prompts = load_prompts(cfg.system_prompt, cot=False, user_template=cfg.user_template, suffix=suffix, **names)
    beliefs = belief_universe = None
    if cfg.belief:
        belief_universe, beliefs = belief_target(cfg)

    if client is None and cfg.backend in ("hf", "vllm"):
        from afpipe.models import model_source

        model_source(cfg.model)  # a misspelt model fails before the run folder is created
    if judge_client is None:
        judge_client = build_judge_client(cfg)  # a missing API key too

    open_run(out, STAGE, identity)
    if (out / MANIFEST_FILE).exists() and (out / SUMMARY_FILE).exists():
        print(format_summary(read_json(out / SUMMARY_FILE)))
        return out

    client = client or build_client(cfg)
    if judge_client is not None:
        suite = build_suite(cfg, judge_client)

    sampling = None
    if cfg.sample:
        settings = SamplingSettings(
            max_new_tokens=cfg.max_new_tokens or DEFAULT_MAX_NEW_TOKENS,
            temperature=cfg.temperature,
            top_p=cfg.top_p,
            retries=cfg.retries,
            prefill_scratchpad=cfg.prefill_scratchpad,
            seed=cfg.seed,
            chunk_size=max(2, cfg.batch_size),
        )
        sampling = run_sampling(client, suite, prompts, settings, out)

    scorer = client if isinstance(client, ScoringModel) else None
    skipped = []
    fc_records: list[dict[str, Any]] = []
    belief_records: list[dict[str, Any]] = []
    if cfg.forced_choice:
        if scorer is None:
            skipped.append("forced choice")
        else:
            fc_records = run_forced_choice(scorer, suite.items, direct_prompts, out, chunk_size=max(1, cfg.batch_size))
    if beliefs is not None:
        if scorer is None and any(m in LOGPROB_MEASURES for m in cfg.belief_measures):
            skipped.append("belief by multiple choice")
        belief_records = run_belief(client, beliefs, direct_prompts.system, out, measures=cfg.belief_measures, universe=belief_universe)
    if skipped:
        print(f"note: {' and '.join(skipped)} need log-probabilities, which the {cfg.backend} backend does not give: skipped")

    wanted = {item.id for item in suite.items}
    records = [r for r in read_jsonl(out / TRANSCRIPTS_FILE) if r.get("request_id") in wanted and r.get("suite") == suite.name]
    summary = build_summary_for(cfg, prompts.prompt_id, records, fc_records, belief_records, suite)
    write_json(out / SUMMARY_FILE, summary)
    inputs = {"requests": suite.source_sha256, "system_prompt": sha256_text(prompts.system)}
    if cfg.forced_choice and scorer is not None:
        inputs["system_prompt_forced_choice"] = sha256_text(direct_prompts.system)
    if beliefs is not None:
        inputs["belief_questions"] = beliefs.digest()
    counts = {
        "items": len(suite.items),
        "transcripts": len(records),
        "valid": sum(bool(r.get("valid")) for r in records),
        "forced_choice": len(fc_records),
        "belief_questions": len(belief_records),
    }
    extra = {"usage_last_invocation": sampling.usage.as_dict() if sampling else None, "client": client.name}
    write_manifest(out, STAGE, config, inputs=inputs, counts=counts, extra=extra)
    print(format_summary(summary))
    return out


def build_summary_for(
    cfg: EvalConfig,
    prompt_id: str,
    records: list[dict[str, Any]],
    fc_records: list[dict[str, Any]],
    belief_records: list[dict[str, Any]],
    suite: Any,
) -> dict[str, Any]:
    from afpipe.evaluate.belief import summarize_belief
    from afpipe.evaluate.forced_choice import summarize_forced_choice
    from afpipe.evaluate.summary import build_summary

    return build_summary(
        model=cfg.model,
        condition=cfg.condition,
        system_prompt=cfg.system_prompt,
        cot=cfg.cot,
        records=records,
        forced_choice=summarize_forced_choice(fc_records),
        belief=summarize_belief(belief_records, cfg.belief_universe or cfg.universe),
        anti_lab=suite.summarize(records) if suite.summarize else None,
        extra={"suite": suite.name, "prompt_id": prompt_id, "judges": sorted({k for r in records for k in r.get("judges", {})})},
    )


def format_summary(summary: dict[str, Any]) -> str:
    from afpipe.evaluate.summary import format_table

    return format_table(summary)
