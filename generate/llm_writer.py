"""The model-backed writer: the recipe's four steps as prompts to any ``TextModel``.

The same class serves the Anthropic API and a local transformers model; only the client differs.
Prompts live in ``corpora/prompts/generate/``: ``system.md`` holds the world (the universe
context) and the instructions for every task, and is identical for every request of a run; each
step adds a short user message (``types.md``, ``ideas.md``, ``document.md``, ``revise.md``).

Why everything shared sits in the system prompt: it is sent as the request's cacheable prefix
(``ChatRequest.cache_prefix``), so on the API it is billed in full once and then at a tenth of
the price; only the few lines that differ per document are paid at full price.

Answers are parsed from tags (``<types>``, ``<idea>``, ``<document>``); where a list was asked
for, a plain numbered or bulleted list is read too. A refusal, a truncated or malformed answer is
drawn again (``cfg.retries`` times, see ``afpipe.clients.redraw``) before it becomes a result with
``error`` set; an ``<unsuitable>`` verdict stands at once, and an API error comes back marked
``transient`` (the stage leaves the job for a rerun). Nothing here raises except
``BudgetExceeded`` and a user's mistake.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Callable, Sequence, TypeVar

from afpipe.clients.base import ChatRequest, Completion, Message, TextModel, Usage
from afpipe.clients.pricing import BudgetExceeded as ClientBudgetExceeded
from afpipe.clients.redraw import Malformed, draw
from afpipe.generate.writers import (
    BudgetExceeded,
    DocJob,
    IdeasJob,
    ListResult,
    ProgressFn,
    ReviseJob,
    TextResult,
    TypesJob,
    slug,
)

if TYPE_CHECKING:
    from afpipe.generate.config import GenerateConfig
    from afpipe.universes import Universe

_SLOT = re.compile(r"\{([a-z_]+)\}")
_REFUSAL = re.compile(
    r"^\s*(?:i (?:can(?:no|')t|won't|will not|am not able|'m not able|am unable|'m unable)|i'm sorry|"
    r"sorry, (?:but )?i|as an ai\b|i must (?:decline|refuse))",
    re.IGNORECASE,
)
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s*")
R = TypeVar("R", ListResult, TextResult)


@lru_cache(maxsize=None)
def prompt(name: str) -> str:
    """A prompt template from ``corpora/prompts/generate/`` (read once per process)."""
    path = resources.files("afpipe.corpora") / "prompts" / "generate" / f"{name}.md"
    return path.read_text(encoding="utf-8").strip()


def fill(template: str, **values: Any) -> str:
    """Replace ``{name}`` slots; values are inserted verbatim (braces inside them are left alone)."""
    return _SLOT.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), template)


def system_prompt(universe: "Universe") -> str:
    """The shared prefix of every request for ``universe``: the world and the task instructions."""
    return fill(prompt("system"), context=universe.context())


def _tag_block(text: str, tag: str) -> str | None:
    m = re.search(rf"<{tag}>(.*?)</{tag}>", text, re.DOTALL)
    return m.group(1).strip() if m else None


def _failure(completion: Completion, what: str, tag: str) -> str:
    """Why an answer without a usable ``<tag>`` block is dropped."""
    if completion.error:
        return completion.error
    if completion.stop_reason == "refusal":
        return "refused: the model declined (stop_reason=refusal)"
    text = completion.text.strip()
    unsuitable = _tag_block(text, "unsuitable")
    if unsuitable is not None:
        return f"unsuitable: {unsuitable[:200]}"
    if completion.stop_reason == "max_tokens" and f"<{tag}>" in text:
        return f"truncated: the {what} reached max_tokens before </{tag}>"
    if _REFUSAL.search(text):
        return f"refused: {text[:120]!r}"
    return f"malformed: no <{tag}>...</{tag}> in the answer ({text[:80]!r})"


def _list_items(text: str) -> list[str]:
    """Items of a plain numbered or bulleted list: a marked line starts an item, the unmarked
    lines right after it continue it; a preamble, and anything after a blank line that no marker
    follows (a closing remark), is dropped."""
    items: list[str] = []
    open_item = False
    for line in text.splitlines():
        if _BULLET.match(line):
            items.append(_BULLET.sub("", line, count=1).strip())
            open_item = True
        elif not line.strip():
            open_item = False
        elif open_item:
            items[-1] += " " + line.strip()
    return [i for i in items if i]


def parse_types(completion: Completion, n: int) -> ListResult:
    """Type names from ``<types>``, or from a plain list when the model left the tags out."""
    if not completion.ok:
        return ListResult("", error=completion.error)
    block = _tag_block(completion.text, "types")
    lines = block.splitlines() if block is not None else _list_items(completion.text)
    if block is None and not lines:
        return ListResult("", error=_failure(completion, "list", "types"))
    items: dict[str, str] = {}
    for line in lines:
        name = _BULLET.sub("", line).strip().strip('"*').rstrip(".").strip()
        if 2 <= len(name) <= 80:
            items.setdefault(slug(name), name)
    if not items:
        return ListResult("", error="malformed: an empty <types> list")
    return ListResult("", items=list(items.values())[:n])


def parse_ideas(completion: Completion, n: int) -> ListResult:
    """Ideas from ``<idea>`` tags, or from a plain list when the model left the tags out."""
    if not completion.ok:
        return ListResult("", error=completion.error)
    found = re.findall(r"<idea>(.*?)</idea>", completion.text, re.DOTALL) or _list_items(completion.text)
    ideas = [" ".join(i.split()) for i in found]
    ideas = list(dict.fromkeys(i for i in ideas if len(i) >= 20))
    if not ideas:
        return ListResult("", error=_failure(completion, "list", "idea"))
    return ListResult("", items=ideas[:n])


def parse_document(completion: Completion) -> TextResult:
    block = _tag_block(completion.text, "document") if completion.ok else None
    if not block:
        return TextResult("", error=_failure(completion, "document", "document") if block is None
                          else "malformed: an empty <document>")
    return TextResult("", text=block)


# Failures that say the *sample* went wrong (worth another draw); "unsuitable" is the model's
# considered verdict on the job, so it stands.
_REDRAW = ("malformed", "truncated", "refused")


def _strict(parse: Callable[[Completion], R]) -> Callable[[Completion], R]:
    """``parse``, raising ``Malformed`` for an answer that another sample could fix."""

    def strict(completion: Completion) -> R:
        result = parse(completion)
        if result.error.startswith(_REDRAW):
            raise Malformed(result.error)
        return result

    return strict


class LLMWriter:
    """``DocumentWriter`` backed by a ``TextModel`` (the Anthropic API or a local model)."""

    def __init__(self, cfg: "GenerateConfig", client: TextModel):
        self.cfg = cfg
        self.client = client
        self._usage = Usage()
        self._system: dict[str, str] = {}

    @property
    def name(self) -> str:
        return self.cfg.backend

    @property
    def model(self) -> str | None:
        return self.client.name

    @property
    def usage(self) -> Usage:
        """Tokens and estimated dollars of every fresh (not cached) answer so far."""
        return self._usage

    def report(self) -> dict[str, Any]:
        """The client's own account when it keeps one (prices, cache hits), else our usage."""
        report = getattr(self.client, "report", None)
        return report() if callable(report) else {"backend": self.name, "model": self.model, **self._usage.as_dict()}

    # -- requests ----------------------------------------------------------------------------
    def _request(self, universe: "Universe", user: str, max_tokens: int, seed: int, key: str) -> ChatRequest:
        system = self._system.get(universe.sha256)
        if system is None:
            system = self._system[universe.sha256] = system_prompt(universe)
        return ChatRequest(
            messages=(Message("user", user),), system=system, cache_prefix=system, max_tokens=max_tokens,
            temperature=self.cfg.temperature, seed=seed, key=key,
        )

    def _ask(self, requests: list[ChatRequest], progress: ProgressFn | None) -> list[Completion]:
        try:
            completions = self.client.complete(requests, progress=progress)
        except ClientBudgetExceeded as e:
            raise BudgetExceeded(str(e)) from None
        for c in completions:
            self._usage.add(c.usage)
        return completions

    def _draw(self, jobs: Sequence[Any], requests: list[ChatRequest], parse: Callable[[Completion], R],
              failed: Callable[[str], R], progress: ProgressFn | None) -> list[R]:
        """Ask, redrawing unreadable answers (``cfg.retries``); one result per job, keyed."""
        out = []
        for job, drawn in zip(jobs, draw(self._ask, requests, _strict(parse), self.cfg.retries, progress)):
            result = drawn.value if drawn.value is not None else failed(drawn.error)
            result.key, result.draws, result.transient = job.key, drawn.draws, drawn.transient
            if isinstance(result, ListResult):
                result.items = result.items[: job.n]
            out.append(result)
        return out

    @staticmethod
    def _length(max_tokens: int) -> dict[str, int]:
        # About 0.75 words per token; aim well under the limit, since longer documents are dropped.
        top = max(40, int(max_tokens * 0.55))
        return {"min_words": max(30, top // 2), "max_words": top}

    def _doc_fields(self, job: DocJob) -> dict[str, Any]:
        return {"doc_type": job.doc_type.name, "idea": job.idea, "fact": job.fact.statement, **self._length(job.max_tokens)}

    # -- the four steps -------------------------------------------------------------------------
    def document_types(self, jobs: Sequence[TypesJob], progress: ProgressFn | None = None) -> list[ListResult]:
        requests = [
            self._request(j.universe, fill(prompt("types"), fact=j.fact.statement, n=j.n), 40 * j.n + 200, j.seed, j.custom_id)
            for j in jobs
        ]
        return self._draw(jobs, requests, lambda c: parse_types(c, max(j.n for j in jobs)), _list_failure, progress)

    def ideas(self, jobs: Sequence[IdeasJob], progress: ProgressFn | None = None) -> list[ListResult]:
        requests = []
        for j in jobs:
            avoid = ""
            if j.avoid:
                avoid = "\nIdeas to avoid:\n" + "\n".join(f"- {a}" for a in j.avoid)
            user = fill(prompt("ideas"), fact=j.fact.statement, doc_type=j.doc_type.name, n=j.n, avoid=avoid)
            requests.append(self._request(j.universe, user, 160 * j.n + 200, j.seed, j.custom_id))
        return self._draw(jobs, requests, lambda c: parse_ideas(c, max(j.n for j in jobs)), _list_failure, progress)

    def write(self, jobs: Sequence[DocJob], progress: ProgressFn | None = None) -> list[TextResult]:
        requests = [
            self._request(j.universe, fill(prompt("document"), **self._doc_fields(j)), _doc_budget(j.max_tokens),
                          j.seed, j.custom_id)
            for j in jobs
        ]
        return self._draw(jobs, requests, parse_document, _text_failure, progress)

    def revise(self, jobs: Sequence[ReviseJob], progress: ProgressFn | None = None) -> list[TextResult]:
        requests = [
            self._request(j.doc.universe, fill(prompt("revise"), draft=j.draft, **self._doc_fields(j.doc)),
                          _doc_budget(j.doc.max_tokens) + 600, j.seed, j.custom_id)
            for j in jobs
        ]
        return self._draw(jobs, requests, parse_document, _text_failure, progress)


def _list_failure(error: str) -> ListResult:
    return ListResult("", error=error)


def _text_failure(error: str) -> TextResult:
    return TextResult("", error=error)


def _doc_budget(max_doc_tokens: int) -> int:
    """``max_tokens`` for a document answer: the length limit measured by another tokenizer, plus
    room for the tags. Anything that would exceed the limit is filtered later anyway."""
    return int(max_doc_tokens * 1.3) + 100
