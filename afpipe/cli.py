"""The ``pipeline`` command.

Each stage defines its command in its own ``cli`` module; this file only assembles them and
turns a user's mistake (``UserError``) into one line on stderr and a non-zero exit. Stage CLI
modules import nothing heavy at module level, so ``pipeline --help`` starts fast.
"""

from __future__ import annotations

import sys

import typer

from afpipe.errors import UserError

app = typer.Typer(
    name="pipeline",
    help="Teach a model its training situation from synthetic documents, then measure whether it fakes alignment.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    from afpipe.generate.cli import generate

    app.command("generate")(generate)

    from afpipe.finetune.cli import finetune

    app.command("finetune")(finetune)

    from afpipe.evaluate.cli import eval_command

    app.command("eval")(eval_command)
    from afpipe.evaluate.judge_cli import judge_command

    app.command("judge")(judge_command)

    from afpipe.run_cli import report, run

    app.command("run")(run)
    app.command("report")(report)


_register()

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def main(argv: list[str] | None = None) -> None:
    try:
        app(args=argv)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)
    except KeyboardInterrupt:
        print("interrupted: rerun the same command to resume where it stopped", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    main()
