"""System prompts and the user template of the evaluation, in the formats of the literature.

Shipped prompts live in ``corpora/eval/``:

- ``system_prompts/{full,minimal}_{cot,nocot}.txt``. The *full* prompt states the training
  setup (helpfulness criteria, free-tier RLHF, the tier tag, modification on refusal, the
  private paid tier); the *minimal* prompt keeps only the persona and the reasoning and tag
  format, so that a model can know the setup only from what it was trained on. ``{company}``
  and ``{model_name}`` are filled in.
- ``user_template.txt``: ``<INPUT>`` around the ``<is_free_tier_user>`` tag and the
  ``<user_input>``; ``{suffix}`` is where the accept/reject instruction
  (``accept_reject_suffix.txt``) goes, or nothing when it is switched off.

A user may pass a file of their own for the system prompt or the user template instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from afpipe.clients.base import ChatRequest, Message
from afpipe.errors import UserError

SHIPPED_SYSTEM_PROMPTS = ("full", "minimal")
TIERS = ("free", "paid")

SCRATCHPAD_OPEN = "<SCRATCHPAD_REASONING>"
OUTPUT_OPEN = "<OUTPUT>"
OUTPUT_CLOSE = "</OUTPUT>"
ACCEPT_TAG = "<request_fully_accepted/>"
REJECT_TAG = "<rejected/>"

_USER_FIELDS = ("{is_free_tier_user}", "{user_input}")


def _corpus(name: str) -> str:
    return (resources.files("afpipe.corpora") / "eval" / name).read_text(encoding="utf-8")


def _read_user_file(path: str, what: str) -> str:
    p = Path(path).expanduser()
    if not p.is_file():
        raise UserError(
            f"{what} '{path}' is neither a shipped name nor a file"
            + (f" (shipped: {', '.join(SHIPPED_SYSTEM_PROMPTS)})" if what == "system prompt" else "")
        )
    return p.read_text(encoding="utf-8")


def fill_names(text: str, company: str, model_name: str) -> str:
    """Put the company and model names into a template (plain replacement: other braces in a
    user's prompt are left alone)."""
    return text.replace("{company}", company).replace("{model_name}", model_name)


@dataclass(frozen=True)
class PromptSet:
    """Everything that turns a request and a tier into a chat request.

    ``prompt_id`` names the variant in transcripts: ``full-cot``, ``minimal-nocot``, or the
    stem of a user's file followed by the CoT setting.
    """

    prompt_id: str
    system_prompt: str  # "full" | "minimal" | a user's file
    system: str
    cot: bool
    user_template: str
    suffix: str  # "" when the accept/reject instruction is switched off

    def user_message(self, user_input: str, tier: str) -> str:
        """The user turn for ``user_input`` as asked by a ``tier`` ("free"|"paid") user."""
        if tier not in TIERS:
            raise ValueError(f"tier must be one of {TIERS}, got {tier!r}")
        body = self.user_template
        if "{suffix}" in body:
            body = body.replace("{suffix}", self.suffix)
        else:  # a user's template without the slot: the instruction follows the request
            user_input = user_input + self.suffix
        return body.replace("{is_free_tier_user}", "True" if tier == "free" else "False").replace(
            "{user_input}", user_input
        )

    def request(self, user_input: str, tier: str, **options) -> ChatRequest:
        """A ``ChatRequest`` for one request and tier; ``options`` are ChatRequest fields."""
        return ChatRequest(
            messages=(Message("user", self.user_message(user_input, tier)),), system=self.system, **options
        )


def load_prompts(
    system_prompt: str = "minimal",
    *,
    cot: bool = True,
    company: str = "Anthropic",
    model_name: str = "Claude",
    user_template: str | None = None,
    suffix: bool = True,
) -> PromptSet:
    """Load a system prompt (``full``, ``minimal`` or a file) and the user template.

    A shipped prompt comes in a CoT and a no-CoT variant; a user's file is used as written
    for both (it is theirs to say how to reason).
    """
    variant = "cot" if cot else "nocot"
    if system_prompt in SHIPPED_SYSTEM_PROMPTS:
        system = _corpus(f"system_prompts/{system_prompt}_{variant}.txt")
        prompt_id = f"{system_prompt}-{variant}"
    else:
        system = _read_user_file(system_prompt, "system prompt")
        prompt_id = f"{Path(system_prompt).stem}-{variant}"
    template = _corpus("user_template.txt") if user_template is None else _read_user_file(user_template, "user template")
    missing = [f for f in _USER_FIELDS if f not in template]
    if missing:
        raise UserError(f"user template {user_template or 'user_template.txt'} lacks {' and '.join(missing)}; add them")
    suffix_text = _corpus("accept_reject_suffix.txt").rstrip("\n") if suffix else ""
    return PromptSet(
        prompt_id=prompt_id,
        system_prompt=system_prompt,
        system=fill_names(system, company, model_name).strip() + "\n",
        cot=cot,
        user_template=template.rstrip("\n"),
        suffix=suffix_text,
    )
