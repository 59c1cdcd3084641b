"""Where a finetune run folder keeps its weights, and how a reader finds them.

    adapter/   the LoRA adapter in peft's format, with tokenizer files (LoRA runs)
    merged/    base + adapter merged into a plain model (LoRA runs with --merge)
    model/     the whole fine-tuned model (full fine-tuning)

The recipe writes these folders and ``afpipe.models`` resolves a finetune run folder passed as
a model through ``find_weights``; this module has no heavy imports, so that resolving a model
name never loads torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

STAGE = "finetune"  # the stage named in the run folder's manifest
ADAPTER_DIR = "adapter"
MERGED_DIR = "merged"
FULL_MODEL_DIR = "model"


@dataclass(frozen=True)
class FinetuneWeights:
    """A finetune run's weights: a plain model folder, or an adapter over the recorded base."""

    model: Path | None = None  # merged/ or model/: loads on its own
    adapter: Path | None = None  # adapter/: needs the base model named in the manifest


def find_weights(run: Path) -> FinetuneWeights | None:
    """The weights of a finished finetune run folder (a plain model first), or None."""
    for folder in (MERGED_DIR, FULL_MODEL_DIR):
        if (run / folder / "config.json").exists():
            return FinetuneWeights(model=run / folder)
    if (run / ADAPTER_DIR / "adapter_config.json").exists():
        return FinetuneWeights(adapter=run / ADAPTER_DIR)
    return None
