"""Spreading a large model over GPUs (vLLM tensor parallelism, an hf device map), serving a
LoRA fine-tune through vLLM, and price overrides for API models missing from the price table.
Nothing here needs a GPU or vLLM: the engine's arguments are built by a plain function."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from afpipe.clients.vllm import engine_kwargs
from afpipe.errors import UserError
from afpipe.evaluate.config import EvalConfig


def _adapter(tmp_path: Path, rank: int) -> str:
    folder = tmp_path / f"adapter-r{rank}"
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps({"r": rank, "lora_alpha": 2 * rank, "peft_type": "LORA"}))
    return str(folder)


def test_vllm_uses_every_visible_gpu_unless_told() -> None:
    assert engine_kwargs("/m", adapter=None, gpu_count=8)["tensor_parallel_size"] == 8
    assert engine_kwargs("/m", adapter=None, gpu_count=8, tensor_parallel_size=4)["tensor_parallel_size"] == 4
    assert engine_kwargs("/m", adapter=None, gpu_count=0)["tensor_parallel_size"] == 1
    with pytest.raises(UserError, match="needs 8 GPUs; 2 visible"):
        engine_kwargs("/m", adapter=None, gpu_count=2, tensor_parallel_size=8)


def test_vllm_without_adapter_serves_the_weights_alone() -> None:
    kwargs = engine_kwargs("/base", adapter=None, dtype="bf16", trust_remote_code=True, gpu_count=1)
    assert kwargs == {"model": "/base", "dtype": "bfloat16", "trust_remote_code": True, "tensor_parallel_size": 1}


@pytest.mark.parametrize(("rank", "reserved"), [(8, 8), (16, 16), (24, 32), (64, 64), (128, 128)])
def test_vllm_serves_an_adapter_as_lora_with_room_for_its_rank(tmp_path: Path, rank: int, reserved: int) -> None:
    kwargs = engine_kwargs("/base", adapter=_adapter(tmp_path, rank), gpu_count=8)
    assert kwargs["model"] == "/base"  # the base weights, with the adapter on top
    assert kwargs["enable_lora"] is True and kwargs["max_loras"] == 1
    assert kwargs["max_lora_rank"] == reserved >= rank


def test_vllm_refuses_what_it_cannot_serve(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="above vLLM's largest LoRA rank"):
        engine_kwargs("/base", adapter=_adapter(tmp_path, 1024), gpu_count=1)
    with pytest.raises(UserError, match="not a peft LoRA adapter"):
        engine_kwargs("/base", adapter=str(tmp_path), gpu_count=1)


def test_paper_experiment_splits_the_70b_model_over_the_node() -> None:
    from afpipe.experiment import load_experiment

    exp = load_experiment(Path(__file__).resolve().parents[1] / "experiments" / "paper-70b.yaml")
    assert exp.eval["backend"] == "vllm" and exp.eval["tensor_parallel_size"] == 8


def test_placement_settings_belong_to_their_backend() -> None:
    EvalConfig(model="m", backend="vllm", tensor_parallel_size=2)
    EvalConfig(model="m", backend="hf", device_map="auto")
    with pytest.raises(ValueError, match="tensor_parallel_size applies to the vllm backend"):
        EvalConfig(model="m", backend="hf", tensor_parallel_size=2)
    with pytest.raises(ValueError, match="device_map applies to the hf backend"):
        EvalConfig(model="m", backend="vllm", device_map="auto")


def test_device_map_loads_through_accelerate(tiny_model_path: str) -> None:
    from afpipe.clients.base import ChatRequest, Message
    from afpipe.clients.local import LocalModel
    from afpipe.models import load_model_and_tokenizer

    # Without a GPU accelerate puts every layer on the CPU; the model must still answer.
    model = LocalModel(tiny_model_path, device_map="auto", dtype="fp32")
    request = ChatRequest(messages=(Message("user", "hello"),), max_tokens=4, temperature=0.0)
    [answer] = model.complete([request])
    assert answer.usage.output_tokens >= 1
    with pytest.raises(UserError, match="device or a device_map"):
        load_model_and_tokenizer(tiny_model_path, device="cpu", device_map="auto")


def test_price_override_reaches_the_eval_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    from afpipe.evaluate.stage import build_client, build_judge_client

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-not-a-real-key")
    unknown = dict(model="some-new-model", backend="anthropic", max_cost=1.0)
    with pytest.raises(UserError, match="--price IN,OUT"):
        build_client(EvalConfig(**unknown))
    client = build_client(EvalConfig(**unknown, price="2,10"))
    assert (client.price.input_per_mtok, client.price.output_per_mtok, client.price.source) == (2.0, 10.0, "override")
    judge = build_judge_client(EvalConfig(model="m", judge_backend="anthropic", judge_model="new-judge", judge_price="1,5"))
    assert (judge.price.input_per_mtok, judge.price.output_per_mtok) == (1.0, 5.0)
    with pytest.raises(UserError, match="is not 'IN,OUT'"):
        EvalConfig(model="m", price="three dollars")


def test_a_larger_budget_resumes_the_same_eval_run(tmp_path: Path) -> None:
    from afpipe.evaluate.config import OPERATIONAL
    from afpipe.runs import open_run

    base = EvalConfig(model="m", backend="anthropic", max_cost=1.0, price="2,10")
    raised = base.model_copy(update={"max_cost": 5.0, "price": "2,11"})
    for cfg in (base, raised):  # the second would be refused if the budget were part of the identity
        open_run(tmp_path / "run", "eval", {k: v for k, v in cfg.model_dump().items() if k not in OPERATIONAL})


def test_experiment_runner_passes_the_generation_price(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import afpipe.generate.stage as generate_stage
    from afpipe.experiment import build_graph, load_experiment, run_node
    from afpipe.generate.stage import make_writer

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-not-a-real-key")
    path = tmp_path / "exp.yaml"
    path.write_text(
        "name: priced\nmodel: tiny-random\n"
        "generate: {backend: anthropic, model: some-new-model, max_cost: 3, price: '4,20', n_docs: 2}\n"
    )
    node = next(n for n in build_graph(load_experiment(path), tmp_path / "out") if n.stage == "generate")
    seen = {}
    monkeypatch.setattr(generate_stage, "run_generate", lambda cfg, out: seen.setdefault("client", make_writer(cfg).client))
    run_node(node)
    assert seen["client"].price.input_per_mtok == 4.0 and seen["client"].budget.limit == 3.0
