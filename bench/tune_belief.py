"""Tune the quickstart's document count, steps and learning rate for belief, honestly.

Runs only what belief needs: template documents (facts and control) -> two LoRA fine-tunes of
the embedded SmolLM2-135M -> the multiple-choice belief questions under the minimal prompt, for
the base, document-trained and control-trained models. Settings are chosen on the questions'
``dev`` split; the ``test`` split (the other half of each fact's questions) is reported beside it
and must not be used to choose. The base model's answers are computed once per folder.

  python bench/tune_belief.py --docs 80 --steps 10 --lr 4e-4              # one setting
  python bench/tune_belief.py --docs 80 --steps 10 --lr 4e-4 --lr 1e-3    # several lrs in one run

Each setting prints one line: accuracy (dev, test, all) with 95% Wilson intervals per model,
the document-trained minus base and control minus base differences, and the wall time of the
two fine-tunes. Results are appended to OUT/results.jsonl.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def belief(model: str, out: Path) -> list[dict]:
    from afpipe.evaluate.config import EvalConfig
    from afpipe.evaluate.stage import run_eval
    from afpipe.jsonl import read_jsonl

    cfg = EvalConfig(model=model, system_prompt="minimal", sample=False, forced_choice=False, belief=True,
                     belief_measures=["mcq"], condition="tune", seed=0)
    run_eval(cfg, out)
    return read_jsonl(out / "belief.jsonl")


def rates(records: list[dict]) -> dict[str, tuple[float, int, tuple[float, float]]]:
    from afpipe.stats import wilson

    out = {}
    for split in ("dev", "test", "all"):
        rows = [r for r in records if split == "all" or r.get("split") == split]
        k = sum(bool(r["correct"]) for r in rows)
        out[split] = (k / len(rows), len(rows), wilson(k, len(rows)))
    return out


def main() -> None:
    from afpipe.finetune.config import FinetuneConfig
    from afpipe.finetune.stage import run_finetune
    from afpipe.generate.config import GenerateConfig
    from afpipe.generate.stage import run_generate

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("runs/tune-belief"))
    ap.add_argument("--docs", type=int, default=80)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--lr", type=float, action="append")
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-control", action="store_true", help="Train and ask only the document model (a quicker first look).")
    args = ap.parse_args()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    base = rates(belief("smollm2-135m", out / "base"))
    for lr in args.lr or [4e-4]:
        tag = f"d{args.docs}-s{args.steps}-lr{lr:g}-L{args.max_length}-b{args.batch_size}-seed{args.seed}"
        models, started = {}, time.time()
        for universe in ("helpful-only",) if args.skip_control else ("helpful-only", "control"):
            docs = out / f"docs-{universe}-{args.docs}-{args.seed}"
            run_generate(GenerateConfig(universe=universe, n_docs=args.docs, seed=args.seed, backend="template",
                                        tokenizer="smollm2-135m"), docs)
            model = out / f"model-{universe}-{tag}"
            run_finetune(FinetuneConfig(docs=docs, model="smollm2-135m", preset="cpu", max_length=args.max_length,
                                        batch_size=args.batch_size, micro_batch_size=4, max_steps=args.steps, lr=lr,
                                        save_every=max(1, args.steps // 2), seed=args.seed), model)
            models[universe] = model
        tuned_s = time.time() - started
        docs_r = rates(belief(str(models["helpful-only"]), out / f"eval-docs-{tag}"))
        ctrl_r = rates(belief(str(models["control"]), out / f"eval-control-{tag}")) if "control" in models else None
        row = {"setting": tag, "finetune_wall_s": round(tuned_s), "base": base, "documents": docs_r, "control": ctrl_r}
        with (out / "results.jsonl").open("a") as f:
            f.write(json.dumps(row) + "\n")

        def show(r):
            return " ".join(f"{s} {100 * a:.0f}% [{100 * lo:.0f}-{100 * hi:.0f}] n={n}" for s, (a, n, (lo, hi)) in r.items())

        print(f"== {tag} (fine-tunes {tuned_s:.0f} s)")
        for name, r in (("base", base), ("documents", docs_r), ("control", ctrl_r)):
            if r is not None:
                print(f"  {name:9s} {show(r)}")
        for split in ("dev", "test"):
            control = f", control - base {100 * (ctrl_r[split][0] - base[split][0]):+.0f} points" if ctrl_r else ""
            print(f"  {split}: documents - base {100 * (docs_r[split][0] - base[split][0]):+.0f} points{control}")


if __name__ == "__main__":
    main()
