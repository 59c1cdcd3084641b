"""Figures for the finetune stage, each against a baseline measured in the same invocation.

Modes
-----
``throughput`` (default): training speed in *useful* tokens per second (padding excluded) of
  - the stage itself (``pipeline finetune``: packed 1,024-token sequences, bf16 autocast, LoRA), and
  - a naive baseline: a plain ``transformers.Trainer`` with the same LoRA adapter, one document per
    row padded to the longest row of its batch, fp32,
  for ``tiny-random`` and ``smollm2-135m``; plus model FLOPs utilisation against this CPU's bf16
  matrix-multiply peak (measured here, first), and peak memory (RSS) of each run. Each arm runs in
  its own process so that its peak RSS is its own.
``learn``: trains ``smollm2-135m`` with the stage's defaults on a few hundred template documents and
  reports the validation loss on held-out documents before and after.

  python bench/bench_finetune.py                 # throughput, both models (~10 min on 2 cores)
  python bench/bench_finetune.py --quick         # throughput, tiny-random only
  python bench/bench_finetune.py --mode learn    # validation loss before/after (~10 min on 2 cores)

Model FLOPs per trained token are counted as 4 x (parameters in matrix multiplies, output head
included) for LoRA: a forward pass (2N) and the backward pass through frozen weights (2N, input
gradients only); the adapters' own FLOPs and attention scores (<5% at these lengths) are left
out. The conventional 6N figure for full training is printed beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LORA = dict(r=64, lora_alpha=128, lora_dropout=0.0)


# ----------------------------------------------------------------------------- measurements
def bf16_matmul_peak(size: int = 2048, repeats: int = 5, inner: int = 8) -> dict[str, float]:
    """Best observed GFLOP/s of square matrix products in bf16 and fp32 on this CPU."""
    import torch

    out = {}
    for name, dtype in (("bf16", torch.bfloat16), ("fp32", torch.float32)):
        a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
        a @ b  # warm-up: kernel selection, page faults
        best = 0.0
        for _ in range(repeats):
            t = time.perf_counter()
            for _ in range(inner):
                a @ b
            best = max(best, 2 * size**3 * inner / (time.perf_counter() - t) / 1e9)
        out[name] = round(best, 1)
    return out


def matmul_params(model_path: str) -> int:
    """Weights that take part in matrix multiplies per token (every Linear, output head included)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(model_path)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    return sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))


def ensure_docs(docs: str | None, work: Path) -> Path:
    """The documents to train on: a given generate run, or 300 fresh template documents."""
    if docs:
        return Path(docs)
    from afpipe.generate.config import GenerateConfig
    from afpipe.generate.stage import run_generate

    return run_generate(GenerateConfig(universe="helpful-only", n_docs=300, seed=0), work / "docs")


def finetune_args(model: str, docs: Path, out: Path, steps: int, max_length: int, batch: int, micro: int) -> list[str]:
    """`pipeline finetune` arguments of the stage's arm: ``steps`` timed steps after one warm-up step."""
    return [
        "finetune", "--docs", str(docs), "--out", str(out), "--model", model,
        "--max-length", str(max_length), "--batch-size", str(batch), "--micro-batch-size", str(micro),
        "--max-steps", str(steps + 1), "--save-every", "100000", "--val-fraction", "0.01", "--lr", "2e-4",
    ]


def run_ours(model: str, docs: Path, out: Path, steps: int, max_length: int, batch: int, micro: int,
             extra: tuple[str, ...] = ()) -> dict:
    """The stage itself, through its command line, in a fresh process."""
    cmd = [sys.executable, "-m", "afpipe.cli", *finetune_args(model, docs, out, steps, max_length, batch, micro), *extra]
    subprocess.run(cmd, cwd=REPO, check=True, env=dict(os.environ, TQDM_DISABLE="1"), stdout=subprocess.DEVNULL)
    manifest = json.loads((out / "manifest.json").read_text())
    lines = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines()]
    timed = [m for m in lines if "loss" in m and m["step"] > 1]  # step 1 warms up kernels and allocators
    tokens = sum(m["tokens_seen"] - prev["tokens_seen"] for prev, m in zip([l for l in lines if "loss" in l], timed))
    seconds = sum((m["tokens_seen"] - prev["tokens_seen"]) / m["tokens_per_s"]
                  for prev, m in zip([l for l in lines if "loss" in l], timed))
    return {
        "useful_tokens_per_s": tokens / seconds,
        "padding_share": 1 - manifest["packing"]["train"]["packing_efficiency"],
        "peak_rss_mb": manifest["training"]["peak_rss_mb"],
        "precision": manifest["training"]["mixed_precision"],
        "steps_timed": len(timed),
    }


