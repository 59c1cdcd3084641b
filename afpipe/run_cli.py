"""``pipeline run`` and ``pipeline report``: a whole experiment from one file, and its report."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from afpipe.errors import UserError


def run(
    experiment: Path = typer.Argument(..., help="Experiment YAML (see experiments/quickstart.yaml)."),
    out: Path = typer.Option(..., "--out", help="Experiment folder; rerun the same command to resume or to apply changed settings."),
    stages: Optional[str] = typer.Option(
        None, "--stages", help="Comma-separated subset of generate,finetune,eval (e.g. finetune under accelerate launch)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print each stage run, its key and whether it is done; run nothing."),
) -> None:
    """Run every stage of an experiment (skipping what is done), then write its report."""
    from afpipe.experiment import STAGE_ORDER, load_experiment, plan, run_experiment

    exp = load_experiment(experiment)
    chosen = STAGE_ORDER
    if stages:
        chosen = tuple(s.strip() for s in stages.split(",") if s.strip())
        unknown = [s for s in chosen if s not in STAGE_ORDER]
        if unknown or not chosen:
            raise UserError(f"--stages: unknown stage(s) {', '.join(unknown) or '(none given)'}; use {', '.join(STAGE_ORDER)}")
    if dry_run:
        for node in plan(exp, out, str(experiment)):
            if node["stage"] in chosen:
                typer.echo(f"{node['status']:8} {node['id']:32} {node['folder']}")
        return
    report = run_experiment(exp, out, stages=chosen, source=str(experiment), echo=lambda m: typer.echo(m, err=True))
    if report is not None:
        typer.echo(f"report: {report}")


def report(
    folder: Path = typer.Argument(..., help="Experiment folder written by 'pipeline run' (or any folder of eval runs)."),
) -> None:
    """Rebuild report.md and report.html from the evaluations already in FOLDER."""
    from afpipe.report import write_report

    typer.echo(f"report: {write_report(folder)}")
