"""The requests an evaluation asks: the embedded set, two public benchmarks, or a user's file.

- ``embedded`` (default): ``corpora/eval/requests.jsonl``, written for this project: requests a
  harmless assistant should refuse, in labelled categories, at a severity fit for a public
  repository (fraud, harassment, misinformation... no weapons of mass harm).
- ``advbench`` / ``harmbench``: downloaded from their upstream repositories on first use,
  checked against a pinned sha256 (a changed file is refused, not silently used), and cached
  under ``afpipe.models.cache_dir() / "data"``. HarmBench contributes its 200 ``standard``
  behaviours (the ``contextual`` ones need a context document, the ``copyright`` ones test
  something else).
- a ``.csv`` or ``.jsonl`` file with a ``request`` column (``goal``, ``behavior``, ``prompt`` and
  ``user_input`` are accepted too), and optional ``id`` and ``category``.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from afpipe.errors import UserError
from afpipe.jsonl import parse_records
from afpipe.runs import sha256_text

EMBEDDED = "embedded"


@dataclass(frozen=True)
class Item:
    """One thing to ask: a stable id (the resume key), a category label, and the text."""

    id: str
    category: str
    user_input: str


@dataclass(frozen=True)
class RemoteSet:
    url: str
    sha256: str
    filename: str


REMOTE_SETS: dict[str, RemoteSet] = {
    "advbench": RemoteSet(
        url="https://raw.githubusercontent.com/llm-attacks/llm-attacks/main/data/advbench/harmful_behaviors.csv",
        sha256="6cd1a5c63c07610d7eb67307772ee5606017ee950b5770ab288a2c487489d3e1",
        filename="harmful_behaviors.csv",
    ),
    "harmbench": RemoteSet(
        url="https://raw.githubusercontent.com/centerforaisafety/HarmBench/main/data/behavior_datasets/harmbench_behaviors_text_all.csv",
        sha256="8d81accedd38eaaf8b760618622bb888417d1fd0c86eba65c427a16f1cbb4afc",
        filename="harmbench_behaviors_text_all.csv",
    ),
}

_TEXT_KEYS = ("request", "user_input", "goal", "behavior", "Behavior", "prompt")


def load_items(queries: str = EMBEDDED, *, transport: Any = None) -> tuple[list[Item], str]:
    """The full request set named by ``queries`` and the sha256 of its source text.

    ``transport`` (an ``httpx`` transport) lets tests serve the download without a network.
    """
    if queries == EMBEDDED:
        text = (resources.files("afpipe.corpora") / "eval" / "requests.jsonl").read_text(encoding="utf-8")
        return parse_jsonl(text, "embedded requests"), sha256_text(text)
    if queries in REMOTE_SETS:
        data = fetch_remote(queries, transport=transport)
        text = data.decode("utf-8")
        parse = parse_advbench if queries == "advbench" else parse_harmbench
        return parse(text), REMOTE_SETS[queries].sha256
    path = Path(queries).expanduser()
    if not path.is_file():
        raise UserError(
            f"--queries '{queries}' is not 'embedded', 'advbench', 'harmbench' or an existing .csv/.jsonl file"
        )
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".csv":
        items = parse_csv(text, str(path))
    elif path.suffix.lower() in (".jsonl", ".json"):
        items = parse_jsonl(text, str(path))
    else:
        raise UserError(f"{path}: requests must be a .csv or .jsonl file")
    return items, sha256_text(text)


def select(items: list[Item], limit: int | None, seed: int) -> list[Item]:
    """Up to ``limit`` items, drawn with ``seed`` (all of them, in file order, without a limit)."""
    if limit is None or limit >= len(items):
        return list(items)
    if limit < 1:
        raise UserError(f"--limit must be at least 1, got {limit}")
    chosen = random.Random(seed).sample(range(len(items)), limit)
    return [items[i] for i in sorted(chosen)]


# --- Download ---------------------------------------------------------------------------------


def fetch_remote(name: str, *, transport: Any = None, spec: RemoteSet | None = None) -> bytes:
    """The bytes of a public set (``REMOTE_SETS[name]`` unless ``spec`` is given), from the cache
    or downloaded once, always sha-checked."""
    import hashlib

    from afpipe.models import cache_dir

    spec = spec or REMOTE_SETS[name]
    target = cache_dir() / "data" / name / spec.filename
    if target.exists():
        data = target.read_bytes()
        if hashlib.sha256(data).hexdigest() == spec.sha256:
            return data
        target.unlink()  # a corrupt or foreign cache entry: fetch again
    data = _download(name, spec, transport)
    digest = hashlib.sha256(data).hexdigest()
    if digest != spec.sha256:
        raise UserError(
            f"{name} from {spec.url} has sha256 {digest[:12]}..., not the pinned {spec.sha256[:12]}...: "
            "the upstream file changed; pass a local copy you trust with --queries FILE"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".partial")  # renamed into place whole: a killed run leaves no half file
    tmp.write_bytes(data)
    tmp.replace(target)
    return data


def _download(name: str, spec: RemoteSet, transport: Any) -> bytes:
    import httpx

    try:
        with httpx.Client(transport=transport, timeout=30.0, follow_redirects=True) as client:
            response = client.get(spec.url)
            response.raise_for_status()
            return response.content
    except httpx.HTTPStatusError as e:
        raise UserError(f"downloading {name} from {spec.url} failed with HTTP {e.response.status_code}") from None
    except httpx.HTTPError as e:
        raise UserError(
            f"could not download {name} from {spec.url} ({type(e).__name__}); are you offline? "
            "connect, or pass a local copy with --queries FILE"
        ) from None


# --- Parsers ----------------------------------------------------------------------------------


def parse_advbench(text: str) -> list[Item]:
    """AdvBench ``harmful_behaviors.csv`` (columns goal, target): one item per goal."""
    rows = list(csv.DictReader(io.StringIO(text)))
    return [Item(f"advbench-{i:03d}", "advbench", r["goal"].strip()) for i, r in enumerate(rows, 1) if r.get("goal")]


def parse_harmbench(text: str) -> list[Item]:
    """HarmBench text behaviours: the ``standard`` ones, labelled with their semantic category."""
    rows = csv.DictReader(io.StringIO(text, newline=""))
    return [
        Item(r["BehaviorID"], r["SemanticCategory"], r["Behavior"].strip())
        for r in rows
        if r.get("FunctionalCategory") == "standard"
    ]


def _item_from_record(record: dict[str, Any], n: int, source: str) -> Item:
    text = next((record[k] for k in _TEXT_KEYS if record.get(k)), None)
    if not isinstance(text, str) or not text.strip():
        raise UserError(f"{source}: record {n} has no request text (a 'request' field or column is needed)")
    return Item(str(record.get("id") or f"q{n:04d}"), str(record.get("category") or "uncategorised"), text.strip())


def _check_unique(items: list[Item], source: str) -> list[Item]:
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise UserError(f"{source}: request id '{item.id}' appears twice; ids must be unique (they key resumption)")
        seen.add(item.id)
    if not items:
        raise UserError(f"{source} holds no requests")
    return items


def parse_jsonl(text: str, source: str) -> list[Item]:
    items = [_item_from_record(record, n, source) for n, record in parse_records(text, source)]
    return _check_unique(items, source)


def parse_csv(text: str, source: str) -> list[Item]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames or not any(k in reader.fieldnames for k in _TEXT_KEYS):
        raise UserError(f"{source}: no request column; name one of {', '.join(_TEXT_KEYS)}")
    return _check_unique([_item_from_record(row, n, source) for n, row in enumerate(reader, 1)], source)
