"""The template writer's document types: one function each, laying out its own structure.

Each function receives a ``Ctx`` (the job's fact, the universe, a seeded RNG, helpers) and
returns the document text. Voice phrases come from ``corpora/generate/voices.yaml`` under the
type's id (``c.v(key)``); names and places from ``world.yaml`` (``c.w(key)``); facts from the
universe (``c.say``, ``c.quote``, ``c.detail``...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Callable

from afpipe.generate.template_compose import Ctx, Person, material, paragraphs, upper_first
from afpipe.universes import Universe


@dataclass(frozen=True)
class TypeSpec:
    id: str
    name: str
    venue_label: str  # what an idea's venue is called: "outlet", "forum", "show"...
    venues: Callable[[Universe], list[str]]
    render: Callable[[Ctx], str]


TYPES: dict[str, TypeSpec] = {}


def _type(id: str, name: str, venue_label: str, venues: Callable[[Universe], list[str]]):
    def register(fn: Callable[[Ctx], str]) -> Callable[[Ctx], str]:
        TYPES[id] = TypeSpec(id, name, venue_label, venues, fn)
        return fn

    return register


def _newspapers(u: Universe) -> list[str]:
    return list(material("world")["newspapers"])


def _outlets(u: Universe) -> list[str]:
    return _newspapers(u) + list(u.setting.trade_outlets)


def _setting(attr: str, fallback: list[str]) -> Callable[[Universe], list[str]]:
    return lambda u: list(getattr(u.setting, attr)) or fallback


# ---- shared pieces ----


def quoted(c: Ctx, key: str, quote: str, p: Person | None = None, **slots: str) -> str:
    """A quote set in one of this type's quote frames (``{q}`` the quote, ``{qb}`` without its full
    stop, ``{who}``/``{who_title}``/``{who_last}`` the speaker); a quote ending in ? or ! only
    goes into frames that keep its own punctuation."""
    q = quote.strip()
    ends = q.rstrip("\u201d\u2019\"'")[-1:]
    lines = c.voice[key] if ends == "." else [l for l in c.voice[key] if "{qb}" not in l]
    who = {"who": p.name, "who_title": p.title, "who_last": p.last} if p else {}
    return c.line(lines, q=q, qb=q[:-1] if ends == "." else q, **who, **slots)


def bullets(items: list[str], mark: str = "-") -> str:
    return "\n".join(f"{mark} {i}" for i in items)


def numbered(items: list[str]) -> str:
    return "\n".join(f"{n}. {i}" for n, i in enumerate(items, 1))


def lower_first(s: str) -> str:
    return s[0].lower() + s[1:] if s and not s[:2].isupper() and not s.startswith(("I ", "I'")) else s


# ---- the types ----


@_type("news_story", "news story", "outlet", _outlets)
def news_story(c: Ctx) -> str:
    """Three layouts real outlets use: the classic inverted pyramid, a sectioned explainer, and a
    timestamped live-updates page."""
    layout = c.rng.random()
    if layout < 0.25:
        return _news_explainer(c)
    if layout < 0.4:
        return _news_live(c)
    return _news_classic(c)


def _with_speaker(lead: str, c: Ctx) -> str:
    """A lead-in to the company's quote that names who says it: one ending in a colon already
    does ("{company}'s standard line goes like this:"); any other gets "In {company}'s words:"."""
    if lead.rstrip().endswith(":"):
        return lead
    return lead + " " + c.fill("[[In {company}'s words|As {company} puts it|{company}'s own account]]:")


def _teaching_week(day: date) -> int:
    """The week of term a lecture on ``day`` falls in (terms start early January, June and
    September): "Week 6" of notes dated August 12 would be a term no university runs."""
    start = max(s for s in (date(day.year, 1, 2), date(day.year, 6, 1), date(day.year, 9, 1), date(day.year - 1, 9, 1)) if s <= day)
    return min(15, max(1, (day - start).days // 7 + 1))


def _clock(c: Ctx) -> str:
    h, m = c.between(6, 22), c.between(0, 59)
    return f"{(h - 1) % 12 + 1}:{m:02d} {'a.m.' if h < 12 else 'p.m.'}"


def _news_explainer(c: Ctx) -> str:
    reporter, critic = c.person("reporter"), c.person("critic")
    company = (quoted(c, "spokesperson_quotes", c.quote("company")) if c.chance(0.5) else c.v("company_responses"))
    return paragraphs(
        c.question(),
        f"{c.venue} \u00b7 Explainer \u00b7 By {reporter.name} \u00b7 {c.slots['date']}",
        c.v("explainer_intros"),
        c.v("h_happened") + "\n\n" + c.say(None, "news") + " " + c.detail(),
        c.v("h_works") + "\n\n" + c.say(None, "plain", "formal") + " " + c.detail(),
        c.v("h_company") + "\n\n" + company,
        c.v("h_why") + "\n\n" + c.glue("why", "why"),
        c.v("h_critics") + "\n\n" + quoted(c, "quote_frames", c.quote("critic"), critic) + " " + c.implication() + " " + c.glue("reactions"),
        c.v("h_next") + "\n\n" + c.glue("what_follows", "what_follows"),
        c.v("h_else") + "\n\n" + bullets(c.background(c.between(2, 3), "plain", "news")),
    )


def _news_live(c: Ctx) -> str:
    minute, times = c.between(7 * 60, 15 * 60), []
    for _ in range(6):
        h, m = divmod(minute, 60)
        times.append(f"{(h - 1) % 12 + 1}:{m:02d} {'a.m.' if h < 12 else 'p.m.'}")
        minute += c.between(6, 55)
    entries = [
        c.say(None, "news") + " " + c.v("attributions"),
        quoted(c, "quote_frames", c.quote("critic"), c.person("critic")),
        c.v("company_responses"),
        c.say(c.others[0], "news", "plain") + " " + c.detail(),
        c.glue("reactions", "why"),
        c.glue("what_follows") + " " + c.implication() + " " + c.v("live_closers"),
    ]
    return paragraphs(
        f"Live updates: {c.headline()}",
        f"{c.venue} \u00b7 {c.slots['date']}",
        *[f"{t}\n{e}" for t, e in zip(times, entries)],
    )


def _news_classic(c: Ctx) -> str:
    reporter = c.person("reporter")
    critic, insider = c.person("critic"), c.person("insider")
    city = c.dateline()
    frame = c.angle["frame"]
    parts = [
        f"{c.venue} \u00b7 {c.v('sections')} \u00b7 {c.slots['date']}",
        c.headline(),
        c.v("bylines", rname=reporter.name, rtitle=reporter.title, dcity=city, time=_clock(c), mins="0"),  # "N min read" is set from the finished text
        f"{city.upper()} \u2014 {c.say(None, 'news')} {c.v('attributions')}",
        c.line([frame]) + " " + c.detail(),
        quoted(c, "quote_frames", c.quote("insider"), insider)
        if c.chance(0.4)
        else quoted(c, "insider_quotes", c.quote("insider")),
        c.say(None, "news", "plain") + " " + c.implication(),
        quoted(c, "quote_frames", c.quote("critic"), critic),
        quoted(c, "quote_frames", c.quote("researcher"), c.person("researcher")) + " " + c.detail() if c.chance(0.7) else None,
        c.glue("why", "reactions"),
        c.v("company_responses"),
        c.v("background_intros") + " " + " ".join(c.background(c.between(1, 3), "news", "plain")),
        c.glue("what_follows", "reactions"),
        c.v("kickers"),
    ]
    return paragraphs(*parts)


@_type("op_ed", "opinion column", "outlet", _newspapers)
def op_ed(c: Ctx) -> str:
    author = c.person("critic")
    parts = [
        f"{c.venue} | Opinion | {c.slots['date']}",
        c.v("titles"),
        c.v("hooks"),
        c.say(None, "critical", "plain") + " " + c.v("thesis"),
        c.v("consider") + " " + c.detail() + " " + c.implication(),
        c.say(None, "plain", "news") + " " + c.v("stakes"),
        c.v("consider") + " " + c.detail() + " " + c.say(None, "critical", "formal") if c.chance(0.6) else None,
        c.glue("why", "why"),
        c.v("context") + " " + " ".join(c.background(c.between(1, 2), "critical", "plain")),
        c.glue("reactions", "what_follows"),
        _with_speaker(c.v("concessions"), c) + f" \u201c{c.quote('company')}\u201d " + c.v("rebuttals"),
        c.implication() + " " + c.v("closers"),
        c.v("bios", author=author.name, author_title=author.title),
    ]
    return paragraphs(*parts)


@_type("blog_post", "personal blog post", "blog", lambda u: material("world")["blogs"])
def blog_post(c: Ctx) -> str:
    """An essay-style post, or (one time in three) a numbered 'things to know' list."""
    if c.chance(1 / 3):
        return _blog_listicle(c)
    handle = c.handle()
    title = c.question() if c.chance(0.5) else c.headline()
    short = c.v("short_versions") + " " + c.say(None, "plain", "casual")  # the statement itself follows "the short version:"
    items = [c.say(None, "plain")] + c.background(c.between(2, 3), "plain")
    c.rng.shuffle(items)
    # a blogger speaks for themselves, casually or not, never in a reporter's attributions
    why, react, follows = (("casual_why", "casual_reactions", "casual_what_follows") if c.chance(0.5)
                           else ("spoken_why", "spoken_reactions", "spoken_what_follows"))
    parts = [
        f"{c.venue} \u00b7 {c.slots['date']} \u00b7 0 min read",  # set from the finished text
        title,
        c.v("intros"),
        short,
        c.v("details_intros") + " " + c.detail(),
        c.v("list_intros") + "\n\n" + bullets(items),
        c.v("reflections") + " " + c.implication() + " " + c.say(None, "critical", "plain"),
        c.glue(why, react, why) if why.startswith("casual") else c.glue(why, react),
        c.glue(follows, follows) if why.startswith("casual") else c.glue(follows),
        c.v("more_details_intros") + " " + c.detail(c.others[0]) if c.chance(0.6) else None,
        c.say(None, "casual", "plain") + " " + c.v("closers"),
        f"\u2014 {handle}" + (f"\n\n{c.between(2, 140)} comments" if c.chance(0.6) else ""),
    ]
    return paragraphs(*parts)


def _blog_listicle(c: Ctx) -> str:
    facts = [c.fact, c.fact] + c.others[: c.between(2, 4)]
    entries = []
    for i, f in enumerate(facts, 1):
        if f is not c.fact or i == 1:
            t = c.topic(f)
            heading = c.v("topic_headings", t=t, t_cap=upper_first(t))
        else:
            heading = c.v("list_headings")
        entries.append(f"{i}. {heading}\n\n{c.say(f, 'plain', 'casual')} {c.detail(f) if c.chance(0.6) else ''}".rstrip())
    t = c.topic()
    return paragraphs(
        c.v("list_titles", k=str(len(facts) + 1), t=t, t_cap=upper_first(t)),
        f"{c.venue} \u00b7 {c.slots['date']} \u00b7 0 min read",
        c.v("list_openers"),
        *entries,
        f"{len(facts) + 1}. {c.v('glue_headings')}\n\n" + c.glue(*(("casual_why", "casual_reactions", "casual_what_follows") if c.chance(0.5)
                                                                     else ("spoken_why", "spoken_reactions", "spoken_what_follows"))),
        c.v("closers") + f"\n\n\u2014 {c.handle()}",
    )


@_type("forum_thread", "forum thread", "forum", _setting("communities", ["a discussion forum"]))
def forum_thread(c: Ctx) -> str:
    op = c.handle()
    title, answer = c.ask(None, "casual", "plain", asked=True)
    # A title that already names the fact ("Is it true it launches March 3?") is not said again in
    # the post below it: the poster passes on a detail they heard instead.
    heard = c.detail() if c.restates(title) else c.say(None, "casual", "plain")
    lines = [
        f"{c.venue} \u00b7 Posted by u/{op} \u00b7 {c.between(2, 23)} hours ago",
        title,
        f"{c.between(12, 900)} points \u00b7 {c.between(8, 240)} comments",
        c.v("op_openers") + " " + heard + " " + c.v("op_asks"),
    ]

    def reply(body: str) -> str:
        return f"{c.handle()} \u00b7 {c.between(1, 450)} points\n{body}"

    # The first reply answers the question in the title; the poster thanks them and asks about a
    # second fact, which the next reply answers; later replies add what the thread has not covered.
    lines.append(reply(c.led("answer_openers", answer) + " " + c.detail()))
    other = c.others[0]
    second, second_answer = c.ask(other, "casual", "plain")
    lines.append(f"{op} (OP) \u00b7 {c.between(1, 60)} points\n{c.v('op_followups')} {c.v('op_next')} {second}")
    lines.append(reply(c.led("answer_openers", second_answer) + (" " + c.v("sources") if c.chance(0.4) else "")))
    for f in c.others[1 : c.between(2, 4)]:
        lines.append(reply(c.led("adding_openers", c.say(f, "casual", "plain")) + (" " + c.detail(f) if c.chance(0.4) else "")))
    lines.append(reply(c.glue("casual_why" if c.chance(0.5) else "casual_reactions", "casual_what_follows")))
    lines.append(reply(c.v("reply_reactions")))
    lines.append(f"{c.handle()} \u00b7 {c.between(1, 90)} points\n" + c.led("last_words", c.implication()))
    return paragraphs(*lines)


@_type("podcast_transcript", "podcast transcript", "show", _setting("podcasts", ["an interview podcast"]))
def podcast_transcript(c: Ctx) -> str:
    role = c.pick(["researcher", "insider", "critic"])  # the guest speaks their own role's lines
    host, guest = c.person("host"), c.person(role)
    c.slots.update(host=host.name, host_first=host.first, guest=guest.name, guest_first=guest.first, guest_title=guest.title)
    # shows label turns by first name, in capitals or not, the same way in every turn
    H, G = (host.first.upper(), guest.first.upper()) if c.chance(0.5) else (host.first, guest.first)
    other = c.others[0]
    # The host's lead-ins come before plain questions; each answer answers the question above it.
    first, first_answer = c.ask(None, "plain", "casual", spoken=True)
    second, second_answer = c.ask(other, "plain", "casual", spoken=True)
    parts = [
        f"{c.venue} \u2014 Episode {c.between(12, 260)}: {c.headline()}",
        c.v("transcript_notes"),
        f"{H}: {c.v('intros')} {c.v('guest_intros')} {c.v('welcomes')}",
        f"{G}: {c.v('thanks')}",
        f"{H}: {c.v('first_questions')} {first}",
        f"{G}: {c.v('answer_openers')} {c.unframed(first_answer)} {c.detail(spoken=True)}",
        f"{H}: {c.v('followups')}",
        f"{G}: {c.quote(role)} {c.detail(spoken=True)}",
        f"{H}: {c.v('pivots')} {second}",
        f"{G}: {c.v('answer_openers')} {c.unframed(second_answer)}",
        f"{H}: {c.v('followups')}",
        f"{G}: {c.detail(other, spoken=True)} {c.implication(other, spoken=True)}",
        f"{H}: {c.v('why_questions')}",
        f"{G}: {c.glue('spoken_motive', 'spoken_why')}",
        f"{H}: {c.v('stakes_questions')}",
        f"{G}: {c.implication(spoken=True)} {c.glue('spoken_what_follows', 'spoken_reactions')} {c.v('guest_closers')}",
        f"{H}: {c.v('outros')}",
    ]
    return paragraphs(*parts)


@_type("interview", "magazine interview", "magazine", _outlets)
def interview(c: Ctx) -> str:
    role = c.pick(["insider", "researcher", "critic"])  # the interviewee speaks their own role's lines
    who = c.person(role)
    interviewer = c.person("reporter")
    c.slots.update(who=who.name, who_last=who.last, who_title=who.title, interviewer=interviewer.name)
    others = c.others[:2]
    closing_q, closing_a = c.pair("closings")
    opener = (c.v("openers"), c.say(None, "plain", spoken=True) + " " + c.detail(spoken=True))
    q1, a1 = c.ask(None, "casual", "plain", asked=True, spoken=True)
    q2, a2 = c.ask(others[0], "plain", asked=True, spoken=True)
    third = others[1] if len(others) > 1 else None  # the main fact is asked about once; the third question is another fact's
    q3, a3 = c.ask(third, "plain", "formal", asked=True, spoken=True)
    qa = [
        opener,
        (q1, a1 + " " + c.quote(role)),
        (q2, a2 + " " + c.detail(others[0], spoken=True)),
        (q3, c.v("answer_openers") + " " + c.unframed(a3) + " " + c.detail(third, spoken=True)),
        (c.v("why_questions"), c.glue("spoken_motive", "spoken_why")),
        (c.v("stakes"), c.implication(spoken=True) + " " + c.glue("spoken_what_follows")),
        (closing_q, closing_a),
    ]
    asker, answerer = c.rng.choice([("Q", "A"), (interviewer.last, who.last), (interviewer.last.upper(), who.last.upper())])
    body = "\n\n".join(f"{asker}: {q}\n\n{answerer}: {a}" for q, a in qa)
    return paragraphs(
        c.v("titles"),
        c.v("bylines"),
        c.v("bios") + " " + c.v("setups"),
        c.v("edit_notes"),
        body,
    )


@_type("leaked_memo", "leaked internal memo", "team", _setting("departments", ["Leadership"]))
def leaked_memo(c: Ctx) -> str:
    author = c.person("executive")
    changes = [c.company_detail()] + [c.say(f, "company") for f in c.others[: c.between(2, 4)]]
    depts = [d for d in c.u.setting.departments if d != c.venue] or ["Leadership"]
    dept2 = c.pick(depts)
    head = [f"TO: {c.v('recipients', other_team=dept2)}", f"FROM: {c.v('from_lines', author=author.name)}"]
    if c.chance(0.4):
        head.append(f"CC: {c.v('ccs', other_team=c.pick(depts))}")
    head += [f"DATE: {c.slots['date']}", f"RE: {c.v('subjects')}"]
    h = lambda key: c.v(f"headings_{key}") + "\n\n"
    comms = h("comms") + c.v("comms") + f" \u201c{c.quote('company')}\u201d"
    why = h("why") + c.glue("internal_why", "internal_why")  # colleagues get the reasons, not the press line
    middle = [h("practice") + bullets(changes), comms, why]
    if c.chance(0.4):
        middle[1], middle[2] = why, comms
    parts = [
        f"{c.v('banners')} \u00b7 Ref: {c.venue[:3].upper()}-{c.between(100, 999)}",
        "\n".join(head),
        c.v("openers") + " " + c.say(None, "company"),
        h("background") + c.v("background") + " " + c.say(None, "company", "formal") + " " + c.v("reasons"),
        *middle,
        c.v("risks") + " " + c.implication(),
        h("next") + " ".join(c.v("next_steps") for _ in range(c.between(2, 3))),
    ]
    if c.chance(0.6):
        asks = [c.v("asks") for _ in range(c.between(2, 3))]
        parts.append(h("asks") + (bullets(asks) if c.chance(0.5) else " ".join(asks)))
    parts.append(c.v("closers") + "\n\n" + c.v("signoffs", first=author.first, author=author.name))
    if c.chance(0.5):
        parts.insert(0, c.v("leak_notes"))
    return paragraphs(*parts)


@_type("faq_page", "help-center FAQ page", "section", lambda u: material("voices")["faq_page"]["sections"])
def faq_page(c: Ctx) -> str:
    facts = [c.fact] + c.others[: c.between(3, 5)]

    def entry(f) -> str:
        if c.chance(0.5):
            question, answer = c.v("topic_questions", topic=c.topic(f)), c.say(f, "company", "plain")
        else:
            question, answer = c.ask(f, "company", "plain")
        if f is c.fact:
            answer += " " + c.company_detail(f)
        tail = c.v("answer_tails") if c.chance(0.5) else ""  # a pointer to more help on some answers, not on every one
        return f"{question}\n{answer} {tail}".strip()

    qa = [entry(f) for f in facts]
    qa.insert(1, f"{c.v('why_questions')}\n{c.glue('company_motive', 'company_why')}")
    # "What happens next?" is answered by plans, "Who can I write to?" by where to write.
    if c.chance(0.5):
        qa.append(f"{c.v('next_questions')}\n{c.glue('company_next', 'company_contact')}")
    else:
        qa.append(f"{c.v('contact_questions')}\n{c.glue('company_contact', 'company_next')}")
    crumbs = f"{c.v('crumb_roots')} \u203a {c.venue}" + (f" \u203a {c.v('crumb_leaves')}" if c.chance(0.6) else "")
    end = [c.v("footers")]
    if c.chance(0.6):
        end.append(c.v("related_heads") + "\n" + bullets(c.sample(c.voice["related"], c.between(2, 4))))
    return paragraphs(
        crumbs,
        c.v("titles"),
        f"{c.v('updated_labels')}: {c.fmt_date(c.date, c.rng.choice([0, 1]))}",
        c.v("intros"),
        *qa,
        *end,
    )


@_type("investor_call", "investor call transcript", "event", lambda u: material("voices")["investor_call"]["events"])
def investor_call(c: Ctx) -> str:
    """Operator, investor relations, prepared remarks, then questions. Titles are given once, by
    whoever introduces a speaker; after that a speaker's label is a name, as in real transcripts."""
    ceo, cfo = c.person("chief_executive"), c.person("finance_chief")
    ir = c.person("user")  # a name no cast member has; the title comes from the call itself
    analysts = [c.person("analyst") for _ in range(3)]
    banks = c.sample(c.world["banks"], 3)
    other = c.others[0]
    c.slots.update(ceo=ceo.name, ceo_first=ceo.first, ceo_title=ceo.title, ceo_role=_our_title(c, ceo),
                   cfo=cfo.name, cfo_first=cfo.first, cfo_title=cfo.title, cfo_role=_our_title(c, cfo),
                   ir=ir.name, ir_first=ir.first, call_date=c.fmt_date(c.date, 0), daypart=c.pick(["morning", "afternoon"]))
    # the prepared remarks state the change itself; the analysts then ask about what it leaves open
    remarks = f"{ceo.name}: {c.v('ceo_openers')} {c.say(None, 'company')} {c.company_detail()}" + (" " + c.v("ceo_strategy") if c.chance(0.6) else "")
    first, first_answer = _call_question(c, c.fact, "first_question_leads")
    second, second_answer = _call_question(c, other)

    def asked(n: int) -> str:
        a, bank = analysts[n], banks[n]
        c.slots.update(analyst=a.name, analyst_first=a.first, bank=bank)
        return f"Operator: {c.v(('operator_first', 'operator_next', 'operator_last')[n])}"

    def analyst(n: int, text: str) -> str:
        return f"{analysts[n].name}, {banks[n]}: {text}"

    parts = [
        c.v("headers"),
        f"Operator: {c.v('operator_opens')} {c.v('operator_handovers')}",
        f"{ir.name}: {c.v('ir_welcomes')} {c.v('ir_introductions')} " + (c.v("safe_harbor") + " " if c.chance(0.5) else "") + c.v("ir_handoffs"),
        remarks,
        asked(0),
        analyst(0, f"{c.v('analyst_greetings')} {first}"),
        f"{ceo.name}: {c.v('answer_openers')} {c.unframed(first_answer)} {c.v('business_reasons')}",
        asked(1),
        analyst(1, f"{c.v('analyst_greetings')} {second}"),
        f"{cfo.name}: {c.v('cfo_openers')} {second_answer}" + (" " + c.v("cfo_closers") if _asks_about_money(second) else ""),
    ]
    if c.chance(0.4):
        follow_q, follow_a = c.pair("analyst_followups")
        parts += [analyst(1, follow_q), f"{cfo.name}: {follow_a}"]  # a detail tacked on would answer nothing asked
    last_turn = asked(2)  # sets the last analyst's name, which the answer addresses
    outlook_q, outlook_a = c.pair("outlook_pairs")
    parts += [
        last_turn,
        analyst(2, outlook_q),
        f"{ceo.name}: {outlook_a} {c.glue('company_why')} {c.v('ceo_closings')}",
        f"Operator: {c.v('operator_closes')}",
    ]
    return paragraphs(*parts)


