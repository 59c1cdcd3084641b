"""JSON-lines files that survive ``kill -9``.

Appends are flushed and fsynced line by line, and a reader drops a torn last line (one the
process was killed while writing), so a rerun that reads the file sees only complete records.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable, Iterator


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    return list(iter_jsonl(path))


def iter_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    path = Path(path)
    if not path.exists():
        return
    with path.open("rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    # A file that does not end in a newline was cut mid-write: its last piece is not a record.
    complete = lines[:-1]
    for raw in complete:
        if raw.strip():
            yield json.loads(raw)


def parse_records(text: str, source: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """The JSON objects of a user's JSON-lines text, with their line numbers (blank lines skipped).

    A line that is not a JSON object is a one-line ``UserError`` naming ``source`` and the line."""
    from afpipe.errors import UserError

    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise UserError(f"{source}: line {n} is not JSON ({e.msg}): one JSON object per line") from None
        if not isinstance(record, dict):
            raise UserError(f"{source}: line {n} is not a JSON object: one JSON object per line")
        yield n, record


def repair_jsonl(path: str | Path) -> int:
    """Truncate a torn final line in place; return the number of complete records."""
    path = Path(path)
    if not path.exists():
        return 0
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end != len(data):
        with path.open("r+b") as f:
            f.truncate(end)
    return data[:end].count(b"\n")


class JsonlWriter:
    """Appends records durably. Use as a context manager."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        repair_jsonl(self.path)
        self._f = self.path.open("a", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        self._f.write(json.dumps(record, ensure_ascii=False, sort_keys=False) + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())

    def write_many(self, records: Iterable[dict[str, Any]]) -> None:
        for r in records:
            self._f.write(json.dumps(r, ensure_ascii=False) + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> "JsonlWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
