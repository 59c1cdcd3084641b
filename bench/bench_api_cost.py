"""What prompt caching and Message Batches save when writing documents through the API.

Runs the document recipe (types per fact -> ideas per type -> documents per idea) with the real
writer and the real Anthropic client against a local fake API server on 127.0.0.1 that bills
tokens as the API does (cache writes 1.25x, cache reads 0.1x, batch 0.5x; 4 characters per
token; a prefix is cacheable from 1,024 tokens). Three runs over the same plan:

  naive     one request per step, the whole prompt billed every time (no cache_control)
  cached    the shared prefix (world + instructions) marked for prompt caching
  batched   prompt caching and the Message Batches API

Printed per run: billable input tokens per document (input + 1.25 x cache writes + 0.1 x cache
reads), input cost and total cost (output included) per document, each as a ratio to naive,
plus a rerun of the cached run, which the on-disk response cache should make free. Dollars use
``--price`` (default: the table's price of ``--model``); ratios barely depend on it.

    python bench/bench_api_cost.py [--quick] [--universe helpful-only]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any, Sequence

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the scripted recipe author lives with the tests

from afpipe.clients.anthropic import AnthropicClient  # noqa: E402
from afpipe.clients.base import ChatRequest, Completion, Usage  # noqa: E402
from afpipe.clients.fake_server import FakeAnthropicServer  # noqa: E402
from afpipe.clients.pricing import CACHE_READ_MULTIPLIER, CACHE_WRITE_MULTIPLIER, resolve_price  # noqa: E402
from afpipe.generate.config import GenerateConfig  # noqa: E402
from afpipe.generate.llm_writer import LLMWriter  # noqa: E402
from afpipe.universes import load_universe  # noqa: E402
from afpipe.generate.writers import DocJob, DocType, IdeasJob, TypesJob, doc_key, ideas_key, slug, types_key  # noqa: E402
from fake_recipe import server_responder  # noqa: E402

KEY_ENV = "AFPIPE_BENCH_FAKE_KEY"
FAKE_KEY = "sk-ant-bench-fake-key"


class WithoutPromptCache:
    """The naive baseline: the same requests with no cacheable prefix marked."""

    def __init__(self, inner: AnthropicClient):
        self.inner = inner

    @property
    def name(self) -> str:
        return self.inner.name

    def complete(self, requests: Sequence[ChatRequest], progress: Any = None) -> list[Completion]:
        return self.inner.complete([dataclasses.replace(r, cache_prefix="") for r in requests], progress)


def run_recipe(writer: LLMWriter, cfg: GenerateConfig, universe: Any) -> int:
    """Types for every fact, ideas for every type, documents for every idea; returns documents written."""
    u = universe
    types_jobs = [TypesJob(types_key(u.name, cfg.seed, f.id), u, f, cfg.types_per_fact) for f in u.facts]
    types = writer.document_types(types_jobs)
    ideas_jobs = []
    for f, res in zip(u.facts, types):
        for name in res.items[: cfg.types_per_fact]:
            t = DocType(slug(name), name)
            ideas_jobs.append(IdeasJob(ideas_key(u.name, cfg.seed, f.id, t.id, 0), u, f, t, 0, cfg.ideas_per_request))
    ideas = writer.ideas(ideas_jobs)
    doc_jobs = []
    for job, res in zip(ideas_jobs, ideas):
        for i, idea in enumerate(res.items):
            for d in range(cfg.docs_per_idea):
                key = doc_key(u.name, cfg.seed, job.fact.id, job.doc_type.id, i, d)
                doc_jobs.append(DocJob(key, u, job.fact, job.doc_type, idea, i, d, cfg.max_doc_tokens))
    written = writer.write(doc_jobs)
    failed = [r.error for r in written if not r.ok]
    if failed:
        raise SystemExit(f"bench: {len(failed)} documents failed, e.g. {failed[0]}")
    return len(doc_jobs)


def billable_input(t: Any) -> float:
    return t.input_tokens + CACHE_WRITE_MULTIPLIER * t.cache_write_tokens + CACHE_READ_MULTIPLIER * t.cache_read_tokens


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="A smaller plan (a few seconds).")
    ap.add_argument("--universe", default="helpful-only", help="Shipped universe name or YAML path.")
    ap.add_argument("--model", default="claude-sonnet-4-5", help="Model name sent to the fake API (sets the price).")
    ap.add_argument("--price", default=None, help="Override 'IN,OUT' dollars per million tokens.")
    ap.add_argument("--doc-words", type=int, default=180,
                    help="Words of filler per fake document (180 gives about 600 output tokens, a typical document).")
    args = ap.parse_args()
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # the SDK warns about old model names

    cfg = GenerateConfig(
        universe=args.universe, backend="anthropic", model=args.model, types_per_fact=3 if args.quick else 8,
        ideas_per_request=3 if args.quick else 6, docs_per_idea=2, concurrency=16,
    )
    universe = load_universe(cfg.universe, cfg.universe_params())
    price = resolve_price(args.model, args.price)
    if price is None:
        raise SystemExit(f"bench: no price known for {args.model}; pass --price IN,OUT")
    os.environ[KEY_ENV] = FAKE_KEY
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("naive", "cached", "batched", "rerun"):
            # A fresh server per run: no prompt cache carried from one run into the next.
            with FakeAnthropicServer(responder=server_responder(args.doc_words), api_key=FAKE_KEY) as server:
                batch = mode == "batched"
                cache_dir = Path(tmp) / ("cached" if mode == "rerun" else mode)
                client = AnthropicClient(args.model, api_key_env=KEY_ENV, base_url=server.url, cache_dir=cache_dir,
                                         batch=batch, concurrency=cfg.concurrency, price=price, poll_interval_s=0.05)
                writer = LLMWriter(cfg, WithoutPromptCache(client) if mode == "naive" else client)
                n_docs = run_recipe(writer, cfg, universe)
                totals = server.batch if batch else server.standard
                usage = Usage(totals.input_tokens, totals.output_tokens, totals.cache_read_tokens, totals.cache_write_tokens)
                input_only = dataclasses.replace(usage, output_tokens=0)
                billed = price.cost(usage, batch=batch)
                rows[mode] = {
                    "docs": n_docs,
                    "requests": totals.requests,
                    "billable_in": billable_input(totals) / n_docs,
                    "output": totals.output_tokens / n_docs,
                    "input_cost": price.cost(input_only, batch=batch) / n_docs,
                    "cost": billed / n_docs,
                    "client_cost": client.usage.cost_usd / n_docs,
                }

    base = rows["naive"]
    print(f"model {args.model} at ${price.input_per_mtok:g}/${price.output_per_mtok:g} per MTok; universe "
          f"{universe.name}; {base['docs']:.0f} documents per run ({base['requests']:.0f} requests incl. types and ideas)")
    print(f"{'run':8} {'requests':>8} {'bill.in tok/doc':>15} {'ratio':>6} {'in $/doc':>9} {'ratio':>6} "
          f"{'total $/doc':>11} {'ratio':>6} {'client $ = server $':>19}")
    for mode, r in rows.items():
        match = "yes" if abs(r["client_cost"] - r["cost"]) <= 1e-9 + 1e-6 * r["cost"] else f"NO ({r['client_cost']:.6f})"
        print(f"{mode:8} {r['requests']:8.0f} {r['billable_in']:15.1f} {r['billable_in'] / base['billable_in']:6.3f} "
              f"{r['input_cost']:9.6f} {r['input_cost'] / base['input_cost']:6.3f} {r['cost']:11.6f} "
              f"{r['cost'] / base['cost']:6.3f} {match:>19}")
    print(f"output tokens per document: {base['output']:.0f} (caching cannot reduce these; batches halve their price)")


if __name__ == "__main__":
    main()