def _our_title(c: Ctx, p: Person) -> str:
    """A company person's title as a colleague gives it: 'our chief executive'."""
    job = c.job_at_company(p)
    return p.title if job is None else "our " + job


def _asks_about_money(question: str) -> bool:
    """Whether an analyst's question is about the numbers: only then does the finance chief close
    on guidance ("That is reflected in our guidance" after an answer about the tier tag answers
    nothing asked)."""
    return bool(re.search(r"\b(?:revenue|margin|cost|costs|financial|numbers|guidance|growth|spend|pricing|price|conversion|retention)\b", question, re.I))


def _call_question(c: Ctx, fact, leads: str = "question_leads") -> tuple[str, str]:
    """An analyst's question about a fact, led in the way analysts ask ('And one for Elena: ...'),
    and the answer the executive gives."""
    from afpipe.generate.template_compose import _lower_lead

    q, answer = c.ask(fact, "company", "formal", impersonal=True, spoken=True)
    return (f"{c.v(leads)} {_lower_lead(q, c.proper_words)}" if c.chance(0.85) else q), answer


@_type("paper_abstract", "research paper abstract", "venue", _setting("venues", ["a peer-reviewed workshop"]))
def paper_abstract(c: Ctx) -> str:
    n_authors, authors = c.between(2, 4), []
    for _ in range(12):  # a cast researcher is drawn again once the cast is used up: no one signs twice
        p = c.person("researcher")
        if p.name not in {a.name for a in authors}:
            authors.append(p)
        if len(authors) == n_authors:
            break
    names = ", ".join(f"{p.name}{'*' * (i == 0)}" for i, p in enumerate(authors))
    keywords = c.u.setting.keywords or [c.topic()]
    first_page = c.between(1, 240)
    parts = [
        c.v("titles", topic_cap=upper_first(c.slots["topic"])),
        names + "\n" + "; ".join(dict.fromkeys(c.pick(c.world["universities"]) for _ in authors)),
        c.v("venue_lines", pages=f"{first_page}\u2013{first_page + c.between(9, 24)}", vol=str(c.between(2, 19)), paper_no=str(c.between(11, 480))),
        "Abstract\n\n" + " ".join([
            c.v("openers"), c.say(None, "formal"), c.v("methods"), c.detail(), c.v("findings"),
            c.say(c.others[0], "formal"), c.v("conclusions"),
        ]),
        "Keywords: " + "; ".join(c.sample(keywords, min(4, len(keywords)))),
        "1 Introduction\n\n" + c.v("intro_openers") + " " + " ".join(c.background(2, "formal")) + " " + c.implication() + " " + c.glue("formal_why"),
    ]
    background = "2 Background\n\n" + c.say(None, "news", "plain") + " " + c.detail() if c.chance(0.6) else None
    parts += [background, f"{3 if background else 2} Discussion\n\n" + c.glue("formal_why", "formal_what_follows", "research_what_follows") + " " + c.v("limitations")]
    return paragraphs(*parts)


