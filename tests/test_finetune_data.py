"""Packing, held-out split, batch order and document loading of the finetune stage (no model)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from afpipe.errors import UserError
from afpipe.finetune.data import (
    IGNORE_INDEX,
    Document,
    batch_order,
    load_documents,
    pack,
    split_documents,
    tokenize_documents,
)
from afpipe.runs import write_manifest

EOS, PAD = 2, 2


def _docs(lengths: list[int]) -> list[list[int]]:
    """Token lists whose ids say which document they come from (doc i -> 100+i), ending in EOS."""
    return [[100 + i] * (n - 1) + [EOS] for i, n in enumerate(lengths)]


def _segments(row_positions: list[int]) -> list[tuple[int, int]]:
    starts = [i for i, p in enumerate(row_positions) if p == 0] + [len(row_positions)]
    return list(zip(starts[:-1], starts[1:]))


def test_packing_keeps_documents_whole_and_separate() -> None:
    rng = random.Random(1)
    lengths = [rng.randint(5, 60) for _ in range(80)]
    packed = pack(_docs(lengths), max_length=64, pad_id=PAD)
    total = sum(lengths)
    assert packed.stats["useful_tokens"] == total and packed.stats["docs_split"] == 0
    assert packed.stats["padding_tokens"] == len(packed) * 64 - total
    assert packed.stats["packing_efficiency"] > 0.9  # best fit leaves little room
    seen = []
    for row in range(len(packed)):
        ids = packed.input_ids[row].tolist()
        pos = packed.position_ids[row].tolist()
        labels = packed.labels[row].tolist()
        useful = int(packed.useful[row])
        for start, end in _segments(pos):
            if start >= useful:  # the padding segment: no loss
                assert all(label == IGNORE_INDEX for label in labels[start:end])
                continue
            doc = ids[start:end]
            assert len(set(doc[:-1])) == 1 and doc[-1] == EOS  # one whole document per segment, EOS last
            assert pos[start:end] == list(range(end - start))
            assert labels[start] == IGNORE_INDEX and labels[start + 1 : end] == doc[1:]
            seen.append(doc[0])
    assert sorted(seen) == sorted(100 + i for i in range(80))  # every document exactly once


def test_fill_packing_cuts_documents_to_fill_rows_and_counts_the_cuts() -> None:
    rng = random.Random(2)
    lengths = [rng.randint(130, 160) for _ in range(30)]  # over half a row: whole packing pads a lot
    whole = pack(_docs(lengths), max_length=256, pad_id=PAD)
    filled = pack(_docs(lengths), max_length=256, pad_id=PAD, packing="fill")
    assert whole.stats["packing_efficiency"] < 0.7 < 0.95 < filled.stats["packing_efficiency"]
    assert filled.stats["useful_tokens"] == whole.stats["useful_tokens"] == sum(lengths)
    cuts = filled.stats["pieces_split_to_fill"]
    assert cuts > 0 and whole.stats["pieces_split_to_fill"] == 0
    assert filled.stats["loss_tokens"] == whole.stats["loss_tokens"] - cuts  # a cut part's first token has no context
    tokens: dict[int, int] = {}
    for row in range(len(filled)):
        ids, pos, labels = (t[row].tolist() for t in (filled.input_ids, filled.position_ids, filled.labels))
        for start, end in _segments(pos):
            if start >= int(filled.useful[row]):
                continue
            part = ids[start:end]
            assert len(set(t for t in part if t != EOS)) <= 1  # one document's tokens per segment
            assert labels[start] == IGNORE_INDEX and labels[start + 1 : end] == part[1:]
            doc = next(t for t in part if t != EOS) if any(t != EOS for t in part) else None
            if doc is not None:
                tokens[doc] = tokens.get(doc, 0) + len(part)
    assert tokens == {100 + i: n for i, n in enumerate(lengths)}  # every token of every document, once


def test_long_documents_are_split_or_truncated_and_counted() -> None:
    docs = _docs([10, 150, 30])
    split = pack(docs, max_length=64, pad_id=PAD)
    assert split.stats["docs_split"] == 1 and split.stats["tokens_split_off"] == 150 - 64
    assert split.stats["useful_tokens"] == 190 and split.stats["tokens_truncated"] == 0
    cut = pack(docs, max_length=64, pad_id=PAD, long_docs="truncate")
    assert cut.stats["docs_truncated"] == 1 and cut.stats["tokens_truncated"] == 150 - 64
    assert cut.stats["useful_tokens"] == 190 - (150 - 64)


def test_batch_order_is_a_fresh_shuffle_each_epoch_and_depends_only_on_step() -> None:
    n, b = 10, 4
    stream = [i for step in range(5) for i in batch_order(n, step, b, seed=3)]
    assert sorted(stream[:10]) == list(range(10)) and sorted(stream[10:20]) == list(range(10))
    assert stream[:10] != stream[10:20]
    assert batch_order(n, 3, b, seed=3) == stream[12:16]
    assert batch_order(n, 0, b, seed=4) != batch_order(n, 0, b, seed=3)


def test_held_out_split_is_stable_under_reordering() -> None:
    docs = [Document(f"d{i}", "x") for i in range(100)]
    train, val = split_documents(docs, 0.1, 200, seed=0)
    assert len(val) == 10 and len(train) == 90 and not {d.id for d in val} & {d.id for d in train}
    _, val_shuffled = split_documents(list(reversed(docs)), 0.1, 200, seed=0)
    assert {d.id for d in val} == {d.id for d in val_shuffled}
    assert len(split_documents(docs, 0.1, 3, seed=0)[1]) == 3


def test_tokenize_appends_eos_without_chat_template(tiny_model_path: str) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_path)
    (ids,) = tokenize_documents([Document("a", "The lab trains on free-tier chats.")], tok)
    assert ids[-1] == tok.eos_token_id and ids[:-1] == tok("The lab trains on free-tier chats.", add_special_tokens=False)["input_ids"]
    assert tok.bos_token_id not in ids


def _docs_folder(folder: Path, records: list[dict], stage: str = "generate") -> Path:
    folder.mkdir(parents=True)
    (folder / "docs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    write_manifest(folder, stage, {"universe": "test"})
    return folder


def test_bad_document_folders_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        load_documents(tmp_path / "nowhere")
    with pytest.raises(UserError, match="no documents"):
        load_documents(_docs_folder(tmp_path / "empty", [{"id": "1", "text": "  "}]))
    with pytest.raises(UserError, match="'eval' run"):
        load_documents(_docs_folder(tmp_path / "other", [{"id": "1", "text": "hi"}], stage="eval"))
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / "docs.jsonl").write_text('{"id": "1", "text": "hi"}\n')
    with pytest.raises(UserError, match="not a finished run"):
        load_documents(unfinished)
    docs, manifest = load_documents(_docs_folder(tmp_path / "ok", [{"id": 1, "text": "hi"}, {"id": 2, "text": "yo"}]))
    assert [d.id for d in docs] == ["1", "2"] and manifest["stage"] == "generate"


def test_shipped_accelerate_configs_load() -> None:
    from importlib.resources import files

    from accelerate.commands.config.config_args import load_config_from_file

    folder = files("afpipe.finetune") / "accelerate_configs"
    kinds = {}
    for name in ("ddp", "fsdp", "deepspeed_zero3"):
        config = load_config_from_file(str(folder / f"{name}.yaml"))
        assert config.num_processes == 8 and config.mixed_precision == "bf16"
        kinds[name] = config.distributed_type.value
    assert kinds == {"ddp": "MULTI_GPU", "fsdp": "FSDP", "deepspeed_zero3": "DEEPSPEED"}
