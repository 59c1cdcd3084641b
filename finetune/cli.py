"""``pipeline finetune``: teach a model the generated documents (LoRA by default).

On several GPUs the same command runs under ``accelerate launch`` with one of the configs in
``finetune/accelerate_configs/`` (DDP, FSDP, DeepSpeed ZeRO-3). The options come from
``FinetuneConfig`` (see afpipe.cli_options); numbers a preset fills in say so in their help.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any, Optional

import typer

from afpipe.cli_options import config_command, config_file_parameter, out_parameter
from afpipe.finetune.config import FinetuneConfig

# `--full/--lora` reads better than `--method full|lora`, and is what the literature's scripts use.
FULL = inspect.Parameter(
    "full", inspect.Parameter.KEYWORD_ONLY, annotation=Optional[bool],
    default=typer.Option(None, "--full/--lora", help="Full fine-tuning instead of a LoRA adapter. [default: lora]"),
)


def _finetune(out: Path, config: Optional[Path], full: Optional[bool], overrides: dict[str, Any]) -> None:
    from afpipe.config import load_config
    from afpipe.finetune.stage import run_finetune

    if full is not None:
        overrides["method"] = "full" if full else "lora"
    folder = run_finetune(load_config(FinetuneConfig, config, overrides), out)
    if os.environ.get("RANK", "0") == "0":  # under `accelerate launch`, say it once
        typer.echo(f"model: {folder}")


finetune = config_command(
    FinetuneConfig, _finetune, extra=[out_parameter(), config_file_parameter(), FULL], skip=("method",),
    doc="Continued pre-training on generated documents: packed sequences, LoRA or full, resumable.",
)
