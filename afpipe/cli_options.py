"""Command-line options generated from a stage's config class, so that each setting's name,
default and help text are written once: in its pydantic ``Field``.

A field ``max_new_tokens: int | None = Field(None, description="...")`` becomes the option
``--max-new-tokens`` with that help and ``[default: ...]`` taken from the field. Every generated
option defaults to ``None`` on the command line, so that a value from ``--config FILE`` is only
overridden by a flag the user actually typed (``load_config`` drops the ``None``s). Booleans get
a ``--x/--no-x`` pair. Fields whose type has no flag form (mappings, nested models) are settable
from the YAML file only, and the generated help says nothing of them.

The model is trl's config-driven argument parser: the dataclass is the parser.
"""

from __future__ import annotations

import inspect
import types
import typing
from pathlib import Path
from typing import Any, Callable, Literal, Optional

import typer
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

# The flag types typer can parse; anything else stays a YAML-only setting.
_SCALARS = (str, int, float, bool, Path)


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """The annotation's scalar type (or ``list[scalar]``), and whether it is a list; None if the
    field has no flag form."""
    origin = typing.get_origin(annotation)
    if origin is Literal:
        values = typing.get_args(annotation)
        return type(values[0]), False
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(inner) == 1:
            return _unwrap(inner[0])
        return None, False
    if origin in (list, tuple):
        args = typing.get_args(annotation)
        inner, nested = _unwrap(args[0]) if args else (None, False)
        return (inner, True) if inner is not None and not nested else (None, False)
    if annotation in _SCALARS:
        return annotation, False
    return None, False


def _default_text(field: FieldInfo) -> str | bool:
    """What ``[default: ...]`` shows: the field's default, or nothing for an unset one."""
    value = field.default
    if value is PydanticUndefined or value is None or value == [] or value == {}:
        return False
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _choices_text(annotation: Any) -> str:
    """``(a | b | c)`` for a Literal field, so the help lists what is accepted."""
    for candidate in (annotation, *typing.get_args(annotation)):
        if typing.get_origin(candidate) is Literal:
            return " (" + " | ".join(str(v) for v in typing.get_args(candidate)) + ")"
    return ""


def flag_name(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def config_parameters(config_cls: type[BaseModel], *, skip: tuple[str, ...] = (),
                      rename: dict[str, str] | None = None) -> list[inspect.Parameter]:
    """One keyword parameter per flag-able field of ``config_cls``, as typer options."""
    rename = rename or {}
    # A config may say where an unset field's value comes from (a preset, the hardware).
    described_defaults = getattr(config_cls, "cli_defaults", lambda: {})()
    params = []
    for name, field in config_cls.model_fields.items():
        if name in skip:
            continue
        scalar, is_list = _unwrap(field.annotation)
        if scalar is None:
            continue
        flag = rename.get(name, flag_name(name))
        if scalar is bool and "/" not in flag:
            flag = f"{flag}/--no-{flag[2:]}"
        help_text = (field.description or "") + _choices_text(field.annotation)
        shown_default = described_defaults.get(name, _default_text(field))
        if shown_default:
            # Escaped: the help is rich markup, where "[...]" would be read as a style tag.
            help_text += f" \\[default: {shown_default}]"
        annotation = Optional[list[scalar]] if is_list else Optional[scalar]  # type: ignore[valid-type]
        # The option itself defaults to None, so that only a flag the user typed overrides
        # --config; the field's real default is what the help shows.
        option = typer.Option(None, flag, help=help_text, show_default=False)
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=annotation))
    return params


def config_command(
    config_cls: type[BaseModel],
    action: Callable[..., None],
    *,
    extra: list[inspect.Parameter] = (),  # type: ignore[assignment]
    skip: tuple[str, ...] = (),
    rename: dict[str, str] | None = None,
    doc: str | None = None,
) -> Callable[..., None]:
    """A typer command whose options are ``extra`` (the command's own: ``--out``, ``--config``)
    followed by one per field of ``config_cls``.

    ``action`` receives the ``extra`` values as keywords and ``overrides``: the field values the
    user typed, ready for ``load_config``.
    """
    extra = list(extra)
    fields = config_parameters(config_cls, skip=skip, rename=rename)
    field_names = {p.name for p in fields}
    clash = field_names & {p.name for p in extra}
    if clash:
        raise ValueError(f"{config_cls.__name__}: command parameters {sorted(clash)} are also config fields")

    def command(**kwargs: Any) -> None:
        overrides = {k: v for k, v in kwargs.items() if k in field_names}
        own = {k: v for k, v in kwargs.items() if k not in field_names}
        action(overrides=overrides, **own)

    command.__signature__ = inspect.Signature(extra + fields)  # type: ignore[attr-defined]
    command.__name__ = action.__name__
    command.__doc__ = doc if doc is not None else action.__doc__
    return command


def out_parameter(help_text: str = "Run folder to write (rerun the same command to resume).") -> inspect.Parameter:
    """``--out FOLDER``, required: every stage writes one run folder."""
    return inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, annotation=Path,
                             default=typer.Option(..., "--out", help=help_text))


def config_file_parameter() -> inspect.Parameter:
    """``--config FILE``: the stage's settings as YAML; flags override it."""
    return inspect.Parameter("config", inspect.Parameter.KEYWORD_ONLY, annotation=Optional[Path],
                             default=typer.Option(None, "--config", help="YAML file of settings; flags override it."))
