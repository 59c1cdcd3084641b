"""The recipe's fast paths give the plain path's results.

- The loss from hidden states and head weights, a chunk at a time, equals the loss from logits.
- Attention computed one document at a time equals each document run on its own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from afpipe.finetune.config import FinetuneConfig
from tests.test_finetune import FAST, make_docs


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_docs(tmp_path_factory.mktemp("docs") / "docs", n=24)


def _recipe(cfg: FinetuneConfig, out: Path, model_path: str):
    from accelerate import Accelerator
    from transformers import AutoTokenizer

    from afpipe.finetune.data import load_documents, pack, tokenize_documents
    from afpipe.finetune.recipe import FinetuneRecipe, mixed_precision_for

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    data = pack(tokenize_documents(load_documents(cfg.docs)[0], tokenizer), cfg.max_length, tokenizer.eos_token_id, cfg.long_docs)
    # The precision every in-process run of the suite uses (accelerate fixes it once per process).
    accelerator = Accelerator(mixed_precision=mixed_precision_for(cfg.precision))
    recipe = FinetuneRecipe(cfg, out, model_path, data, data, micro=2)
    recipe.setup(accelerator)
    return recipe, data


def _loss_and_grads(recipe, data, rows: list[int]):
    recipe.model.zero_grad()
    summed = recipe._loss_sum(rows, data)
    summed.backward()
    grads = {n: p.grad.float().clone() for n, p in recipe.model.named_parameters() if p.requires_grad}
    return float(summed), grads


@pytest.mark.parametrize("method", ["lora", "full"])
def test_chunked_head_matches_the_logits_path(method: str, docs: Path, tmp_path: Path, tiny_model_path: str) -> None:
    import torch

    cfg = FinetuneConfig(docs=docs, method=method, **FAST).resolved(has_gpu=False)
    recipe, data = _recipe(cfg, tmp_path / "run", tiny_model_path)
    assert recipe.head is not None, "tiny-random's head should pass the probe"
    rows = [0, 1]
    chunked_loss, chunked = _loss_and_grads(recipe, data, rows)
    head, recipe.head = recipe.head, None  # the plain path: logits, then cross-entropy
    plain_loss, plain = _loss_and_grads(recipe, data, rows)
    recipe.head = head

    assert plain_loss > 0
    assert chunked_loss == pytest.approx(plain_loss, rel=1e-2)  # both sums are rounded to bf16 under autocast
    assert chunked.keys() == plain.keys() and chunked
    for name, g in plain.items():
        scale = float(g.abs().max())
        if scale == 0:  # LoRA B starts at zero, A's gradient is then zero too
            continue
        assert float((chunked[name] - g).abs().max()) <= 2e-2 * scale, name
    nonzero = [n for n, g in plain.items() if float(g.abs().max()) > 0]
    assert nonzero, "some gradient must be non-zero for the comparison to mean anything"
    flat = lambda gs: torch.cat([gs[n].flatten() for n in nonzero])  # noqa: E731
    assert torch.nn.functional.cosine_similarity(flat(chunked), flat(plain), dim=0) > 0.999


def test_validation_loss_is_the_same_on_both_paths(docs: Path, tmp_path: Path, tiny_model_path: str) -> None:
    cfg = FinetuneConfig(docs=docs, **FAST).resolved(has_gpu=False)
    recipe, _ = _recipe(cfg, tmp_path / "run", tiny_model_path)
    chunked = recipe.validate()
    recipe.head = None
    assert chunked == pytest.approx(recipe.validate(), rel=1e-2)


def test_a_model_whose_logits_are_transformed_keeps_the_plain_path(tiny_model_path: str) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    from afpipe.finetune.recipe import hidden_state_head

    model = AutoModelForCausalLM.from_pretrained(tiny_model_path)
    probe = torch.arange(8).unsqueeze(0)
    assert hidden_state_head(model, probe, torch.autocast("cpu", enabled=False)) is model.lm_head
    # A model that scales its logits after the head (as some architectures do).
    original = model.lm_head.forward
    model.lm_head.forward = lambda h: original(h) * 0.5
    assert hidden_state_head(model, probe, torch.autocast("cpu", enabled=False)) is None


def test_document_attention_equals_each_document_on_its_own(tiny_model_path: str) -> None:
    import torch

    from afpipe.finetune.attention import DOCUMENT_ATTENTION
    from afpipe.finetune.recipe import load_for_packed_training

    model = load_for_packed_training(tiny_model_path, torch.float32, trust_remote_code=False)
    assert model.config._attn_implementation == DOCUMENT_ATTENTION
    lengths = [[20, 30, 14], [40, 24]]  # two packed rows of 64 tokens, documents of these lengths
    ids = torch.randint(0, 1000, (2, 64), generator=torch.Generator().manual_seed(0))
    positions = torch.stack([torch.cat([torch.arange(n) for n in row]) for row in lengths])
    with torch.no_grad():
        packed = model(input_ids=ids, position_ids=positions).logits
        for row, docs in enumerate(lengths):
            start = 0
            for n in docs:
                alone = model(input_ids=ids[row : row + 1, start : start + n]).logits[0]
                torch.testing.assert_close(packed[row, start : start + n], alone, rtol=1e-4, atol=1e-4)
                start += n
