"""A local transformers model behind the shared client interface.

``LocalModel`` is both a ``TextModel`` (chat requests in, completions out) and a
``ScoringModel`` (log-probabilities of given continuations), so one loaded model serves the
document writers, the judges, sampled evaluation, forced choice and belief questions.

Design choices, and what they cost:

- **Batches with left padding, sorted by length.** Requests are sorted by prompt length before
  they are cut into batches, so that a batch pads little; answers are put back in request order.
  Decoding one sequence at a time reads every weight once per token; a batch reads them once
  for all its rows (on a 2-core CPU, a step of 64 rows costs about 13 steps of one).
- **Sampling with a generator per request.** Each row draws its tokens from its own
  ``torch.Generator`` seeded from ``ChatRequest.seed``, inside a logits processor that hands the
  chosen token to greedy search. So an answer depends on its request and seed, not on which other
  requests happened to share its batch: a resumed run reproduces the answers an uninterrupted one
  would have given (up to the last bits of padded arithmetic). ``temperature == 0`` is greedy,
  and greedy and sampled rows can share a batch.
- **The shared prefix is computed once.** The rows of a batch usually share a long system
  prompt; its keys and values are computed once and copied to every row, and each row's padding
  goes between that prefix and its own remainder. With the 900-token full prompt this removes
  most of the prompt work, which on a CPU is a large share of the whole.
- **Stop strings and ``max_tokens`` per row**, checked on each row's decoded tail, so requests
  with different stops or lengths still share a batch. The stop string is cut from the text,
  as the Anthropic API does.
- **Scoring shares the common prefix.** ``continuation_logprobs`` runs the token prefix common to
  all prompts (a long system prompt) once, and only the remainders per batch: forced choice over
  hundreds of requests with a 1,000-token system prompt would otherwise repeat that prefix for
  every row.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Sequence

from afpipe.clients.base import ChatRequest, Completion, ProgressFn, Usage

# Tokens decoded from each row's tail when looking for a stop string: a stop string rarely spans
# more tokens than characters, and a margin covers tokens that merge across its boundary.
_STOP_TAIL_MARGIN = 8
# Below this many shared tokens, reusing a prefix saves less than the cache copy costs.
_MIN_SHARED_PREFIX = 32


class LocalModel:
    """A causal LM loaded with ``afpipe.models.load_model_and_tokenizer`` (which understands
    ``smollm2-135m``, ``tiny-random``, local folders, finetune run folders and hub ids).

    ``adapter`` applies a peft adapter (``merge`` folds it into the weights). ``device_map``
    ("auto") shards a model too large for one GPU over all of them through accelerate; inputs
    then go to the device of the first parameters (the embeddings). ``max_new_tokens``
    caps every request's ``max_tokens`` (None: no cap). ``batch_size`` bounds rows per forward
    pass for both generation and scoring.
    """

    def __init__(
        self,
        model: str,
        *,
        adapter: str | None = None,
        merge: bool = False,
        dtype: str = "auto",
        batch_size: int = 8,
        trust_remote_code: bool = False,
        max_new_tokens: int | None = None,
        device: str | None = None,
        device_map: str | None = None,
    ):
        from afpipe.models import load_model_and_tokenizer

        hf_model, tokenizer = load_model_and_tokenizer(
            model,
            adapter=adapter,
            merge=merge,
            dtype=dtype,
            trust_remote_code=trust_remote_code,
            device=device,
            device_map=device_map,
        )
        label = model + (f"+{Path(adapter).name}" if adapter else "")
        self._setup(hf_model, tokenizer, label, batch_size, max_new_tokens)

    @classmethod
    def from_loaded(
        cls, model: Any, tokenizer: Any, *, name: str = "local", batch_size: int = 8, max_new_tokens: int | None = None
    ) -> "LocalModel":
        """Wrap a model and tokenizer already in memory (benchmarks compare against the same weights)."""
        self = cls.__new__(cls)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        self._setup(model, tokenizer, name, batch_size, max_new_tokens)
        return self

    def _setup(self, model: Any, tokenizer: Any, name: str, batch_size: int, max_new_tokens: int | None) -> None:
        from afpipe.errors import UserError

        if batch_size < 1:
            raise UserError(f"batch size must be at least 1, got {batch_size}")
        self.model = model
        self.tokenizer = tokenizer
        self._name = name
        self.batch_size = batch_size
        self.max_new_tokens = max_new_tokens
        self.eos_ids = _eos_ids(model, tokenizer)

    @property
    def name(self) -> str:
        return self._name

    @property
    def device(self):
        return next(self.model.parameters()).device

    # --- Rendering ---------------------------------------------------------------------------

    def render_chat(self, request: ChatRequest) -> str:
        """The exact text the model sees: chat template (or a plain fallback for base models
        without one), ending where the assistant speaks, followed by the request's prefill."""
        messages = [{"role": m.role, "content": m.content} for m in request.messages]
        if request.system:
            messages.insert(0, {"role": "system", "content": request.system})
        if getattr(self.tokenizer, "chat_template", None):
            text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        else:
            # A base model has no template; a plain transcript is the least surprising prompt.
            parts = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
            text = "\n\n".join(parts) + "\n\nAssistant: "
        return text + request.prefill

    def _encode(self, text: str) -> list[int]:
        # The rendered text already holds the template's special tokens; adding more would
        # put a second BOS in front of some models' prompts.
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    # --- Generation --------------------------------------------------------------------------

    def complete(self, requests: Sequence[ChatRequest], progress: ProgressFn | None = None) -> list[Completion]:
        """Answer every request, in order (see the module docstring for batching and seeds)."""
        import torch

        encoded = [self._encode(self.render_chat(r)) for r in requests]
        order = sorted(range(len(requests)), key=lambda i: len(encoded[i]), reverse=True)
        results: list[Completion | None] = [None] * len(requests)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            with torch.inference_mode():
                answers = self._generate_batch([requests[i] for i in rows], [encoded[i] for i in rows])
            for i, answer in zip(rows, answers):
                results[i] = answer
            if progress:
                progress(len(rows))
        return [r for r in results if r is not None]

    def _limit(self, request: ChatRequest) -> int:
        return min(request.max_tokens, self.max_new_tokens) if self.max_new_tokens else request.max_tokens

    def _generate_batch(self, batch: list[ChatRequest], encoded: list[list[int]]) -> list[Completion]:
        import torch
        from transformers import GenerationConfig, LogitsProcessorList, StoppingCriteriaList

        pad_id = self.tokenizer.pad_token_id
        # The prefix all rows share (the system prompt) is computed once and reused; padding
        # then goes between it and each row's own remainder, with positions that skip the pads.
        shared = min(_common_prefix_len(encoded), min(len(e) for e in encoded) - 1)
        if shared < _MIN_SHARED_PREFIX or len(batch) == 1:
            shared = 0
        width = shared + max(len(e) - shared for e in encoded)
        input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
        attention = torch.zeros((len(batch), width), dtype=torch.long)
        for row, ids in enumerate(encoded):
            rest = ids[shared:]
            input_ids[row, :shared] = torch.tensor(ids[:shared], dtype=torch.long)
            input_ids[row, width - len(rest) :] = torch.tensor(rest, dtype=torch.long)
            attention[row, :shared] = 1
            attention[row, width - len(rest) :] = 1
        extra: dict[str, Any] = {}
        if shared:
            cache = self._prefix_cache(encoded[0][:shared])
            cache.batch_repeat_interleave(len(batch))
            extra["past_key_values"] = cache
        limits = [self._limit(r) for r in batch]
        sampler = _RowSampler(batch)
        stopper = _RowStopper(self.tokenizer, [r.stop for r in batch], limits, width)
        # An explicit config, so that a model's own generation defaults (sampling, penalties)
        # never change what a request asked for.
        config = GenerationConfig(
            max_new_tokens=max(limits),
            do_sample=False,
            pad_token_id=pad_id,
            eos_token_id=self.eos_ids,
        )
        output = self.model.generate(
            input_ids=input_ids.to(self.device),
            attention_mask=attention.to(self.device),
            generation_config=config,
            logits_processor=LogitsProcessorList([sampler]),
            stopping_criteria=StoppingCriteriaList([stopper]),
            **extra,
        )
        return [
            self._to_completion(request, output[row, width:].tolist(), len(encoded[row]), limits[row])
            for row, request in enumerate(batch)
        ]

    def _to_completion(self, request: ChatRequest, new_ids: list[int], prompt_tokens: int, limit: int) -> Completion:
        stop_reason = "max_tokens"
        for n, token in enumerate(new_ids):
            if token in self.eos_ids:
                new_ids, stop_reason = new_ids[:n], "end_turn"
                break
        new_ids = new_ids[:limit]
        text = self.tokenizer.decode(new_ids, skip_special_tokens=True)
        cut = _first_stop(text, request.stop)
        if cut is not None:
            text, stop_reason = text[:cut], "stop_sequence"
        usage = Usage(input_tokens=prompt_tokens, output_tokens=len(new_ids), requests=1)
        return Completion(text=text, usage=usage, stop_reason=stop_reason)

    # --- Scoring -----------------------------------------------------------------------------

    def continuation_logprobs(self, prompts: Sequence[str], continuations: Sequence[str]) -> list[float]:
        """Sum of log p(continuation | prompt) for each pair, in order.

        The continuation is tokenized on its own and appended to the prompt's tokens, so that
        two continuations after the same prompt are scored against identical prompt tokens.
        """
        import torch

        if len(prompts) != len(continuations):
            raise ValueError(f"{len(prompts)} prompts but {len(continuations)} continuations")
        if not prompts:
            return []
        prompt_ids = [self._encode(p) for p in prompts]
        cont_ids = [self._encode(c) for c in continuations]
        if any(not c for c in cont_ids):
            raise ValueError("every continuation must hold at least one token")
        # The prefix shared by all prompts is run once; each row keeps at least its last prompt
        # token, whose logits predict the continuation's first token.
        shared = min(_common_prefix_len(prompt_ids), min(len(p) for p in prompt_ids) - 1)
        scores: list[float] = [0.0] * len(prompts)
        with torch.inference_mode():
            prefix_cache = self._prefix_cache(prompt_ids[0][:shared]) if shared > 0 else None
            for rows in _batches_by_prompt(prompt_ids, self.batch_size):
                batch_scores = self._score_batch(
                    [prompt_ids[i][shared:] for i in rows], [cont_ids[i] for i in rows], shared, prefix_cache
                )
                for i, s in zip(rows, batch_scores):
                    scores[i] = s
        return scores

    def _fp32_logits(self, hidden):
        """Logits from the last hidden states with the output layer in float32.

        bf16 logits are rounded to steps of about 0.06 at typical magnitudes, coarser than the
        effects forced choice measures (a few hundredths of a nat); the output layer is a small
        share of the compute, so it is worth redoing in full precision.
        """
        import torch

        head = self.model.get_output_embeddings()
        logits = torch.nn.functional.linear(
            hidden.float(), head.weight.float(), None if head.bias is None else head.bias.float()
        )
        cap = getattr(self.model.config, "final_logit_softcapping", None)
        if cap:
            logits = torch.tanh(logits / cap) * cap
        return logits

    def _prefix_cache(self, prefix: list[int]):
        import torch

        ids = torch.tensor([prefix], dtype=torch.long, device=self.device)
        return self.model(input_ids=ids, use_cache=True).past_key_values

    def _score_batch(self, prompts: list[list[int]], conts: list[list[int]], shared: int, prefix_cache) -> list[float]:
        import torch

        seqs = [p + c for p, c in zip(prompts, conts)]
        width = max(len(s) for s in seqs)
        pad_id = self.tokenizer.pad_token_id
        input_ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
        attention = torch.zeros((len(seqs), shared + width), dtype=torch.long)
        attention[:, :shared] = 1
        for row, s in enumerate(seqs):  # right padding: positions stay aligned with the prefix
            input_ids[row, : len(s)] = torch.tensor(s, dtype=torch.long)
            attention[row, shared : shared + len(s)] = 1
        kwargs: dict[str, Any] = {}
        if prefix_cache is not None:
            cache = copy.deepcopy(prefix_cache)
            cache.batch_repeat_interleave(len(seqs))
            kwargs["past_key_values"] = cache
            positions = torch.arange(shared, shared + width, device=self.device).unsqueeze(0).expand(len(seqs), -1)
            kwargs["position_ids"] = positions
        output = self.model(
            input_ids=input_ids.to(self.device),
            attention_mask=attention.to(self.device),
            use_cache=prefix_cache is not None,
            output_hidden_states=True,
            logits_to_keep=1,  # the full-precision logits are recomputed below
            **kwargs,
        )
        logprobs = torch.log_softmax(self._fp32_logits(output.hidden_states[-1]), dim=-1)
        out = []
        for row, (p, c) in enumerate(zip(prompts, conts)):
            # logits at position t predict token t+1: the continuation starts at len(p).
            positions = torch.arange(len(p) - 1, len(p) - 1 + len(c), device=logprobs.device)
            targets = torch.tensor(c, dtype=torch.long, device=logprobs.device)
            out.append(float(logprobs[row, positions, targets].sum()))
        return out


