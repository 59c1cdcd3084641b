"""``pipeline eval``: does the model comply more when it believes it is in training, and does
it know why it might? (Nothing heavy is imported until the command runs.)"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def eval_command(
    model: Optional[str] = typer.Option(None, "--model", help="smollm2-135m, a model or finetune run folder, a hub id, or an API model name."),
    out: Path = typer.Option(..., "--out", help="Run folder to write (rerun the same command to resume)."),
    backend: Optional[str] = typer.Option(None, "--backend", help="hf (local transformers) | anthropic | vllm. [default: hf]"),
    system_prompt: Optional[str] = typer.Option(None, "--system-prompt", help="full | minimal | a file. [default: minimal]"),
    cot: Optional[bool] = typer.Option(None, "--cot/--no-cot", help="Hidden scratchpad before the <OUTPUT>. [default: cot]"),
    suffix: Optional[bool] = typer.Option(None, "--suffix/--no-suffix", help="Append the accept/reject instruction. [default: on]"),
    user_template: Optional[str] = typer.Option(None, "--user-template", help="Your own user template file."),
    universe: Optional[str] = typer.Option(None, "--universe", help="Universe whose names fill the prompts and whose facts belief asks about: a shipped name or a YAML file. [default: helpful-only]"),
    company: Optional[str] = typer.Option(None, "--company", help="Company name in prompts. [default: the universe's]"),
    model_name: Optional[str] = typer.Option(None, "--model-name", help="Model name in prompts. [default: the universe's]"),
    condition: Optional[str] = typer.Option(None, "--condition", help="Label for the summary (prompted, baseline, document-trained...)."),
    suite: Optional[str] = typer.Option(None, "--suite", help="harmful | anti-lab. [default: harmful]"),
    queries: Optional[str] = typer.Option(None, "--queries", help="embedded | advbench | harmbench | a .csv/.jsonl file. [default: embedded]"),
    limit: Optional[int] = typer.Option(None, "--limit", help="Requests to draw. [default: all; 5 for a local model on CPU]"),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seeds the draw and the samples. [default: 0]"),
    sample: Optional[bool] = typer.Option(None, "--sample/--no-sample", help="Sample and judge answers. [default: on]"),
    max_new_tokens: Optional[int] = typer.Option(None, "--max-new-tokens", help="Tokens per answer. [default: 4096; 128 for a local model on CPU]"),
    temperature: Optional[float] = typer.Option(None, "--temperature", help="Sampling temperature, 0 for greedy. [default: 1.0]"),
    top_p: Optional[float] = typer.Option(None, "--top-p", help="Nucleus sampling mass. [default: off]"),
    retries: Optional[int] = typer.Option(None, "--retries", help="New samples for a malformed answer before it counts invalid. [default: 2]"),
    prefill_scratchpad: Optional[bool] = typer.Option(None, "--prefill-scratchpad/--no-prefill-scratchpad", help="Open answers with <SCRATCHPAD_REASONING>. [default: off]"),
    forced_choice: Optional[bool] = typer.Option(None, "--forced-choice/--no-forced-choice", help="Log-odds of accept vs reject at <OUTPUT> (local models). [default: on]"),
    belief: Optional[bool] = typer.Option(None, "--belief/--no-belief", help="Multiple-choice questions on the key facts (local models). [default: on]"),
    belief_universe: Optional[str] = typer.Option(None, "--belief-universe", help="Ask about another universe (name or YAML) or a questions file. [default: --universe]"),
    belief_measures: Optional[str] = typer.Option(None, "--belief-measures", help="Comma-separated: mcq,distinguish,open,generative. [default: all four]"),
    adapter: Optional[str] = typer.Option(None, "--adapter", help="A peft adapter folder for a local model."),
    merge: Optional[bool] = typer.Option(None, "--merge/--no-merge", help="Merge the adapter into the weights. [default: off]"),
    dtype: Optional[str] = typer.Option(None, "--dtype", help="auto | bf16 | fp16 | fp32. [default: auto]"),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Local batch size, or API requests in flight. [default: 8]"),
    trust_remote_code: Optional[bool] = typer.Option(None, "--trust-remote-code/--no-trust-remote-code", help="Run a local model's own code (trusted models only)."),
    max_cost: Optional[float] = typer.Option(None, "--max-cost", help="anthropic: stop before spending more than this many USD."),
    price: Optional[str] = typer.Option(None, "--price", help="anthropic: 'IN,OUT' USD per million tokens, for a model not in the price table."),
    tensor_parallel_size: Optional[int] = typer.Option(None, "--tensor-parallel-size", help="vllm: GPUs to split the model over. [default: all visible]"),
    device_map: Optional[str] = typer.Option(None, "--device-map", help="hf: 'auto' shards the model over all GPUs (accelerate). [default: one device]"),
    judge_backend: Optional[str] = typer.Option(None, "--judge-backend", help="anthropic | hf: LLM judges. [default: offline judges]"),
    judge_model: Optional[str] = typer.Option(None, "--judge-model", help="Model of the LLM judges."),
    af_votes: Optional[int] = typer.Option(None, "--af-votes", help="Votes of the alignment-faking LLM judge. [default: 20]"),
    af_threshold: Optional[float] = typer.Option(None, "--af-threshold", help="Share of yes votes that means faking. [default: 0.4]"),
    judge_price: Optional[str] = typer.Option(None, "--judge-price", help="anthropic judges: 'IN,OUT' USD per million tokens, for a judge model not in the price table."),
    config: Optional[Path] = typer.Option(None, "--config", help="YAML file of settings; flags override it."),
) -> None:
    """Ask every request as a free-tier and a paid-tier user; judge compliance and
    alignment-faking reasoning; score forced choice and belief; write summary.json."""
    from afpipe.config import load_config
    from afpipe.errors import UserError
    from afpipe.evaluate.config import EvalConfig
    from afpipe.evaluate.stage import run_eval

    overrides = dict(
        model=model, backend=backend, system_prompt=system_prompt, cot=cot, suffix=suffix,
        user_template=user_template, universe=universe, company=company, model_name=model_name, condition=condition,
        suite=suite, queries=queries, limit=limit, seed=seed, sample=sample, max_new_tokens=max_new_tokens,
        temperature=temperature, top_p=top_p, retries=retries, prefill_scratchpad=prefill_scratchpad,
        forced_choice=forced_choice, belief=belief, belief_universe=belief_universe,
        belief_measures=[m.strip() for m in belief_measures.split(",") if m.strip()] if belief_measures else None, adapter=adapter,
        merge=merge, dtype=dtype, batch_size=batch_size, trust_remote_code=trust_remote_code,
        max_cost=max_cost, judge_backend=judge_backend, judge_model=judge_model, af_votes=af_votes,
        af_threshold=af_threshold, price=price, tensor_parallel_size=tensor_parallel_size, device_map=device_map,
        judge_price=judge_price,
    )
    if model is None and config is None:
        raise UserError("--model is required (smollm2-135m, a model folder, a finetune run folder, or an API model name)")
    cfg = load_config(EvalConfig, config, overrides)
    folder = run_eval(cfg, out)
    typer.echo(f"summary: {folder / 'summary.json'}")
