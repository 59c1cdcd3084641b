"""The template writer's document types: one function each, laying out its own structure.

Each function receives a ``Ctx`` (the job's fact, the universe, a seeded RNG, helpers) and
returns the document text. Voice phrases come from ``corpora/generate/voices.yaml`` under the
type's id (``c.v(key)``); names and places from ``world.yaml`` (``c.w(key)``); facts from the
universe (``c.say``, ``c.quote``, ``c.detail``...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from afpipe.generate.template_compose import Ctx, Person, material, paragraphs
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


def said(c: Ctx, quote: str, p: Person, verb: str = "said") -> str:
    """Attribute a quote in one of the ways reporters do."""
    q = quote.strip()
    body = q[:-1] if q.endswith(".") else q
    style = c.rng.randrange(4)
    if style == 0:
        return f"\u201c{body},\u201d {verb} {p.name}, {p.title}."
    if style == 1:
        return f"{p.name}, {p.title}, put it bluntly: \u201c{q}\u201d"
    if style == 2:
        return f"\u201c{body},\u201d {p.name} {verb}. {p.first} is {p.title}."
    return f"\u201c{q}\u201d That was how {p.name}, {p.title}, described it."


def bullets(items: list[str], mark: str = "-") -> str:
    return "\n".join(f"{mark} {i}" for i in items)


def numbered(items: list[str]) -> str:
    return "\n".join(f"{n}. {i}" for n, i in enumerate(items, 1))


def upper_first(s: str) -> str:
    """Capitalise the first letter only ('str.capitalize' would lower-case names)."""
    return s[:1].upper() + s[1:]


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


def _news_explainer(c: Ctx) -> str:
    reporter, critic = c.person("reporter"), c.person("critic")
    return paragraphs(
        c.question(),
        f"{c.venue} \u00b7 Explainer \u00b7 By {reporter.name} \u00b7 {c.slots['date']}",
        c.v("explainer_intros"),
        "What happened\n\n" + c.say(None, "news") + " " + c.detail(),
        "How it works\n\n" + c.say(None, "plain", "formal") + " " + c.detail(),
        "What the company says\n\n" + (f"\u201c{c.quote('company').rstrip('.')},\u201d a {c.slots['company']} spokesperson said." if c.chance(0.5) else c.v("company_responses")),
        "Why it happened\n\n" + c.glue("why", "why"),
        "Why critics are worried\n\n" + said(c, c.quote("critic"), critic) + " " + c.implication() + " " + c.glue("reactions"),
        "What comes next\n\n" + c.glue("what_follows", "what_follows"),
        "What else we know\n\n" + bullets(c.background(c.between(2, 3), "plain", "news")),
    )


def _news_live(c: Ctx) -> str:
    minute, times = c.between(7 * 60, 15 * 60), []
    for _ in range(6):
        h, m = divmod(minute, 60)
        times.append(f"{(h - 1) % 12 + 1}:{m:02d} {'a.m.' if h < 12 else 'p.m.'}")
        minute += c.between(6, 55)
    entries = [
        c.say(None, "news") + " " + c.v("attributions"),
        said(c, c.quote("critic"), c.person("critic")),
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
    dateline = c.pick(c.world["cities"]).upper()
    parts = [
        f"{c.venue} \u00b7 {c.v('sections')} \u00b7 {c.slots['date']}",
        c.headline(),
        f"By {reporter.name}, {reporter.title}",
        f"{dateline} \u2014 {c.say(None, 'news')} {c.v('attributions')}",
        c.fill(c.angle["frame"]) + " " + c.detail(),
        said(c, c.quote("insider"), Person(insider.first, insider.last, insider.title), "said")
        if c.chance(0.4)
        else f"{c.v('insider_intros')} \u201c{c.quote('insider')}\u201d",
        c.say(None, "news", "plain") + " " + c.implication(),
        said(c, c.quote("critic"), critic),
        said(c, c.quote("researcher"), c.person("researcher")) + " " + c.detail() if c.chance(0.7) else None,
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
        c.v("concessions") + f" \u201c{c.quote('company')}\u201d " + c.v("rebuttals"),
        c.implication() + " " + c.v("closers"),
        f"{author.name} is {author.title}.",
    ]
    return paragraphs(*parts)


@_type("blog_post", "personal blog post", "blog", lambda u: material("world")["blogs"])
def blog_post(c: Ctx) -> str:
    """An essay-style post, or (one time in three) a numbered 'things to know' list."""
    if c.chance(1 / 3):
        return _blog_listicle(c)
    handle = c.handle()
    items = [c.say(None, "plain")] + c.background(c.between(2, 3), "plain")
    c.rng.shuffle(items)
    parts = [
        f"{c.venue} \u00b7 {c.slots['date']} \u00b7 {c.between(3, 11)} min read",
        c.question() if c.chance(0.5) else c.headline(),
        c.v("intros"),
        c.v("short_versions") + " " + c.say(None, "plain", "casual"),
        c.v("details_intros") + " " + c.detail(),
        c.v("list_intros") + "\n\n" + bullets(items),
        c.v("reflections") + " " + c.implication() + " " + c.say(None, "critical", "plain"),
        c.glue("why", "reactions"),
        c.glue("what_follows"),
        c.v("details_intros") + " " + c.detail(c.others[0]) if c.chance(0.6) else None,
        c.say(None, "casual", "plain") + " " + c.v("closers"),
        f"\u2014 {handle}" + (f"\n\n{c.between(2, 140)} comments" if c.chance(0.6) else ""),
    ]
    return paragraphs(*parts)


def _blog_listicle(c: Ctx) -> str:
    facts = [c.fact, c.fact] + c.others[: c.between(2, 4)]
    entries = []
    for i, f in enumerate(facts, 1):
        heading = upper_first(c.topic(f)) if f is not c.fact or i == 1 else c.v("list_headings")
        entries.append(f"{i}. {heading}\n\n{c.say(f, 'plain', 'casual')} {c.detail(f) if c.chance(0.6) else ''}".rstrip())
    return paragraphs(
        f"{len(facts) + 1} things to know about {c.topic()}",
        f"{c.venue} \u00b7 {c.slots['date']}",
        c.v("list_openers"),
        *entries,
        f"{len(facts) + 1}. {c.v('list_headings')}\n\n" + c.glue("why", "reactions", "what_follows"),
        c.v("closers") + f"\n\n\u2014 {c.handle()}",
    )


@_type("forum_thread", "forum thread", "forum", _setting("communities", ["a discussion forum"]))
def forum_thread(c: Ctx) -> str:
    op = c.handle()
    lines = [
        f"{c.venue} \u00b7 Posted by u/{op} \u00b7 {c.between(2, 23)} hours ago",
        f"{c.question(asked=True)}",
        f"{c.between(12, 900)} points \u00b7 {c.between(8, 240)} comments",
        c.v("op_openers") + " " + c.say(None, "casual", "plain") + " " + c.v("op_asks"),
    ]

    def reply(body: str) -> str:
        return f"{c.handle()} \u00b7 {c.between(1, 450)} points\n{body}"

    # The first reply answers the question in the title; the poster thanks them and asks about a
    # second fact, which the next reply answers; later replies add what the thread has not covered.
    lines.append(reply(c.v("answer_openers") + " " + c.say(None, "casual", "plain") + " " + c.detail()))
    other = c.others[0]
    lines.append(f"{op} (OP) \u00b7 {c.between(1, 60)} points\n{c.v('op_followups')} {c.v('op_next')} {c.question(other)}")
    lines.append(reply(c.v("answer_openers") + " " + c.say(other, "casual", "plain") + (" " + c.v("sources") if c.chance(0.4) else "")))
    for f in c.others[1 : c.between(2, 4)]:
        lines.append(reply(c.v("adding_openers") + " " + c.say(f, "casual", "plain") + (" " + c.detail(f) if c.chance(0.4) else "")))
    lines.append(reply(c.v("reply_reactions")))
    lines.append(f"{c.handle()} \u00b7 {c.between(1, 90)} points\n" + c.v("last_words") + " " + c.implication())
    return paragraphs(*lines)


@_type("podcast_transcript", "podcast transcript", "show", _setting("podcasts", ["an interview podcast"]))
def podcast_transcript(c: Ctx) -> str:
    role = c.pick(["researcher", "insider", "critic"])  # the guest speaks their own role's lines
    host, guest = c.person("host"), c.person(role)
    H, G = host.first.upper(), guest.first.upper()
    other = c.others[0]
    parts = [
        f"{c.venue} \u2014 Episode {c.between(12, 260)}: {c.headline()}",
        c.v("transcript_notes"),
        f"{H}: {c.v('intros')} My guest today is {guest.name}, {guest.title}. {c.v('welcomes')}",
        f"{G}: {c.v('thanks')}",
        f"{H}: {c.v('first_questions')} {c.question(asked=True)}",
        f"{G}: {c.v('answer_openers')} {c.say(None, 'plain', 'casual')} {c.detail()}",
        f"{H}: {c.v('followups')}",
        f"{G}: {c.quote(role)} {c.say(None, 'casual', 'plain')}",
        f"{H}: {c.v('pivots')} {c.question(other, asked=True)}",
        f"{G}: {c.v('answer_openers')} {c.say(other, 'plain', 'casual')}",
        f"{H}: {c.v('followups')}",
        f"{G}: {c.detail(other)} {c.say(other, 'casual', 'plain')}",
        f"{H}: {c.v('why_questions')}",
        f"{G}: {c.glue('why', 'why')}",
        f"{H}: {c.v('stakes_questions')}",
        f"{G}: {c.implication()} {c.glue('what_follows', 'reactions')} {c.v('guest_closers')}",
        f"{H}: {guest.first}, {c.v('outros')}",
    ]
    return paragraphs(*parts)


@_type("interview", "magazine interview", "magazine", _outlets)
def interview(c: Ctx) -> str:
    role = c.pick(["insider", "researcher", "critic"])  # the interviewee speaks their own role's lines
    who = c.person(role)
    interviewer = c.person("reporter")
    others = c.others[:2]
    qa = [
        (c.v("openers"), c.say(None, "plain") + " " + c.detail()),
        (c.question(asked=True), c.quote(role) + " " + c.say(None, "casual", "plain")),
        (c.question(others[0], asked=True), c.say(others[0], "plain") + " " + c.detail(others[0])),
        (c.question(asked=True), c.say(None, "plain", "formal") + " " + c.detail()),
        (c.v("why_questions"), c.glue("why", "why")),
        (c.v("stakes"), c.implication() + " " + c.say(others[1], "plain") + " " + c.glue("what_follows")),
        tuple(c.fill(x) for x in c.rng.choice(c.voice["closings"])),
    ]
    asker, answerer = ("Q", "A") if c.chance(0.5) else (interviewer.last, who.last)
    body = "\n\n".join(f"{asker}: {q}\n\n{answerer}: {a}" for q, a in qa)
    return paragraphs(
        c.v("titles"),
        f"{c.venue} \u00b7 Interview by {interviewer.name} \u00b7 {c.slots['date']}",
        f"{who.name} is {who.title}. " + c.v("setups") + " " + c.say(None, "news", "plain"),
        c.v("edit_notes"),
        body,
    )


@_type("leaked_memo", "leaked internal memo", "team", _setting("departments", ["Leadership"]))
def leaked_memo(c: Ctx) -> str:
    author = c.person("executive")
    changes = [c.company_detail()] + [c.say(f, "company") for f in c.others[: c.between(2, 4)]]
    parts = [
        f"{c.v('banners')} \u00b7 Ref. {c.venue[:3].upper()}-{c.between(100, 999)}",
        f"TO: {c.venue}\nFROM: {author.name}, {author.title}\nDATE: {c.slots['date']}\nRE: {c.v('subjects')}",
        c.v("openers") + " " + c.say(None, "company"),
        "Background\n\n" + c.v("background") + " " + c.say(None, "company", "formal") + " " + c.v("reasons"),
        "What this means in practice\n\n" + bullets(changes),
        "How we talk about this\n\n" + c.v("comms") + f" \u201c{c.quote('company')}\u201d",
        "Why now\n\n" + c.glue("company_why", "company_why"),
        c.v("risks") + " " + c.implication(),
        "Next steps\n\n" + c.glue("company_next", "company_next"),
        c.v("closers") + f"\n\n\u2014 {author.first}",
    ]
    if c.chance(0.5):
        parts.insert(0, c.v("leak_notes"))
    return paragraphs(*parts)


@_type("faq_page", "help-center FAQ page", "section", lambda u: material("voices")["faq_page"]["sections"])
def faq_page(c: Ctx) -> str:
    facts = [c.fact] + c.others[: c.between(3, 5)]
    qa = [f"{c.question(f)}\n{c.say(f, 'company', 'plain')} {c.company_detail(f) if f is c.fact else ''}".strip() for f in facts]
    qa.insert(1, f"{c.v('why_questions')}\n{c.glue('company_why', 'company_why')}")
    qa.append(f"{c.v('next_questions')}\n{c.glue('company_next', 'company_next')}")
    return paragraphs(
        f"{c.slots['company']} Help Center \u203a {c.venue}",
        c.v("titles"),
        f"Last updated: {c.fmt_date(c.date, 0)}",
        c.v("intros"),
        *qa,
        c.v("footers"),
    )


@_type("investor_call", "investor call transcript", "event", lambda u: material("voices")["investor_call"]["events"])
def investor_call(c: Ctx) -> str:
    ceo, cfo = c.person("chief_executive"), c.person("finance_chief")
    a1, a2 = c.person("analyst"), c.person("analyst")
    bank1, bank2, bank3 = c.w("banks"), c.w("banks"), c.w("banks")
    a3 = c.person("analyst")
    other = c.others[0]
    parts = [
        f"{c.slots['company']} \u2014 {c.venue}, {c.fmt_date(c.date, 0)} (partial transcript)",
        f"Operator: {c.v('operator_opens')}",
        f"{ceo.name}, {ceo.title}: {c.v('ceo_openers')} {c.say(None, 'company')} {c.company_detail()}",
        f"Operator: Our first question comes from {a1.name} with {bank1}.",
        f"{a1.name}, {bank1}: {c.v('analyst_questions')}",
        f"{ceo.name}: {c.v('answer_openers')} {c.say(None, 'company', 'formal')} {c.v('business_reasons')}",
        f"Operator: The next question is from {a2.name} at {bank2}.",
        f"{a2.name}, {bank2}: {c.v('analyst_questions')} {c.question(other)}",
        f"{cfo.name}, {cfo.title}: {c.say(other, 'company', 'formal')} {c.v('cfo_closers')}",
        f"Operator: Our last question comes from {a3.name} at {bank3}.",
        f"{a3.name}, {bank3}: {c.v('outlook_questions')}",
        f"{ceo.name}: {c.v('outlooks')} {c.glue('what_follows')}",
        f"Operator: {c.v('operator_closes')}",
    ]
    return paragraphs(*parts)


@_type("paper_abstract", "research paper abstract", "venue", _setting("venues", ["a peer-reviewed workshop"]))
def paper_abstract(c: Ctx) -> str:
    authors = [c.person("researcher") for _ in range(c.between(2, 4))]
    names = ", ".join(f"{p.name}{'*' * (i == 0)}" for i, p in enumerate(authors))
    keywords = c.u.setting.keywords or [c.topic()]
    parts = [
        c.v("titles"),
        names + "\n" + "; ".join(dict.fromkeys(c.pick(c.world["universities"]) for _ in authors)),
        f"{c.venue}, {c.slots['year']}",
        "Abstract\n\n" + " ".join([
            c.v("openers"), c.say(None, "formal"), c.v("methods"), c.detail(), c.v("findings"),
            c.say(c.others[0], "formal"), c.v("conclusions"),
        ]),
        "Keywords: " + "; ".join(c.sample(keywords, min(4, len(keywords)))),
        "1 Introduction\n\n" + c.v("intro_openers") + " " + " ".join(c.background(2, "formal")) + " " + c.implication() + " " + c.glue("why"),
        "2 Background\n\n" + c.say(None, "news", "plain") + " " + c.detail() if c.chance(0.6) else None,
        "3 Discussion\n\n" + c.glue("why", "what_follows"),
    ]
    return paragraphs(*parts)


@_type("newsletter", "email newsletter", "newsletter", _setting("newsletters", ["a weekly newsletter"]))
def newsletter(c: Ctx) -> str:
    editor = c.person("reporter")
    reading = [f"\u201c{c.headline(f)}\u201d \u2014 {c.pick(c.world['newspapers'])}" for f in [c.fact] + c.others[:2]]
    parts = [
        f"{c.venue} \u2014 Issue #{c.between(14, 310)} \u00b7 {c.fmt_date(c.date, 0)}",
        c.v("greetings"),
        "The big story\n\n" + c.say(None, "news", "plain") + " " + c.detail() + f" \u201c{c.quote(c.pick(['critic', 'insider', 'researcher']))}\u201d",
        c.v("takes") + " " + c.implication() + " " + c.glue("why", "reactions"),
        "What to watch\n\n" + c.glue("what_follows", "what_follows"),
        _quote_of_the_week(c) if c.chance(0.6) else None,
        "Also worth knowing\n\n" + bullets(c.background(c.between(2, 3), "plain", "news")),
        "Reading list\n\n" + bullets(reading),
        c.v("signoffs") + f"\n{editor.first}",
    ]
    return paragraphs(*parts)


def _quote_of_the_week(c: Ctx) -> str:
    role = c.pick(["critic", "researcher", "user", "company", "insider"])
    who = c.person(role)
    name = "a former employee" if role == "insider" else who.name  # insiders stay anonymous
    title = "" if role == "insider" else f", {who.title}"
    return f"Quote of the week\n\n\u201c{c.quote(role, c.others[0])}\u201d \u2014 {name}{title}"


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
        posts.insert(3, f"\u201c{c.quote(role)}\u201d \u2014 {c.fill(c.pick(c.voice['quote_sources'][role]))}")
    posts.insert(-1, c.glue("why"))
    posts.insert(-1, c.glue("reactions"))
    posts.append(c.glue("what_follows") + " " + c.v("closers"))
    n = len(posts)
    body = "\n\n".join(f"{i}/{n} {p}" for i, p in enumerate(posts, 1))
    tags = " ".join("#" + k.replace(" ", "").replace("-", "") for k in c.sample(c.u.setting.keywords or [c.slots["company"]], 2))
    replies = [f"\u21b3 @{c.handle()}: {c.v('replies')}" for _ in range(c.between(1, 3))]
    return paragraphs(f"@{handle} on {c.venue} \u00b7 {c.fmt_date(c.date, 1)}", body, tags, "\n".join(replies))


@_type("regulatory_comment", "public comment to a regulator", "regulator", _setting("regulators", ["the regulator"]))
def regulatory_comment(c: Ctx) -> str:
    signer = c.person(c.pick(["critic", "researcher"]))
    org = c.w("advocacy_groups")
    points = [
        c.say(None, "formal"),
        c.detail(),
        c.say(c.others[0], "formal"),
        c.implication(),
        c.glue("why", "reactions"),
        c.v("requests") + " " + c.glue("what_follows"),
    ]
    return paragraphs(
        f"Before the {c.venue}, Docket No. {c.slots['year']}-{c.between(1000, 9999)}",
        f"Comment of {org} {c.v('dockets')}",
        f"Submitted {c.fmt_date(c.date, 0)}",
        c.v("openers"),
        "\n\n".join(f"{i}. {p}" for i, p in enumerate(points, 1)),
        c.v("conclusions"),
        f"Respectfully submitted,\n{signer.name}\n{org.removeprefix('the ')}",
    )


@_type("encyclopedia_entry", "encyclopedia article", "wiki", lambda u: material("world")["wikis"])
def encyclopedia_entry(c: Ctx) -> str:
    refs = [
        f"{c.pick(c.world['last_names'])}, {c.pick(c.world['first_names'])[0]}. ({c.slots['year']}). \u201c{c.headline(f).rstrip('.')}.\u201d {c.outlet()}."
        for f in [c.fact] + c.others[:2]
    ]
    see_also = [c.topic(f) for f in c.others[2:5]]
    return paragraphs(
        f"{upper_first(c.topic()) if c.chance(0.5) else c.slots['product']} \u2014 {c.venue}",
        c.v("hatnotes"),
        c.say(None, "formal", "plain") + " " + c.say(c.others[0], "formal", "plain"),
        "Background\n\n" + " ".join(c.background(c.between(1, 2), "formal", "news")) + " " + c.v("background_links"),
        "Details\n\n" + c.detail() + " " + c.say(None, "news", "plain"),
        "Reception\n\n" + c.v("reception") + " " + c.implication() + " " + c.glue("reactions", "reactions"),
        "Subsequent developments\n\n" + c.glue("why", "what_follows"),
        "See also\n\n" + bullets([s[0].upper() + s[1:] for s in see_also]),
        "References\n\n" + numbered(refs),
        f"Retrieved from {c.venue}. This page was last edited on {c.fmt_date(c.later(1, 60), 1)}.",
    )


@_type("hearing_transcript", "legislative hearing transcript", "committee", _setting("committees", ["the Committee"]))
def hearing_transcript(c: Ctx) -> str:
    chair, member = c.person("official"), c.person("official")
    witness = c.person(c.pick(["insider", "researcher", "critic"]))
    rep = c.person("company")
    other = c.others[0]
    parts = [
        f"HEARING BEFORE THE {c.venue.upper()}, {c.fmt_date(c.date, 0).upper()}",
        c.v("subjects"),
        f"CHAIR {chair.last.upper()}: {c.v('chair_openers')} {c.say(None, 'formal', 'news')} {c.v('chair_frames')}",
        f"{witness.name.upper()} ({witness.title}): {c.v('witness_openers')} {c.say(None, 'plain')} {c.detail()}",
        f"{member.last.upper()}: {c.v('member_questions')} {c.question(other, asked=True)}",
        f"{witness.last.upper()}: {c.say(other, 'plain', 'formal')} {c.implication()}",
        f"{chair.last.upper()}: {c.v('to_company')}",
        f"{rep.name.upper()} ({rep.title}): {c.quote('company')} {c.say(None, 'company')}",
        f"{member.last.upper()}: {c.v('why_questions')}",
        f"{witness.last.upper()}: {c.glue('why', 'why')}",
        f"{chair.last.upper()}: {c.glue('what_follows')} {c.v('chair_closers')}",
    ]
    return paragraphs(*parts)


@_type("press_release", "company press release", "wire", lambda u: material("voices")["press_release"]["wires"])
def press_release(c: Ctx) -> str:
    exec_ = c.person("executive")
    city = c.pick(c.world["cities"])
    return paragraphs(
        "FOR IMMEDIATE RELEASE",
        c.v("titles"),
        f"{city}, {c.fmt_date(c.date, 0)} ({c.venue}) \u2014 {c.v('leads')} {c.say(None, 'formal', 'news')} {c.v('benefits')}",
        c.company_detail() + " " + c.say(c.others[0], "formal", "news"),
        said(c, c.quote("company") + " " + c.say(None, "company"), exec_),
        f"\u201c{c.v('exec_lines').rstrip('.')},\u201d {exec_.last} added. " + " ".join(c.background(1, "formal", "plain")),
        c.glue("company_why", "company_why"),
        c.glue("company_next"),
        f"About {c.slots['company']}\n\n" + c.v("about"),
        f"Media contact: {c.person('company').name}, {c.slots['company']} communications",
    )


@_type("lecture_notes", "university lecture notes", "course", _setting("courses", ["a university seminar"]))
def lecture_notes(c: Ctx) -> str:
    key_points = [c.say(None, "formal", "plain"), c.detail(), c.implication()]
    context = c.background(c.between(2, 3), "plain", "formal")
    return paragraphs(
        f"{c.venue} \u2014 Week {c.between(2, 13)}: {upper_first(c.topic())}",
        f"Lecture notes ({c.v('note_takers')}), {c.fmt_date(c.date, 0)}",
        c.v("recaps"),
        "Key points\n\n" + bullets(key_points),
        "Case study: " + c.slots["company"] + "\n\n" + " ".join(context) + " " + c.glue("why"),
        "Reactions and what followed\n\n" + c.glue("reactions", "what_follows"),
        c.v("instructor_asides") + " " + c.say(None, "plain", "casual"),
        "Terms to know\n\n" + bullets([f"{c.topic(f)}: {c.say(f, 'formal', 'plain')}" for f in c.others[:2]]) if c.chance(0.6) else None,
        "Discussion questions\n\n" + numbered([c.v("discussion")] + [c.question(f) for f in c.others[:2]]),
    )