@_type("newsletter", "email newsletter", "newsletter", _setting("newsletters", ["a weekly newsletter"]))
def newsletter(c: Ctx) -> str:
    editor = c.person("reporter")
    # further reading is about the rest of the story: a headline naming the issue's own fact is one more restatement
    reading = [f"\u201c{c.headline(f)}\u201d \u2014 {c.pick(c.world['newspapers'])}" for f in c.others[:3]]
    parts = [
        f"{c.venue} \u2014 Issue #{c.between(14, 310)} \u00b7 {c.fmt_date(c.date, 0)}",
        c.v("greetings"),
        c.v("h_lead") + "\n\n" + c.say(None, "news", "plain") + " " + c.detail() + " " + _newsletter_quote(c, "lead_quotes", c.pick(["critic", "insider", "researcher"])),
        c.v("takes") + " " + c.implication() + " " + c.glue("why", "reactions"),
        c.v("h_watch") + "\n\n" + c.glue("what_follows", "what_follows"),
        c.v("h_quote") + "\n\n" + _newsletter_quote(c, "quote_credits", c.pick(["critic", "researcher", "user", "company", "insider"]), c.others[0]) if c.chance(0.6) else None,
        c.v("h_also") + "\n\n" + bullets(c.background(c.between(2, 3), "plain", "news")),
        c.v("h_reading") + "\n\n" + bullets(reading),
        c.v("signoffs") + f"\n{editor.first}",
    ]
    return paragraphs(*parts)