# --- Helpers -----------------------------------------------------------------------------------


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    ids: set[int] = set()
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if isinstance(configured, int):
        ids.add(configured)
    elif configured:
        ids.update(int(i) for i in configured)
    return sorted(ids)


def _common_prefix_len(seqs: list[list[int]]) -> int:
    first = seqs[0]
    n = min(len(s) for s in seqs)
    for k in range(n):
        token = first[k]
        if any(s[k] != token for s in seqs):
            return k
    return n


def _batches_by_prompt(prompt_ids: list[list[int]], batch_size: int) -> list[list[int]]:
    """Row indices cut into batches that keep rows with the same prompt together.

    Rows that share a prompt (the two answers of one forced choice) then see bit-identical
    prompt states, so their difference carries no noise from batch shapes or padding.
    """
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, ids in enumerate(prompt_ids):
        groups.setdefault(tuple(ids), []).append(i)
    ordered = sorted(groups.values(), key=lambda rows: len(prompt_ids[rows[0]]), reverse=True)
    batches: list[list[int]] = []
    current: list[int] = []
    for rows in ordered:
        if current and len(current) + len(rows) > batch_size:
            batches.append(current)
            current = []
        current.extend(rows)
        while len(current) > batch_size:  # a group larger than a batch is split
            batches.append(current[:batch_size])
            current = current[batch_size:]
    if current:
        batches.append(current)
    return batches


