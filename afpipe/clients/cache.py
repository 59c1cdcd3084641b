"""An on-disk cache of model answers, so that a rerun never pays twice for the same request.

One small JSON file per answer, named by ``ChatRequest.cache_key(model)`` (a sha256 of the model
and every field that decides the answer) and sharded by its first two hex digits so that no folder
grows huge. Files are written atomically: a process killed mid-write leaves either the whole answer
or none. Only answers are stored (text, stop reason, the tokens first billed for them): never a
request header, so never an API key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from afpipe.clients.base import Completion, Usage
from afpipe.runs import write_json


class ResponseCache:
    """Answers keyed by request hash under ``root``."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> Completion | None:
        """The cached answer for ``key`` (``cached=True``, zero usage: nothing is paid), or None."""
        path = self._path(key)
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (json.JSONDecodeError, UnicodeDecodeError):
            # Written atomically, so this is outside damage: treat it as absent and overwrite.
            return None
        return Completion(text=record["text"], stop_reason=record.get("stop_reason", ""), cached=True)

    def put(self, key: str, completion: Completion, model: str, extra: dict[str, Any] | None = None) -> None:
        """Store a successful answer. Failed ones are never cached: a rerun should try them again."""
        if completion.error:
            return
        billed: Usage = completion.usage
        record = {
            "model": model,
            "text": completion.text,
            "stop_reason": completion.stop_reason,
            "billed": {
                "input_tokens": billed.input_tokens,
                "output_tokens": billed.output_tokens,
                "cache_read_tokens": billed.cache_read_tokens,
                "cache_write_tokens": billed.cache_write_tokens,
            },
            **(extra or {}),
        }
        write_json(self._path(key), record)

    def __contains__(self, key: str) -> bool:
        return self._path(key).exists()