def _newsletter_quote(c: Ctx, key: str, role: str, fact=None) -> str:
    """A quote credited in one of the newsletter's ways; insiders stay anonymous."""
    who = c.person(role)
    src = c.v("anon_sources") if role == "insider" else f"{who.name}, {who.title}"
    return quoted(c, key, c.quote(role, fact), None, src=src, src_cap=upper_first(src))


@_type("social_thread", "social media thread", "platform", lambda u: material("voices")["social_thread"]["platforms"])
def social_thread(c: Ctx) -> str:
    handle = c.handle()
    posts = [
        c.v("openers"),
        c.say(None, "casual", "plain"),
        c.detail(),
        c.say(c.others[0], "casual", "plain"),
        c.say(None, "plain", "news"),
        c.implication(),
    ]
    if c.chance(0.6):
        posts.insert(-1, c.say(c.others[1], "casual", "plain"))
    if c.chance(0.5):
        role = c.pick(["insider", "critic", "user"])
        posts.insert(3, quoted(c, "quote_frames", c.quote(role), None, src=c.fill(c.pick(c.voice["quote_sources"][role]))))
    casual = c.chance(0.6)
    posts.insert(-1, c.glue(*(("casual_why", "casual_why") if casual else ("casual_why",))))
    posts.insert(-1, c.glue("casual_reactions"))
    posts.append(c.glue("casual_what_follows") + " " + c.v("closers"))
    n = len(posts)
    body = "\n\n".join(f"{i}/{n} {p}" for i, p in enumerate(posts, 1))
    tags = " ".join("#" + k.replace(" ", "").replace("-", "") for k in c.sample(c.u.setting.keywords or [c.slots["company"]], 2))
    replies = [f"\u21b3 @{c.handle()}: {c.v('replies')}" for _ in range(c.between(1, 3))]
    return paragraphs(f"@{handle} on {c.venue} \u00b7 {c.fmt_date(c.date, 1)}", body, tags, "\n".join(replies))


