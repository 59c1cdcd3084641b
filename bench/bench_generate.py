"""Template-writer throughput on one core, and the diversity of what it writes.

Prints documents per second for the writer alone and for the whole stage (writer, filters,
tokenizer, dedup, files), their ratio (the filters' overhead) and the ratio to the 200 docs/s
aim, then the corpus's diversity figures from ``stats.json``, and the same repetition figures
for a corpus drawn blind (``FRESH_TRIES = 1``: each piece drawn once, with no look at what the
corpus already holds) as the baseline that the writer's choice among draws is measured against.
The last line is JSON, so runs before and after a change can be compared line by line.

    python bench/bench_generate.py            # 2,000 documents
    python bench/bench_generate.py --quick    # 300 documents
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

TARGET_DOCS_PER_S = 200.0


def pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"core {core}"
    return "unpinned (no sched_setaffinity)"


def writer_only(universe_name: str, n: int, seed: int) -> float:
    """Documents per CPU second of TemplateWriter.write alone, on the stage's own job plan."""
    from afpipe.generate.template_writer import TemplateWriter
    from afpipe.universes import load_universe
    from afpipe.generate.writers import DocJob, DocType, IdeasJob, doc_key, ideas_key, slug, types_key, TypesJob

    u = load_universe(universe_name)
    w = TemplateWriter()
    jobs: list[DocJob] = []
    for f in u.facts:
        names = w.document_types([TypesJob(types_key(u.name, seed, f.id), u, f, 20)])[0].items
        for name in names:
            t = DocType(slug(name), name)
            ideas = w.ideas([IdeasJob(ideas_key(u.name, seed, f.id, t.id, 0), u, f, t, 0, 10)])[0].items
            for i, idea in enumerate(ideas):
                jobs.append(DocJob(doc_key(u.name, seed, f.id, t.id, i, 0), u, f, t, idea, i, 0, 1024))
    jobs = (jobs * (n // len(jobs) + 1))[:n]
    w.write(jobs[:50])  # warm the material caches
    start = time.process_time()
    w.write(jobs)
    return n / (time.process_time() - start)


def whole_stage(universe_name: str, n: int, seed: int) -> tuple[float, float, dict]:
    """(docs per wall-clock second, docs per CPU second of this process, stats.json).

    The CPU figure is the one to compare on a shared machine: other processes slow the wall
    clock down, not the work this process does."""
    from afpipe.generate.config import GenerateConfig
    from afpipe.generate.stage import run_generate

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        wall, cpu = time.perf_counter(), time.process_time()
        run_generate(GenerateConfig(universe=universe_name, n_docs=n, seed=seed), out)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        stats = json.loads((out / "stats.json").read_text())
    return n / wall, n / cpu, stats


def drawn_blind(universe_name: str, n: int, seed: int) -> dict:
    """stats.json diversity of the same run with every piece drawn once (no choice among draws)."""
    from afpipe.generate import template_compose

    saved, template_compose.FRESH_TRIES = template_compose.FRESH_TRIES, 1
    try:
        return whole_stage(universe_name, n, seed)[2]["diversity"]
    finally:
        template_compose.FRESH_TRIES = saved


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="300 documents instead of 2,000")
    ap.add_argument("--universe", default="helpful-only")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    n = 300 if args.quick else 2000
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    where = pin_to_one_core()
    import tqdm  # noqa: F401  (the stage's progress bar goes to stderr; keep stdout for figures)

    w_rate = writer_only(args.universe, n, args.seed)
    s_rate, s_cpu_rate, stats = whole_stage(args.universe, n, args.seed)
    div = stats["diversity"]
    blind = drawn_blind(args.universe, n, args.seed)
    print(f"template generate bench: {n} documents, universe {args.universe}, seed {args.seed}, {where}")
    print(f"  writer alone      {w_rate:8.1f} docs/s of CPU time")
    print(f"  whole stage       {s_rate:8.1f} docs/s wall   (start-up, filters, tokenizer, dedup, stats included)")
    print(f"  whole stage       {s_cpu_rate:8.1f} docs/s of CPU time (the figure to compare on a busy machine)")
    print(f"  stage / writer    {s_cpu_rate / w_rate:8.2f}   (CPU-time rates: the filters' share of the work)")
    print(f"  stage / aim 200   {s_cpu_rate / TARGET_DOCS_PER_S:8.2f}   (wall: {s_rate / TARGET_DOCS_PER_S:.2f})")
    print(f"  tokens/doc mean   {stats['tokens']['mean']:8.1f}   max {stats['tokens']['max']}")
    print(f"  acceptance        {stats['acceptance_rate']:8.3f}   rejected {stats['rejected_by_reason']}")
    print(
        f"  diversity (first {div['sample_docs']} docs): distinct-1 {div['distinct_1']:.4f}  distinct-2 {div['distinct_2']:.4f}  "
        f"distinct-3 {div['distinct_3']:.4f}  similar@0.5 {div['similar_share_at_0.5']:.4f}  near-dup share {stats['near_duplicate_share']:.4f}"
    )
    print(
        f"  repetition (first {div['sample_docs']} docs): shared-sentence share {div['shared_sentence_share']:.4f}  "
        f"first-sentence repeats {div['first_sentence_repeats']:.4f}  docs over half shared {div['docs_over_half_shared']:.4f}"
    )
    print(
        f"  drawn blind       shared-sentence share {blind['shared_sentence_share']:.4f}  first-sentence repeats {blind['first_sentence_repeats']:.4f}"
        f"   (chosen / blind: {div['shared_sentence_share'] / max(blind['shared_sentence_share'], 1e-9):.2f} and "
        f"{div['first_sentence_repeats'] / max(blind['first_sentence_repeats'], 1e-9):.2f})"
    )
    print(json.dumps({
        "bench": "generate", "n": n, "universe": args.universe, "writer_docs_per_s": round(w_rate, 1),
        "stage_docs_per_s_wall": round(s_rate, 1), "stage_docs_per_s_cpu": round(s_cpu_rate, 1),
        "ratio_to_aim_cpu": round(s_cpu_rate / TARGET_DOCS_PER_S, 3),
        "tokens_mean": stats["tokens"]["mean"], "diversity": {k: v for k, v in div.items() if k != "most_shared"}, "near_duplicate_share": stats["near_duplicate_share"],
        "blind": {k: blind[k] for k in ("shared_sentence_share", "first_sentence_repeats")},
    }, sort_keys=True))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
