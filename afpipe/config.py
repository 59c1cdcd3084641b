"""Typed configs: one pydantic model per stage, loadable from YAML, overridable by CLI flags.

Every field carries its help text (``Field(description=...)``), so the model is its own
documentation. A malformed file is a one-line ``UserError`` naming the file and the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from afpipe.errors import UserError

C = TypeVar("C", bound=BaseModel)


class StageConfig(BaseModel):
    """Base for stage configs: unknown keys are errors (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())


def load_yaml(path: str | Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} does not exist or is not a file")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise UserError(f"{path} is not valid YAML{where}: {getattr(e, 'problem', e)}") from None


def validate(cls: type[C], data: Any, source: str) -> C:
    """Build ``cls`` from plain data, turning the first validation error into a one-line message."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise UserError(f"{source}: expected a mapping of settings, found {type(data).__name__}")
    try:
        return cls.model_validate(dict(data))
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise UserError(f"{source}: field '{field}': {err['msg']}") from None


def load_config(cls: type[C], path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> C:
    """YAML file (optional) < CLI flags. Flags left at ``None`` do not override the file."""
    data: dict[str, Any] = {}
    source = "command-line flags"
    if path is not None:
        loaded = load_yaml(path)
        if loaded is not None and not isinstance(loaded, Mapping):
            raise UserError(f"{path}: expected a mapping of settings, found {type(loaded).__name__}")
        data.update(loaded or {})
        source = str(path)
    for key, value in (overrides or {}).items():
        if value is not None:
            data[key] = value
    return validate(cls, data, source)
