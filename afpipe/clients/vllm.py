"""vLLM behind the shared client interface, for GPU machines (optional extra: ``pip install
afpipe[vllm]``). Imported only when ``--backend vllm`` is chosen.

Sampled generation, and log-probability scoring for forced choice and belief: each (prompt,
continuation) pair is sent as token ids with ``max_tokens=1`` and ``prompt_logprobs``, and the
log-probabilities vLLM returns for the prompt's own tokens are summed over the continuation's.
Prompt and continuation are tokenized apart and joined, exactly as ``LocalModel`` does, so both
backends score the same tokens. A peft adapter is served through vLLM's LoRA support, for
sampling and scoring alike. Without a GPU the module is exercised through a fake ``vllm``
package (tests/test_vllm_scoring.py); it is kept small so that it can be read in full.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from afpipe.clients.base import ChatRequest, Completion, ProgressFn, Usage
from afpipe.errors import UserError


# The LoRA ranks vLLM can reserve room for; an adapter's rank is rounded up to the next one.
_VLLM_LORA_RANKS = (8, 16, 32, 64, 128, 256, 512)
_DTYPES = {"auto": "auto", "bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}


def adapter_rank(adapter: str) -> int:
    """The LoRA rank ``r`` recorded in a peft adapter folder's ``adapter_config.json``."""
    path = Path(adapter) / "adapter_config.json"
    try:
        return int(json.loads(path.read_text())["r"])
    except (OSError, ValueError, KeyError, TypeError):
        raise UserError(f"{adapter} is not a peft LoRA adapter folder (no readable 'r' in {path.name})") from None


def engine_kwargs(
    base_path: str,
    *,
    adapter: str | None,
    dtype: str = "auto",
    trust_remote_code: bool = False,
    tensor_parallel_size: int | None = None,
    gpu_count: int = 1,
) -> dict[str, Any]:
    """The keyword arguments for ``vllm.LLM``: the base model's weights, spread over
    ``tensor_parallel_size`` GPUs (None: all ``gpu_count`` visible ones), and, with an adapter,
    LoRA serving with room for the adapter's rank (vLLM reserves rank 16 unless told more, and
    refuses a rank-64 adapter then)."""
    size = tensor_parallel_size if tensor_parallel_size is not None else max(1, gpu_count)
    if size > max(1, gpu_count):
        raise UserError(f"--tensor-parallel-size {size} needs {size} GPUs; {gpu_count} visible")
    kwargs: dict[str, Any] = {
        "model": base_path,
        "dtype": _DTYPES.get(dtype, dtype),
        "trust_remote_code": trust_remote_code,
        "tensor_parallel_size": size,
    }
    if adapter:
        rank = adapter_rank(adapter)
        fits = [r for r in _VLLM_LORA_RANKS if r >= rank]
        if not fits:
            raise UserError(f"adapter rank {rank} is above vLLM's largest LoRA rank {_VLLM_LORA_RANKS[-1]}; merge it (--merge) or use --backend hf")
        kwargs.update(enable_lora=True, max_loras=1, max_lora_rank=fits[0])
    return kwargs


class VLLMModel:
    """Sampled generation on vLLM; a finetune run folder with ``adapter/`` (or ``adapter``) is
    served as a LoRA module over its base model, on every request."""

    def __init__(
        self,
        model: str,
        *,
        adapter: str | None = None,
        dtype: str = "auto",
        trust_remote_code: bool = False,
        tensor_parallel_size: int | None = None,
        **engine: Any,
    ):
        try:
            from vllm import LLM
        except ImportError:
            raise UserError("the vllm backend needs vLLM on a GPU machine: pip install 'afpipe[vllm]'") from None
        import torch

        from afpipe.models import model_source

        source = model_source(model)
        self._adapter = adapter or source.adapter
        self._name = model
        kwargs = engine_kwargs(
            source.base.path,
            adapter=self._adapter,
            dtype=dtype,
            trust_remote_code=trust_remote_code,
            tensor_parallel_size=tensor_parallel_size,
            gpu_count=torch.cuda.device_count(),
        )
        self.llm = LLM(**kwargs, **engine)
        self.tokenizer = self.llm.get_tokenizer()

    @property
    def name(self) -> str:
        return self._name

    def render_chat(self, request: ChatRequest) -> str:
        messages = [{"role": m.role, "content": m.content} for m in request.messages]
        if request.system:
            messages.insert(0, {"role": "system", "content": request.system})
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return text + request.prefill

    def _lora(self) -> Any:
        if not self._adapter:
            return None
        from vllm.lora.request import LoRARequest

        # (name, a positive integer id unique per adapter, path to the peft folder)
        return LoRARequest("adapter", 1, str(self._adapter))

    def _encode(self, text: str) -> list[int]:
        # The rendered text already holds the template's special tokens (as in LocalModel).
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def continuation_logprobs(self, prompts: Sequence[str], continuations: Sequence[str]) -> list[float]:
        """Sum of log p(continuation | prompt) for each pair, from vLLM's prompt log-probabilities."""
        from vllm import SamplingParams

        if len(prompts) != len(continuations):
            raise ValueError(f"{len(prompts)} prompts but {len(continuations)} continuations")
        if not prompts:
            return []
        pairs = [(self._encode(p), self._encode(c)) for p, c in zip(prompts, continuations)]
        if any(not c for _, c in pairs):
            raise ValueError("every continuation must hold at least one token")
        # Each position's entry holds the prompt token's own log-probability beside the top-1;
        # vLLM's default logprobs mode is the raw distribution, before any sampling setting.
        params = SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=1)
        inputs = [{"prompt_token_ids": p + c} for p, c in pairs]
        outputs = self.llm.generate(inputs, params, lora_request=self._lora(), use_tqdm=False)
        scores = []
        for (p, c), out in zip(pairs, outputs):
            ids, table = p + c, out.prompt_logprobs
            scores.append(float(sum(table[i][ids[i]].logprob for i in range(len(p), len(ids)))))
        return scores

    def complete(self, requests: Sequence[ChatRequest], progress: ProgressFn | None = None) -> list[Completion]:
        from vllm import SamplingParams

        params = [
            SamplingParams(
                temperature=r.temperature,
                top_p=r.top_p if r.top_p is not None else 1.0,
                max_tokens=r.max_tokens,
                stop=list(r.stop) or None,
                seed=r.seed,
            )
            for r in requests
        ]
        outputs = self.llm.generate([self.render_chat(r) for r in requests], params, lora_request=self._lora(), use_tqdm=False)
        completions = []
        for out in outputs:
            choice = out.outputs[0]
            reason = {"stop": "stop_sequence" if choice.stop_reason else "end_turn", "length": "max_tokens"}.get(
                choice.finish_reason or "", choice.finish_reason or ""
            )
            usage = Usage(input_tokens=len(out.prompt_token_ids or []), output_tokens=len(choice.token_ids), requests=1)
            completions.append(Completion(text=choice.text, usage=usage, stop_reason=reason))
        if progress:
            progress(len(requests))
        return completions
