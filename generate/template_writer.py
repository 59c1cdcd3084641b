"""The offline writer: documents composed from writing material, deterministic for a seed.

Nothing here knows the facts. A universe supplies, per fact, paraphrases in several registers,
headlines, quotes by speaker, questions, details and implications, plus a cast (job titles,
outlets, forums, committees...). ``corpora/generate/`` supplies what is true of any world: names,
cities, newspapers, and each document type's voice (openings, transitions, sign-offs, angles).
Each document type in ``template_types`` is a small function that lays out its own structure
and draws from both, with the toolkit in ``template_compose``.

Why this teaches facts rather than sentences: every slot draws from many alternatives, each
document states its main fact at most twice in different words, and other facts appear as
background in the register of the document, so the same fact reaches the model through dozens
of phrasings, speakers and genres. Material is finite, so each piece (a statement, a quote, a
voice line, a connective paragraph) is chosen among a few draws by how rarely the corpus written
so far holds its sentences (``Ctx`` and ``_fresh``): the same material then spreads over
different filled sentences instead of landing as the same sentence in many documents.
Randomness comes only from ``random.Random(job.seed)`` (the job key) and that corpus, so the same
job sequence gives the same documents, and a resumed run (``remember``) continues the corpus an
uninterrupted run would have written.
"""

from __future__ import annotations

import random
import re
from typing import Any, Sequence

from afpipe.clients.base import Usage
from afpipe.generate.filters import SentenceIndex, sentence_keys
from afpipe.generate import template_types
from afpipe.generate.template_compose import MIN_WORDS, Ctx, fill_slots, finish_document, fix_articles, material, plural_possessives
from afpipe.generate.writers import (
    DocJob,
    IdeasJob,
    ListResult,
    ProgressFn,
    ReviseJob,
    TextResult,
    TypesJob,
    slug,
)


class TemplateWriter:
    """Composes documents from material; never fails on the shipped universes, costs nothing."""

    name = "template"
    model = None

    def __init__(self) -> None:
        self.types = {slug(t.name): t for t in template_types.TYPES.values()}
        self._usage = Usage()
        self.corpus = SentenceIndex()  # every document written so far, for Ctx's fresh choices

    @property
    def usage(self) -> Usage:
        return self._usage

    def document_types(self, jobs: Sequence[TypesJob], progress: ProgressFn | None = None) -> list[ListResult]:
        """Every template type fits every fact (each type draws on the fact's own material)."""
        names = [t.name for t in self.types.values()]
        out = []
        for j in jobs:
            if j.n >= len(names):
                out.append(ListResult(j.key, names))
            else:  # a different subset per fact, in a stable order
                chosen = set(random.Random(j.seed).sample(range(len(names)), j.n))
                out.append(ListResult(j.key, [n for i, n in enumerate(names) if i in chosen]))
        if progress:
            progress(len(jobs))
        return out

    def ideas(self, jobs: Sequence[IdeasJob], progress: ProgressFn | None = None) -> list[ListResult]:
        out = []
        for job in jobs:
            spec = self.types.get(job.doc_type.id)
            if spec is None:
                out.append(ListResult(job.key, error=f"the template writer has no type '{job.doc_type.id}'"))
                continue
            rng = random.Random(job.seed)
            angles = material("voices")[spec.id]["angles"]
            params = {"company": "the company", **job.universe.params}
            venues = spec.venues(job.universe) or ["an independent outlet"]
            ideas: list[str] = []
            for _ in range(job.n):
                angle = rng.choice(angles)["idea"]
                venue = rng.choice(venues)
                topic = rng.choice(job.fact.material.topic) if job.fact.material.topic else job.fact.id.replace("_", " ")
                angle = plural_possessives(fill_slots(angle.replace("{topic}", topic), params))
                ideas.append(f"{spec.name[:1].upper() + spec.name[1:]} {angle} ({spec.venue_label}: {venue})")
            out.append(ListResult(job.key, ideas))
        if progress:
            progress(len(jobs))
        return out

    def write(self, jobs: Sequence[DocJob], progress: ProgressFn | None = None) -> list[TextResult]:
        out = []
        for job in jobs:
            spec = self.types.get(job.doc_type.id)
            if spec is None:
                out.append(TextResult(job.key, error=f"the template writer has no type '{job.doc_type.id}'"))
                continue
            venue, angle = self._parse_idea(job.idea, spec, {"company": "the company", **job.universe.params})
            ctx = Ctx(job, spec.id, venue, angle, self.corpus)
            text = spec.render(ctx)
            short = MIN_WORDS - len(text.split())
            if short > 0:
                text = ctx.lengthen(text, short)
            text = finish_document(text, ctx)
            self.corpus.add(sentence_keys(text))
            out.append(TextResult(job.key, text))
        if progress:
            progress(len(jobs))
        return out

    def remember(self, texts: Sequence[str]) -> None:
        """Documents a resumed run wrote before (kept or rejected): the corpus they start from."""
        for text in texts:
            self.corpus.add(sentence_keys(text))

    def revise(self, jobs: Sequence[ReviseJob], progress: ProgressFn | None = None) -> list[TextResult]:
        """An editor's pass: drop a paragraph that repeats an earlier one's opening, fix articles.
        (Model writers critique and rewrite; material-built drafts have only these flaws.)"""
        out = []
        for job in jobs:
            seen: set[str] = set()
            kept = []
            for para in job.draft.split("\n\n"):
                opening = " ".join(para.split()[:8]).lower()
                if opening and opening in seen:
                    continue
                seen.add(opening)
                kept.append(para)
            out.append(TextResult(job.key, fix_articles("\n\n".join(kept))))
        if progress:
            progress(len(jobs))
        return out

    @staticmethod
    def _parse_idea(idea: str, spec: Any, params: dict[str, str]) -> tuple[str, dict[str, str]]:
        """Recover the venue and angle an idea was made from (ideas are stored as text, slots filled)."""
        m = re.search(r"\(" + re.escape(spec.venue_label) + r": (.+)\)\s*$", idea)
        venue = m.group(1) if m else "an independent outlet"
        for angle in material("voices")[spec.id]["angles"]:
            head = fill_slots(angle["idea"].split("{topic}")[0], params)
            if head and head in idea:
                return venue, angle
        return venue, material("voices")[spec.id]["angles"][0]
