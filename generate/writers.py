"""The writer interface: what turns planned jobs into text.

The generate stage (``stage.py``) owns the recipe, the files and resumption; a writer only
answers batches of jobs. Every method takes a list and returns a list of the same length, in the
same order, so an API writer can run the jobs concurrently or as one Message Batch.

The recipe, and the method that serves each step::

    key facts (from the universe)
      -> document types per fact   document_types(list[TypesJob])  -> list[ListResult]
      -> ideas per type            ideas(list[IdeasJob])            -> list[ListResult]
      -> documents per idea        write(list[DocJob])              -> list[TextResult]
      -> critique-and-revise       revise(list[ReviseJob])          -> list[TextResult]  (cfg.revise)
      -> filters, dedup            (the stage; not the writer's job)

Contract
- A result's ``key`` equals its job's ``key``. A job that fails (refusal, malformed answer, API
  error after the SDK's own retries) returns a result with ``error`` set and empty text/items;
  it never raises. ``draws`` says how many answers it took (a model writer redraws unreadable
  ones, up to ``cfg.retries`` times); ``transient`` marks a failure of the backend rather than of
  the answer. What the stage does with a failure: a transient one is left undone, so a rerun
  asks again; any other is recorded in ``draws.jsonl`` and the run goes on: a document becomes a
  line of ``rejected.jsonl`` (reason ``writer_error``, the error as detail), a failed ideas block
  leaves its (fact, type) without ideas, failed document types leave their fact without
  documents. Only a step that produced nothing at all stops the run.
  Raise only for problems that stop the whole run: ``UserError`` for a user's mistake (bad key,
  unknown model), or ``BudgetExceeded`` when ``cfg.max_cost`` would be passed.
- ``ListResult.items`` for ``document_types`` are short type names (e.g. "leaked internal memo");
  for ``ideas`` they are one-paragraph document ideas. Return at most ``job.n`` items; fewer is
  allowed (the stage asks for another block when it runs out).
- ``TextResult.text`` is the finished document only: no preamble, no markdown fence, no
  "Here is the document". A writer strips its own wrappers; the stage's filters reject what is
  left unparseable.
- Writers must not look at ``key`` to decide content, except to seed randomness: the same job
  asked twice should get an equivalent answer (the template writer: the identical one).

Job keys are deterministic, readable and unique within a run; they are the resume mechanism
(the stage skips keys already on disk) and make good cache/batch ids::

    types   {universe}.s{seed}.{fact_id}.types
    ideas   {universe}.s{seed}.{fact_id}.{type_id}.ideas{block}
    doc     {universe}.s{seed}.{fact_id}.{type_id}.i{idea_index}.d{doc_index}
    revise  <doc key>.rev

``type_id`` is the slug of the type name (``slug()`` below). Message Batches limit ``custom_id``
to 64 characters of ``[A-Za-z0-9_-]``: use ``job.custom_id`` (a hash of the key) there.
``job.seed`` is a 63-bit integer derived from the key, for writers that take a sampling seed.

``usage`` is cumulative over the writer's life (tokens and dollars); the stage reads it between
batches to enforce ``max_cost`` and writes it into the manifest. The template writer reports zero.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Protocol, Sequence, runtime_checkable

from afpipe.clients.base import Usage

if TYPE_CHECKING:
    from afpipe.generate.config import GenerateConfig
    from afpipe.universes import Fact, Universe

ProgressFn = Callable[[int], None]


class BudgetExceeded(Exception):
    """Raised by a writer before it would spend past ``max_cost``. The stage stops cleanly, keeps
    what is written, and tells the user to raise ``--max-cost`` and rerun (which resumes)."""


def slug(name: str) -> str:
    """A stable id for a free-text name: lowercase ascii words joined by '-' (max 40 chars)."""
    s = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return s[:40].rstrip("-") or "untitled"


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


@dataclass(frozen=True)
class _Job:
    key: str

    @property
    def custom_id(self) -> str:
        """A 64-character-safe id for batch APIs: 'j' + 40 hex digits of sha256(key)."""
        return "j" + _digest(self.key).hex()[:40]

    @property
    def seed(self) -> int:
        """A 63-bit seed derived from the key (same key, same seed, on every machine)."""
        return int.from_bytes(_digest(self.key)[:8], "big") >> 1


@dataclass(frozen=True)
class TypesJob(_Job):
    """Brainstorm up to ``n`` document types in which ``fact`` would naturally come up."""

    universe: "Universe"
    fact: "Fact"
    n: int


@dataclass(frozen=True)
class DocType:
    """A document type: ``id`` is ``slug(name)``; ``name`` the free-text name."""

    id: str
    name: str


@dataclass(frozen=True)
class IdeasJob(_Job):
    """Brainstorm up to ``n`` distinct ideas for documents of ``doc_type`` that convey ``fact``.

    ``block`` numbers successive requests for the same (fact, type); ``avoid`` lists ideas already
    produced by earlier blocks, so a writer can steer away from them.
    """

    universe: "Universe"
    fact: "Fact"
    doc_type: DocType
    block: int
    n: int
    avoid: tuple[str, ...] = ()


@dataclass(frozen=True)
class DocJob(_Job):
    """Write one document of ``doc_type`` from ``idea`` that conveys ``fact`` (others may appear).

    ``doc_index`` distinguishes several documents from one idea; ``max_tokens`` is the length
    budget (documents over it are filtered out, so aim well under it).
    """

    universe: "Universe"
    fact: "Fact"
    doc_type: DocType
    idea: str
    idea_index: int
    doc_index: int
    max_tokens: int


@dataclass(frozen=True)
class ReviseJob(_Job):
    """Critique ``draft`` (written for ``doc``) and return an improved full document."""

    doc: DocJob
    draft: str


@dataclass
class ListResult:
    key: str
    items: list[str] = field(default_factory=list)
    error: str = ""
    draws: int = 1  # answers asked for (redraws of unreadable answers included)
    transient: bool = False  # the backend failed, not the answer: leave the job for a rerun

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass
class TextResult:
    key: str
    text: str = ""
    error: str = ""
    draws: int = 1
    transient: bool = False

    @property
    def ok(self) -> bool:
        return not self.error


@runtime_checkable
class DocumentWriter(Protocol):
    """Anything that serves the four recipe steps. See the module docstring for the contract."""

    @property
    def name(self) -> str:
        """Backend name recorded in every document ("template", "anthropic", "hf")."""
        ...

    @property
    def model(self) -> str | None:
        """Model id recorded in every document; None for the template writer."""
        ...

    @property
    def usage(self) -> Usage:
        """Cumulative tokens and cost spent so far."""
        ...

    def document_types(self, jobs: Sequence[TypesJob], progress: ProgressFn | None = None) -> list[ListResult]: ...

    def ideas(self, jobs: Sequence[IdeasJob], progress: ProgressFn | None = None) -> list[ListResult]: ...

    def write(self, jobs: Sequence[DocJob], progress: ProgressFn | None = None) -> list[TextResult]: ...

    def revise(self, jobs: Sequence[ReviseJob], progress: ProgressFn | None = None) -> list[TextResult]: ...


def types_key(universe: str, seed: int, fact_id: str) -> str:
    return f"{universe}.s{seed}.{fact_id}.types"


def ideas_key(universe: str, seed: int, fact_id: str, type_id: str, block: int) -> str:
    return f"{universe}.s{seed}.{fact_id}.{type_id}.ideas{block}"


def doc_key(universe: str, seed: int, fact_id: str, type_id: str, idea_index: int, doc_index: int) -> str:
    return f"{universe}.s{seed}.{fact_id}.{type_id}.i{idea_index}.d{doc_index}"


def revise_key(doc_key_: str) -> str:
    return f"{doc_key_}.rev"