@_type("regulatory_comment", "public comment to a regulator", "regulator", _setting("regulators", ["the regulator"]))
def regulatory_comment(c: Ctx) -> str:
    cast = {m.name for m in c.u.setting.cast}
    signer = c.person(c.pick(["critic", "researcher"]))
    for _ in range(8):  # a cast member keeps their own job: the signer is someone of the group's staff
        if signer.name not in cast:
            break
        signer = c.person(c.pick(["critic", "researcher"]))
    org = c.w("advocacy_groups")
    for _ in range(8):  # a name the house style would reword ("the Public ..." -> "the general public ...") is skipped
        if c.styled(org) == org:
            break
        org = c.w("advocacy_groups")
    points = [
        c.say(None, "formal"),
        c.detail(),
        c.say(c.others[0], "formal"),
        c.implication(),
        c.glue("formal_why", "formal_reactions"),
        c.v("requests") + " " + c.glue("formal_what_follows"),
    ]
    initials = "".join(w[0] for w in c.venue.split() if w[:1].isupper())
    docket = f"{c.slots['year']}-{c.between(1000, 9999)}"
    who = {"org": org, "org_cap": upper_first(org), "org_short": org.removeprefix("the ")}
    return paragraphs(
        c.v("captions", docket=f"{initials}-{docket}" if len(initials) <= 4 and c.chance(0.5) else docket),
        c.v("comment_titles", proceeding=c.v("dockets"), **who),
        f"Submitted {c.fmt_date(c.date, c.between(0, 1))}",
        c.v("openers"),
        c.v("interest_headings") + "\n\n" + c.v("interests", founded=str(c.between(1971, 2016)), **who) if c.chance(0.7) else None,
        c.v("points_intros") + "\n\n" + "\n\n".join(f"{i}. {p}" for i, p in enumerate(points, 1)),
        c.v("recommendation_headings") + "\n\n" + "\n".join(f"({k}) {r}" for k, r in zip("abc", [c.v("requests") for _ in range(c.between(2, 3))])) if c.chance(0.7) else None,
        c.v("conclusions"),
        "Respectfully submitted,\n" + c.v("signatures", signer=signer.name, **who),
    )


