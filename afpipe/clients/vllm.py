"""vLLM behind the shared client interface, for GPU machines (optional extra: ``pip install
afpipe[vllm]``). Imported only when ``--backend vllm`` is chosen.

It does the one thing vLLM is for, fast sampled generation, and nothing more: no log-probability
scoring (forced choice and belief use ``LocalModel``), and a peft adapter is served through
vLLM's LoRA support. This module cannot be exercised without a GPU and vLLM; it is kept small so
that it can be read in full.
"""

from __future__ import annotations

from typing import Any, Sequence

from afpipe.clients.base import ChatRequest, Completion, ProgressFn, Usage
from afpipe.errors import UserError


class VLLMModel:
    def __init__(
        self, model: str, *, adapter: str | None = None, dtype: str = "auto", trust_remote_code: bool = False, **engine: Any
    ):
        try:
            from vllm import LLM
        except ImportError:
            raise UserError("the vllm backend needs vLLM on a GPU machine: pip install 'afpipe[vllm]'") from None
        from afpipe.models import model_source

        source = model_source(model)
        self._adapter = adapter or source.adapter
        self._name = model
        dtypes = {"auto": "auto", "bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}
        self.llm = LLM(
            model=source.base.path,
            dtype=dtypes.get(dtype, dtype),
            trust_remote_code=trust_remote_code,
            enable_lora=self._adapter is not None,
            **engine,
        )
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
        lora = None
        if self._adapter:
            from vllm.lora.request import LoRARequest

            lora = LoRARequest("adapter", 1, self._adapter)
        outputs = self.llm.generate([self.render_chat(r) for r in requests], params, lora_request=lora, use_tqdm=False)
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