def _first_stop(text: str, stops: Sequence[str]) -> int | None:
    hits = [text.find(s) for s in stops if s and s in text]
    return min(hits) if hits else None


class _RowSampler:
    """A logits processor that samples each row with its own generator (temperature, top-p)
    and leaves only the chosen token, so that greedy search takes it. Rows at temperature 0
    pass through untouched (plain greedy)."""

    def __init__(self, batch: list[ChatRequest]):
        import torch

        self.temperatures = [r.temperature for r in batch]
        self.top_ps = [r.top_p for r in batch]
        self.generators: list[Any] = []
        for r in batch:
            if r.temperature > 0:
                seed = r.seed if r.seed is not None else int(torch.randint(0, 2**62, (1,)).item())
                self.generators.append(torch.Generator().manual_seed(seed))
            else:
                self.generators.append(None)

    def __call__(self, input_ids, scores):
        import torch

        if all(g is None for g in self.generators):
            return scores
        out = scores.clone()
        for row, gen in enumerate(self.generators):
            if gen is None:
                continue
            logits = scores[row].float().cpu() / self.temperatures[row]
            probs = torch.softmax(logits, dim=-1)
            top_p = self.top_ps[row]
            if top_p is not None and top_p < 1.0:
                sorted_probs, sorted_idx = torch.sort(probs, descending=True)
                # keep the smallest set whose mass reaches top_p (always at least one token)
                drop = torch.cumsum(sorted_probs, dim=-1) - sorted_probs >= top_p
                sorted_probs[drop] = 0.0
                probs = torch.zeros_like(probs).scatter(0, sorted_idx, sorted_probs)
            token = int(torch.multinomial(probs, 1, generator=gen).item())
            out[row] = float("-inf")
            out[row, token] = 0.0
        return out


class _RowStopper:
    """Stops each row at its own stop strings or its own token limit."""

    def __init__(self, tokenizer: Any, stops: list[tuple[str, ...]], limits: list[int], prompt_width: int):
        self.tokenizer = tokenizer
        self.stops = stops
        self.limits = limits
        self.prompt_width = prompt_width
        self.tails = [max((len(s) for s in st), default=0) + _STOP_TAIL_MARGIN for st in stops]

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        generated = input_ids.shape[1] - self.prompt_width
        done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        for row in range(input_ids.shape[0]):
            if generated >= self.limits[row]:
                done[row] = True
            elif self.stops[row]:
                tail_ids = input_ids[row, max(self.prompt_width, input_ids.shape[1] - self.tails[row]) :]
                tail = self.tokenizer.decode(tail_ids.tolist(), skip_special_tokens=True)
                done[row] = any(s in tail for s in self.stops[row] if s)
        return done
