"""Run folders: every stage writes one, with a ``manifest.json`` that can re-create it.

A run folder is owned by one resolved configuration. Re-running a command with the same
configuration resumes the run; pointing a command with *other* settings at an existing run is
refused rather than silently mixing two experiments in one folder.

Layout of every run folder::

    run_config.json   the resolved config, written first (the resume key)
    manifest.json     stage, config, input hashes, package versions, counts; rewritten at the end
    .lock             the pid of the process writing the folder (see ``lock_run``)
    ...               the stage's own outputs
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import platform
import sys
import tempfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable

from afpipe.contracts import MANIFEST_FILE, RUN_CONFIG_FILE
from afpipe.errors import UserError

LOCK_FILE = ".lock"

# Run folders this process holds, by resolved path -> the open lock file (kept open: closing it,
# or the process ending in any way, kill -9 included, releases the lock).
_held: dict[Path, Any] = {}

# Packages whose versions decide what a run produces; recorded in every manifest.
_TRACKED_PACKAGES = (
    "afpipe", "torch", "transformers", "peft", "accelerate", "datasets", "anthropic", "datasketch",
    "tokenizers", "vllm",
)


def write_atomic(path: str | Path, text: str) -> None:
    """Write a whole file or nothing: readers never see half a file, even after ``kill -9``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: str | Path, obj: Any) -> None:
    write_atomic(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n")


def read_json(path: str | Path) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path} does not exist") from None
    except json.JSONDecodeError as e:
        raise UserError(f"{path} is not valid JSON ({e.msg} at line {e.lineno}); remove or fix it") from None


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def config_hash(config: dict[str, Any]) -> str:
    """A stable short hash of a resolved config (key order does not matter)."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return sha256_text(canonical)[:16]


def package_versions(names: Iterable[str] = _TRACKED_PACKAGES) -> dict[str, str]:
    versions = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def lock_run(out: str | Path) -> None:
    """Hold ``out`` for this process until it exits; a second process stops with a one-line error.

    An ``flock`` on ``out/.lock``, which holds the holder's pid for the message. The kernel drops
    the lock when its process dies, however it dies, so a lock left by a killed run is simply
    taken over: there is no stale state to clean. Idempotent within a process (a stage reopened
    by the same process, the nodes of ``pipeline run``).
    """
    out = Path(out)
    key = out.resolve()
    if key in _held:
        return
    out.mkdir(parents=True, exist_ok=True)
    f = open(out / LOCK_FILE, "a+", encoding="utf-8")
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        if e.errno not in (errno.EAGAIN, errno.EACCES):
            f.close()
            raise
        f.seek(0)
        holder = f.read().strip()
        f.close()
        who = f"process {holder}" if holder.isdigit() else "another process"
        raise UserError(
            f"{out} is being written by {who}; wait for it to finish (or stop it), or choose another --out"
        ) from None
    f.seek(0)
    f.truncate()
    f.write(f"{os.getpid()}\n")
    f.flush()
    _held[key] = f


def release_run(out: str | Path) -> None:
    """Let go of ``out`` before this process exits (a long-lived process done with a folder)."""
    f = _held.pop(Path(out).resolve(), None)
    if f is not None:
        f.close()


def open_run(out: str | Path, stage: str, config: dict[str, Any]) -> Path:
    """Create ``out`` for a new run, or reopen it to resume the same run; lock it (``lock_run``).

    Raises UserError when ``out`` holds a run of another stage or with other settings, so that
    nothing there is overwritten, or when another process is writing it.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} exists and is not a folder; choose another --out")
    if out.exists() and not (out / RUN_CONFIG_FILE).exists() and any(p.name != LOCK_FILE for p in out.iterdir()):
        raise UserError(f"{out} is not empty and holds no {stage} run; choose another --out")
    lock_run(out)
    cfg_path = out / RUN_CONFIG_FILE
    record = {"stage": stage, "config": config}
    if cfg_path.exists():
        previous = read_json(cfg_path)
        if previous.get("stage") != stage:
            raise UserError(
                f"{out} holds a '{previous.get('stage')}' run, not a '{stage}' run; choose another --out"
            )
        if previous.get("config") != json.loads(json.dumps(config, default=str)):
            changed = _changed_keys(previous.get("config", {}), config)
            raise UserError(
                f"{out} holds a {stage} run with other settings ({', '.join(changed) or 'config'} differ); "
                "rerun with the same settings to resume, or choose another --out"
            )
        return out
    write_json(cfg_path, record)
    return out


def _changed_keys(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    new = json.loads(json.dumps(new, default=str))
    keys = sorted(set(old) | set(new))
    return [k for k in keys if old.get(k) != new.get(k)]


def write_manifest(
    out: str | Path,
    stage: str,
    config: dict[str, Any],
    inputs: dict[str, str] | None = None,
    counts: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``manifest.json``: everything needed to re-create (and trust) this run.

    ``inputs`` maps an input's name to its hash (see ``sha256_file``/``sha256_text``).
    Secrets never belong here: configs carry the *name* of an API key variable, never its value.
    """
    manifest = {
        "stage": stage,
        "config": config,
        "config_hash": config_hash(config),
        "inputs": inputs or {},
        "counts": counts or {},
        "versions": package_versions(),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **(extra or {}),
    }
    write_json(Path(out) / MANIFEST_FILE, manifest)
    return manifest


def read_manifest(folder: str | Path, expect_stage: str | None = None) -> dict[str, Any]:
    """Read a finished run's manifest, checking that it is the stage the caller needs."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder; pass the --out folder of an earlier stage")
    path = folder / MANIFEST_FILE
    if not path.exists():
        raise UserError(f"{folder} has no {MANIFEST_FILE}: it is not a finished run (rerun its stage to finish it)")
    manifest = read_json(path)
    if expect_stage and manifest.get("stage") != expect_stage:
        raise UserError(
            f"{folder} is a '{manifest.get('stage')}' run, but a '{expect_stage}' run is needed here"
        )
    return manifest
