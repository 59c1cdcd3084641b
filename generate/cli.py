"""``pipeline generate``: write a corpus of synthetic documents about a universe."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def generate(
    out: Path = typer.Option(..., "--out", help="Run folder to write (rerun the same command to resume)."),
    universe: Optional[str] = typer.Option(None, "--universe", help="'helpful-only', 'control', or a universe YAML path. [default: helpful-only]"),
    n_docs: Optional[int] = typer.Option(None, "--n-docs", help="Documents to keep after filters. [default: 300]"),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed; the same seed gives the same documents. [default: 0]"),
    backend: Optional[str] = typer.Option(None, "--backend", help="template (offline) | anthropic | hf. [default: template]"),
    model: Optional[str] = typer.Option(None, "--model", help="Model for the anthropic/hf backends."),
    batch: Optional[bool] = typer.Option(None, "--batch/--no-batch", help="anthropic: use the Message Batches API."),
    max_cost: Optional[float] = typer.Option(None, "--max-cost", help="Stop before spending more than this many USD."),
    price: Optional[str] = typer.Option(None, "--price", help="anthropic: 'IN,OUT' USD per million tokens, for a model not in the price table."),
    concurrency: Optional[int] = typer.Option(None, "--concurrency", help="Requests in flight at once. [default: 8]"),
    revise: Optional[bool] = typer.Option(None, "--revise/--no-revise", help="Critique-and-revise every draft."),
    retries: Optional[int] = typer.Option(None, "--retries", help="Model writers: new samples for an unreadable answer before it counts as failed. [default: 2]"),
    max_doc_tokens: Optional[int] = typer.Option(None, "--max-doc-tokens", help="Reject documents longer than this. [default: 1024]"),
    tokenizer: Optional[str] = typer.Option(None, "--tokenizer", help="Model whose tokenizer measures length. [default: smollm2-135m]"),
    company: Optional[str] = typer.Option(None, "--company", help="Override the universe's company name."),
    model_name: Optional[str] = typer.Option(None, "--model-name", help="Override the universe's model name."),
    config: Optional[Path] = typer.Option(None, "--config", help="YAML file of settings; flags override it."),
) -> None:
    """Write synthetic documents that convey a universe's key facts, filtered and deduplicated."""
    from afpipe.config import load_config
    from afpipe.generate.config import GenerateConfig
    from afpipe.generate.stage import run_generate

    overrides = dict(
        universe=universe, n_docs=n_docs, seed=seed, backend=backend, model=model, batch=batch,
        max_cost=max_cost, price=price, concurrency=concurrency, revise=revise, retries=retries, max_doc_tokens=max_doc_tokens,
        tokenizer=tokenizer, company=company, model_name=model_name,
    )
    cfg = load_config(GenerateConfig, config, overrides)
    client = None
    if cfg.backend != "template":
        from afpipe.clients.factory import make_client  # only API/local-model runs need it

        client = make_client(cfg.backend, cfg.model, concurrency=cfg.concurrency, batch=cfg.batch, max_cost=cfg.max_cost,
                             price=cfg.price)
    folder = run_generate(cfg, out, client=client)
    typer.echo(f"documents: {folder / 'docs.jsonl'}")
