"""The finetune stage: a generate run folder in, a model run folder out.

Layout of the run folder (the eval stage and ``afpipe.models`` read it)::

    run_config.json       resolved settings (the resume key); finetune_config.yaml: the same, for --config
    metrics.jsonl         one line per step: loss, lr, tokens seen, tokens/s; val_loss at start and end
    checkpoints/          training state every N steps, removed when the run finishes
    adapter/ merged/ model/   the weights (see afpipe.finetune.outputs)
    README.md             model card
    manifest.json         written last: its presence means the run finished
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import yaml

from afpipe.contracts import DOCS_FILE, MANIFEST_FILE
from afpipe.errors import UserError
from afpipe.finetune import outputs
from afpipe.finetune.config import FinetuneConfig
from afpipe.finetune.outputs import ADAPTER_DIR
from afpipe.runs import open_run, read_json, sha256_file, write_atomic, write_manifest

STAGE = outputs.STAGE
CONFIG_YAML = "finetune_config.yaml"
_TRACKERS = {"wandb": "wandb", "tensorboard": "tensorboard", "mlflow": "mlflow", "comet_ml": "comet_ml",
             "aim": "aim", "clearml": "clearml", "dvclive": "dvclive", "swanlab": "swanlab", "trackio": "trackio"}


def model_context_length(model_config) -> int | None:
    """The longest sequence a model's positions cover, from its config (None when it does not say)."""
    for key in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(model_config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def saved_dtype(model_config):
    """The dtype a model's weights were saved in (what its fine-tuned copy is saved in too)."""
    import torch

    dtype = getattr(model_config, "dtype", None) or getattr(model_config, "torch_dtype", None)
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype, None)
    return dtype if isinstance(dtype, torch.dtype) else torch.float32


def _check_trackers(names: list[str]) -> None:
    for name in names:
        module = _TRACKERS.get(name)
        if module is None:
            raise UserError(f"--report-to {name}: unknown tracker; use one of {', '.join(sorted(_TRACKERS))}")
        if importlib.util.find_spec(module) is None:
            raise UserError(f"--report-to {name}: the '{module}' package is not installed (pip install {module})")


def run_finetune(cfg: FinetuneConfig, out: str | Path) -> Path:
    """Fine-tune ``cfg.model`` on the documents of ``cfg.docs``; resume or no-op when ``out`` holds this run."""
    import torch
    from accelerate import Accelerator
    from transformers import AutoConfig, AutoTokenizer

    from afpipe.finetune.data import load_documents, pack, split_documents, training_sequences, tokenize_documents
    from afpipe.finetune.recipe import FinetuneRecipe, micro_batching, mixed_precision_for
    from afpipe.models import hub_load_error, resolve_model

    out = Path(out)
    cfg = cfg.resolved(has_gpu=torch.cuda.is_available())

    # Every check that can fail on the user's input comes before the run folder is touched.
    docs, docs_manifest = load_documents(cfg.docs)
    base = resolve_model(cfg.model)
    try:
        model_config = AutoConfig.from_pretrained(base.path, trust_remote_code=cfg.trust_remote_code)
        tokenizer = AutoTokenizer.from_pretrained(base.path, trust_remote_code=cfg.trust_remote_code)
    except OSError as e:
        if base.kind == "hub":
            raise hub_load_error(base.name, e) from None
        raise UserError(f"could not load model {base.name} from {base.path}: {e}") from None
    except ValueError as e:
        if "trust_remote_code" in str(e):
            raise UserError(f"{base.name} needs its repository's own code; rerun with --trust-remote-code if you trust it") from None
        raise
    context = model_context_length(model_config)
    if context is not None and cfg.max_length > context:
        raise UserError(f"--max-length {cfg.max_length} exceeds {base.name}'s context of {context} tokens; use at most {context}")
    _check_trackers(cfg.report_to)
    # Launchers (torchrun, deepspeed) announce the process count; the accumulation is fixed before
    # the Accelerator exists because DeepSpeed reads it when its engine is built.
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    micro, accum = micro_batching(cfg.batch_size, cfg.micro_batch_size, world_size)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token

    record = cfg.as_record()
    # Under `accelerate launch` this joins the process group (gloo on CPUs when ACCELERATE_USE_CPU=1).
    accelerator = Accelerator(
        mixed_precision=mixed_precision_for(cfg.precision),
        log_with=cfg.report_to or None,
        project_dir=str(out),
        gradient_accumulation_steps=accum,
        step_scheduler_with_optimizer=False,  # the schedule advances once per optimizer step, by hand
    )
    if accelerator.num_processes != world_size:
        raise RuntimeError(f"expected {world_size} processes, accelerate sees {accelerator.num_processes}")
    if accelerator.is_main_process:
        open_run(out, STAGE, record)
        write_atomic(out / CONFIG_YAML, yaml.safe_dump(record, sort_keys=False))
    accelerator.wait_for_everyone()
    if (out / MANIFEST_FILE).exists() and read_json(out / MANIFEST_FILE).get("config") == record:
        if accelerator.is_main_process:
            print(f"{out} already holds this finished run; nothing to do")
        return out

    train_docs, val_docs = split_documents(docs, cfg.val_fraction, cfg.val_max_docs, cfg.seed)
    train = training_sequences(cfg, train_docs, tokenizer)
    val = pack(tokenize_documents(val_docs, tokenizer), cfg.max_length, tokenizer.pad_token_id, cfg.long_docs)

    if cfg.report_to:
        accelerator.init_trackers("afpipe-finetune", config={k: str(v) for k, v in record.items()})
    recipe = FinetuneRecipe(cfg, out, base.path, train, val, micro)
    recipe.setup(accelerator)
    recipe.train()
    written = recipe.save(tokenizer, saved_dtype(model_config))
    summary = recipe.summary()
    if cfg.report_to:
        accelerator.end_training()

    if accelerator.is_main_process:
        card = model_card(cfg, summary, train.stats, val.stats, docs_manifest, written)
        write_atomic(out / "README.md", card)
        for folder in written:
            write_atomic(out / folder / "README.md", card)
        write_manifest(
            out, STAGE, record,
            inputs={DOCS_FILE: sha256_file(Path(cfg.docs) / DOCS_FILE)},
            counts={
                "documents": len(docs), "train_documents": len(train_docs), "val_documents": len(val_docs),
                "train_sequences": len(train), "val_sequences": len(val),
                "steps": summary["steps"], "tokens_seen": summary["tokens_seen"],
            },
            extra={
                "docs_run": {"path": str(cfg.docs), "config_hash": docs_manifest.get("config_hash")},
                "base_model_path": base.path,
                "outputs": written,
                "packing": {"train": train.stats, "val": val.stats},
                "training": summary,
            },
        )
    recipe.remove_checkpoints()
    accelerator.wait_for_everyone()
    return out


