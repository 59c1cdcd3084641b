"""What makes facts stick, as data settings: real text mixed in at a ratio of the training
tokens (a local JSONL here; a datasets source offline is a one-line error), and a document
prefix whose tokens are packed but carry no loss."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from afpipe.errors import UserError
from afpipe.finetune.config import FinetuneConfig
from afpipe.finetune.data import IGNORE_INDEX, Document, pack, training_sequences


@pytest.fixture(scope="module")
def tokenizer(tiny_model_path: str):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_path)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok


def _cfg(**kw) -> FinetuneConfig:
    return FinetuneConfig(docs=Path("unused"), max_length=64, long_docs="split", **kw)


DOCS = [Document(f"d{i}", f"Document {i} says the lighthouse at Gull Point now shines green. " * 3) for i in range(12)]


def test_a_masked_prefix_is_packed_but_carries_no_loss() -> None:
    packed = pack([[7, 7, 1, 2, 3], [7, 7, 4, 5]], max_length=16, pad_id=0, masked=[2, 2])
    row_ids, row_labels = packed.input_ids[0].tolist(), packed.labels[0].tolist()
    assert row_ids[:9] == [7, 7, 1, 2, 3, 7, 7, 4, 5]
    assert row_labels[:9] == [IGNORE_INDEX, IGNORE_INDEX, 1, 2, 3, IGNORE_INDEX, IGNORE_INDEX, 4, 5]
    plain = pack([[7, 7, 1, 2, 3], [7, 7, 4, 5]], max_length=16, pad_id=0)
    assert packed.stats["loss_tokens"] == plain.stats["loss_tokens"] - 2


def test_doc_prefix_setting_masks_its_tokens(tokenizer) -> None:
    plain = training_sequences(_cfg(), DOCS, tokenizer)
    tagged = training_sequences(_cfg(doc_prefix="<DOCTAG>"), DOCS, tokenizer)
    n = tagged.stats["masked_prefix_tokens"]
    assert n > 0 and tagged.stats["tokens"] == plain.stats["tokens"] + n * len(DOCS)
    assert tagged.stats["loss_tokens"] == plain.stats["loss_tokens"] + len(DOCS)  # each doc's first token now has context


def test_real_text_is_mixed_at_the_ratio_asked(tokenizer, tmp_path: Path) -> None:
    source = tmp_path / "real.jsonl"
    source.write_text("".join(json.dumps({"text": f"A plain sentence about the weather, number {i}, and nothing else."}) + "\n"
                              for i in range(400)))
    mixed = training_sequences(_cfg(mix_source=str(source), mix_ratio=0.5), DOCS, tokenizer)
    mix = mixed.stats["mix"]
    assert mix["real_text_tokens"] >= mix["document_tokens"] and abs(mix["ratio_achieved"] - 0.5) < 0.05
    assert training_sequences(_cfg(), DOCS, tokenizer).stats.get("mix") is None  # off by default
    with pytest.raises(UserError, match="--mix-ratio needs --mix-source"):
        training_sequences(_cfg(mix_ratio=0.2), DOCS, tokenizer)
    with pytest.raises(UserError, match="no such file"):
        training_sequences(_cfg(mix_source=str(tmp_path / "missing.jsonl"), mix_ratio=0.2), DOCS, tokenizer)
    with pytest.raises(UserError, match="no 'body' field"):
        training_sequences(_cfg(mix_source=str(source), mix_ratio=0.2, mix_text_field="body"), DOCS, tokenizer)
