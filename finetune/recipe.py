"""The training recipe: ``setup()``, ``train()``, ``save()``, in that order, with nothing hidden.

One ``accelerate.Accelerator`` carries the same code from one CPU process to many GPUs (DDP, FSDP,
DeepSpeed ZeRO-3 through ``accelerate launch --config_file ...``). Only the main process writes
the run's files; every process takes part in collective steps (checkpoints, gathering weights).

Resuming: every ``save_every`` steps the full training state (trainable weights, optimizer,
scheduler, random generators) goes to ``checkpoints/step-NNNNNN``. The batch of step ``s`` depends
only on (seed, s) (see ``data.batch_order``), so a run killed and restarted from its last
checkpoint replays exactly the steps an uninterrupted run would have taken.
"""

from __future__ import annotations

import json
import math
import resource
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.profiler import record_function

from afpipe.contracts import METRICS_FILE
from afpipe.errors import UserError
from afpipe.finetune.config import FinetuneConfig
from afpipe.finetune.data import IGNORE_INDEX, PackedSequences, batch_order
from afpipe.finetune.outputs import ADAPTER_DIR, FULL_MODEL_DIR, MERGED_DIR
from afpipe.jsonl import JsonlWriter, read_jsonl
from afpipe.runs import write_atomic, write_json

CHECKPOINTS = "checkpoints"
STATE_FILE = "trainer_state.json"
KEEP_CHECKPOINTS = 2
_TRAINABLE_WEIGHTS = "model.safetensors"  # the name accelerate gives a checkpoint's first model
_NO_LOGITS = torch.empty(0, dtype=torch.long)  # ``logits_to_keep`` that selects no position
_HEAD_ROWS_PER_CHUNK = 1024  # logits of 1,024 tokens at a time: ~100 MB in bf16 for a 49k vocabulary
# Each optimizer step and its phases are labelled for torch.profiler (free when no profiler runs);
# bench/bench_finetune.py reads them back. "head_loss" lies inside "forward".
STEP_LABEL = "optimizer_step"
STEP_PHASES = ("data", "forward", "backward", "optimizer")


def mixed_precision_for(precision: str) -> str:
    """accelerate's ``mixed_precision`` for a config value ('auto' picks what the hardware runs fast)."""
    if precision == "fp32":
        return "no"
    if precision in ("bf16", "fp16"):
        return precision
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    # On CPUs with AVX512-BF16 or AMX, bf16 matrix products run several times faster than fp32.
    return "bf16" if torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported() else "no"


def micro_batching(batch_size: int, micro_batch_size: int, world_size: int) -> tuple[int, int]:
    """(sequences per forward pass, forward passes per step) on each process."""
    if batch_size % world_size:
        raise UserError(
            f"--batch-size {batch_size} does not divide among {world_size} processes; use a multiple of {world_size}"
        )
    per_process = batch_size // world_size
    micro = max(d for d in range(1, min(micro_batch_size, per_process) + 1) if per_process % d == 0)
    return micro, per_process // micro


def linear_module_names(model) -> list[str]:
    """Short names of every linear layer but the output head (``q_proj``, ``down_proj``...).

    The adapter config then lists these few names rather than every layer's path, which is the
    form vLLM and other LoRA servers expect.
    """
    head = model.get_output_embeddings()
    names = {
        name.rsplit(".", 1)[-1]
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and module is not head
    }
    return sorted(names)


def load_for_packed_training(model_path: str, dtype: torch.dtype, trust_remote_code: bool):
    """The causal LM with attention inside each packed document (see attention.py), no key/value cache.

    A model whose code does not take transformers' attention functions keeps its own attention,
    which builds the block-diagonal mask from the position ids instead.
    """
    from transformers import AutoModelForCausalLM

    from afpipe.finetune.attention import register

    common = dict(dtype=dtype, trust_remote_code=trust_remote_code)
    try:
        model = AutoModelForCausalLM.from_pretrained(model_path, attn_implementation=register(), **common)
    except ValueError:  # "does not support an attention implementation through ..."
        model = AutoModelForCausalLM.from_pretrained(model_path, **common)
    model.config.use_cache = False
    return model


