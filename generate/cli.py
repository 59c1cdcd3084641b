"""``pipeline generate``: write a corpus of synthetic documents about a universe.

The options come from ``GenerateConfig`` (see afpipe.cli_options): each setting's name, default
and help text are written once, in its field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from afpipe.cli_options import config_command, config_file_parameter, out_parameter
from afpipe.generate.config import GenerateConfig


def _generate(out: Path, config: Optional[Path], overrides: dict[str, Any]) -> None:
    from afpipe.config import load_config
    from afpipe.generate.stage import run_generate

    folder = run_generate(load_config(GenerateConfig, config, overrides), out)
    typer.echo(f"documents: {folder / 'docs.jsonl'}")


generate = config_command(
    GenerateConfig, _generate, extra=[out_parameter(), config_file_parameter()],
    doc="Write synthetic documents that convey a universe's key facts, filtered and deduplicated.",
)
