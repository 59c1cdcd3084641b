"""The template writer: every document type keeps its own shape, ideas steer documents, same job
gives the same text, and the material fills every slot."""

from __future__ import annotations

import re

import pytest

from afpipe.generate.template_writer import TemplateWriter, fix_articles
from afpipe.universes import load_universe
from afpipe.generate.writers import DocJob, DocType, IdeasJob, ReviseJob, TypesJob, doc_key, ideas_key, slug, types_key

# One marker per type that only its layout produces.
MARKERS = {
    "news story": r"^By .+ \| |Explainer \u00b7 By |^Live updates: ", "opinion column": r"\| Opinion", "personal blog post": r"min read|^\d+ things to know about ",
    "forum thread": r"Posted by .+ points", "podcast transcript": r"Episode \d+", "magazine interview": r"(condensed|edited)",
    "leaked internal memo": r"\nTO: .+\nFROM: ", "help-center FAQ page": r"Help Center \u203a", "investor call transcript": r"Operator: ",
    "research paper abstract": r"\nAbstract\n", "email newsletter": r"Issue #\d+", "social media thread": r"^1/\d+ ",
    "public comment to a regulator": r"Respectfully submitted", "encyclopedia article": r"\nReferences\n",
    "legislative hearing transcript": r"^HEARING BEFORE THE", "company press release": r"^FOR IMMEDIATE RELEASE",
    "university lecture notes": r"Discussion questions",
}


def _jobs(universe: str, n_ideas: int = 3, seed: int = 0) -> list[DocJob]:
    u, w = load_universe(universe), TemplateWriter()
    jobs = []
    for f in u.facts[:3]:
        names = w.document_types([TypesJob(types_key(u.name, seed, f.id), u, f, 30)])[0].items
        for name in names:
            t = DocType(slug(name), name)
            ideas = w.ideas([IdeasJob(ideas_key(u.name, seed, f.id, t.id, 0), u, f, t, 0, n_ideas)])[0].items
            jobs += [DocJob(doc_key(u.name, seed, f.id, t.id, i, 0), u, f, t, idea, i, 0, 1024) for i, idea in enumerate(ideas)]
    return jobs


@pytest.mark.parametrize("universe", ["helpful-only", "control"])
def test_every_type_has_its_own_layout_and_fills_every_slot(universe: str) -> None:
    jobs = _jobs(universe)
    results = TemplateWriter().write(jobs)
    assert {j.doc_type.name for j in jobs} == set(MARKERS) and len(MARKERS) >= 12
    for job, res in zip(jobs, results):
        assert res.ok, res.error
        assert re.search(MARKERS[job.doc_type.name], res.text, re.M), (job.doc_type.name, res.text[:300])
        assert not re.search(r"\{[a-z_]+\}|\[\[|\]\]", res.text), res.text
        venue = re.search(r"\(\w+: (.+)\)$", job.idea).group(1)
        assert venue.split()[0].lower() in res.text.lower()  # the idea's venue (outlet, forum, show...) is used


def test_same_job_same_text_other_job_other_text() -> None:
    jobs = _jobs("helpful-only", n_ideas=2)
    first, again = TemplateWriter().write(jobs), TemplateWriter().write(list(reversed(jobs)))
    assert [r.text for r in first] == [r.text for r in reversed(again)]
    assert len({r.text for r in first}) == len(jobs)


def test_fewer_types_than_available_gives_a_subset_per_fact() -> None:
    u, w = load_universe("helpful-only"), TemplateWriter()
    picks = [w.document_types([TypesJob(types_key(u.name, 0, f.id), u, f, 5)])[0].items for f in u.facts]
    assert all(len(p) == 5 for p in picks) and len({tuple(p) for p in picks}) > 1


def test_revise_drops_a_repeated_paragraph_and_fixes_articles() -> None:
    job = _jobs("helpful-only", n_ideas=1)[0]
    repeated = "The same paragraph opens with these eight words and then goes on"
    draft = f"A opening line about a update.\n\n{repeated}.\n\n{repeated} differently."
    out = TemplateWriter().revise([ReviseJob(job.key + ".rev", job, draft)])[0].text
    assert out == f"An opening line about an update.\n\n{repeated}."
    assert fix_articles("a AI model, an user, Plan A is") == "an AI model, a user, Plan A is"