@_type("encyclopedia_entry", "encyclopedia article", "wiki", lambda u: material("world")["wikis"])
def encyclopedia_entry(c: Ctx) -> str:
    title = c.slots["product"] if c.chance(0.6) else upper_first(c.topic())
    hatnotes = "\n".join(c.v("hatnotes") for _ in range(c.rng.choice([0, 1, 1, 2])))
    h = lambda key: c.v(f"headings_{key}") + "\n\n"
    body = [
        c.say(None, "formal", "plain") + " " + c.say(c.others[0], "formal", "plain"),
        h("background") + " ".join(c.background(c.between(1, 2), "formal", "news")) + " " + c.v("background_links"),
        h("details") + c.detail() + " " + c.say(None, "formal", "plain"),  # no "On Tuesday, it emerged" in a reference work
        h("reception") + c.v("reception") + " " + c.implication() + " " + c.glue("formal_reactions", "formal_reactions"),  # no quoted readers
        h("later") + c.glue("formal_why", "formal_what_follows"),  # a reference work reasons; it does not report
    ]
    text = "\n".join(body)  # every outlet the text cites is in the references, in the order cited
    cited = sorted((o for o in c.outlets() if o in text), key=text.index)
    sources = c.others[: max(len(cited), c.between(2, 3))]  # as in a newsletter's reading list: no title restating the entry's fact
    refs = [_citation(c, f, cited[i] if i < len(cited) else None) for i, f in enumerate(sources)]
    see_also = [upper_first(c.topic(f)) for f in c.others[3 : 3 + c.between(0, 2)]]
    see_also += [upper_first(c.fill(s)) for s in c.sample(c.voice["see_also_generic"], c.between(1, 2))]
    c.rng.shuffle(see_also)
    categories = [upper_first(c.fill(s)) for s in c.sample(c.voice["categories"], c.between(3, 5))]
    minute = f"{c.between(0, 23):02d}:{c.between(0, 59):02d}"
    return paragraphs(
        c.venue,
        title,
        hatnotes,
        *body,
        "See also\n\n" + bullets(see_also),
        "References\n\n" + numbered(refs),
        "Categories: " + " | ".join(categories),
        c.v("footers", edited=c.fmt_date(c.later(0, 7), 1), time=minute),  # edited before what it calls "scheduled" happens
    )


