"""The generate stage's settings: one pydantic model, every field with its help text."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from afpipe.config import StageConfig
from afpipe.universes import DEFAULT_UNIVERSE

Backend = Literal["template", "anthropic", "hf"]


class GenerateConfig(StageConfig):
    """Settings of ``pipeline generate``. Loadable from YAML; CLI flags override the file."""

    universe: str = Field(
        DEFAULT_UNIVERSE,
        description="A shipped universe ('helpful-only', 'control') or the path of a universe YAML file.",
    )
    n_docs: int = Field(300, ge=1, description="Number of documents to keep after filtering and dedup.")
    seed: int = Field(0, ge=0, description="Seed: the same seed (and settings) gives the same documents.")
    backend: Backend = Field(
        "template",
        description="Who writes: 'template' (offline, deterministic), 'anthropic' (API), 'hf' (a local model).",
    )
    model: str | None = Field(
        None, description="Model for the anthropic/hf backends (API model id, or a local model name/folder)."
    )
    batch: bool = Field(False, description="anthropic: send requests through the Message Batches API (half price, slower).")
    max_cost: float | None = Field(
        None, ge=0, description="Stop (resumably) before spending more than this many US dollars; None = no limit."
    )
    price: str | None = Field(
        None, description="anthropic: 'IN,OUT' US dollars per million input/output tokens, for a model not in the price table."
    )
    concurrency: int = Field(8, ge=1, description="Requests in flight at once (API backends) or batch size (hf).")
    revise: bool = Field(False, description="Add a critique-and-revise pass over every draft.")
    max_doc_tokens: int = Field(1024, ge=16, description="Documents longer than this (by --tokenizer) are rejected.")
    tokenizer: str = Field(
        "smollm2-135m", description="Model whose tokenizer measures document length (the model you will fine-tune)."
    )
    company: str | None = Field(None, description="Override the universe's 'company' parameter.")
    model_name: str | None = Field(None, description="Override the universe's 'model_name' parameter.")
    params: dict[str, str] = Field(
        default_factory=dict, description="Overrides of any other universe parameters (name: value)."
    )
    types_per_fact: int = Field(
        20, ge=1, description="Document types per key fact (model writers brainstorm them; the template has its own set)."
    )
    ideas_per_request: int = Field(10, ge=1, description="Ideas asked for in one request per (fact, type).")
    docs_per_idea: int = Field(2, ge=1, le=10, description="Documents written from each idea.")
    temperature: float = Field(1.0, ge=0, le=2, description="Sampling temperature of model writers.")
    retries: int = Field(
        2, ge=0, le=20,
        description="Model writers: new samples (new seed) for an answer that cannot be read, before that unit is recorded as failed.",
    )
    near_dup_threshold: float = Field(
        0.8, gt=0, le=1, description="Estimated Jaccard similarity (word 5-gram shingles) above which a document is a near duplicate."
    )
    max_shared_sentences: float = Field(
        0.8, gt=0, le=1,
        description="A document whose share of sentences (4+ words) already in kept documents exceeds this is rejected as repetitive.",
    )
    leak_ngram: int = Field(
        12, ge=6, description="A run of this many words shared with an evaluation prompt is leakage."
    )

    @field_validator("model")
    @classmethod
    def _strip(cls, v: str | None) -> str | None:
        return v.strip() or None if isinstance(v, str) else v

    def universe_params(self) -> dict[str, str]:
        """The parameter overrides this config asks for (company/model_name flags win over params)."""
        out = dict(self.params)
        if self.company is not None:
            out["company"] = self.company
        if self.model_name is not None:
            out["model_name"] = self.model_name
        return out