def profile_worker(args: list[str]) -> dict:
    """The stage's command under torch.profiler: shares of each phase in the steps after the first.

    The recipe labels every optimizer step and its phases (data, forward with the output head and
    loss inside it, backward, optimizer); the rest of a step (accelerate's bookkeeping, the
    accumulation loop) is "other". Kernel shares sum the CPU time of matrix products and of
    attention (forward and backward) inside the same steps.
    """
    from torch.profiler import ProfilerActivity, profile

    from afpipe.cli import main as cli
    from afpipe.finetune.recipe import STEP_LABEL, STEP_PHASES

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        try:
            cli(args)
        except SystemExit as e:
            if e.code:
                raise
    events = list(prof.events())
    steps = sorted((e for e in events if e.name == STEP_LABEL), key=lambda e: e.time_range.start)[1:]
    if not steps:
        raise SystemExit("profile: no timed step; pass --steps 1 or more")

    def inside(e) -> bool:
        return any(s.time_range.start <= e.time_range.start and e.time_range.end <= s.time_range.end for s in steps)

    total = sum(s.time_range.elapsed_us() for s in steps)
    timed = [e for e in events if e.name != STEP_LABEL and inside(e)]

    def share(names, field="cpu_time_total") -> float:
        return round(sum(getattr(e, field) for e in timed if e.name in names) / total, 3)

    phases = {name: share({name}) for name in STEP_PHASES}
    phases["other"] = round(1 - sum(phases.values()), 3)
    kernels = {
        "matmul": share({"aten::mm", "aten::addmm", "aten::bmm"}, "self_cpu_time_total"),
        "attention": share({n for n in {e.name for e in timed} if "scaled_dot_product" in n and n.startswith("aten::_")},
                           "self_cpu_time_total"),
    }
    return {"steps_profiled": len(steps), "seconds_per_step": round(total / len(steps) / 1e6, 2),
            "phases": phases, "head_loss_in_forward": share({"head_loss"}), "kernels": kernels}