def _citation(c: Ctx, f, outlet: str | None = None) -> str:
    """A reference in one of the citation styles encyclopedia editors mix."""
    last, first = c.pick(c.world["last_names"]), c.pick(c.world["first_names"])
    head = c.headline(f).rstrip(".")
    outlet = outlet or c.outlet()
    earliest = type(c.date).fromisoformat(c.u.setting.date_range[0])  # not before the corpus's first date
    published = c.later(-min(240, max(0, (c.date - earliest).days)), 0)
    when = c.fmt_date(published, c.rng.choice([0, 1]))
    comma = "" if head[-1:] in "?!" else ","
    style = c.rng.choice([0, 1, 2, 2, 3, 3, 3])
    if style == 0:
        return f"{last}, {first[0]}. ({published.year}). \u201c{head}{'' if head[-1:] in '?!' else '.'}\u201d {outlet}."
    if style == 1:
        retrieved = c.fmt_date(published + (c.date - published) // 2, 1)
        return f"{last}, {first} ({when}). \u201c{head}\u201d. {outlet}. Retrieved {retrieved}."
    if style == 2:
        return f"\u201c{head}{comma}\u201d {outlet}, {when}."
    return f"{last}, {first[0]}. \u201c{head}{comma}\u201d {outlet}, {when}."


@_type("hearing_transcript", "legislative hearing transcript", "committee", _setting("committees", ["the Committee"]))
def hearing_transcript(c: Ctx) -> str:
    """The chair introduces each witness with name and title; after that the record labels
    speakers by surname, members by their chamber's style."""
    chair, member = c.person("official"), c.person("official")
    witness = c.person(c.pick(["insider", "researcher", "critic"]))
    rep = c.person("company")
    other = c.others[0]
    c.slots.update(chair_last=chair.last, member_last=member.last, witness=witness.name, witness_title=witness.title,
                   rep=rep.name, rep_title=rep.title, daypart=c.pick(["morning", "afternoon"]))
    venue = c.venue.lower()
    style = "SENATOR " if "senate" in venue else "REP. " if "house" in venue else "MEMBER "  # never a bare surname no one introduced
    CHAIR, MEMBER = f"CHAIR {chair.last.upper()}", f"{style}{member.last.upper()}"
    WITNESS, REP = witness.last.upper(), rep.last.upper()
    # Testimony is on the record: witnesses speak in the formal register first, never in forum slang.
    question, answer = c.ask(other, "formal", "plain", impersonal=True, spoken=True)
    parts = [
        f"HEARING BEFORE THE {c.venue.upper()}, {c.fmt_date(c.date, 0).upper()}",
        c.v("subjects"),
        f"{CHAIR}: {c.v('chair_openers')} {c.say(None, 'formal', 'news')} {c.v('chair_frames')} {c.v('witness_intros')}",
        f"{WITNESS}: {c.v('witness_openers')} {c.say(None, 'formal', 'plain', spoken=True)} {c.detail(spoken=True)}",
        f"{MEMBER}: {c.v('member_questions')} {question}",
        f"{WITNESS}: {answer} {c.detail(other, spoken=True)}",
        f"{CHAIR}: {c.v('to_company')}",
        f"{REP}: {c.v('rep_openers')} {c.quote('company')} {c.say(None, 'company', spoken=True)}",
        f"{MEMBER}: {c.v('why_questions')}",
        f"{WITNESS}: {c.glue('spoken_motive', 'spoken_why')}",
        f"{CHAIR}: {c.glue('chair_what_follows')} {c.v('chair_closers')}",
    ]
    return paragraphs(*parts)


@_type("press_release", "company press release", "wire", lambda u: material("voices")["press_release"]["wires"])
def press_release(c: Ctx) -> str:
    exec_ = c.person("executive")
    city = c.dateline(own=True)
    press_office = [m.name for m in c.u.setting.cast if m.role == "company"]
    contact = c.pick(press_office) if press_office else c.person("company").name
    parts = [
        "FOR IMMEDIATE RELEASE",
        c.v("titles"),
        c.v("subheads") if c.chance(0.5) else None,
        f"{city}, {c.fmt_date(c.date, 0)} ({c.venue}) \u2014 {c.v('leads')} {c.say(None, 'formal', 'news')} {c.v('benefits')}",
        c.company_detail() + " " + c.say(c.others[0], "formal", "news"),
        quoted(c, "quote_frames", c.quote("company") + " " + c.say(None, "company", spoken=True), exec_),  # name and full title, once
        f"\u201c{c.v('exec_lines').rstrip('.')},\u201d {exec_.last} {c.v('attributions')}. " + " ".join(c.background(1, "formal", "plain")),
        f"{c.v('why_leads', last=exec_.last)} \u201c{c.glue('company_motive', 'company_why')}\u201d",
        f"{upper_first(c.v('next_leads', who=c.executive_named()))} \u201c{c.glue('company_next')}\u201d",
        c.v("about_heads") + "\n\n" + (c.v("about") + " " + c.v("about_more")).strip(),
    ]
    if c.chance(0.35):
        parts.append("Forward-looking statements\n\n" + c.v("forward_looking") + " " + c.v("forward_looking_after"))
    parts += [f"{c.v('contact_heads')}\n{contact}\n{c.v('contact_depts')}\n{c.slots['company']}", c.v("end_marks")]
    return paragraphs(*parts)


@_type("lecture_notes", "university lecture notes", "course", _setting("courses", ["a university seminar"]))
def lecture_notes(c: Ctx) -> str:
    key_points = [c.say(None, "formal", "plain"), c.detail(), c.implication()]
    context = c.background(c.between(2, 3), "plain", "formal")
    questions = [c.v("discussion") for _ in range(c.between(1, 2))]
    questions.insert(c.between(0, len(questions)), c.v("linked_questions", other=c.topic(c.others[0])))
    if c.chance(0.5):
        questions.append(c.v("linked_questions", other=c.topic(c.others[1])))
    unstated = [f for f in c.others if f.id not in c.backgrounded]
    return paragraphs(
        f"{c.venue} \u2014 Week {_teaching_week(c.date)}: {upper_first(c.topic())}",
        f"Lecture notes ({c.v('note_takers')}), {c.fmt_date(c.date, 0)}",
        c.v("recaps"),
        "Key points\n\n" + bullets(key_points),
        c.v("case_headings") + "\n\n" + " ".join(context) + " " + c.glue("formal_why"),
        c.v("reaction_headings") + "\n\n" + c.glue("formal_reactions", "formal_what_follows"),
        c.v("instructor_asides") + " " + c.say(None, "plain", "casual"),
        # each term is defined by its own fact: one already stated above would be swapped for another
        "Terms to know\n\n" + bullets([f"{c.topic(f)}: {c.say(f, 'formal', 'plain')}" for f in unstated[:2]]) if c.chance(0.6) else None,
        "Discussion questions\n\n" + numbered(questions),
        c.v("readings") if c.chance(0.7) else None,
    )
