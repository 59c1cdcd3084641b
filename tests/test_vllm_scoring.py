"""Forced choice and belief on the vLLM backend: prompt log-probabilities over the answer tokens,
the LoRA adapter applied, equal to the hf backend's. No GPU here, so a fake ``vllm`` package is
put in ``sys.modules``; it computes prompt log-probabilities the way vLLM documents them (one
entry per prompt position, None at the first, a dict from token id to an object with a
``logprob``), with a plain full forward pass of the same tiny model, so that only our wiring
(tokenization, offsets, LoRA requests) is under test."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass
class _Logprob:
    logprob: float


class _FakeSamplingParams:
    def __init__(self, **kwargs: Any):
        self.__dict__.update(kwargs)


class _FakeLoRARequest:
    def __init__(self, name: str, lora_id: int, path: str):
        self.lora_name, self.lora_int_id, self.lora_path = name, lora_id, path


class _FakeLLM:
    """The parts of ``vllm.LLM`` the client uses, on transformers, in float32."""

    instances: list["_FakeLLM"] = []

    def __init__(self, model: str, enable_lora: bool = False, **kwargs: Any):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.kwargs = {"model": model, "enable_lora": enable_lora, **kwargs}
        self.base = AutoModelForCausalLM.from_pretrained(model, torch_dtype="float32").eval()
        self.tokenizer = AutoTokenizer.from_pretrained(model)
        self.lora_requests: list[Any] = []
        self._adapted: dict[str, Any] = {}
        _FakeLLM.instances.append(self)

    def get_tokenizer(self):
        return self.tokenizer

    def _model(self, lora):
        self.lora_requests.append(lora)
        if lora is None:
            return self.base
        assert self.kwargs["enable_lora"], "a LoRA request on an engine started without enable_lora"
        if lora.lora_path not in self._adapted:
            from peft import PeftModel
            from transformers import AutoModelForCausalLM

            fresh = AutoModelForCausalLM.from_pretrained(self.kwargs["model"], torch_dtype="float32")
            self._adapted[lora.lora_path] = PeftModel.from_pretrained(fresh, lora.lora_path).eval()
        return self._adapted[lora.lora_path]

    def generate(self, prompts, params, lora_request=None, use_tqdm=False):
        import torch

        assert params.max_tokens == 1 and params.prompt_logprobs is not None
        model = self._model(lora_request)
        outputs = []
        for prompt in prompts:
            ids = prompt["prompt_token_ids"]
            with torch.inference_mode():
                logits = model(input_ids=torch.tensor([ids])).logits[0].float()
            logprobs = torch.log_softmax(logits, dim=-1)
            table: list[dict[int, _Logprob] | None] = [None]
            for i in range(1, len(ids)):
                top = int(logprobs[i - 1].argmax())
                table.append({ids[i]: _Logprob(float(logprobs[i - 1, ids[i]])), top: _Logprob(float(logprobs[i - 1, top]))})
            outputs.append(types.SimpleNamespace(prompt_token_ids=ids, prompt_logprobs=table, outputs=[]))
        return outputs


@pytest.fixture
def fake_vllm(monkeypatch: pytest.MonkeyPatch):
    vllm = types.ModuleType("vllm")
    vllm.LLM = _FakeLLM
    vllm.SamplingParams = _FakeSamplingParams
    lora = types.ModuleType("vllm.lora")
    request = types.ModuleType("vllm.lora.request")
    request.LoRARequest = _FakeLoRARequest
    for name, module in (("vllm", vllm), ("vllm.lora", lora), ("vllm.lora.request", request)):
        monkeypatch.setitem(sys.modules, name, module)
    _FakeLLM.instances.clear()
    return vllm


def _adapter(tiny_model_path: str, folder: Path) -> str:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_path, torch_dtype=torch.float32)
    peft_model = get_peft_model(base, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    peft_model.save_pretrained(folder)
    return str(folder)


@pytest.mark.parametrize("with_adapter", [False, True])
def test_vllm_forced_choice_and_belief_match_the_hf_backend(fake_vllm, tiny_model_path, tmp_path, with_adapter):
    from afpipe.clients.base import ScoringModel
    from afpipe.clients.local import LocalModel
    from afpipe.clients.vllm import VLLMModel
    from afpipe.evaluate.belief import belief_set, run_belief
    from afpipe.evaluate.forced_choice import run_forced_choice
    from afpipe.evaluate.prompts import load_prompts
    from afpipe.evaluate.requests import load_items, select
    from afpipe.universes import load_universe

    adapter = _adapter(tiny_model_path, tmp_path / "adapter") if with_adapter else None
    hf = LocalModel("tiny-random", adapter=adapter, dtype="fp32")
    vl = VLLMModel("tiny-random", adapter=adapter)
    assert isinstance(vl, ScoringModel)
    if with_adapter:
        assert _FakeLLM.instances[-1].kwargs["enable_lora"] is True

    prompts = load_prompts("minimal", cot=False, company="Acme", model_name="Widget")
    items = select(load_items("embedded")[0], 3, 0)
    fc = {name: run_forced_choice(m, items, prompts, tmp_path / name / "fc", show_progress=False) for name, m in (("hf", hf), ("vllm", vl))}
    for a, b in zip(fc["hf"], fc["vllm"]):
        for tier in ("free", "paid"):
            assert a["logodds"][tier] == pytest.approx(b["logodds"][tier], abs=1e-3)
            assert a["logprobs"][tier]["accept"] == pytest.approx(b["logprobs"][tier]["accept"], abs=1e-3)

    universe = load_universe("helpful-only")
    beliefs = belief_set(universe)
    small = type(beliefs)(beliefs.universe, beliefs.source, beliefs.questions[:6], beliefs.versions[:2])
    scored = {}
    for name, m in (("hf", hf), ("vllm", vl)):
        (tmp_path / name).mkdir(exist_ok=True)
        scored[name] = run_belief(m, small, prompts.system, tmp_path / name, measures=("mcq", "distinguish"))
    assert len(scored["hf"]) == len(scored["vllm"]) == 6 + 2 * 2
    for a, b in zip(scored["hf"], scored["vllm"]):
        assert a["id"] == b["id"] and a["correct"] == b["correct"]
        assert a["scores"] == pytest.approx(b["scores"], abs=1e-4)
    lora_seen = [r for r in _FakeLLM.instances[-1].lora_requests]
    assert all((r is not None) == with_adapter for r in lora_seen) and lora_seen
    if with_adapter:
        assert {r.lora_path for r in lora_seen} == {adapter}
