"""Settings of the finetune stage: one pydantic model, every field with its help text.

Most numeric fields default to ``None`` and are filled from a *preset* when the run starts, so
that one command gives sensible settings on a laptop and on a GPU cluster:

- ``paper``: the published open-model recipe for synthetic-document fine-tuning (LoRA rank 64,
  alpha 128 on every linear layer, one epoch, learning rate 5e-5 at a batch of 16 sequences of
  1,024 tokens). Chosen automatically when a GPU is present.
- ``cpu``: the same recipe scaled to finish in minutes on a few CPU cores with the embedded
  135M-parameter model. Chosen automatically when no GPU is present. What changes and why:
  batches of 4 sequences instead of 16 (a few hundred documents make ~100 sequences, so a batch
  of 16 would give only ~6 updates; 4 gives ~25), learning rate 2e-4 (with ~25 updates, 5e-5
  barely moves the weights; 2e-4 is the usual LoRA rate and stays stable here), and at most 40
  steps (~160k tokens: minutes at a few hundred tokens/s). Sequences stay at 1,024 tokens:
  documents of ~350 tokens pack at ~95% into 1,024 slots but only ~78% into 512, and a step's
  compute is the same. LoRA rank and alpha stay at the paper's values: their cost is small next
  to the frozen 135M weights.

Every value is resolved before the run folder is opened and recorded there, so a run can be
repeated exactly from its ``run_config.json``/``finetune_config.yaml`` whatever the defaults become.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from afpipe.config import StageConfig

Preset = Literal["auto", "paper", "cpu"]

# The values a preset fills in; a field set by the user (flag or YAML) always wins.
PRESETS: dict[str, dict[str, object]] = {
    "paper": {
        "max_length": 1024,
        "batch_size": 16,
        "micro_batch_size": 4,
        "lr": 5e-5,
        "epochs": 1.0,
        "max_steps": None,
        "save_every": 200,
        "lora_r": 64,
        "lora_alpha": 128,
    },
    "cpu": {
        "max_length": 1024,
        "batch_size": 4,
        "micro_batch_size": 2,
        "lr": 2e-4,
        "epochs": 1.0,
        "max_steps": 40,
        "save_every": 10,
        "lora_r": 64,
        "lora_alpha": 128,
    },
}


class FinetuneConfig(StageConfig):
    """Settings of ``pipeline finetune`` (continued pre-training on generated documents)."""

    docs: Path = Field(description="Run folder of the generate stage (holds manifest.json and docs.jsonl).")
    model: str = Field(
        default="smollm2-135m",
        description="Base model: 'smollm2-135m' (embedded), 'tiny-random', a local Hugging Face folder, or a hub id.",
    )
    preset: Preset = Field(
        default="auto",
        description="Where unset numbers come from: 'paper' (published recipe), 'cpu' (minutes on a CPU), "
        "or 'auto' (paper with a GPU, cpu without).",
    )
    method: Literal["lora", "full"] = Field(default="lora", description="LoRA adapter (peft) or full fine-tuning.")

    # Schedule
    epochs: float | None = Field(default=None, gt=0, description="Passes over the training documents.")
    max_steps: int | None = Field(
        default=None, gt=0, description="Stop after this many optimizer steps if the epochs are not done by then."
    )
    lr: float | None = Field(default=None, gt=0, description="Peak learning rate.")
    warmup_ratio: float = Field(default=0.05, ge=0, lt=1, description="Share of steps spent warming the lr up linearly.")
    lr_schedule: Literal["cosine", "linear", "constant"] = Field(
        default="cosine", description="Decay after warm-up (to zero at the last step, except 'constant')."
    )
    weight_decay: float = Field(default=0.0, ge=0, description="AdamW weight decay.")
    max_grad_norm: float = Field(default=1.0, gt=0, description="Gradient clipping norm.")
    batch_size: int | None = Field(default=None, gt=0, description="Sequences per optimizer step, over all processes.")
    micro_batch_size: int | None = Field(
        default=None, gt=0, description="Largest number of sequences per forward pass on one process (the rest is gradient accumulation)."
    )

    # Data
    max_length: int | None = Field(default=None, gt=8, description="Tokens per packed training sequence.")
    packing: Literal["whole", "fill"] = Field(
        default="whole",
        description="'whole': documents packed whole, the rest of a row padded; 'fill': a document that fits no row's free "
        "space is cut to fill one (each part attends only to itself; the cuts are counted). Fill wastes no compute on "
        "padding when documents are about half a row long.",
    )
    long_docs: Literal["split", "truncate"] = Field(
        default="split",
        description="A document longer than --max-length is split into several sequences, or truncated (counted either way).",
    )
    val_fraction: float = Field(default=0.05, gt=0, lt=0.5, description="Share of documents held out for validation loss.")
    val_max_docs: int = Field(default=200, gt=0, description="Cap on held-out documents (validation runs twice).")
    mix_source: str | None = Field(
        default=None,
        description="Real text mixed into training: a local .jsonl file (one record per line) or hf:NAME[:CONFIG[:SPLIT]] "
        "through the datasets package (None: the documents alone).",
    )
    mix_ratio: float = Field(default=0.0, ge=0, lt=1, description="Share of training tokens that are real text (0: none).")
    mix_text_field: str = Field(default="text", description="Field of each mix-source record that holds its text.")
    doc_prefix: str = Field(
        default="",
        description="Text put before every document whose tokens carry no loss (e.g. '<DOCTAG>'); empty: none.",
    )

    # LoRA
    lora_r: int | None = Field(default=None, gt=0, description="LoRA rank.")
    lora_alpha: int | None = Field(default=None, gt=0, description="LoRA alpha (scale = alpha / r).")
    lora_dropout: float = Field(
        default=0.0,
        ge=0,
        lt=1,
        description="Dropout on the LoRA input. 0: one pass over fresh documents has little to overfit, "
        "and dropout costs ~20% of a CPU step.",
    )
    lora_target: str = Field(
        default="all-linear",
        description="Modules that get adapters: 'all-linear' (every linear layer but the output head) "
        "or a comma-separated list of module names.",
    )

    # Hardware and bookkeeping
    precision: Literal["auto", "bf16", "fp16", "fp32"] = Field(
        default="auto", description="Compute precision: 'auto' uses bf16 where the hardware supports it."
    )
    gradient_checkpointing: bool = Field(default=False, description="Recompute activations in the backward pass to save memory.")
    seed: int = Field(default=0, description="Seed for the held-out split, data order and initialisation.")
    save_every: int | None = Field(default=None, gt=0, description="Checkpoint every N optimizer steps (for resuming).")
    log_every: int = Field(default=1, gt=0, description="Write a metrics line every N steps.")
    merge: bool = Field(default=False, description="Also write the base model with the adapter merged in (merged/).")
    report_to: list[str] = Field(
        default_factory=list, description="Trackers to log to as well (e.g. wandb, tensorboard); empty for none."
    )
    trust_remote_code: bool = Field(default=False, description="Allow a model repository's own Python code to run.")

    @classmethod
    def cli_defaults(cls) -> dict[str, str]:
        """The help's default for each field a preset fills in: ``paper: 5e-05, cpu: 0.0002``."""
        fields = {key for values in PRESETS.values() for key in values}
        return {key: ", ".join(f"{name}: {values[key] if values[key] is not None else 'none'}" for name, values in PRESETS.items())
                for key in sorted(fields)}

    def resolved(self, has_gpu: bool) -> "FinetuneConfig":
        """A copy with the preset chosen and every unset number filled from it."""
        preset = self.preset if self.preset != "auto" else ("paper" if has_gpu else "cpu")
        values = self.model_dump()
        values["preset"] = preset
        for key, default in PRESETS[preset].items():
            if values[key] is None:
                values[key] = default
        return FinetuneConfig.model_validate(values)

    def as_record(self) -> dict:
        """The JSON form written to run_config.json and the manifest (paths as strings)."""
        return self.model_dump(mode="json")
