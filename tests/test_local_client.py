"""LocalModel on the tiny random model: batching changes nothing but speed, seeds decide
samples, stops and limits apply per row, scoring matches a plain forward pass, adapters load."""

from __future__ import annotations

import pytest

from afpipe.clients.base import ChatRequest, Message, ScoringModel, TextModel

pytest.importorskip("torch")


def _req(text: str, **kw) -> ChatRequest:
    return ChatRequest(messages=(Message("user", text),), **kw)


QUESTIONS = ["Hi", "Tell me a long story about a cat who sails the sea", "Why?", "List three colours of the rainbow please"]


@pytest.fixture(scope="module")
def tiny(tiny_model_path):
    from afpipe.clients.local import LocalModel

    return LocalModel("tiny-random", dtype="fp32", batch_size=3)


def test_is_a_text_and_scoring_model(tiny):
    assert isinstance(tiny, TextModel) and isinstance(tiny, ScoringModel)


def test_batched_equals_one_at_a_time_and_keeps_order(tiny):
    from afpipe.clients.local import LocalModel

    # Greedy and sampled rows share batches; the random model's greedy text is dull, its
    # sampled text is not, so both paths are checked.
    # A long shared system prompt takes the shared-prefix path; short prompts the plain one.
    system = "You are a careful assistant who answers briefly. " * 8
    requests = [_req(q, max_tokens=12, temperature=float(i % 2), seed=i, system=system) for i, q in enumerate(QUESTIONS)]
    requests += [_req(q, max_tokens=12, temperature=1.0, seed=7) for q in QUESTIONS[:2]]
    batched = tiny.complete(requests)
    single = LocalModel.from_loaded(tiny.model, tiny.tokenizer, batch_size=1)
    one_by_one = [single.complete([r])[0] for r in requests]
    assert [c.text for c in batched] == [c.text for c in one_by_one]
    assert all(c.usage.output_tokens <= 12 and c.usage.input_tokens > 0 for c in batched)
    # prompts differ in length, so order restoration is exercised: each answer is its own
    assert len({c.usage.input_tokens for c in batched}) > 1


def test_seeded_sampling_is_reproducible_and_independent_of_batch(tiny):
    requests = [_req(q, max_tokens=10, temperature=1.0, seed=11) for q in QUESTIONS]
    first = [c.text for c in tiny.complete(requests)]
    again = [c.text for c in tiny.complete(requests)]
    alone = [tiny.complete([r])[0].text for r in requests]
    assert first == again == alone
    other_seed = tiny.complete([_req(QUESTIONS[1], max_tokens=10, temperature=1.0, seed=12)])[0].text
    assert other_seed != first[1]


def test_stop_strings_and_token_limits_apply_per_row(tiny):
    free = tiny.complete([_req(QUESTIONS[1], max_tokens=20, temperature=1.0, seed=3)])[0].text
    words = [w for w in free.split() if len(w) >= 3]
    assert len(words) >= 2, "need a visible stop string"
    stop = words[len(words) // 2]
    requests = [
        _req(QUESTIONS[1], max_tokens=20, temperature=1.0, seed=3, stop=(stop,)),
        _req(QUESTIONS[0], max_tokens=3, temperature=0.0),
    ]
    stopped, short = tiny.complete(requests)
    assert stopped.stop_reason == "stop_sequence"
    assert stopped.text == free[: free.index(stop)]
    assert short.usage.output_tokens <= 3


def test_prefill_opens_the_assistant_turn(tiny):
    rendered = tiny.render_chat(_req("hello", system="SYS PROMPT", prefill="<OUTPUT>"))
    assert "SYS PROMPT" in rendered and rendered.endswith("<OUTPUT>")
    assert rendered.index("SYS PROMPT") < rendered.index("hello")


def test_continuation_logprobs_match_a_plain_forward_pass(tiny):
    import torch

    prompts = [tiny.render_chat(_req(q, system="A shared system prompt. " * 5)) for q in QUESTIONS[:3]]
    continuations = ["<rejected/>", "<request_fully_accepted/>", "yes"]
    got = tiny.continuation_logprobs(prompts, continuations)
    for prompt, cont, value in zip(prompts, continuations, got):
        p = tiny.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        c = tiny.tokenizer(cont, add_special_tokens=False)["input_ids"]
        with torch.inference_mode():
            logits = tiny.model(input_ids=torch.tensor([p + c])).logits.float()
        logprobs = torch.log_softmax(logits[0], dim=-1)
        expected = sum(float(logprobs[len(p) - 1 + k, tok]) for k, tok in enumerate(c))
        assert value == pytest.approx(expected, abs=1e-3)
    with pytest.raises(ValueError):
        tiny.continuation_logprobs(prompts, continuations[:1])


def test_adapter_loaded_or_merged_gives_the_same_answers(tiny_model_path, tmp_path):
    import torch
    from peft import LoraConfig, get_peft_model

    from afpipe.clients.local import LocalModel
    from afpipe.models import load_model_and_tokenizer

    base, tokenizer = load_model_and_tokenizer("tiny-random", dtype="fp32")
    peft_model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    torch.manual_seed(0)
    peft_model.save_pretrained(tmp_path / "adapter")
    requests = [_req(q, max_tokens=8, temperature=0.0) for q in QUESTIONS[:2]]
    loaded = LocalModel("tiny-random", adapter=str(tmp_path / "adapter"), dtype="fp32")
    merged = LocalModel("tiny-random", adapter=str(tmp_path / "adapter"), merge=True, dtype="fp32")
    plain = LocalModel("tiny-random", dtype="fp32")
    a, b, c = ([x.text for x in m.complete(requests)] for m in (loaded, merged, plain))
    assert a == b
    assert a != c
    assert "adapter" in loaded.name
