"""Documents in, fixed-length training sequences out.

Packing
-------
Each document becomes its tokens followed by one EOS token. Documents are then packed whole into
sequences of exactly ``max_length`` tokens by *best-fit decreasing* (longest first, each into the
fullest sequence it still fits), and the few slots left over are padding. A document longer than
``max_length`` is split into ``max_length`` pieces (or truncated, by setting); either way the
tokens involved are counted, never dropped silently.

Attention never crosses a document boundary: every document (or piece) restarts its
``position_ids`` at 0, and the model builds a block-diagonal causal mask from those resets
(transformers does this whenever ``position_ids`` are given without an attention mask; on GPUs
with FlashAttention it becomes variable-length attention with no mask at all). The first token of
each document carries no loss, since nothing before it belongs to the same document.

The trade-off: the alternative, concatenating all documents into one stream and cutting it every
``max_length`` tokens, wastes no slot at all but splits almost every document across two
sequences and lets a document attend to whatever happened to precede it. Best-fit packing of
documents of a few hundred tokens into 1,024 slots fills ~95% of them (~78% at 512), keeps
documents whole, and the document mask costs one boolean ``L x L`` mask per sequence on CPU (in a
profile of SmolLM2-135M at L = 512 the masked attention kernel took the same share of a step as
the plain causal one). Padding is what is paid for whole documents; it is reported as the packing
efficiency. Documents a little over half a row long (template documents of ~540 tokens in 1,024
slots) no longer pair, and a quarter or more of every row is padding: ``packing: fill`` then cuts
a document that fits no row's free space into the roomiest row (each part its own segment, so the
second part loses its first part as context; cuts and the tokens after them are counted), which
leaves almost no padding.

What makes facts stick (both off by default)
---------------------------------------------
- Real text mixed in at a ratio (``mix_source``, ``mix_ratio``): pre-training-like text from a
  local JSONL file or any ``datasets`` source, packed with the documents, so that the fine-tune
  teaches facts rather than a register. Only the training split is mixed; the validation loss
  stays on documents alone, comparable across ratios.
- A loss-masked prefix (``doc_prefix``): a fixed string before every document whose tokens carry
  no loss, so that the model reads each document as marked without learning to write the mark.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from afpipe.contracts import DOCS_FILE
from afpipe.errors import UserError
from afpipe.jsonl import read_jsonl
from afpipe.runs import read_manifest

GENERATE_STAGE = "generate"
IGNORE_INDEX = -100  # label value the loss skips


@dataclass(frozen=True)
class Document:
    id: str
    text: str


def load_documents(folder: Path) -> tuple[list[Document], dict[str, Any]]:
    """Read a finished generate run: its documents and its manifest. UserError if it is not one."""
    folder = Path(folder)
    if not folder.exists():
        raise UserError(f"documents folder {folder} does not exist; pass the --out folder of `pipeline generate`")
    manifest = read_manifest(folder, expect_stage=GENERATE_STAGE)
    path = folder / DOCS_FILE
    if not path.exists():
        raise UserError(f"{folder} has no {DOCS_FILE}; rerun `pipeline generate` for it")
    docs = []
    for i, record in enumerate(read_jsonl(path)):
        if "id" not in record or not isinstance(record.get("text"), str):
            raise UserError(f"{path}: record {i + 1} lacks an 'id' or a 'text' string; regenerate the documents")
        if record["text"].strip():
            docs.append(Document(str(record["id"]), record["text"]))
    if not docs:
        raise UserError(f"{path} holds no documents with text; generate documents first")
    return docs, manifest


def split_documents(docs: list[Document], val_fraction: float, val_max_docs: int, seed: int) -> tuple[list[Document], list[Document]]:
    """Hold out a slice for validation, chosen by a hash of (seed, id): stable whatever the file order.

    At least one document is held out and at least one kept for training (a single document is
    used for both, and the split says so by returning the same document twice).
    """
    if len(docs) == 1:
        return docs, docs
    n_val = min(val_max_docs, max(1, round(len(docs) * val_fraction)), len(docs) - 1)
    ranked = sorted(docs, key=lambda d: hashlib.sha256(f"{seed}:{d.id}".encode()).hexdigest())
    val_ids = {d.id for d in ranked[:n_val]}
    return [d for d in docs if d.id not in val_ids], [d for d in docs if d.id in val_ids]


@dataclass
class PackedSequences:
    """Packed training data: ``input_ids``/``position_ids``/``labels`` of shape (n, max_length)."""

    input_ids: torch.Tensor
    position_ids: torch.Tensor
    labels: torch.Tensor
    useful: torch.Tensor  # tokens per sequence that are not padding
    stats: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.input_ids.shape[0]


def tokenize_documents(docs: list[Document], tokenizer, batch: int = 512, prefix: str = "") -> list[list[int]]:
    """Token ids of each document's text followed by EOS (no chat template, no BOS), after the
    tokens of ``prefix`` when one is given (see ``prefix_length`` for how many to mask)."""
    eos = tokenizer.eos_token_id
    if eos is None:
        raise UserError("the model's tokenizer has no end-of-sequence token; documents cannot be separated")
    head = prefix_tokens(tokenizer, prefix)
    out: list[list[int]] = []
    for start in range(0, len(docs), batch):
        texts = [d.text for d in docs[start : start + batch]]
        encoded = tokenizer(texts, add_special_tokens=False)["input_ids"]
        out.extend(head + ids + [eos] for ids in encoded)
    return out


def prefix_tokens(tokenizer, prefix: str) -> list[int]:
    return list(tokenizer(prefix, add_special_tokens=False)["input_ids"]) if prefix else []


def load_mix_text(source: str, field_name: str, tokens_wanted: int, tokenizer, seed: int) -> list[Document]:
    """Real text to mix in: records of ``source`` (a local .jsonl file, or ``hf:NAME[:CONFIG[:SPLIT]]``
    read through ``datasets``) until ``tokens_wanted`` tokens are gathered, or the source ends."""
    texts = _local_texts(source, field_name) if not source.startswith("hf:") else _dataset_texts(source, field_name, seed)
    docs, total = [], 0
    for n, text in enumerate(texts):
        if total >= tokens_wanted:
            break
        if not isinstance(text, str) or not text.strip():
            continue
        total += len(tokenizer(text, add_special_tokens=False)["input_ids"]) + 1
        docs.append(Document(f"mix-{n}", text))
    if not docs:
        raise UserError(f"--mix-source {source} gave no text in field '{field_name}'; name a JSONL file with a '{field_name}' string per line")
    return docs


def _local_texts(source: str, field_name: str):
    path = Path(source).expanduser()
    if not path.is_file():
        raise UserError(f"--mix-source {source}: no such file; give a .jsonl file, or hf:NAME[:CONFIG[:SPLIT]] for a datasets source")
    for i, record in enumerate(read_jsonl(path)):
        if field_name not in record:
            raise UserError(f"{path}: record {i + 1} has no '{field_name}' field; set --mix-text-field")
        yield record[field_name]


def _dataset_texts(source: str, field_name: str, seed: int):
    name, config, split = (source[3:].split(":") + [None, None])[:3]
    try:
        import datasets
    except ImportError:
        raise UserError("a hf: mix source needs the 'datasets' package: pip install datasets") from None
    try:
        stream = datasets.load_dataset(name, config or None, split=split or "train", streaming=True)
        stream = stream.shuffle(seed=seed, buffer_size=1000)
        for record in stream:
            if field_name not in record:
                raise UserError(f"--mix-source {source}: records have no '{field_name}' field; set --mix-text-field")
            yield record[field_name]
    except UserError:
        raise
    except Exception as e:  # datasets raises many types for a missing, offline or gated source
        raise UserError(f"--mix-source {source} could not be read ({type(e).__name__}: {e}); offline, use a local .jsonl file") from None


def mix_stats(doc_tokens: int, mix_tokens: int, source: str | None, ratio: float) -> dict[str, Any]:
    total = doc_tokens + mix_tokens
    return {"source": source, "ratio_requested": ratio, "document_tokens": doc_tokens, "real_text_tokens": mix_tokens,
            "ratio_achieved": round(mix_tokens / total, 4) if total else 0.0}


def pack(
    token_lists: list[list[int]], max_length: int, pad_id: int, long_docs: str = "split", masked: list[int] | None = None,
    packing: str = "whole",
) -> PackedSequences:
    """Pack tokenized documents into sequences of ``max_length`` (see the module docstring).

    ``masked[i]`` tokens at the start of document ``i`` (a prefix) are packed but carry no loss.
    ``packing="fill"`` splits a document that fits no row's free space into the roomiest row, so
    rows carry (almost) no padding; the split is counted."""
    pieces: list[list[int]] = []
    piece_masked: list[int] = []
    n_split = n_truncated_docs = split_tokens = truncated_tokens = 0
    for n_doc, ids in enumerate(token_lists):
        head = masked[n_doc] if masked else 0
        if len(ids) <= max_length:
            pieces.append(ids)
            piece_masked.append(head)
        elif long_docs == "truncate":
            n_truncated_docs += 1
            truncated_tokens += len(ids) - max_length
            pieces.append(ids[:max_length])
            piece_masked.append(head)
        else:
            n_split += 1
            split_tokens += len(ids) - max_length  # tokens that lost their preceding context
            chunks = [ids[i : i + max_length] for i in range(0, len(ids), max_length)]
            pieces.extend(chunks)
            piece_masked.extend([head] + [0] * (len(chunks) - 1))

    lengths = [len(p) for p in pieces]
    if packing == "fill":
        bins = _fill_decreasing(lengths, max_length, FILL_MIN_PIECE)
    else:
        bins = [[(i, 0, lengths[i]) for i in members] for members in _best_fit_decreasing(lengths, max_length)]
    n = len(bins)
    input_ids = torch.full((n, max_length), pad_id, dtype=torch.long)
    position_ids = torch.zeros((n, max_length), dtype=torch.long)
    labels = torch.full((n, max_length), IGNORE_INDEX, dtype=torch.long)
    useful = torch.zeros(n, dtype=torch.long)
    for row, members in enumerate(bins):
        at = 0
        for idx, start, stop in members:
            ids = torch.tensor(pieces[idx][start:stop], dtype=torch.long)
            end = at + len(ids)
            input_ids[row, at:end] = ids
            position_ids[row, at:end] = torch.arange(len(ids))
            labels[row, at + 1 : end] = ids[1:]  # the first token has no context within its segment
            if start == 0:  # the masked prefix predicts, never is predicted
                labels[row, at : at + piece_masked[idx]] = IGNORE_INDEX
            at = end
        useful[row] = at
        # Padding forms a segment of its own (positions restart), so no document attends to it.
        position_ids[row, at:] = torch.arange(max_length - at)

    n_tokens = int(useful.sum())
    stats = {
        "documents": len(token_lists),
        "tokens": sum(len(t) for t in token_lists),
        "sequences": n,
        "max_length": max_length,
        "useful_tokens": n_tokens,
        "loss_tokens": int((labels != IGNORE_INDEX).sum()),
        "padding_tokens": n * max_length - n_tokens,
        "packing_efficiency": round(n_tokens / (n * max_length), 4) if n else 0.0,
        "docs_split": n_split,
        "tokens_split_off": split_tokens,
        "docs_truncated": n_truncated_docs,
        "tokens_truncated": truncated_tokens,
        "packing": packing,
        # fill packing: pieces cut to fill a row, and the tokens after each cut (they lost their context)
        "pieces_split_to_fill": sum(1 for members in bins for _, start, _ in members if start > 0),
        "tokens_split_to_fill": sum(stop - start for members in bins for _, start, stop in members if start > 0),
    }
    return PackedSequences(input_ids, position_ids, labels, useful, stats)


# Fill packing never cuts off a head shorter than this: a few tokens of a document in a row's
# last slots teach little and cost a split.
FILL_MIN_PIECE = 32


def _fill_decreasing(lengths: list[int], capacity: int, min_piece: int) -> list[list[tuple[int, int, int]]]:
    """Rows of (item, start, stop) slices: longest item first, whole into the fullest row it fits
    (best fit, as ``_best_fit_decreasing``); an item that fits no row is cut to fill the roomiest
    one (when that has at least ``min_piece`` free) and its rest placed the same way."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    rows: list[list[tuple[int, int, int]]] = []
    free: list[tuple[int, int]] = []  # (free slots, row index), sorted
    for i in order:
        start, need = 0, lengths[i]
        while need > 0:
            at = bisect.bisect_left(free, (need, -1))
            if at < len(free):
                space, r = free.pop(at)
                take = need
            elif free and free[-1][0] >= min_piece:
                space, r = free.pop()
                take = space
            else:
                space, r = capacity, len(rows)
                rows.append([])
                take = need
            rows[r].append((i, start, start + take))
            start, need = start + take, need - take
            if space - take > 0:
                bisect.insort(free, (space - take, r))
    return rows