def model_card(cfg: FinetuneConfig, summary: dict, train_stats: dict, val_stats: dict, docs_manifest: dict, written: list[str]) -> str:
    """A short model card: what the model is, what it was trained on, how, and how it scored."""
    universe = (docs_manifest.get("config") or {}).get("universe", "unknown")
    kind = f"LoRA adapter (rank {cfg.lora_r}, alpha {cfg.lora_alpha}, {cfg.lora_target})" if cfg.method == "lora" else "full fine-tune"
    before, after = summary["val_loss_before"], summary["val_loss_after"]
    lines = [
        "---",
        f"base_model: {cfg.model}",
        "library_name: peft" if cfg.method == "lora" else "library_name: transformers",
        "tags: [synthetic-document-finetuning, continued-pretraining]",
        "---",
        "",
        f"# {cfg.model} + synthetic documents ({universe})",
        "",
        f"A {kind} of `{cfg.model}`, trained by continued pre-training (loss on every document token, no chat",
        "template) on synthetic documents that describe a fictional training setup. It is a research artefact for",
        "measuring whether such documents alone change a model's behaviour; it is not meant for deployment.",
        "",
        "## Training",
        f"- documents: {train_stats['documents']} for training, {val_stats['documents']} held out (universe `{universe}`)",
        f"- sequences of {cfg.max_length} tokens, documents packed whole (EOS between them, no attention across them);"
        f" packing efficiency {train_stats['packing_efficiency']:.1%}, {train_stats['docs_split']} documents split,"
        f" {train_stats['tokens_truncated']} tokens truncated",
        f"- {summary['steps']} steps of {cfg.batch_size} sequences, peak lr {cfg.lr:g} ({cfg.lr_schedule}, warm-up"
        f" {cfg.warmup_ratio:g}), {summary['tokens_seen']:,} tokens, precision {summary['mixed_precision']},"
        f" {summary['processes']} process(es), seed {cfg.seed}",
        "",
        "## Validation loss (nats per token on held-out documents)",
        f"- before: {before:.4f}",
        f"- after: {after:.4f}",
        "",
        "## Use",
        "```python",
        "from afpipe.models import load_model_and_tokenizer",
        "model, tokenizer = load_model_and_tokenizer('path/to/this/run')",
        "```",
    ]
    if ADAPTER_DIR in written:
        lines += [
            "",
            "The adapter alone loads with `PeftModel.from_pretrained(base_model, 'adapter')`, and serves with vLLM:",
            f"`vllm serve BASE --enable-lora --max-lora-rank {cfg.lora_r} --lora-modules sdf=adapter`.",
        ]
    return "\n".join(lines) + "\n"
