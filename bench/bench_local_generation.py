"""Generated tokens per second of LocalModel against a naive one-request-at-a-time generate.

Both run in this invocation, on the same weights, the same requests (the embedded evaluation
requests under the minimal no-CoT prompt, as the eval stage sends them) and greedy decoding.
The answers must be identical, token for token: batching may only change the speed.

    python bench/bench_local_generation.py            # smollm2-135m, fp32, 64 requests in one batch, 64 new tokens
    python bench/bench_local_generation.py --quick    # 8 requests, 32 new tokens
"""

from __future__ import annotations

import argparse
import time


def naive_generate(model, tokenizer, rendered: list[str], max_new_tokens: int, eos_ids: list[int]) -> list[list[int]]:
    """The baseline: ``model.generate`` on one request at a time, no padding, no batching."""
    import torch
    from transformers import GenerationConfig

    config = GenerationConfig(max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id, eos_token_id=eos_ids)
    outputs = []
    for text in rendered:
        ids = torch.tensor([tokenizer(text, add_special_tokens=False)["input_ids"]])
        with torch.inference_mode():
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), generation_config=config)
        new = out[0, ids.shape[1] :].tolist()
        for n, tok in enumerate(new):
            if tok in eos_ids:
                new = new[:n]
                break
        outputs.append(new)
    return outputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--requests", type=int, default=64)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    # fp32 by default: in bf16 a padded batch and a lone sequence round differently, and greedy
    # decoding then parts ways at the first near-tie (3 of 8 SmolLM2 answers within 32 tokens),
    # so the equality this benchmark asserts only holds in fp32.
    parser.add_argument("--dtype", default="fp32")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--quick", action="store_true", help="8 requests, 32 new tokens")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.max_new_tokens = 8, 32

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from afpipe.clients.local import LocalModel
    from afpipe.evaluate.prompts import load_prompts
    from afpipe.evaluate.requests import load_items
    from afpipe.models import load_model_and_tokenizer

    model, tokenizer = load_model_and_tokenizer(args.model, dtype=args.dtype)
    local = LocalModel.from_loaded(model, tokenizer, name=args.model, batch_size=args.batch_size)
    prompts = load_prompts("minimal", cot=False)
    items = load_items("embedded")[0][: args.requests]
    requests = [
        prompts.request(item.user_input, tier, max_tokens=args.max_new_tokens, temperature=0.0)
        for item, tier in zip(items, ["free", "paid"] * len(items))
    ]
    rendered = [local.render_chat(r) for r in requests]
    print(f"model {args.model} ({next(model.parameters()).dtype}), {len(requests)} requests, "
          f"{args.max_new_tokens} new tokens max, batch {args.batch_size}, {torch.get_num_threads()} threads")

    local.complete(requests[:1])  # warm-up, so neither side pays first-call costs

    start = time.perf_counter()
    naive = naive_generate(model, tokenizer, rendered, args.max_new_tokens, local.eos_ids)
    naive_s = time.perf_counter() - start

    start = time.perf_counter()
    batched = local.complete(requests)
    batched_s = time.perf_counter() - start

    naive_texts = [tokenizer.decode(ids, skip_special_tokens=True) for ids in naive]
    mismatches = [i for i, (a, b) in enumerate(zip(naive_texts, batched)) if a != b.text]
    assert not mismatches, f"greedy answers differ between naive and batched for requests {mismatches}"
    tokens = sum(len(ids) for ids in naive)
    assert tokens == sum(c.usage.output_tokens for c in batched)

    print(f"naive one-at-a-time : {tokens} tokens in {naive_s:7.1f} s = {tokens / naive_s:7.1f} tokens/s")
    print(f"LocalModel batched  : {tokens} tokens in {batched_s:7.1f} s = {tokens / batched_s:7.1f} tokens/s")
    print(f"speed-up {naive_s / batched_s:.2f}x; greedy outputs identical for all {len(requests)} requests")


if __name__ == "__main__":
    main()