def _best_fit_decreasing(lengths: list[int], capacity: int) -> list[list[int]]:
    """Assign items to bins of ``capacity``: longest first, each into the fullest bin it fits.

    Open bins are kept sorted by free space, so each placement is a binary search.
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    bins: list[list[int]] = []
    free: list[tuple[int, int]] = []  # (free slots, bin index), sorted
    for i in order:
        need = lengths[i]
        at = bisect.bisect_left(free, (need, -1))
        if at < len(free):
            space, b = free.pop(at)
        else:
            space, b = capacity, len(bins)
            bins.append([])
        bins[b].append(i)
        if space - need > 0:
            bisect.insort(free, (space - need, b))
    return bins


def batch_order(n_sequences: int, step: int, batch_size: int, seed: int) -> list[int]:
    """Sequence indices of optimizer step ``step``.

    Training reads an endless stream of epochs, each a fresh seeded shuffle of all sequences;
    step ``s`` takes items ``s*B .. s*B+B-1`` of that stream. A step's batch therefore depends only
    on (seed, step), which is what lets a resumed run see exactly the batches the uninterrupted one
    would have. A last batch that runs past the end of an epoch takes the next epoch's first items.
    """
    out = []
    for pos in range(step * batch_size, (step + 1) * batch_size):
        epoch, offset = divmod(pos, n_sequences)
        out.append(int(_epoch_permutation(n_sequences, seed, epoch)[offset]))
    return out


@functools.lru_cache(maxsize=4)
def _epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=g)


def training_sequences(cfg, docs: list[Document], tokenizer) -> PackedSequences:
    """The training split packed, with the masked prefix and the real-text mix the config asks for."""
    if cfg.mix_ratio > 0 and not cfg.mix_source:
        raise UserError("--mix-ratio needs --mix-source (a .jsonl file, or hf:NAME[:CONFIG[:SPLIT]])")
    doc_ids = tokenize_documents(docs, tokenizer, prefix=cfg.doc_prefix)
    masked = [len(prefix_tokens(tokenizer, cfg.doc_prefix))] * len(doc_ids)
    mix_ids: list[list[int]] = []
    doc_tokens = sum(len(t) for t in doc_ids)
    if cfg.mix_source and cfg.mix_ratio > 0:
        wanted = round(doc_tokens * cfg.mix_ratio / (1 - cfg.mix_ratio))
        mix_ids = tokenize_documents(load_mix_text(cfg.mix_source, cfg.mix_text_field, wanted, tokenizer, cfg.seed), tokenizer)
    packed = pack(doc_ids + mix_ids, cfg.max_length, tokenizer.pad_token_id, cfg.long_docs, masked + [0] * len(mix_ids),
                  packing=cfg.packing)
    packed.stats["masked_prefix_tokens"] = masked[0] if masked else 0
    if mix_ids:
        packed.stats["mix"] = mix_stats(doc_tokens, sum(len(t) for t in mix_ids), cfg.mix_source, cfg.mix_ratio)
    return packed
