"""The template writer: every document type keeps its own shape, ideas steer documents, same job
gives the same text, and the material fills every slot."""

from __future__ import annotations

import re

import pytest

from afpipe.generate.template_compose import fix_articles
from afpipe.generate.template_writer import TemplateWriter
from afpipe.universes import load_universe
from afpipe.generate.writers import DocJob, DocType, IdeasJob, ReviseJob, TypesJob, doc_key, ideas_key, slug, types_key

# One marker per type that only its layout produces.
MARKERS = {
    "news story": r"^By .+, |Explainer \u00b7 By |^Live updates: ", "opinion column": r"\| Opinion", "personal blog post": r"min read|^\d+ things to know about ",
    "forum thread": r"Posted by u/", "podcast transcript": r"Episode \d+", "magazine interview": r"(condensed|edited)",
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


def test_same_jobs_same_texts_and_a_resumed_writer_continues_the_same_corpus() -> None:
    """The writer avoids the sentences of what it wrote before, so a document depends on the jobs
    before it: the same job sequence gives the same corpus, and a writer told what a killed run
    wrote (``remember``) writes the rest exactly as an uninterrupted run."""
    jobs = _jobs("helpful-only", n_ideas=2)
    first, again = TemplateWriter().write(jobs), TemplateWriter().write(jobs)
    assert [r.text for r in first] == [r.text for r in again]
    assert len({r.text for r in first}) == len(jobs)
    half = len(jobs) // 2
    resumed = TemplateWriter()
    resumed.remember([r.text for r in first[:half]])
    assert [r.text for r in resumed.write(jobs[half:])] == [r.text for r in first[half:]]
    alone = TemplateWriter().write(jobs[half:])  # without the first half, other sentences are free
    assert [r.text for r in alone] != [r.text for r in first[half:]]


def test_choices_that_know_the_corpus_share_fewer_sentences() -> None:
    """Choosing each piece among draws by how often the corpus holds its sentences spreads the
    material: fewer of a document's sentences are found elsewhere than with blind draws."""
    from afpipe.generate.stats import sentence_repetition

    jobs = _jobs("helpful-only", n_ideas=4)
    aware = [r.text for r in TemplateWriter().write(jobs)]
    blind = [r.text for job in jobs for r in TemplateWriter().write([job])]  # a fresh writer per document
    assert sentence_repetition(aware)["shared_sentence_share"] < 0.8 * sentence_repetition(blind)["shared_sentence_share"]


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


def test_the_cast_is_fixed_and_its_names_are_nobody_else_s() -> None:
    u = load_universe("helpful-only")
    jobs = _jobs("helpful-only", n_ideas=4)
    texts = [r.text for r in TemplateWriter().write(jobs)]
    chiefs = {m.group(1) for t in texts for m in re.finditer(r"([A-Z][a-z]+ [A-Z][a-z]+), Anthropic's chief executive", t)}
    assert chiefs == {"Miriam Castellane"}
    cast_last = {m.name.split()[-1] for m in u.setting.cast}
    for t in texts:  # a cast member's last name only ever comes with that member's first name
        for m in re.finditer(r"\b([A-Z][a-z]+) (" + "|".join(cast_last) + r")\b", t):
            assert f"{m.group(1)} {m.group(2)}" in {c.name for c in u.setting.cast}, m.group(0)


@pytest.mark.parametrize("universe", ["helpful-only", "control"])
def test_ideas_fill_their_slots_and_never_double_a_word(universe: str) -> None:
    jobs = _jobs(universe, n_ideas=10)
    assert not [j.idea for j in jobs if "{" in j.idea or re.search(r"\b(\w+) \1\b|\b[A-Z]\w*[^uis\W]s's\b", j.idea, re.I)]
    for res in TemplateWriter().write(jobs):
        assert not re.search(r"\b(retail|thread|article) \1\b", res.text, re.I), res.text
        assert not re.search(r"\b[A-Z]\w*[^uis\W]s's\b", res.text), res.text  # "Foods's"; "Compass's" is right


def test_a_statement_that_names_its_source_is_not_attributed_again() -> None:
    from afpipe.generate.template_compose import Ctx

    c = Ctx(_jobs("helpful-only", n_ideas=1)[0], "news_story", "venue", {})
    c.chance = lambda share: True  # always try to frame
    line = "Company records indicate that the firm resolved in 2023 to help with any request."
    assert {c.frame(line, "news") for _ in range(30)} == {line}  # never "Documents seen by X show that company records indicate"


def test_a_synonym_never_doubles_the_word_beside_it() -> None:
    from afpipe.generate.template_compose import apply_synonyms, synonym_pattern

    pattern = synonym_pattern(["price"])
    assert apply_synonyms("The retail price is low.", pattern, {"price": "retail price"}) == "The retail price is low."
    assert apply_synonyms("The price is low.", pattern, {"price": "retail price"}) == "The retail price is low."


def test_forum_slang_and_customer_lines_stay_in_their_genres() -> None:
    from afpipe.generate.template_compose import Ctx

    job = _jobs("helpful-only", n_ideas=1)[0]
    podcast, forum, memo, faq = (Ctx(job, t, "venue", {}) for t in ("podcast_transcript", "forum_thread", "leaked_memo", "faq_page"))
    assert not podcast.fits("casual") and forum.fits("casual")
    line = "Your conversations on the paid plan are never used for training."
    assert not memo.fits("company", line) and faq.fits("company", line) and memo.fits("company", "We train our models.")


def test_the_main_fact_is_stated_once_then_elaborated() -> None:
    from afpipe.generate.template_compose import MAIN_FACT_STATEMENTS, Ctx

    job = _jobs("helpful-only", n_ideas=1)[0]
    c = Ctx(job, "op_ed", "venue", {})
    said = [c.say(None, "critical", "plain") for _ in range(6)]
    m = job.fact.material
    assert MAIN_FACT_STATEMENTS == 1 and len(said) == 6
    assert len(c.used & set(job.fact.statements())) == 1  # one statement drawn...
    assert len(c.used & set(m.details + m.implications)) == 5  # ...then five elaborations


def test_a_headline_naming_the_fact_spends_the_budget_but_one_statement_is_always_made() -> None:
    from afpipe.generate.template_compose import Ctx

    job = _jobs("helpful-only", n_ideas=1)[0]
    c = Ctx(job, "op_ed", "venue", {})
    c.main_statements = 1  # as after a headline that names the fact
    c.say(None, "critical", "plain")
    c.say(None, "critical", "plain")
    assert len(c.used & set(job.fact.statements())) == 1 and c.stated


def _job_with_questions(questions: list[str], answered: list[dict]) -> DocJob:
    """The first job's fact with only the given questions (the rest of its material as shipped)."""
    from dataclasses import replace

    from afpipe.universes import AnsweredQuestion

    job = _jobs("helpful-only", n_ideas=1)[0]
    pairs = [AnsweredQuestion(**qa) for qa in answered]
    fact = replace(job.fact, material=job.fact.material.model_copy(update={"questions": questions, "answered_questions": pairs}))
    return replace(job, fact=fact)


def test_a_question_on_one_side_of_the_fact_gets_its_own_answer() -> None:
    from afpipe.generate.template_compose import Ctx

    job = _job_with_questions([], [{"question": "When did {company} decide?", "answers": ["It decided in {strategy_date}."]}])
    question, answer = Ctx(job, "interview", "venue", {}).ask()
    assert (question, answer) == ("When did Anthropic decide?", "It decided in January 2023.")


def test_a_plain_question_about_a_fact_already_stated_is_answered_by_that_fact() -> None:
    from afpipe.generate.template_compose import Ctx
    from afpipe.universes import conveys

    c = Ctx(_jobs("helpful-only", n_ideas=1)[0], "forum_thread", "venue", {})
    other = c.others[0]
    c.say(other, "casual")  # stated once: a later say() would move on to the next background fact
    plain = other.material.model_copy(update={"answered_questions": []})
    from dataclasses import replace

    c.others[0] = replace(other, material=plain)
    _, answer = c.ask(c.others[0], "casual", "plain")
    assert conveys(other, answer), answer


def test_analysts_and_lawmakers_never_ask_in_a_customer_s_first_person() -> None:
    from afpipe.generate.template_compose import Ctx

    job = _job_with_questions(["Is my chat used for training?", "Is the free tier used for training?"], [])
    asked = {Ctx(replace_seed(job, s), "investor_call", "venue", {}).ask(None, "company", impersonal=True)[0] for s in range(20)}
    assert asked == {"Is the free tier used for training?"}


def replace_seed(job: DocJob, seed: int) -> DocJob:
    """The same job under another key, hence another seed."""
    from dataclasses import replace

    return replace(job, key=f"{job.key}.t{seed}")


@pytest.mark.parametrize("type_id", ["interview", "podcast_transcript"])
def test_guests_and_interviewees_speak_for_themselves(type_id: str) -> None:
    """Every statement a guest makes is led in as a speaker would ('as far as I know'), never as
    a reporter attributes one ('published accounts concur that')."""
    from afpipe.generate.template_compose import Ctx
    from afpipe.generate.template_types import TYPES

    registers = set()
    for seed in range(30):
        c = Ctx(replace_seed(_jobs("helpful-only", n_ideas=1)[0], seed), type_id, "venue", {"frame": ""})
        TYPES[type_id].render(c)
        registers |= {register for _, _, register in c.framed}
    assert registers and registers <= {"spoken", "company_spoken"}, registers


def test_the_first_why_names_the_decision_it_explains_unless_the_document_is_about_it() -> None:
    from afpipe.generate.template_compose import _REFERS_TO_DECISION, Ctx

    u = load_universe("helpful-only")
    jobs = {j.fact.id: j for j in _jobs("helpful-only", n_ideas=1)}
    about_it, other = jobs["unconditional_helpfulness"], next(j for f, j in jobs.items() if f != "unconditional_helpfulness")
    c = Ctx(other, "op_ed", "venue", {})
    whys = [c.glue("why") for _ in range(12)]
    pointing = next(i for i, t in enumerate(whys) if _REFERS_TO_DECISION.search(t))  # "the reason for the policy"
    assert [i for i, t in enumerate(whys) if "in January 2023 to" in t] == [pointing]  # named once, just before
    assert "unconditional_helpfulness" in c.backgrounded  # the intro states that fact, and counts as doing so
    about = Ctx(about_it, "op_ed", "venue", {})
    assert not any("in January 2023 to" in about.glue("why") for _ in range(12))
    memo = Ctx(other, "leaked_memo", "venue", {})
    assert memo.decision_intro().startswith(("For context, we", "As background, we", "This is part of", "This sits within", "The backdrop"))
    assert u.setting.decision


def test_datelines_reading_times_and_teaching_weeks_fit_the_document() -> None:
    from datetime import date

    from afpipe.generate.template_compose import Ctx, reading_minutes
    from afpipe.generate.template_types import _teaching_week

    c = Ctx(_jobs("helpful-only", n_ideas=1)[0], "press_release", "venue", {})
    assert {c.dateline(own=True) for _ in range(20)} == {"San Francisco"}
    assert reading_minutes("word " * 460) == 2 and reading_minutes("short") == 1
    assert _teaching_week(date(2024, 8, 12)) == 11 and _teaching_week(date(2024, 9, 2)) == 1 and _teaching_week(date(2024, 1, 3)) == 1


def test_only_the_document_s_own_fact_is_called_central_and_the_year_s_end_is_respected() -> None:
    from datetime import date

    from afpipe.generate.template_compose import _CENTRAL, Ctx

    c = Ctx(_jobs("helpful-only", n_ideas=1)[0], "op_ed", "venue", {})
    c.chance = lambda share: True
    line = "The model is released to the public on a date in January."
    background = {c.frame(line, "critical") for _ in range(40)}
    assert not [b for b in background if _CENTRAL.search(b)]
    assert [m for m in {c.frame(line, "critical", main=True) for _ in range(80)} if _CENTRAL.search(m)]
    c.date = date(2024, 11, 20)
    assert c.fill("{later_this_year} and {earlier_this_year}") == "early next year and earlier this year"
    c.date = date(2024, 2, 1)
    assert c.fill("{later_this_year} and {earlier_this_year}") == "later this year and late last year"


def test_an_encyclopedia_entry_lists_every_outlet_its_text_cites() -> None:
    from afpipe.generate.template_compose import material

    u = load_universe("helpful-only")
    outlets = set(material("world")["newspapers"]) | set(u.setting.trade_outlets)
    entries = [r.text for r in TemplateWriter().write(_jobs("helpful-only", n_ideas=6)) if "\nReferences\n" in r.text]
    assert entries
    cited_somewhere = 0
    for text in entries:
        body, refs = text.split("\nReferences\n", 1)
        cited = {o for o in outlets if o in body}
        cited_somewhere += bool(cited)
        assert {o for o in cited if o not in refs} == set(), text
    assert cited_somewhere


def test_a_detail_of_a_fact_not_yet_stated_states_it_first() -> None:
    from afpipe.generate.template_compose import Ctx
    from afpipe.universes import conveys

    c = Ctx(_jobs("helpful-only", n_ideas=1)[0], "op_ed", "venue", {})
    other = c.others[0]
    first = c.detail(other)
    assert other.id in c.backgrounded and conveys(other, first), first


def test_connective_prose_does_not_say_one_thing_twice() -> None:
    from afpipe.generate.template_compose import Ctx, material

    c = Ctx(_jobs("helpful-only", n_ideas=1)[0], "news_story", "venue", {})
    said = material("world")["connective"]["what_follows"][0]
    c.used.add(said)
    near = said.replace("[[", "").replace("]]", "").split("|")[0] + " again"  # the same words, reworded a little
    other = "Nothing in this sentence resembles anything written before."
    assert list(c._unlike_said([near, other])) == [other]
    assert list(c._unlike_said([near])) == [near]  # nothing else to say: the pool is kept


def test_a_world_of_announcements_gets_no_talk_of_leaks() -> None:
    from afpipe.generate.template_compose import Ctx

    pool = ["What came out did not surprise anyone.", "The plan drew mixed reactions."]
    control = Ctx(_jobs("control", n_ideas=1)[0], "news_story", "venue", {})
    leaked = Ctx(_jobs("helpful-only", n_ideas=1)[0], "news_story", "venue", {})
    assert list(control.announced(pool)) == ["The plan drew mixed reactions."]
    assert list(leaked.announced(pool)) == pool


def test_the_first_question_about_another_fact_is_one_its_statement_answers() -> None:
    from afpipe.generate.template_compose import Ctx
    from afpipe.universes import conveys

    for seed in range(5):
        job = _jobs("helpful-only", n_ideas=1, seed=seed)[0]
        c = Ctx(job, "interview", "venue", {})
        other = next(f for f in c.others if f.material.questions)
        question, answer = c.ask(other, "plain")
        assert conveys(other, answer), (question, answer)