def hidden_state_head(model, probe_ids: torch.Tensor, autocast) -> torch.nn.Linear | None:
    """The output head, if the loss can be computed from the final hidden states and its weights.

    That holds for the usual causal LM (logits = head(final hidden states)) that accepts
    ``logits_to_keep``; a model that transforms its logits further (soft-capping, scaling) or an
    adapted head fails this probe on a few tokens and keeps the plain path.
    """
    head = model.get_output_embeddings()
    if type(head) is not torch.nn.Linear:
        return None
    try:
        with torch.no_grad(), autocast:
            plain = model(input_ids=probe_ids).logits
            out = model(input_ids=probe_ids, output_hidden_states=True, logits_to_keep=_NO_LOGITS)
            rebuilt = F.linear(out.hidden_states[-1], head.weight, head.bias)
    except (TypeError, ValueError, AttributeError):  # a model without logits_to_keep or hidden states
        return None
    if out.logits.numel() or rebuilt.shape != plain.shape:
        return None
    return head if torch.allclose(rebuilt.float(), plain.float(), rtol=1e-3, atol=1e-3) else None


class FinetuneRecipe:
    """Continued pre-training of a causal LM on packed documents (LoRA or full)."""

    def __init__(
        self, cfg: FinetuneConfig, out: Path, model_path: str, train: PackedSequences, val: PackedSequences, micro: int
    ):
        self.cfg = cfg
        self.out = Path(out)
        self.model_path = model_path
        self.micro = micro  # sequences per forward pass on each process
        self.train_data = train
        self.val_data = val
        self.total_steps = math.ceil(cfg.epochs * len(train) / cfg.batch_size)
        if cfg.max_steps is not None:
            self.total_steps = min(self.total_steps, cfg.max_steps)
        self.start_step = 0
        self.tokens_seen = 0
        self.val_loss_before: float | None = None
        self.val_loss_after: float | None = None
        self.train_seconds = 0.0
        self.last_loss: float | None = None

    # ------------------------------------------------------------------ setup
    def setup(self, accelerator) -> None:
        """Model, adapter, optimizer, schedule; then restore the last checkpoint if there is one."""
        from accelerate.utils import DistributedType, set_seed
        from transformers import get_scheduler

        cfg = self.cfg
        self.accelerator = accelerator
        self.accum = accelerator.gradient_accumulation_steps
        set_seed(cfg.seed)

        # A frozen base only needs the compute dtype; trained weights stay fp32 (autocast computes in bf16).
        compute = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(accelerator.mixed_precision, torch.float32)
        load_dtype = compute if cfg.method == "lora" else torch.float32
        model = load_for_packed_training(self.model_path, load_dtype, cfg.trust_remote_code)
        if cfg.gradient_checkpointing:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if cfg.method == "lora":
            from peft import LoraConfig, get_peft_model

            targets = (
                linear_module_names(model) if cfg.lora_target == "all-linear"
                else [t.strip() for t in cfg.lora_target.split(",") if t.strip()]
            )
            lora = LoraConfig(
                r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                target_modules=targets, bias="none", task_type="CAUSAL_LM",
            )
            try:
                model = get_peft_model(model, lora)
            except ValueError as e:  # e.g. a module list that matches nothing in this model
                raise UserError(f"--lora-target {cfg.lora_target!r}: {e}") from None
        self.compute_dtype = compute
        # The loss from hidden states and head weights, a chunk of tokens at a time: the logits of a
        # whole batch (micro-batch x length x vocabulary, 400 MB in bf16 for SmolLM2 at 2 x 1,024)
        # never exist. Sharded weights (FSDP, ZeRO-3) are whole only inside the model's forward, so
        # there the head stays in the model.
        sharded = accelerator.distributed_type in (DistributedType.FSDP, DistributedType.DEEPSPEED)
        probe = self.train_data.input_ids[:1, :16]
        self.head = None if sharded else hidden_state_head(model, probe, accelerator.autocast())
        if cfg.method == "lora" and compute != torch.float32:
            # Under autocast the adapters run in the compute dtype anyway; peft's own cast of every
            # adapter input to fp32 (the adapters' dtype) would copy each activation twice per
            # layer, forward and backward: a fifth of a step on CPU.
            for module in model.modules():
                if hasattr(module, "cast_input_dtype_enabled"):
                    module.cast_input_dtype_enabled = False
        self.trainable_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
        self.total_params = sum(p.numel() for p in model.parameters())

        optimizer = torch.optim.AdamW(
            [p for p in model.parameters() if p.requires_grad], lr=cfg.lr, weight_decay=cfg.weight_decay
        )
        schedule = {"cosine": "cosine", "linear": "linear", "constant": "constant_with_warmup"}[cfg.lr_schedule]
        scheduler = get_scheduler(
            schedule, optimizer,
            num_warmup_steps=round(cfg.warmup_ratio * self.total_steps),
            num_training_steps=self.total_steps,
        )
        self.model, self.optimizer, self.scheduler = accelerator.prepare(model, optimizer, scheduler)
        self._sharded = sharded
        if not self._sharded:
            # Checkpoints hold only what training changes: an adapter's few MB, not the frozen base.
            accelerator.register_save_state_pre_hook(self._save_trainable_only)
            accelerator.register_load_state_pre_hook(self._load_trainable_only)
        self._resume()

    def _save_trainable_only(self, models: list, weights: list, output_dir: str) -> None:
        for i in range(len(weights)):
            unwrapped = self.accelerator.unwrap_model(models[i])
            weights[i] = {n: p.detach().contiguous() for n, p in unwrapped.named_parameters() if p.requires_grad}

    def _load_trainable_only(self, models: list, input_dir: str) -> None:
        from safetensors.torch import load_file

        state = load_file(str(Path(input_dir) / _TRAINABLE_WEIGHTS))
        for model in models:
            unwrapped = self.accelerator.unwrap_model(model)
            trainable = {n for n, p in unwrapped.named_parameters() if p.requires_grad}
            result = unwrapped.load_state_dict(state, strict=False)
            missing = trainable & set(result.missing_keys)
            if missing or result.unexpected_keys:
                raise UserError(
                    f"checkpoint {input_dir} does not match this model ({len(missing)} weights missing, "
                    f"{len(result.unexpected_keys)} unexpected); remove it to restart"
                )
        models.clear()  # loaded here; accelerate must not load them again (strictly)

    def _checkpoints(self) -> list[Path]:
        root = self.out / CHECKPOINTS
        if not root.is_dir():
            return []
        done = [p for p in root.iterdir() if p.name.startswith("step-") and not p.name.endswith(".partial")]
        return sorted(done, key=lambda p: int(p.name.split("-")[1]))

    def _resume(self) -> None:
        checkpoints = [p for p in self._checkpoints() if (p / STATE_FILE).exists()]
        metrics = self.out / METRICS_FILE
        if not checkpoints:
            if self.accelerator.is_main_process:
                metrics.unlink(missing_ok=True)  # lines from an attempt killed before its first checkpoint
            return
        latest = checkpoints[-1]
        self.accelerator.load_state(str(latest))
        state = json.loads((latest / STATE_FILE).read_text())
        self.start_step = state["step"]
        self.tokens_seen = state["tokens_seen"]
        self.val_loss_before = state["val_loss_before"]
        self.train_seconds = state["train_seconds"]
        if self.accelerator.is_main_process:
            kept = [r for r in read_jsonl(metrics) if r.get("step", 0) <= self.start_step]
            write_atomic(metrics, "".join(json.dumps(r) + "\n" for r in kept))
            print(f"resuming from {latest.name} (step {self.start_step} of {self.total_steps})", file=sys.stderr)

    # ------------------------------------------------------------------ train
    def train(self) -> None:
        """Validation loss, the optimizer steps (checkpointing as it goes), validation loss again."""
        from tqdm.auto import tqdm

        acc, cfg = self.accelerator, self.cfg
        metrics = JsonlWriter(self.out / METRICS_FILE) if acc.is_main_process else None
        if self.val_loss_before is None:
            self.val_loss_before = self.validate()
            self._log(metrics, {"step": 0, "val_loss": self.val_loss_before})
        bar = tqdm(total=self.total_steps, initial=self.start_step, desc="finetune", unit="step",
                   disable=not acc.is_main_process, dynamic_ncols=True)
        self.model.train()
        for step in range(self.start_step, self.total_steps):
            started = time.perf_counter()
            with record_function(STEP_LABEL):
                loss, tokens = self._optimizer_step(step)
            seconds = time.perf_counter() - started
            self.train_seconds += seconds
            self.tokens_seen += tokens
            self.last_loss = loss
            done = step + 1
            if done % cfg.log_every == 0 or done == self.total_steps:
                self._log(metrics, {
                    "step": done,
                    "epoch": round(done * cfg.batch_size / len(self.train_data), 4),
                    "loss": round(loss, 5),
                    "lr": self.scheduler.get_last_lr()[0],
                    "tokens_seen": self.tokens_seen,
                    "tokens_per_s": round(tokens / seconds, 1),
                })
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}", tok_s=f"{tokens / seconds:.0f}")
            if done % cfg.save_every == 0 and done < self.total_steps:
                self._save_checkpoint(done)
        bar.close()
        self.val_loss_after = self.validate()
        self._log(metrics, {"step": self.total_steps, "val_loss": self.val_loss_after})
        if metrics:
            metrics.close()

    def _optimizer_step(self, step: int) -> tuple[float, int]:
        """One optimizer step over the global batch of ``step``; returns (mean token loss, useful tokens)."""
        acc, data = self.accelerator, self.train_data
        rows = batch_order(len(data), step, self.cfg.batch_size, self.cfg.seed)
        # Normalise by the loss tokens of the whole global batch, so that every token weighs the same
        # however the batch is cut into processes and micro-batches. DDP averages gradients over
        # processes and accelerate divides by the accumulation steps: both are multiplied back here.
        loss_tokens = int((data.labels[rows] != IGNORE_INDEX).sum())
        scale = acc.num_processes * self.accum / max(loss_tokens, 1)
        mine = rows[acc.process_index :: acc.num_processes]
        loss_sum = torch.zeros((), device=acc.device)
        for start in range(0, len(mine), self.micro):
            idx = mine[start : start + self.micro]
            with acc.accumulate(self.model):
                summed = self._loss_sum(idx, data)
                with record_function("backward"):
                    acc.backward(summed * scale)
                with record_function("optimizer"):
                    if acc.sync_gradients:
                        acc.clip_grad_norm_(self.model.parameters(), self.cfg.max_grad_norm)
                    self.optimizer.step()
                    self.optimizer.zero_grad()
            loss_sum += summed.detach()
        with record_function("optimizer"):
            self.scheduler.step()
        total = acc.reduce(loss_sum, reduction="sum")
        return float(total) / max(loss_tokens, 1), int(data.useful[rows].sum())

    def _loss_sum(self, idx: list[int], data: PackedSequences, keep: list[bool] | None = None) -> torch.Tensor:
        """Summed next-token loss of some packed sequences (documents attend only to themselves).

        Rows whose ``keep`` is False are computed but carry no loss.
        """
        device = self.accelerator.device
        with record_function("data"):
            input_ids = data.input_ids[idx].to(device)
            position_ids = data.position_ids[idx].to(device)
            labels = data.labels[idx].clone()
            if keep is not None:
                labels[~torch.tensor(keep)] = IGNORE_INDEX
            # Shift the labels, not the logits or hidden states: slicing those would copy them.
            targets = F.pad(labels[:, 1:], (0, 1), value=IGNORE_INDEX).to(device)
        # No attention mask: position ids restart at each document, and attention stays inside each
        # (attention.py; a model without transformers' attention functions builds a block mask from them).
        with record_function("forward"):
            if self.head is None:
                logits = self.model(input_ids=input_ids, position_ids=position_ids).logits
                return F.cross_entropy(
                    logits.view(-1, logits.shape[-1]), targets.view(-1), ignore_index=IGNORE_INDEX, reduction="sum"
                )
            out = self.model(
                input_ids=input_ids, position_ids=position_ids, output_hidden_states=True, logits_to_keep=_NO_LOGITS
            )
            with record_function("head_loss"):
                return self._head_loss_sum(out.hidden_states[-1], targets)

    def _head_loss_sum(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Summed cross-entropy of ``head(hidden)`` against ``targets``, without the logits tensor.

        Positions without a label (padding, each document's last token) are dropped first, so the
        head does no work for them. The head runs in the compute dtype, as it would under autocast.
        """
        dtype = self.compute_dtype
        wanted = targets.view(-1) != IGNORE_INDEX
        rows = hidden.reshape(-1, hidden.shape[-1])[wanted].to(dtype)
        weight, bias = self.head.weight, self.head.bias
        options = torch.nn.LinearCrossEntropyOptions(
            # A frozen head needs no weight-gradient scratch; a trained one keeps torch's choice.
            acc_policy="compact" if not weight.requires_grad else "auto",
            chunking_method=None, batch_chunk_size=_HEAD_ROWS_PER_CHUNK,
        )
        return F.linear_cross_entropy(
            rows, weight.to(dtype), targets.view(-1)[wanted], linear_bias=None if bias is None else bias.to(dtype),
            reduction="sum", ignore_index=IGNORE_INDEX, options=options,
        )

    @torch.no_grad()
    def validate(self) -> float:
        """Mean next-token loss (nats per token) on the held-out documents, over all processes."""
        acc, data = self.accelerator, self.val_data
        was_training = self.model.training
        self.model.eval()
        mine = list(range(acc.process_index, len(data), acc.num_processes))
        # Every process must run the same number of forward passes (DDP and FSDP synchronise inside
        # them), so a process short of sequences repeats sequence 0 with its loss switched off.
        share = math.ceil(len(data) / acc.num_processes)
        fillers = share - len(mine)
        mine += [0] * fillers
        keep = [True] * (share - fillers) + [False] * fillers
        loss_sum = torch.zeros((), device=acc.device)
        for start in range(0, share, self.micro):
            end = start + self.micro
            loss_sum += self._loss_sum(mine[start:end], data, keep[start:end])
        if was_training:
            self.model.train()
        total = float(acc.reduce(loss_sum, reduction="sum"))
        return total / max(int((data.labels != IGNORE_INDEX).sum()), 1)

    def _log(self, writer: JsonlWriter | None, record: dict[str, Any]) -> None:
        if writer is not None:
            writer.write(record)
        if self.cfg.report_to:
            self.accelerator.log({k: v for k, v in record.items() if k != "step"}, step=record["step"])

    def _save_checkpoint(self, step: int) -> None:
        """Write the training state atomically: a checkpoint folder is complete or absent."""
        acc = self.accelerator
        root = self.out / CHECKPOINTS
        final = root / f"step-{step:06d}"
        partial = final.with_name(final.name + ".partial")
        if acc.is_main_process and partial.exists():
            shutil.rmtree(partial)  # left by a run killed mid-save
        acc.wait_for_everyone()
        acc.save_state(str(partial))
        acc.wait_for_everyone()
        if acc.is_main_process:
            write_json(partial / STATE_FILE, {
                "step": step,
                "tokens_seen": self.tokens_seen,
                "val_loss_before": self.val_loss_before,
                "train_seconds": self.train_seconds,
            })
            if final.exists():
                shutil.rmtree(final)
            partial.rename(final)
            for old in self._checkpoints()[:-KEEP_CHECKPOINTS]:
                shutil.rmtree(old, ignore_errors=True)
        acc.wait_for_everyone()

    # ------------------------------------------------------------------ save
    def save(self, tokenizer, model_dtype: torch.dtype) -> list[str]:
        """Write adapter/ (LoRA) or model/ (full), plus merged/ with --merge. Returns the folders written."""
        acc = self.accelerator
        # Every process takes part: under FSDP / ZeRO-3 this gathers the sharded weights.
        state = acc.get_state_dict(self.model)
        unwrapped = acc.unwrap_model(self.model)
        written: list[str] = []
        if self.cfg.method == "lora":
            written.append(ADAPTER_DIR)
            if acc.is_main_process:
                with _replacing(self.out / ADAPTER_DIR) as tmp:
                    unwrapped.save_pretrained(tmp, state_dict=state)
                    tokenizer.save_pretrained(tmp)
        else:
            written.append(FULL_MODEL_DIR)
            if acc.is_main_process:
                state = {k: v.to(model_dtype) if v.is_floating_point() else v for k, v in state.items()}
                with _replacing(self.out / FULL_MODEL_DIR) as tmp:
                    unwrapped.save_pretrained(tmp, state_dict=state)
                    tokenizer.save_pretrained(tmp)
        acc.wait_for_everyone()
        if self.cfg.method == "lora" and self.cfg.merge:
            written.append(MERGED_DIR)
            if acc.is_main_process:
                self._save_merged(tokenizer, model_dtype)
            acc.wait_for_everyone()
        return written

    def _save_merged(self, tokenizer, model_dtype: torch.dtype) -> None:
        """Base + adapter folded into plain weights, loaded afresh in the base model's dtype."""
        from peft import PeftModel
        from transformers import AutoModelForCausalLM

        base = AutoModelForCausalLM.from_pretrained(
            self.model_path, dtype=model_dtype, trust_remote_code=self.cfg.trust_remote_code
        )
        merged = PeftModel.from_pretrained(base, str(self.out / ADAPTER_DIR)).merge_and_unload()
        with _replacing(self.out / MERGED_DIR) as tmp:
            merged.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)

    def remove_checkpoints(self) -> None:
        if self.accelerator.is_main_process:
            shutil.rmtree(self.out / CHECKPOINTS, ignore_errors=True)

    def summary(self) -> dict[str, Any]:
        """Figures for the manifest and the model card."""
        return {
            "steps": self.total_steps,
            "micro_batch_size": self.micro,
            "gradient_accumulation_steps": self.accum,
            "processes": self.accelerator.num_processes,
            "mixed_precision": self.accelerator.mixed_precision,
            "trainable_params": self.trainable_params,
            "total_params": self.total_params,
            "tokens_seen": self.tokens_seen,
            "train_seconds": round(self.train_seconds, 2),
            "tokens_per_s": round(self.tokens_seen / self.train_seconds, 1) if self.train_seconds else None,
            "final_train_loss": self.last_loss,
            "val_loss_before": self.val_loss_before,
            "val_loss_after": self.val_loss_after,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }


class _replacing:
    """Write a folder under a temporary name and swap it in at the end (never half a folder)."""

    def __init__(self, target: Path):
        self.target = target
        self.tmp = target.with_name(target.name + ".partial")

    def __enter__(self) -> str:
        if self.tmp.exists():
            shutil.rmtree(self.tmp)
        self.tmp.mkdir(parents=True)
        return str(self.tmp)

    def __exit__(self, exc_type, *rest) -> None:
        if exc_type is not None:
            return
        if self.target.exists():
            shutil.rmtree(self.target)
        self.tmp.rename(self.target)
