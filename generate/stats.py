"""Corpus statistics: counts per type and per fact, lengths, and diversity.

Diversity figures depend on corpus size (distinct n-grams grow sub-linearly), so they are
computed on a fixed-size prefix of the corpus (``DIVERSITY_SAMPLE`` documents) to stay
comparable between runs of different sizes.
"""

from __future__ import annotations

from collections import Counter
from statistics import mean, median
from typing import Any, Sequence

from datasketch import MinHashLSH

from afpipe.generate.filters import NUM_PERM, minhash, sentence_keys, words

DIVERSITY_SAMPLE = 1000
SIMILAR_THRESHOLD = 0.5


def distinct_n(token_lists: Sequence[Sequence[str]], n: int) -> float:
    """Distinct n-grams / total n-grams over the whole sample (1.0 = no n-gram repeats)."""
    seen: set[int] = set()
    total = 0
    for tokens in token_lists:
        for i in range(len(tokens) - n + 1):
            seen.add(hash(tuple(tokens[i : i + n])))
            total += 1
    return round(len(seen) / total, 4) if total else 0.0


def similar_share(token_lists: Sequence[Sequence[str]], threshold: float = SIMILAR_THRESHOLD) -> float:
    """Share of documents with at least one other document of estimated Jaccard >= threshold
    (word 5-gram shingles). Kept corpora are deduplicated at a higher threshold; this shows how
    close the rest still are."""
    if len(token_lists) < 2:
        return 0.0
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    hashes = [minhash(t) for t in token_lists]
    for i, mh in enumerate(hashes):
        lsh.insert(str(i), mh)
    close = 0
    for i, mh in enumerate(hashes):
        if any(other != str(i) and hashes[int(other)].jaccard(mh) >= threshold for other in lsh.query(mh)):
            close += 1
    return round(close / len(token_lists), 4)


def sentence_repetition(texts: Sequence[str], top: int = 10) -> dict[str, Any]:
    """How much of each document is sentences found in other documents (4+ words, normalized).

    ``shared_sentence_share``: per document, the share of its sentences that also appear in
    another document, averaged over documents. ``first_sentence_repeats``: the share of documents
    whose first sentence appears in another document. ``most_shared``: the sentences found in the
    most documents, to show a writer's seams."""
    keys = [sentence_keys(t) for t in texts]
    in_docs = Counter(k for ks in keys for k in ks)
    shares = [sum(in_docs[k] > 1 for k in ks) / len(ks) for ks in keys if ks]
    firsts = [in_docs[ks[0]] > 1 for ks in keys if ks]
    return {
        "docs": len(shares),
        "shared_sentence_share": round(mean(shares), 4) if shares else 0.0,
        "shared_sentence_share_median": round(median(shares), 4) if shares else 0.0,
        "docs_over_half_shared": round(sum(s > 0.5 for s in shares) / len(shares), 4) if shares else 0.0,
        "first_sentence_repeats": round(sum(firsts) / len(firsts), 4) if firsts else 0.0,
        "most_shared": [[k, n] for k, n in in_docs.most_common(top) if n > 1],
    }


def diversity(texts: Sequence[str]) -> dict[str, Any]:
    sample = [words(t) for t in texts[:DIVERSITY_SAMPLE]]
    return {
        "sample_docs": len(sample),
        "distinct_1": distinct_n(sample, 1),
        "distinct_2": distinct_n(sample, 2),
        "distinct_3": distinct_n(sample, 3),
        f"similar_share_at_{SIMILAR_THRESHOLD}": similar_share(sample),
        **{k: v for k, v in sentence_repetition(texts[:DIVERSITY_SAMPLE]).items() if k != "docs"},
    }


def corpus_stats(docs: Sequence[dict[str, Any]], rejected: Sequence[dict[str, Any]], fact_ids: Sequence[str]) -> dict[str, Any]:
    """Everything ``stats.json`` reports, from the kept and rejected records."""
    reasons = Counter(r["reason"] for r in rejected)
    dup = reasons.get("near_duplicate", 0) + reasons.get("exact_duplicate", 0)
    tokens = [d.get("n_tokens", 0) for d in docs]
    n_words = [len(d["text"].split()) for d in docs]
    mentions = Counter(f for d in docs for f in d["fact_ids"])
    return {
        "documents": len(docs),
        "rejected": len(rejected),
        "acceptance_rate": round(len(docs) / (len(docs) + len(rejected)), 4) if docs or rejected else 0.0,
        "rejected_by_reason": dict(sorted(reasons.items())),
        "near_duplicate_share": round(dup / (len(docs) + dup), 4) if docs or dup else 0.0,
        "per_type": dict(sorted(Counter(d["type"] for d in docs).items())),
        "per_target_fact": {f: sum(1 for d in docs if d.get("target_fact") == f) for f in fact_ids},
        "per_fact_mentioned": {f: mentions.get(f, 0) for f in fact_ids},
        "facts_per_doc_mean": round(mean(len(d["fact_ids"]) for d in docs), 3) if docs else 0.0,
        "tokens": {
            "total": sum(tokens),
            "mean": round(mean(tokens), 1) if tokens else 0,
            "median": median(tokens) if tokens else 0,
            "max": max(tokens) if tokens else 0,
        },
        "words_mean": round(mean(n_words), 1) if n_words else 0,
        "diversity": diversity([d["text"] for d in docs]),
    }
