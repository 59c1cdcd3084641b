"""Options generated from the config classes: every setting is written once, in its field."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from afpipe.cli import app
from afpipe.cli_options import config_parameters, flag_name
from afpipe.clients.factory import injected, make_client
from afpipe.errors import UserError
from afpipe.evaluate.config import EvalConfig
from afpipe.finetune.config import FinetuneConfig
from afpipe.generate.config import GenerateConfig

STAGES = [("generate", GenerateConfig), ("finetune", FinetuneConfig), ("eval", EvalConfig)]


def _help(command: str) -> str:
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "400", "TERMINAL_WIDTH": "400"})
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


@pytest.mark.parametrize("command,config_cls", STAGES)
def test_every_flaggable_field_is_an_option_with_its_help(command, config_cls):
    text = _help(command)
    for param in config_parameters(config_cls):
        if command == "finetune" and param.name == "method":
            continue  # spelled --full/--lora
        assert flag_name(param.name) in text, f"{command}: no {flag_name(param.name)}"
        first_words = " ".join((config_cls.model_fields[param.name].description or "").split()[:4])
        assert first_words in text, f"{command} {flag_name(param.name)}: help text missing"


def test_defaults_come_from_the_field():
    text = _help("generate")
    assert "[default: 300]" in text  # n_docs
    assert "[default: template]" in text  # backend
    assert "(template | anthropic | hf)" in text


def test_a_flag_overrides_only_what_was_typed(tmp_path, monkeypatch):
    seen = {}
    import afpipe.generate.stage as stage

    monkeypatch.setattr(stage, "run_generate", lambda cfg, out: seen.setdefault("cfg", cfg) and out)
    config = tmp_path / "gen.yaml"
    config.write_text("n_docs: 7\nseed: 3\n")
    result = CliRunner().invoke(app, ["generate", "--out", str(tmp_path / "o"), "--config", str(config), "--seed", "5",
                                      "--no-revise"])
    assert result.exit_code == 0, result.output
    cfg = seen["cfg"]
    assert (cfg.n_docs, cfg.seed, cfg.revise) == (7, 5, False)


def test_the_factory_routes_every_backend_and_takes_injected_fakes():
    from afpipe.clients.fake import FakeModel

    with pytest.raises(UserError, match="unknown backend"):
        make_client("openai", "gpt")
    with pytest.raises(UserError, match="--adapter applies to local models"):
        make_client("anthropic", "m", adapter="some/adapter")
    with pytest.raises(UserError, match="--model is required with --backend vllm"):
        make_client("vllm", None)
    seen = {}

    def build(model, **options):
        seen.update(options, model=model)
        return FakeModel(name="injected")

    with injected("vllm", build):
        client = make_client("vllm", "big-model", adapter="a", dtype="bf16", tensor_parallel_size=8, price=None,
                             max_cost=3.0, merge=False)
    assert client.name == "injected"
    assert seen == {"model": "big-model", "adapter": "a", "dtype": "bf16", "tensor_parallel_size": 8}
    with pytest.raises(UserError):  # the injection ends with the block
        make_client("vllm", None)
