"""``pipeline finetune``: teach a model the generated documents (LoRA by default).

On several GPUs the same command runs under ``accelerate launch`` with one of the configs in
``finetune/accelerate_configs/`` (DDP, FSDP, DeepSpeed ZeRO-3).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional

import typer


def finetune(
    out: Path = typer.Option(..., "--out", help="Run folder to write (rerun the same command to resume)."),
    docs: Optional[Path] = typer.Option(None, "--docs", help="Run folder of `pipeline generate`."),
    model: Optional[str] = typer.Option(None, "--model", help="smollm2-135m | tiny-random | local folder | hub id. [default: smollm2-135m]"),
    preset: Optional[str] = typer.Option(None, "--preset", help="paper | cpu | auto (paper with a GPU, cpu without). [default: auto]"),
    full: Optional[bool] = typer.Option(None, "--full/--lora", help="Full fine-tuning instead of a LoRA adapter."),
    epochs: Optional[float] = typer.Option(None, "--epochs", help="Passes over the documents. [default: 1]"),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="Stop after this many steps. [cpu preset: 40]"),
    lr: Optional[float] = typer.Option(None, "--lr", help="Peak learning rate. [paper: 5e-5, cpu: 2e-4]"),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Sequences per optimizer step. [paper: 16, cpu: 4]"),
    micro_batch_size: Optional[int] = typer.Option(None, "--micro-batch-size", help="Sequences per forward pass and process."),
    max_length: Optional[int] = typer.Option(None, "--max-length", help="Tokens per packed sequence. [default: 1024]"),
    long_docs: Optional[str] = typer.Option(None, "--long-docs", help="split | truncate documents longer than --max-length."),
    val_fraction: Optional[float] = typer.Option(None, "--val-fraction", help="Share of documents held out. [default: 0.05]"),
    mix_source: Optional[str] = typer.Option(None, "--mix-source", help="Real text to mix in: a .jsonl file or hf:NAME[:CONFIG[:SPLIT]]. [default: none]"),
    mix_ratio: Optional[float] = typer.Option(None, "--mix-ratio", help="Share of training tokens that are real text. [default: 0]"),
    mix_text_field: Optional[str] = typer.Option(None, "--mix-text-field", help="Field holding each mix record's text. [default: text]"),
    doc_prefix: Optional[str] = typer.Option(None, "--doc-prefix", help="Loss-masked text before every document, e.g. '<DOCTAG>'. [default: none]"),
    lora_r: Optional[int] = typer.Option(None, "--lora-r", help="LoRA rank. [default: 64]"),
    lora_alpha: Optional[int] = typer.Option(None, "--lora-alpha", help="LoRA alpha. [default: 128]"),
    lora_dropout: Optional[float] = typer.Option(None, "--lora-dropout", help="LoRA dropout. [default: 0]"),
    lora_target: Optional[str] = typer.Option(None, "--lora-target", help="all-linear or comma-separated module names."),
    precision: Optional[str] = typer.Option(None, "--precision", help="auto | bf16 | fp16 | fp32. [default: auto]"),
    gradient_checkpointing: Optional[bool] = typer.Option(None, "--gradient-checkpointing/--no-gradient-checkpointing", help="Trade compute for memory."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed for split, data order and initialisation. [default: 0]"),
    save_every: Optional[int] = typer.Option(None, "--save-every", help="Checkpoint every N steps. [paper: 200, cpu: 10]"),
    merge: Optional[bool] = typer.Option(None, "--merge/--no-merge", help="Also write the merged model (merged/)."),
    report_to: Optional[List[str]] = typer.Option(None, "--report-to", help="Tracker to log to as well (repeatable): wandb, tensorboard, ..."),
    trust_remote_code: Optional[bool] = typer.Option(None, "--trust-remote-code", help="Allow the model repository's own code to run."),
    config: Optional[Path] = typer.Option(None, "--config", help="YAML file of settings; flags override it."),
) -> None:
    """Continued pre-training on generated documents: packed sequences, LoRA or full, resumable."""
    from afpipe.config import load_config
    from afpipe.finetune.config import FinetuneConfig
    from afpipe.finetune.stage import run_finetune

    overrides = dict(
        docs=docs, model=model, preset=preset, method=None if full is None else ("full" if full else "lora"),
        epochs=epochs, max_steps=max_steps, lr=lr, batch_size=batch_size, micro_batch_size=micro_batch_size,
        max_length=max_length, long_docs=long_docs, val_fraction=val_fraction, lora_r=lora_r,
        mix_source=mix_source, mix_ratio=mix_ratio, mix_text_field=mix_text_field, doc_prefix=doc_prefix,
        lora_alpha=lora_alpha, lora_dropout=lora_dropout, lora_target=lora_target, precision=precision,
        gradient_checkpointing=gradient_checkpointing, seed=seed, save_every=save_every, merge=merge,
        report_to=report_to or None, trust_remote_code=trust_remote_code,
    )
    cfg = load_config(FinetuneConfig, config, overrides)
    folder = run_finetune(cfg, out)
    if os.environ.get("RANK", "0") == "0":  # under `accelerate launch`, say it once
        typer.echo(f"model: {folder}")
