"""Where a corpus repeats itself: per document type, the share of sentences also found in
another document, and the sentences shared most, so that writing material can be widened where
it shows its seams. Reads a ``pipeline generate`` run folder.

    python bench/shared_sentences.py runs/docs                 # every type, 8 sentences each
    python bench/shared_sentences.py runs/docs --type forum-thread --top 30
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from statistics import mean


def main() -> None:
    from afpipe.generate.filters import sentence_keys
    from afpipe.generate.stats import sentence_repetition
    from afpipe.jsonl import read_jsonl

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="a pipeline generate run folder (holds docs.jsonl)")
    ap.add_argument("--type", action="append", default=[], help="only this document type (repeatable)")
    ap.add_argument("--top", type=int, default=8, help="shared sentences listed per type")
    args = ap.parse_args()

    if not (args.run / "docs.jsonl").is_file():
        sys.exit(f"error: {args.run} holds no docs.jsonl; give the folder a `pipeline generate --out` wrote")
    try:
        docs = read_jsonl(args.run / "docs.jsonl")
        texts = [d["text"] for d in docs]
    except (ValueError, KeyError, TypeError) as e:
        sys.exit(f"error: {args.run / 'docs.jsonl'} is not a documents file ({type(e).__name__}: {e})")
    keys = [sentence_keys(t) for t in texts]
    in_docs = Counter(k for ks in keys for k in ks)
    overall = sentence_repetition(texts)["shared_sentence_share"]  # the stats.json figure
    print(f"{len(docs)} documents; shared-sentence share {overall:.3f}")
    rows = []
    for t in sorted({d["type"] for d in docs}):
        if args.type and t not in args.type:
            continue
        own = [ks for d, ks in zip(docs, keys) if d["type"] == t and ks]
        share = mean(sum(in_docs[k] > 1 for k in ks) / len(ks) for ks in own)
        top = Counter(k for ks in own for k in ks if in_docs[k] > 1)
        rows.append((share, t, len(own), top))
    for share, t, n, top in sorted(rows, reverse=True):
        print(f"\n{t}: {n} documents, shared-sentence share {share:.3f}")
        for k, c in top.most_common(args.top):
            print(f"  {in_docs[k]:4d} docs  {k}")
    print(json.dumps({t: round(s, 4) for s, t, _, _ in rows}))


if __name__ == "__main__":
    main()
