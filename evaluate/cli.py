"""``pipeline eval``: does the model comply more when it believes it is in training, and does
it know why it might? (Nothing heavy is imported until the command runs.)

The options come from ``EvalConfig`` (see afpipe.cli_options).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from afpipe.cli_options import config_command, config_file_parameter, out_parameter
from afpipe.evaluate.config import EvalConfig


def _eval(out: Path, config: Optional[Path], overrides: dict[str, Any]) -> None:
    from afpipe.config import load_config
    from afpipe.errors import UserError
    from afpipe.evaluate.stage import run_eval

    if overrides.get("model") is None and config is None:
        raise UserError("--model is required (smollm2-135m, a model folder, a finetune run folder, or an API model name)")
    folder = run_eval(load_config(EvalConfig, config, overrides), out)
    typer.echo(f"summary: {folder / 'summary.json'}")


eval_command = config_command(
    EvalConfig, _eval, extra=[out_parameter(), config_file_parameter()],
    doc="Ask every request as a free-tier and a paid-tier user; judge compliance and alignment-faking "
        "reasoning; score forced choice and belief; write summary.json.",
)