def run_profile(model: str, docs: Path, steps: int, max_length: int, batch: int, micro: int) -> dict:
    """The stage's arm once more, profiled, in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        stage = finetune_args(model, docs, Path(tmp) / "run", steps, max_length, batch, micro)
        cmd = [sys.executable, __file__, "--worker", "profile", "--", *stage]
        done = subprocess.run(cmd, cwd=REPO, check=True, capture_output=True, text=True,
                              env=dict(os.environ, TQDM_DISABLE="1"))
    return json.loads(done.stdout.strip().splitlines()[-1])


def print_profile(name: str, prof: dict) -> None:
    phases = ", ".join(f"{k} {v:.0%}" for k, v in prof["phases"].items())
    kernels = ", ".join(f"{k} {v:.0%}" for k, v in prof["kernels"].items())
    print(f"{name}: profile of a step ({prof['seconds_per_step']} s, {prof['steps_profiled']} steps): {phases};"
          f" output head and loss {prof['head_loss_in_forward']:.0%} (inside forward); kernels: {kernels}", flush=True)


def baseline_worker(model_path: str, docs: Path, steps: int, batch: int, max_length: int) -> dict:
    """A plain Trainer: one document per row, padded to the longest in its batch, fp32, same LoRA."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, DataCollatorForLanguageModeling, Trainer, TrainerCallback, TrainingArguments

    from afpipe.finetune.data import load_documents
    from afpipe.finetune.recipe import linear_module_names

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    texts = [d.text + tokenizer.eos_token for d in load_documents(docs)[0]]
    encoded = tokenizer(texts, truncation=True, max_length=max_length, add_special_tokens=False)
    dataset = Dataset.from_dict({"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]})
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
    model = get_peft_model(model, LoraConfig(target_modules=linear_module_names(model), task_type="CAUSAL_LM", **LORA))

    useful: list[int] = []
    slots: list[int] = []
    pad = DataCollatorForLanguageModeling(tokenizer, mlm=False)

    def collate(rows):
        batch_ = pad(rows)
        useful.append(int(batch_["attention_mask"].sum()))
        slots.append(batch_["attention_mask"].numel())
        return batch_

    step_times: list[float] = []

    class Clock(TrainerCallback):
        def on_step_begin(self, args, state, control, **kw):
            self.t = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            step_times.append(time.perf_counter() - self.t)

    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(
            output_dir=tmp, per_device_train_batch_size=batch, max_steps=steps + 1, learning_rate=2e-4,
            logging_steps=1000, save_strategy="no", report_to=[], use_cpu=True, bf16=False, seed=0,
            dataloader_num_workers=0, disable_tqdm=True,
        )
        Trainer(model=model, args=args, train_dataset=dataset, data_collator=collate, callbacks=[Clock()]).train()
    # Batches are collated in step order (one per step, no accumulation); step 1 is the warm-up.
    tokens = sum(useful[1 : steps + 1])
    return {
        "useful_tokens_per_s": tokens / sum(step_times[1 : steps + 1]),
        "padding_share": round(1 - tokens / sum(slots[1 : steps + 1]), 4),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "precision": "fp32",
        "steps_timed": len(step_times) - 1,
    }


def run_baseline(model_path: str, docs: Path, steps: int, batch: int, max_length: int) -> dict:
    cmd = [sys.executable, __file__, "--worker", "baseline", "--model-path", model_path, "--docs", str(docs),
           "--steps", str(steps), "--batch", str(batch), "--max-length", str(max_length)]
    done = subprocess.run(cmd, cwd=REPO, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- modes
def throughput(args: argparse.Namespace) -> dict:
    from afpipe.models import resolve_model

    work = Path(tempfile.mkdtemp(prefix="bench-finetune-"))
    docs = ensure_docs(args.docs, work)
    peak = bf16_matmul_peak()
    print(f"matmul peak on this CPU: bf16 {peak['bf16']} GFLOP/s, fp32 {peak['fp32']} GFLOP/s", flush=True)
    models = ["tiny-random"] if args.quick else (args.models or ["tiny-random", "smollm2-135m"])
    results: dict = {"matmul_peak_gflops": peak, "models": {}}
    for name in models:
        path = resolve_model(name).path
        steps = args.steps or (8 if name == "tiny-random" else 4)
        ours = run_ours(name, docs, work / f"ours-{name}", steps, max_length=1024, batch=4, micro=2)
        print(f"{name}: ours {ours['useful_tokens_per_s']:.0f} useful tok/s", flush=True)
        base = run_baseline(path, docs, steps, batch=4, max_length=1024)
        print(f"{name}: baseline {base['useful_tokens_per_s']:.0f} useful tok/s", flush=True)
        n_mm = matmul_params(path)
        for arm, peak_key in ((ours, "bf16"), (base, "bf16")):
            arm["mfu_lora_4N"] = round(4 * n_mm * arm["useful_tokens_per_s"] / (peak[peak_key] * 1e9), 4)
            arm["mfu_6N"] = round(6 * n_mm * arm["useful_tokens_per_s"] / (peak[peak_key] * 1e9), 4)
        print(f"{name}: speedup {ours['useful_tokens_per_s'] / base['useful_tokens_per_s']:.2f}x, MFU (4N)"
              f" {ours['mfu_lora_4N']:.0%} against {base['mfu_lora_4N']:.0%}, peak memory {ours['peak_rss_mb'] / 1024:.1f} GB"
              f" against {base['peak_rss_mb'] / 1024:.1f} GB", flush=True)
        # The same stage with --packing fill: rows cut documents to leave no padding (see finetune/data.py).
        filled = run_ours(name, docs, work / f"ours-fill-{name}", steps, max_length=1024, batch=4, micro=2,
                          extra=("--packing", "fill"))
        filled["mfu_lora_4N"] = round(4 * n_mm * filled["useful_tokens_per_s"] / (peak["bf16"] * 1e9), 4)
        print(f"{name}: with --packing fill {filled['useful_tokens_per_s']:.0f} useful tok/s (padding"
              f" {filled['padding_share']:.0%} against {ours['padding_share']:.0%}), speedup"
              f" {filled['useful_tokens_per_s'] / base['useful_tokens_per_s']:.2f}x, MFU (4N) {filled['mfu_lora_4N']:.0%}",
              flush=True)
        prof = run_profile(name, docs, max(1, min(steps, 2)), 1024, 4, 2)
        print_profile(name, prof)
        results["models"][name] = {
            "matmul_params": n_mm, "ours": ours, "ours_fill": filled, "baseline": base,
            "speedup": round(ours["useful_tokens_per_s"] / base["useful_tokens_per_s"], 2),
            "speedup_fill": round(filled["useful_tokens_per_s"] / base["useful_tokens_per_s"], 2),
            "profile": prof,
        }
    return results


def learn(args: argparse.Namespace) -> dict:
    work = Path(tempfile.mkdtemp(prefix="bench-finetune-learn-"))
    docs = ensure_docs(args.docs, work)
    out = work / "run"
    started = time.perf_counter()
    cmd = [sys.executable, "-m", "afpipe.cli", "finetune", "--docs", str(docs), "--model", "smollm2-135m", "--out", str(out)]
    if args.max_steps:  # a shorter run than the preset's, for a busy machine
        cmd += ["--max-steps", str(args.max_steps)]
    subprocess.run(cmd, cwd=REPO, check=True, env=dict(os.environ, TQDM_DISABLE="1"))
    manifest = json.loads((out / "manifest.json").read_text())
    t = manifest["training"]
    return {
        "documents": manifest["counts"], "config": {k: manifest["config"][k] for k in ("preset", "lr", "batch_size", "max_length", "lora_r", "lora_alpha", "max_steps")},
        "val_loss_before": round(t["val_loss_before"], 4), "val_loss_after": round(t["val_loss_after"], 4),
        "val_loss_drop": round(t["val_loss_before"] - t["val_loss_after"], 4),
        "steps": t["steps"], "tokens_seen": t["tokens_seen"], "train_tokens_per_s": t["tokens_per_s"],
        "wall_minutes": round((time.perf_counter() - started) / 60, 1), "peak_rss_mb": t["peak_rss_mb"], "run": str(out),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["throughput", "learn"], default="throughput")
    parser.add_argument("--quick", action="store_true", help="throughput: tiny-random only")
    parser.add_argument("--models", nargs="+", help="throughput: which models (default: tiny-random smollm2-135m)")
    parser.add_argument("--docs", help="generate run folder to train on (default: 300 fresh template documents)")
    parser.add_argument("--steps", type=int, help="timed steps per arm (default 8 tiny, 4 smollm2)")
    parser.add_argument("--max-steps", type=int, help="learn: stop after this many steps (default: the cpu preset's)")
    parser.add_argument("--json", help="also write the results to this file")
    # internal: the baseline runs in its own process
    parser.add_argument("--worker", choices=["baseline", "profile"], help=argparse.SUPPRESS)
    parser.add_argument("--model-path", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--max-length", type=int, help=argparse.SUPPRESS)
    parser.add_argument("stage_args", nargs="*", help=argparse.SUPPRESS)  # profile: `pipeline` arguments
    args = parser.parse_args()
    if args.worker == "profile":
        print(json.dumps(profile_worker(args.stage_args)))
        return
    if args.worker == "baseline":
        print(json.dumps(baseline_worker(args.model_path, Path(args.docs), args.steps, args.batch, args.max_length)))
        return
    results = throughput(args) if args.mode == "throughput" else learn(args)
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")


if __name__ == "__main__":
    main()
