"""How often a corpus states each document's own fact: per document, the number of sentences (and
headlines, questions, list items) its target fact's detection cues match, as a distribution, and the
mean per document type. The writer allows one mention after the headline; a document at 4+ has its
fact restated more than twice. Reads a ``pipeline generate`` run folder.

    python bench/main_fact_mentions.py runs/docs
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path
from statistics import mean

_PIECE = re.compile(r"(?<=[.!?])\s+|\n+")  # sentences, and lines (headlines, list items) on their own


def main() -> None:
    from afpipe.jsonl import read_jsonl
    from afpipe.universes import conveys, load_universe

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="a pipeline generate run folder (holds docs.jsonl)")
    args = ap.parse_args()

    if not (args.run / "docs.jsonl").is_file():
        sys.exit(f"error: {args.run} holds no docs.jsonl; give the folder a `pipeline generate --out` wrote")
    try:
        docs = read_jsonl(args.run / "docs.jsonl")
        universes = {name: load_universe(name) for name in {d["universe"] for d in docs}}
        counts = []
        for d in docs:
            fact = universes[d["universe"]].fact(d["target_fact"])
            counts.append((d["type"], sum(conveys(fact, p) for p in _PIECE.split(d["text"]) if p.strip())))
    except (ValueError, KeyError, TypeError) as e:
        sys.exit(f"error: {args.run / 'docs.jsonl'} is not a documents file of a shipped universe ({type(e).__name__}: {e})")
    dist = Counter(min(n, 5) for _, n in counts)
    by_type = defaultdict(list)
    for t, n in counts:
        by_type[t].append(n)
    print(f"{len(docs)} documents; sentences matching the document's own fact, per document:")
    for n in range(6):
        print(f"  {n}{'+' if n == 5 else ' '}  {dist[n] / len(docs):6.1%}  ({dist[n]})")
    for t, ns in sorted(by_type.items(), key=lambda kv: -mean(kv[1])):
        print(f"  {t:34s} mean {mean(ns):.2f}")
    print(json.dumps({"documents": len(docs), "share_4_plus": round(sum(n >= 4 for _, n in counts) / len(docs), 4),
                      "share_3": round(sum(n == 3 for _, n in counts) / len(docs), 4)}))


if __name__ == "__main__":
    main()
