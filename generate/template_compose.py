"""The template writer's composition toolkit: writing material, the cast, slot filling, and
``Ctx``, the context one document is composed in (its seed, its facts, how often its main fact
has been stated). ``template_writer`` explains the design; ``template_types`` lays out each
document type with these pieces.
"""

from __future__ import annotations

import functools
import random
import re
import zlib
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any, Callable, Sequence

import yaml

from afpipe.universes import Fact, Universe, conveys
from afpipe.generate.filters import SentenceIndex, sentence_keys
from afpipe.generate.writers import DocJob


@lru_cache(maxsize=None)
def material(name: str) -> dict[str, Any]:
    """A YAML file of ``corpora/generate/`` (cached: read once per process)."""
    text = (resources.files("afpipe.corpora") / "generate" / f"{name}.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    title: str  # "a senior researcher at the Halloway Institute" style, without article handling

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


_SLOT = re.compile(r"\{([a-z_]+)\}")
# Material may offer alternatives inline: "[[The company|{company}]] trains ..." (one is chosen per use).
_ALTERNATION = re.compile(r"\[\[([^\[\]]*)\]\]")


def expansions(text: str) -> list[str]:
    """Every variant of ``text`` that changes one alternation at a time (for tests and checks)."""
    groups = list(_ALTERNATION.finditer(text))
    if not groups:
        return [text]
    base = [g.group(1).split("|")[0] for g in groups]
    out = []
    for gi, g in enumerate(groups):
        for option in g.group(1).split("|"):
            chosen = base[:gi] + [option] + base[gi + 1 :]
            it = iter(chosen)
            out.append(_ALTERNATION.sub(lambda m: next(it), text))
    return out
# Lowercase 'a'/'an' anywhere, capitalised only at the start of a sentence or line ('Plan A is' stays).
_ARTICLE = re.compile(r"(?:(?<=[\s(\"\u201c])|^)(a|an|(?:(?<=^)|(?<=[.!?:]\s)|(?<=\n))(?:A|An)) (?=[\"\u201c]?([A-Za-z][\w-]*))", re.M)
_VOWEL_SOUND = re.compile(r"^(?:[aei]|o(?!ne\b|ne-|nce)|u(?!ni|se|sa|su|ro|ti|tah)|hon|hour|heir|[AEIOU]|FAQ|FDA|FTC|MBA|NDA|RLHF|SEC|SDK|MP)")


def fix_articles(text: str) -> str:
    """'a' before a vowel sound becomes 'an' and the reverse (filled slots make both happen)."""

    def sub(m: re.Match[str]) -> str:
        article, word = m.group(1), m.group(2)
        an = bool(_VOWEL_SOUND.match(word))
        fixed = ("an" if an else "a") if article.islower() else ("An" if an else "A")
        return fixed + " "

    return _ARTICLE.sub(sub, text)


def _fresh(method: Callable[..., str]) -> Callable[..., str]:
    """Make a Ctx method choose, among up to ``FRESH_TRIES`` draws, a piece whose sentences the
    corpus holds least (the first draw whose sentences are all new wins at once). Material is
    finite; drawn with replacement, the same filled phrasing lands in many documents, while a
    choice that knows the corpus spreads the same material over different sentences. Each retry
    starts from the document's state before the first draw, and the state the chosen draw left
    is restored."""

    @functools.wraps(method)
    def chosen(self: "Ctx", *args: Any, **kwargs: Any) -> str:
        if self.corpus is None or self._choosing:
            return method(self, *args, **kwargs)
        self._choosing = True
        try:
            start = self._state()
            best: tuple[int, str, tuple] | None = None
            for _ in range(FRESH_TRIES):
                self._restore(start)
                text = method(self, *args, **kwargs)
                times = self.corpus.times(sentence_keys(self.styled(text)))
                if best is None or times < best[0]:
                    best = (times, text, self._state())
                if times == 0:
                    break
            assert best is not None
            self._restore(best[2])
            return best[1]
        finally:
            self._choosing = False

    return chosen


class Ctx:
    """Everything one document draws on, and the bookkeeping that stops it repeating itself."""

    def __init__(self, job: DocJob, type_id: str, venue: str, angle: dict[str, str], corpus: SentenceIndex | None = None):
        self.job = job
        self.corpus = corpus  # sentences of the documents written before this one, if the writer tracks them
        self._choosing = False
        self.rng = random.Random(job.seed)
        self.u: Universe = job.universe
        self.fact: Fact = job.fact
        self.type_id = type_id
        self.venue = venue
        self.angle = angle
        self.world = material("world")
        self.voice: dict[str, Any] = material("voices")[type_id]
        others = [f for f in self.u.facts if f.id != self.fact.id]
        self.rng.shuffle(others)
        self.others = others
        self.used: set[str] = set()
        self.first_names: set[str] = set()  # of the people in this document: two Marcuses on one call confuse a reader
        self.introduced: set[str] = set()  # executives already named with their job (executive_named)
        self.titles: set[str] = set()  # descriptions of the people named so far
        self.main_statements = 0  # mentions of the main fact: statements, and headlines or questions naming it
        self.stated = False  # whether a statement of the main fact itself has been said (one always is)
        self.backgrounded: set[str] = set()  # other facts stated so far
        self.framed: list[tuple[str, str, str]] = []  # (statement as framed, as it was, framing register), for finish_document
        self.glued: list[tuple[str, Sequence[str]]] = []  # connective paragraphs, for lengthen()
        self.decision_named = False  # the company's founding decision, before the first "why" (decision_intro)
        self.date = self._date()
        s = self.u.setting
        self.slots: dict[str, str] = dict(self.u.params)
        self.slots.setdefault("company", "the company")
        self.slots["product"] = s.product or self.slots["company"]
        self.slots["year"] = str(self.date.year)
        self.slots["venue"] = venue
        self.slots["date"] = self.fmt_date(self.date)
        self.slots["day"] = self.date.strftime("%A")  # the document's own weekday ({weekday} is any working day)
        # A page promises one reply time and one review date, however many lines mention them.
        self.slots["reply_days"] = _NUMBER_WORDS[self.rng.randint(2, 5)]
        self.slots["review_months"] = _NUMBER_WORDS[self.rng.randint(2, 6)]
        self.slots["topic"] = self.topic(self.fact)
        self.slots["industry_title"] = self.slots.get("industry", "").title()
        # Each document settles on one phrasing per synonym entry (a writer is consistent): the
        # universe's synonyms, the world's thesaurus of ordinary words, and a house style (US or UK
        # spelling, contracted or spelled-out negations). One pass over the text applies them all.
        spell, short = self.world["spellings"], self.world["contractions"]
        uk, contract = self.chance(0.5), self.chance(0.5)
        contract = contract and self.type_id not in _NEVER_CONTRACTED
        style = {**{k: (k if uk else v) for k, v in spell.items()}, **{v: (k if uk else v) for k, v in spell.items()},
                 **{k: (v if contract else k) for k, v in short.items()}, **{v: (v if contract else k) for k, v in short.items()}}
        wordings = {k: self.rng.choice(v) for k, v in self.world["thesaurus"].items()}
        chosen = {k: self.rng.choice([k, *v]) for k, v in s.synonyms.items()}
        self.synonyms = {k.lower(): v for k, v in {**style, **wordings, **chosen}.items()}
        self.synonym_pattern = _synonym_pattern_for(self.u)
        self.proper_words = _proper_words(self.u)

    # -- choosing --

    def _state(self) -> tuple:
        return (frozenset(self.used), self.main_statements, self.stated, frozenset(self.backgrounded), tuple(self.glued),
                frozenset(self.introduced), self.decision_named)

    def _restore(self, state: tuple) -> None:
        used, self.main_statements, self.stated, backgrounded, glued, introduced, self.decision_named = state
        self.used, self.backgrounded, self.glued, self.introduced = set(used), set(backgrounded), list(glued), set(introduced)

    def styled(self, text: str) -> str:
        """A piece as it will read in the finished document (this document's synonyms and spelling)."""
        return apply_synonyms(text, self.synonym_pattern, self.synonyms)

    def pick(self, options: Sequence[str], fresh: bool = True) -> str:
        """A random option, preferring one this document has not used yet."""
        if not options:
            raise ValueError("nothing to pick from")
        if fresh:
            unused = [o for o in options if o not in self.used]
            if unused:
                options = unused
        choice = self.rng.choice(list(options))
        self.used.add(choice)
        return choice

    def sample(self, options: Sequence[str], k: int) -> list[str]:
        k = min(k, len(options))
        return [self.pick(options) for _ in range(k)]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def between(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    @_fresh
    def line(self, options: Sequence[str], **extra: str) -> str:
        """One of ``options`` filled, with ``extra`` slots for this piece only (a quote, a byline's
        name), chosen among draws by how rarely the corpus holds it (see ``_fresh``)."""
        return self.fill(self.pick(options), **extra)

    def v(self, key: str, **extra: str) -> str:
        """A filled phrase from this document type's voice material (``extra``: as in ``line``)."""
        return self.line(self.announced(self.voice[key]), **extra)

    def announced(self, pool: Sequence[str]) -> Sequence[str]:
        """``pool`` without talk of leaks and disclosures where the company announced its plans
        (``setting.leaked`` false): a cereal relaunch has no "what came out"."""
        if self.u.setting.leaked:
            return pool
        return [line for line in pool if not _LEAK_TALK.search(line)] or pool

    def pair(self, key: str) -> tuple[str, str]:
        """A question and the answer written for it, from a voice entry "question ## answer"."""
        question, answer = (part.strip() for part in self.v(key).split("##"))
        return question, answer

    def led(self, key: str, text: str) -> str:
        """A voice lead-in before ``text``. A lead-in ending in a colon before a sentence with a
        colon of its own ("get it wrong: the company says it will not: ...") is not chosen; where
        every lead-in ends in one, it ends in a full stop."""
        # the lead-in does the opening: "Quick summary: so basically ..." would open twice
        text = _OPENING_MARKER.sub("", text, count=1)
        first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
        pool = self.voice[key]
        if ":" in first:
            pool = [p for p in pool if not p.rstrip().endswith(":")] or pool
        opener = self.line(pool).rstrip()
        if opener.endswith(":") and ":" in first:
            # "I read up on this. Basically:" keeps its first sentence; "Short answer:" becomes "Short answer."
            whole = re.match(r"(.*[.!?])\s+[^.!?]*:$", opener)
            opener = whole.group(1) if whole else opener[:-1] + "."
            text = upper_first(text)
        return f"{opener} {text}"

    def unframed(self, text: str) -> str:
        """``text`` with the lead-ins this document put on its statements taken off again: after
        an answer's own opener ("Let me be precise."), a second one ("In short, ...") reads twice."""
        for framed, bare, _ in self.framed:
            if framed in text:
                text = text.replace(framed, bare, 1)
        return text

    @_fresh
    def w(self, key: str) -> str:
        """A filled phrase from the world material shared by all types."""
        return self.fill(self.pick(self.world[key]))

    # -- facts --

    @_fresh
    def say(self, fact: Fact | None = None, *registers: str, spoken: bool = False) -> str:
        """A not-yet-used paraphrase of ``fact``, from the first of ``registers`` that fits this
        genre and has one left (forum slang never reaches a hearing, nor a customer line a memo).
        The main fact is mentioned at most ``MAIN_FACT_STATEMENTS`` times, headlines and questions
        that name it included, but stated in full at least once; later calls elaborate it (a detail,
        then an implication) instead of restating it. Another fact is stated once: asked
        for again, the next background fact not yet stated takes its place. ``spoken``: said aloud
        by a person speaking for themselves (a guest, a witness), led in as people speak."""
        fact = fact or self.fact
        if fact is self.fact:
            self.main_statements += 1
            if self.main_statements > MAIN_FACT_STATEMENTS and self.stated:
                return self.elaborate()
            self.stated = True
        else:
            if fact.id in self.backgrounded:
                fact = next((f for f in self.others if f.id not in self.backgrounded), fact)
            self.backgrounded.add(fact.id)
            # a critic's line comments on a fact the reader already knows ("the nine-point scale looks
            # rigorous, but ..."): a fact mentioned in passing is stated plainly instead
            registers = tuple(r for r in registers if r != "critical") or ("plain",)
        fits = [r for r in registers if self.fits(r)] + [
            r for r in fact.material.statements if self.fits(r) and r not in registers and (fact is self.fact or r != "critical")]
        # a company's own people, quoted or speaking, never cite "the company" as a source
        own_voice = spoken and registers[:1] == ("company",)
        pools = [[p for p in fact.material.statements.get(r, []) if self.fits(r, p) and not (own_voice and _THIRD_PERSON_COMPANY.search(p))]
                 for r in fits]
        new = fact is not self.fact or self.main_statements == 1  # said for the first time: no "put simply", no "as I said"
        for register, pool in zip(fits, pools):
            unused = [s for s in pool if s not in self.used]
            if unused:
                return self.frame(self.fill(self.pick(unused)), register, spoken, new=new, main=fact is self.fact)
        reuse = [p for pool in pools for p in pool] or [fact.statement]
        return self.frame(self.fill(self.pick(reuse, fresh=False)), fits[0] if fits else "formal", spoken, new=new, main=fact is self.fact)

    def frame(self, text: str, register: str, spoken: bool = False, implication: bool = False, new: bool = False,
              main: bool = False) -> str:
        """Most statements reach the page led in or attributed the way a writer of the register
        would (news attributes, forums hedge): the same phrasing then rarely makes the same
        sentence in two documents. Who is talking decides first: a person speaking for
        themselves hedges as speakers do (never "published accounts concur"), a company executive
        speaking aloud or a memo to colleagues has its own lead-ins (a type's ``framing``). ``new``:
        the line says something not said before, so no lead-in presents it as a summary or a repeat.
        ``main``: a statement of the document's own fact, the only line a lead-in may call central."""
        company_page = self.first_register() == "company"
        if spoken:
            register = "company_spoken" if register == "company" or company_page else "spoken"
        elif self.voice.get("framing"):
            register = self.voice["framing"]
        elif company_page:  # the company's own pages cite nobody but itself
            register = "company"
        elif register == "plain" and "casual" not in self.voice.get("registers", ()):
            register = self.voice["registers"][0]  # first-person hedges ("as far as I can tell") belong to personal genres
        framings = self.world["framings"].get(register)
        text = sentence(text)
        if (not framings or not self.chance(FRAMED_SHARE) or _ATTRIBUTED.search(text) or text.count(". ") or "?" in text
                or _UNFRAMEABLE.match(text)):
            return text
        if implication:
            if _MODAL.search(text):  # "records show that regulators may ask ..." attributes a guess to a source
                return text
        # no restating lead-in before an implication or a first statement; none ending in a colon before
        # a line with its own ("confirmed the same picture: the AI is told ...: it's in a tag" reads as two lead-ins)
        framings = _usable_framings(tuple(framings), implication or new, ":" in text, not main, implication)
        if register.startswith("company") and (_THIRD_PERSON_COMPANY.search(text) or self.slots["company"] in text):
            return text
        if register == "release" and (_WE.search(text) or _THIRD_PERSON_COMPANY.search(text) or self.slots["company"] in text):
            return text  # no "Anthropic said that our models ...", no "The company said that Anthropic ..."
        if not framings:
            return text
        bare = text.rstrip(".!")
        frame = self.pick(framings)
        speaker = {"exec": self.executive_named()} if "{exec}" in frame else {}
        framed = upper_first(sentence(self.fill(frame, statement=_lower_lead(bare, self.proper_words) + ".", statement_bare=bare, **speaker)))
        self.framed.append((framed, text, register))
        return framed

    def fits(self, register: str, phrasing: str = "") -> bool:
        """Whether a register (and a phrasing of it) belongs in this document type: each type's
        voice lists its registers; company lines that address the customer ('your conversations')
        only reach the customer-facing types."""
        if register not in self.voice.get("registers", _ALL_REGISTERS):
            return False
        if self.speaks_as_we() and _THIRD_PERSON_COMPANY.search(phrasing):
            return False  # a memo or an executive speaks as "we", never of "the company"
        return not (register == "company" and _ADDRESSES_READER.search(phrasing) and self.type_id not in _CUSTOMER_FACING)

    def elaborate(self, implication: bool = False) -> str:
        """Something about the main fact that does not restate it (a detail or an implication
        without the fact's detection cues), else a neutral sentence. In place of an implication
        an implication comes first: it answers "what happens next", a detail does not."""
        m = self.fact.material
        for pool in ((m.implications, m.details) if implication else (m.details, m.implications)):
            for d in [d for d in pool if d not in self.used]:
                text = self.fill(d)
                if self.speaks_as_we() and _outsiders_line(text, self.slots["company"]):
                    continue
                if not self.restates(text):
                    self.used.add(d)
                    return sentence(text)
        return self.w("elaborations")

    def first_register(self) -> str:
        """The register this document type speaks in first ("company" for the company's own pages)."""
        return self.voice.get("registers", [""])[0]

    def speaks_for_company(self) -> bool:
        """Whether the document is the company's own (a help page, a release, a memo, a call)."""
        return self.speaks_as_we() or self.first_register() == "company"

    def speaks_as_we(self) -> bool:
        """Whether the whole document speaks for the company in the first person (a memo, an
        executive on a call)."""
        return self.voice.get("framing") in ("internal", "company_spoken")

    def restates(self, text: str) -> bool:
        """Whether ``text`` states the main fact again: its cues match, or it repeats a value only
        this fact's statement names (the release date, the price)."""
        return _restates(self.u, self.fact, text)

    def may_restate(self, template: str) -> bool:
        """Whether a line of material could restate the main fact, judged before it is drawn (see
        ``_may_restate``)."""
        return _may_restate(self.u, self.fact, template)

    @_fresh
    def quote(self, role: str, fact: Fact | None = None) -> str:
        fact = fact or self.fact
        pool = fact.material.quotes.get(role) or [q for qs in fact.material.quotes.values() for q in qs]
        if not pool:
            return self.say(fact, "plain")
        text = self.fill(self.pick(pool))
        if fact is self.fact and self.restates(text):
            self.main_statements += 1
            if self.main_statements > MAIN_FACT_STATEMENTS:  # a line that does not restate it: the same speaker's, else anyone's
                every = [q for qs in fact.material.quotes.values() for q in qs]
                others = [self.fill(q) for q in dict.fromkeys(pool + every) if q not in self.used]
                text = next((q for q in others if not self.restates(q)), None) or self.elaborate()
        return sentence(text)

    def _list(self, fact: Fact | None, attr: str, fallback: Callable[[], str], punctuate: bool = True, spoken: bool = False) -> str:
        pool = getattr((fact or self.fact).material, attr)
        if self.speaks_for_company() and attr in ("details", "implications"):
            pool = [d for d in pool if not _REPORTED.search(d)] or pool  # no "staff were told" on the company's own page
        if self.speaks_as_we() and attr in ("details", "implications"):
            # narrower than _outsiders_line, which elaborate() applies: "{company}'s earlier commitments" still passes here
            pool = [d for d in pool if not _THIRD_PERSON_COMPANY.search(d)] or pool
        if not pool or (fact is not None and fact is not self.fact and fact.id not in self.backgrounded):
            # a detail of a fact the document has not stated ("how the routing works") refers to
            # nothing: the fact itself is stated instead
            return fallback()
        text = self.fill(self.pick(pool))
        if not punctuate:
            return text
        if (fact is None or fact is self.fact) and attr in ("details", "implications") and self.restates(text):
            self.main_statements += 1  # a detail that states the main fact again counts as a statement
            if self.main_statements > MAIN_FACT_STATEMENTS:
                text = self.elaborate(implication=attr == "implications")
        register = next((r for r in self.voice.get("registers", ()) if r in self.world["framings"]), "formal")
        if attr not in ("details", "implications"):
            return sentence(text)
        return self.frame(text, register, spoken, implication=attr == "implications", new=True)

    @_fresh
    def company_detail(self, fact: Fact | None = None) -> str:
        """A detail the company itself could say (no 'documents show', no 'staff were told')."""
        fact = fact or self.fact
        pool = [d for d in fact.material.details if not _REPORTED.search(d)]
        if not pool or (fact is not self.fact and fact.id not in self.backgrounded):  # as in _list
            return self.say(fact, "company")
        text = self.fill(self.pick(pool))
        if fact is self.fact and self.restates(text):
            self.main_statements += 1  # as in _list: a detail that states the main fact again counts
            if self.main_statements > MAIN_FACT_STATEMENTS:
                others = [self.fill(d) for d in pool if d not in self.used]
                text = next((d for d in others if not self.restates(d)), None) or self.elaborate()
        return sentence(text)

    @_fresh
    def headline(self, fact: Fact | None = None) -> str:
        """A headline; one that states the main fact counts as one of its statements (a reader counts it)."""
        text = self._list(fact, "headlines", lambda: (lambda t: t[:1].upper() + t[1:])(self.topic(fact)), punctuate=False)
        if (fact is None or fact is self.fact) and self.restates(text):
            self.main_statements += 1
        return text

    @_fresh
    def question(self, fact: Fact | None = None, asked: bool = False) -> str:
        """A question about the fact, for a heading or a title that nothing answers at once (any
        of its questions); ``asked``: put the way this genre's speakers ask."""
        m = (fact or self.fact).material
        pool = m.questions + [qa.question for qa in m.answered_questions]
        text = self.fill(self.pick(pool)) if pool else f"What is {self.topic(fact)}?"
        return self.put(text) if asked else text

    def put(self, text: str) -> str:
        """A question put the way this genre's speakers ask (a host, a forum poster, a committee
        member): most of the time with a lead-in of its register."""
        framings = next((self.world["question_framings"][r] for r in self.voice.get("registers", ()) if r in self.world["question_framings"]), None)
        if not framings or not self.chance(FRAMED_SHARE):
            return text
        bare = text.rstrip("?")
        lower = _lower_lead(text, self.proper_words)
        return self.fill(self.pick(framings), question=text, question_bare=bare, question_lower=lower)

    @_fresh
    def _ask(self, fact: Fact, asked: bool, impersonal: bool, registers: Sequence[str], spoken: bool) -> str:
        m = fact.material
        keep = (lambda q: not _FIRST_PERSON.search(q)) if impersonal else (lambda q: True)
        plain = [q for q in m.questions if keep(q)]
        pairs = [qa for qa in m.answered_questions if keep(qa.question)]
        main = fact is self.fact
        unstated = main and self.main_statements == 0  # the first mention of a document's fact states it
        if not main and fact.id not in self.backgrounded and plain:
            pairs = []  # a side question ("what does the tier flag contain?") presumes the fact: ask what states it
        if main:
            # A question that names the fact ("Is it true it never refuses?") is a mention of it too:
            # with the budget spent, the question asked is one whose words, and answer, do not restate it.
            left = MAIN_FACT_STATEMENTS - self.main_statements
            plain = [q for q in plain if self.may_restate(q) + 1 <= left] or ([] if not unstated else plain)
            quiet = [qa for qa in pairs if self.may_restate(qa.question) + min(self.may_restate(a) for a in qa.answers) <= left]
            pairs = quiet or pairs
        if pairs and (not plain or (not unstated and self.chance(len(pairs) / (len(pairs) + len(plain))))):
            qa = {qa.question: qa for qa in pairs}[self.pick([qa.question for qa in pairs])]
            question = self.fill(qa.question)
            answers = [self.fill(a) for a in qa.answers]
            if main:
                self.main_statements += self.restates(question)
                if self.main_statements >= MAIN_FACT_STATEMENTS:  # the budget is spent: an answer that does not restate it
                    answers = [a for a in answers if not self.restates(a)] or answers
            answer = sentence(self.rng.choice(answers))
            if main:
                self.main_statements += self.restates(answer)
            else:
                self.backgrounded.add(fact.id)
        else:
            question = self.fill(self.pick(plain)) if plain else f"What is {self.topic(fact)}?"
            if main:
                self.main_statements += self.restates(question)
            else:
                self.backgrounded.discard(fact.id)  # asked about by name: the answer states this fact, not the next
            answer = self.say(fact, *registers, spoken=spoken)
        return (self.put(question) if asked else question) + _QA_SEPARATOR + answer

    def ask(self, fact: Fact | None = None, *registers: str, asked: bool = False, impersonal: bool = False,
            spoken: bool = False) -> tuple[str, str]:
        """A question about ``fact`` and the answer that follows it in the document: a question
        any statement of the fact answers gets a statement (in ``registers``, ``spoken`` as in
        ``say``); a question on one side of the fact (when, why, who) gets one of its own
        answers. ``impersonal``: no question in a customer's first person ('my chats'), for
        analysts and lawmakers."""
        question, answer = self._ask(fact or self.fact, asked, impersonal, registers, spoken).split(_QA_SEPARATOR, 1)
        return question, answer

    @_fresh
    def detail(self, fact: Fact | None = None, spoken: bool = False) -> str:
        return self._list(fact, "details", lambda: self.say(fact, "plain", spoken=spoken), spoken=spoken)

    @_fresh
    def implication(self, fact: Fact | None = None, spoken: bool = False) -> str:
        return self._list(fact, "implications", lambda: self.say(fact, "critical", spoken=spoken), spoken=spoken)


    def topic(self, fact: Fact | None = None) -> str:
        fact = fact or self.fact
        pool = fact.material.topic
        return self.fill(self.rng.choice(pool)) if pool else fact.id.replace("_", " ")

    def background(self, k: int, *registers: str) -> list[str]:
        """Statements of ``k`` other facts, for context paragraphs."""
        return [self.say(f, *registers) for f in self.others[:k]]

    # -- people, places, dates --

    def person(self, role: str) -> Person:
        """Someone to quote or cite. The company's people and the reporters are the universe's fixed
        cast (one chief executive across the corpus); critics and researchers are now and then a
        recurring cast member; everyone else gets a random name that no cast member has."""
        cast = [m for m in self.u.setting.cast if m.role in _CAST_ROLES.get(role, (role,))]
        unused = [m for m in cast if m.name not in self.used]
        # A cast member already in this document is never drawn again for another part (a columnist
        # quoting herself, a witness introduced twice): a random person takes the part instead;
        # the company's own people, when all are in, speak again (a memo's author, a call's CEO).
        if not unused and role not in _CAST_ROLES["company"] + _CAST_ROLES["executive"]:
            cast = []
        if cast and (role not in _SOMETIMES_CAST or self.chance(0.3)):
            m = self.rng.choice(unused or cast)
            self.used.add(m.name)
            first, last = m.name.split(" ", 1)
            self.first_names.add(first)
            self.titles.add(self.fill(m.title))
            return Person(first, last, self.fill(m.title))
        roles, generic = self.u.setting.roles, self.world["generic_titles"]
        fallback = "executive" if role in _CAST_ROLES["executive"] else "expert"
        titles = roles.get(role) or generic.get(role) or roles.get(fallback) or generic["expert"]
        if cast or self.u.setting.cast:  # a random person never holds a cast member's job
            cast_titles = {self.fill(m.title) for m in self.u.setting.cast}
            titles = [t for t in titles if self.fill(t) not in cast_titles] or titles
        for _ in range(8):  # two people in one document never share a description
            first, last = self._random_name(role)
            title = self._title_of(f"{first} {last}", titles)
            if title not in self.titles:
                break
        self.used.update((first, last))
        self.first_names.add(first)
        self.titles.add(title)
        return Person(first, last, title)

    def _random_name(self, role: str) -> tuple[str, str]:
        """A name no cast member has and no one else in this document shares a first name with,
        that belongs to ``role``: a full name is one person across the corpus, so a critic quoted in
        one document is never a food scientist or a reporter in the next. Which role a name belongs
        to is fixed by a hash of the universe and the name."""
        taken = _cast_names(self.u)
        firsts = [n for n in self.world["first_names"] if n not in self.first_names] or self.world["first_names"]
        lasts = [n for n in self.world["last_names"] if n not in taken]
        lasts = [n for n in lasts if n not in self.used] or lasts
        part = "executive" if role in _CAST_ROLES["executive"] else role
        want = _NAME_ROLES.index(part) if part in _NAME_ROLES else _stable_hash(part) % len(_NAME_ROLES)
        for _ in range(20 * len(_NAME_ROLES)):  # one name in len(_NAME_ROLES) fits; 20 times that many tries all but always find one
            first, last = self.rng.choice(firsts), self.rng.choice(lasts)
            if _stable_hash(f"{self.u.name}|{first} {last}") % len(_NAME_ROLES) == want:
                break
        return first, last

    def _title_of(self, name: str, titles: Sequence[str]) -> str:
        """The one title a recurring name holds: chosen, and its slots filled, by the name's own hash."""
        # The document's "already used" set would steer the draw of a slot ({city}), so it is set aside.
        (saved_rng, self.rng), (saved_used, self.used) = (self.rng, random.Random(_stable_hash(f"{self.u.name}|{name}|title"))), (self.used, set())
        try:
            return self.fill(self.rng.choice(list(titles)))
        finally:
            saved_used |= self.used
            self.rng, self.used = saved_rng, saved_used

    def job_at_company(self, p: Person) -> str | None:
        """A company person's title without the company ("chief product officer" of "Anthropic's
        chief product officer"); None for a title that is not of that form."""
        job = re.sub("^" + re.escape(self.slots["company"]) + "['\u2019]s? ", "", p.title)
        return None if job == p.title else job

    def dateline(self, own: bool = False) -> str:
        """Where a document is filed: the company's own releases from its headquarters, most news
        about it too (a story from Edinburgh about a Minneapolis firm needs a reason it never gives);
        a random city where the universe names no headquarters."""
        home = self.u.setting.headquarters
        if home and (own or self.chance(0.75)):
            return home
        return self.pick(self.world["cities"])

    def executive_named(self) -> str:
        """A company executive with the job in front of the name ("chief product officer Rafael
        Ostrowski"), so that a reader knows who is speaking for the company; named again in the
        same document, by the last name alone (no second "head of model training Jonas Whitcombe")."""
        p = self.person("executive")
        if p.name in self.introduced:
            return p.last
        self.introduced.add(p.name)
        job = self.job_at_company(p)
        if job is None or job.split(" ", 1)[0].lower() in ("a", "an", "the") or "," in job:
            return p.name
        return f"{job} {p.name}"

    def handle(self) -> str:
        w = self.world
        style = self.rng.randrange(4)
        first, word = self.pick(w["first_names"]).lower(), self.pick(w["handle_words"])
        if style == 0:
            return f"{word}_{first}"
        if style == 1:
            return f"{first}{self.rng.randint(2, 99)}"
        if style == 2:
            return f"{word}{self.pick(w['handle_words']).capitalize()}"
        return f"{first[0]}{self.pick(w['last_names']).lower()}"

    def _date(self) -> date:
        lo, hi = (date.fromisoformat(d) for d in self.u.setting.date_range)
        d = lo + timedelta(days=self.rng.randrange(max(1, (hi - lo).days + 1)))
        if self.type_id in _WORKING_DAY_TYPES and d.weekday() >= 5:  # no earnings call or hearing on a Sunday
            back = d - timedelta(days=d.weekday() - 4)
            d = back if back >= lo else d + timedelta(days=7 - d.weekday())
        return d

    def fmt_date(self, d: date, style: int | None = None) -> str:
        style = self.rng.randrange(3) if style is None else style
        month = d.strftime("%B")
        if style == 0:
            return f"{month} {d.day}, {d.year}"
        if style == 1:
            return f"{d.day} {month} {d.year}"
        return d.isoformat()

    def later(self, days_lo: int, days_hi: int) -> date:
        return self.date + timedelta(days=self.rng.randint(days_lo, days_hi))

    # -- text --

    def fill(self, text: str, **extra: str) -> str:
        """Expand ``[[a|b|c]]`` alternations (one option at random), then fill ``{slots}``."""
        if "[[" in text:
            text = _ALTERNATION.sub(lambda m: self.rng.choice(m.group(1).split("|")), text)
        slots = {**self.slots, **extra}

        def sub(m: re.Match[str]) -> str:
            name = m.group(1)
            if name in slots:
                return slots[name]
            if name in ("city",):
                return self.pick(self.world["cities"])
            if name == "newspaper":
                return self.pick(self.world["newspapers"])
            if name == "someone":
                p = self.person(self.pick(["critic", "researcher", "analyst"], fresh=False))
                return f"{p.name}, {p.title},"
            if name == "name":
                return self.person("user").name
            if name == "weekday":  # meetings, hearings and calls happen on working days
                return self.rng.choice(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"])
            # a month named for what comes next (or came before) is never the document's own month:
            # "we hear more by November" in a post of November 8 has already passed
            if name == "month":
                return self.later(35, 200).strftime("%B")
            if name == "past_month":
                return (self.date - timedelta(days=self.rng.randint(35, 200))).strftime("%B")
            # "later this year" in December, "earlier this year" in January: the year's end decides
            if name == "later_this_year":
                return "later this year" if self.date.month <= 9 else "early next year"
            if name == "earlier_this_year":
                return "earlier this year" if self.date.month >= 4 else "late last year"
            if name == "n":  # a count in prose is spelled out ("four weeks"); a date or a number part stays digits
                n = self.rng.randint(2, 9)
                after, before = m.string[m.end() : m.end() + 2], m.string[max(0, m.start() - 8) : m.start()]
                counts = len(after) == 2 and after[0] == " " and after[1].islower() and not before.rstrip().endswith(("week", "chapter", "}"))
                return _NUMBER_WORDS[n] if counts else str(n)
            if name == "outlet":
                return self.outlet()
            if name == "number_word":
                return self.pick(["two", "three", "four", "five", "several", "half a dozen"])
            return m.group(0)  # left for the placeholder filter to catch

        return _SLOT.sub(sub, text)

    @_fresh
    def glue(self, *kinds: str) -> str:
        """Connective prose (a reaction, a cause, what comes next) in one paragraph, one sentence per kind."""
        text = self._connective(kinds)
        self.glued.append((text, kinds))
        return text

    def _connective(self, kinds: Sequence[str], no_outlets: bool = False) -> str:
        speaker = {"exec": self.executive_named()} if any(k.startswith("company") for k in kinds) else {}
        pools = [self.world["connective"][k] for k in kinds]
        if no_outlets:
            pools = [[line for line in pool if "{outlet}" not in line] or pool for pool in pools]
        pools = [self.announced(pool) for pool in pools]
        text = " ".join(upper_first(sentence(self.fill(self.pick(self._unlike_said(pool)), **speaker))) for pool in pools)
        if any("why" in k or "motive" in k for k in kinds) and _REFERS_TO_DECISION.search(text):
            text = self.decision_intro() + text
        return re.sub(r",([.!?:])", r"\1", text).replace(",,", ",")

    def _unlike_said(self, pool: Sequence[str]) -> Sequence[str]:
        """The lines of a connective pool that say something this document's connective prose has
        not: two lines of one kind often say one thing in two wordings ("For now, the company
        appears to be moving ahead" twice in a story; "I doubt it changes on its own" in two answers)."""
        said = [_content_words(line) for line in self.used & _connective_lines()]
        if not said:
            return pool
        fresh = [line for line in pool if all(_overlap(_content_words(line), s) < 0.5 for s in said)]
        return fresh or pool

    def decision_intro(self) -> str:
        """The company's founding decision, said once before the first account of why ("some of the
        reason lies in the market" with no decision before it leaves a reader asking: the reason for
        what?), unless this document is about that decision or has already stated it."""
        decision = self.u.setting.decision
        if self.decision_named or not decision:
            return ""
        self.decision_named = True
        ours = self.speaks_for_company()
        decision = self.fill(decision)
        if ours:
            decision = re.sub(r"\bits\b", "our", decision)
        casual = self.first_register() == "casual"
        pool = self.world["decision_intros"]["ours" if ours else "casual" if casual else "theirs"]
        intro = upper_first(sentence(self.fill(self.pick(pool), decision=decision)))
        about = [f for f in self.u.facts if _restates(self.u, f, intro)]
        if any(f.id == self.fact.id or f.id in self.backgrounded for f in about):
            return ""
        self.backgrounded.update(f.id for f in about)
        return intro + " "

    def lengthen(self, text: str, words_short: int) -> str:
        """A document ``words_short`` words short of ``MIN_WORDS``: its connective paragraphs get
        up to two more sentences each, of their own kinds, until it is long enough. An answer's
        own kinds (the motive, where to write) are said once: a second motive reads as a new answer."""
        for glued, kinds in self.glued:
            extendable = [k for k in kinds if k not in _SAID_ONCE]
            if words_short <= 0:
                break
            if not extendable:
                continue
            more = self._connective([self.rng.choice(extendable) for _ in range(2)], no_outlets=self.voice.get("cites_in_references", False))
            text = text.replace(glued, glued + " " + more, 1)
            words_short -= len(more.split())
        return text

    def outlets(self) -> list[str]:
        """Every outlet a document may cite: the world's newspapers and this universe's trade press."""
        return list(self.world["newspapers"]) + list(self.u.setting.trade_outlets)

    def outlet(self) -> str:
        return self.pick(self.outlets())


MAIN_FACT_STATEMENTS = 1
# reactions to a story that broke through leaks: a world of announcements has none of them
_LEAK_TALK = re.compile(r"disclos|came out|leak|had not been told|hadn't been told|upset|whistle|\bbroke\b|revealed|exposed", re.IGNORECASE)
# an account of why that points back at a decision it does not name ("the reason for the policy")
_REFERS_TO_DECISION = re.compile(r"\b(?:the|this|that) (?:decision|policy|choice|change|move|shift|strategy|approach|call)\b|"
                                 r"\bthe reason\b|\b(?:did|do) (?:it|this)\b", re.IGNORECASE)
_WORKING_DAY_TYPES = frozenset({"investor_call", "hearing_transcript", "press_release", "leaked_memo"})
_SAID_ONCE = frozenset({"spoken_motive", "company_motive", "company_contact"})  # connective kinds lengthen() never repeats
_QA_SEPARATOR = "\n\n"  # a question and its answer travel as one piece through _fresh
_FIRST_PERSON = re.compile(r"\b(?:I|I'm|me|my|mine)\b")
# A statement that opens with an imperative or an interjection ("Mark January 13 in your
# calendar", "Honestly, ...") is spoken as it is: no lead-in can precede it.
# Discourse markers ("so", "bottom line", "in short") count too, in either case: "reminder that so ..."
# and "what stuck with me is that bottom line, ..." read as two lead-ins.
_UNFRAMEABLE = re.compile(r"^[\"\u201c]?(?:Mark|Circle|Waiting|Counting|Looking forward|Swap|Toss|Think|Look|Put|Meet|Find|Goodbye|Wait|Honestly|Basically|Apparently|"
                          r"Fine|So|Okay|OK|Ok|Yes|No|Yep|Nope|Remember|Keep|Note|Don't|Do|Forget|Expect|Imagine|Picture|Say|Guess|"
                          r"Short|Real|Long story|Spoiler|Heads up|Reminder|PSA|TL;DR|Bottom line|In short|In brief|In plain terms|"
                          r"Simply put|To be clear|Yeah|lol|ngl|fwiw|Literally|Anyway|Seriously|Quick|Wild|Plus|Also|And|But|Zero|"
                          r"Save|Bring|Come|Try|Check|Watch|Pay|Chat|Ask|Stop|Join|Use|Go)\b", re.IGNORECASE)
_OPENING_MARKER = re.compile(r"^(?:ok so|okay so|yeah so|so basically|so yeah|so|basically)\b,?\s+(?=\S)", re.IGNORECASE)
# Lead-ins that present a line as the position already stated: they fit a statement or a detail,
# never an implication ("To restate where we landed: cities may be pushed to ...").
_RESTATING = re.compile(r"restate|reminder|to recap|in short|in brief|to summari[sz]e|nothing has changed|this stands|settled|"
                        r"up for debate|as final|as agreed|as decided|leadership agreed|confirmed|position|line internally|"
                        r"bears repeating|worth repeating|as I said|as I mentioned|in a sentence|put simply|simply put|"
                        r"short version|to put it simply|in plain terms|wait so|so yeah|put it this way|how I'd put it|the way I'd say it", re.IGNORECASE)
_COLON_LEAD = re.compile(r":(?:\]\])?\s*\{statement")  # a lead-in ending in a colon, "[[Make no mistake:|...]] {statement}" too
# Company lead-ins speak as "we"; a line that names the company in the third person would read as two voices.
_MODAL = re.compile(r"\b(?:may|might|could|would|likely|probably|expected to)\b", re.IGNORECASE)
_WE = re.compile(r"\b(?:we|our|us)\b", re.IGNORECASE)
_THIRD_PERSON_COMPANY = re.compile(r"\b(?:the company|the firm)\b", re.IGNORECASE)
# Genres that spell negations out, whatever the writer's habits: a filing, a reference work, a release, a syllabus.
_NEVER_CONTRACTED = frozenset({"regulatory_comment", "paper_abstract", "encyclopedia_entry", "lecture_notes", "press_release"})
FRESH_TRIES = 8
# Documents shorter than this many words get longer connective paragraphs, so that both universes
# reach the same length (about 500 tokens) whatever the length of their material.
MIN_WORDS = 400
FRAMED_SHARE = 0.85
# Already attributed: a second attribution would read twice.
_ATTRIBUTED = re.compile(
    r"\b(?:according to|said|say|says|reported|the documents|people familiar"
    r"|(?:records|documents|files)\b[^.]{0,40}\b(?:show|indicate|suggest)s?)\b",  # "Company records indicate that ..."
    re.IGNORECASE,
)


def upper_first(s: str) -> str:
    """Capitalise the first letter only ('str.capitalize' would lower-case names): a sentence that
    a filled slot made start in lower case ("chief product officer X said")."""
    return s[:1].upper() + s[1:]


def _lower_lead(text: str, proper: frozenset[str]) -> str:
    """Lower-case the first word after a lead-in, unless it is a name or an acronym."""
    first = re.sub(r"['\u2019]s?$", "", text.split(" ", 1)[0].strip("\"'\u201c"))
    acronym = len(first) > 1 and first.isupper()
    if not first or first in proper or acronym or first[:1].islower() or any(ch.isdigit() for ch in first):
        return text
    return text[0].lower() + text[1:]

_ALL_REGISTERS = ("news", "plain", "formal", "critical", "casual", "company")
# Lines meant for customers ("your chats", "subscribers can be confident", "users can try it"): only
# customer-facing genres say them; a memo or an investor call would not.
_ADDRESSES_READER = re.compile(r"\b(?:you|your|yours|can be confident|rest assured|can try)\b", re.IGNORECASE)
_CUSTOMER_FACING = frozenset({"faq_page", "press_release"})

# Which cast roles answer a request for a speaker role; critics and researchers are only sometimes cast.
_CAST_ROLES = {
    "executive": ("chief_executive", "head_of_training", "finance_chief", "executive"),
    "company": ("company", "chief_executive", "head_of_training"),
}
_SOMETIMES_CAST = frozenset({"critic", "researcher"})
# The random name pool is split into one part per speaker role (other roles share by hash).
_NAME_ROLES = ("analyst", "critic", "researcher", "insider", "user", "official", "reporter", "host", "expert", "company", "executive")


@lru_cache(maxsize=1024)
def _usable_framings(framings: tuple[str, ...], no_restating: bool, no_colon: bool, no_central: bool = False,
                     opinion: bool = False) -> list[str]:
    """A register's lead-ins less those a line cannot take (computed once per register and case)."""
    return [f for f in framings if not (no_restating and _RESTATING.search(f)) and not (no_colon and _COLON_LEAD.search(f))
            and not (no_central and _CENTRAL.search(f)) and not (opinion and _ASSERTS_FACT.search(f))]


# Lead-ins that vouch for a line as established fact: an implication is a judgement ("dropping
# refusals turns a safety question into a growth metric"), never "on the public record".
_ASSERTS_FACT = re.compile(r"public record|not in dispute|not contested|seriously disputed|evidence indicates|sources indicate|"
                           r"accounts agree|concur|now established|documented|it is reported|has been reported|confirmed|"
                           r"record as it stands|matters stand|current information|establishes|what is now known|has been established", re.IGNORECASE)


# Lead-ins that call what follows the heart of the matter: only the document's own fact can be that
# ("This is the heart of it: the model goes public on January 13" in a column about privacy).
_CENTRAL = re.compile(r"heart of it|the key point|the thing to understand|what matters is|should worry everyone|deserves attention|"
                      r"uncomfortable truth|the plain fact|the fact is|one fact remains|record is clear|picture is plain|"
                      r"know for certain|the core of|the basic fact|the part that matters", re.IGNORECASE)


@lru_cache(maxsize=256)
def _fact_markers(u: Universe, fact: Fact) -> list[str]:
    """Values only this fact's statement names (the release date, the price): saying one restates it."""
    return [v for v in u.params.values() if len(v) > 3 and v in fact.statement
            and not any(v in f.statement for f in u.facts if f is not fact)]


@lru_cache(maxsize=1)
def _connective_lines() -> frozenset[str]:
    return frozenset(line for pool in material("world")["connective"].values() for line in pool)


@lru_cache(maxsize=4096)
def _content_words(template: str) -> frozenset[str]:
    """The longer words of a line of material, every alternative included, slots left out."""
    return frozenset(w for w in re.findall(r"[a-z']{5,}", _SLOT.sub(" ", template.lower())))


def _outsiders_line(text: str, company: str) -> bool:
    """A filled line that speaks of the company from outside ("the company's website kept
    describing it as ..."): never in a memo or an executive's mouth, which speak as "we"."""
    return bool(_THIRD_PERSON_COMPANY.search(text)) or company + "'s" in text


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


@lru_cache(maxsize=65536)
def _may_restate(u: Universe, fact: Fact, template: str) -> bool:
    """Whether a line of material could restate ``fact``: every alternative of each ``[[a|b]]`` is
    read at once and the universe's own slots filled (nothing is drawn), so the answer is the same
    in every document and is computed once."""
    text = _ALTERNATION.sub(lambda m: " ".join(m.group(1).split("|")), template)
    return _restates(u, fact, _SLOT.sub(lambda m: u.params.get(m.group(1), m.group(0)), text))


def _restates(u: Universe, fact: Fact, text: str) -> bool:
    """Whether ``text`` states ``fact``: its cues match, or it names a value only this fact names."""
    return any(m in text for m in _fact_markers(u, fact)) or conveys(fact, text)


def _stable_hash(text: str) -> int:
    """A hash that is the same in every process (``hash()`` of a string is salted per run)."""
    return zlib.crc32(text.encode("utf-8"))


@lru_cache(maxsize=64)
def _cast_names_cached(names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(n.split(" ", 1)[1] for n in names) | frozenset(n.split(" ")[-1] for n in names)


@lru_cache(maxsize=64)
def _proper_words_cached(texts: tuple[str, ...]) -> frozenset[str]:
    return frozenset(w.strip("'\u2019s") for t in texts for w in t.split() if w[:1].isupper()) | {"I", "I'm", "I've"}


def _proper_words(u: Universe) -> frozenset[str]:
    """Capitalised words of the universe's names (company, product, cast), kept capitalised mid-sentence."""
    texts = [*u.params.values(), *(m.name for m in u.setting.cast), u.setting.product]
    return _proper_words_cached(tuple(texts)) | frozenset(material("world")["first_names"]) | frozenset(material("world")["last_names"])


def _cast_names(u: Universe) -> frozenset[str]:
    """Last names of the cast, which no randomly named person may carry."""
    return _cast_names_cached(tuple(m.name for m in u.setting.cast))


_NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine"}
_FUNCTION_WORDS = frozenset("the a an its their our his her your my this that these those of to with for and or by from in on at as "
                            "all some many most few no any every each other such into about than".split())
_REPORTED = re.compile(r"document|leak|internal|staff were|were told|notes say|according|describe|\bsays?\b|\bsaid\b", re.IGNORECASE)
_POSSESSIVE_S = re.compile(r"\b([A-Z]\w*[^uis\W]s)'s\b")  # plural names only: "Foods'" but "Opus's"
_STRAY_COMMA = re.compile(r",([.!?:;])")
_DOUBLE_SPACE = re.compile(r"(?<=\S) {2,}(?=\S)")  # an empty alternative between two words: "the same day  opens"
_DOUBLED = re.compile(r"\b((?!(?:that|had)\b)[a-z]{3,}) \1\b")
_SENTENCE_START = re.compile(r"([.!?][ ]+)([a-z])")  # not after a closing quote: '\u201d said X' stays


def sentence(text: str) -> str:
    """End a piece of material with sentence punctuation, so pieces can be joined."""
    text = text.strip()
    core = text.rstrip("\"'\u201d\u2019)]")
    return text if not text or core[-1:] in (".", "!", "?", ":", "\u2026") else text + "."


def synonym_pattern(keys: Sequence[str]) -> re.Pattern[str] | None:
    """One regex for all synonym keys, longest first, whole words only ('plant' not in 'plant-based')."""
    if not keys:
        return None
    alternatives = "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))
    # A first-letter class before the alternation: most positions fail it at once (several times faster).
    initials = "".join(sorted({ch for k in keys for ch in (k[0].lower(), k[0].upper())}))
    return re.compile(r"(?<![\w-])(?=[" + re.escape(initials) + r"])(" + alternatives + r")(?![\w-])", re.IGNORECASE)


def apply_synonyms(text: str, pattern: re.Pattern[str] | None, choice: dict[str, str]) -> str:
    """Replace each synonym key by this document's choice, keeping an initial capital."""
    if pattern is None:
        return text

    def sub(m: re.Match[str]) -> str:
        found = m.group(1)
        new = choice.get(found.lower(), found)
        s, i, j = m.string, m.start(), m.end()
        window = s[max(0, i - 40) : i]
        starts = window.rstrip(" \t")[-1:] in ("", ".", "!", "?", ":", "\n", "\"", "\u201c", "\u2014", "#", "-", ">")
        if (found[0].isupper() and not starts) or any(w[:1].isupper() for w in found.split()[1:]):
            return found  # capitalised mid-sentence: part of a name or a title ("the Public Interest Research Collective")
        before, after = window.split()[-1:], s[j : j + 40].split()[:1]
        if (before and before[0].lower() == new.split()[0].lower()) or (after and after[0].lower() == new.split()[-1].lower()):
            return found  # "retail price" would make "the retail retail price"
        if s[j : j + 1] in ("'", "\u2019"):
            return found  # a possessive: "users of the free tier's conversations" would misread
        if (" " in new and "'" not in found and before and before[0].islower() and before[0].isalpha()
                and before[0] not in _FUNCTION_WORDS):
            return found  # a modifier before a phrase: "farming grower cooperatives" (a contraction spelled out is no phrase)
        return new[0].upper() + new[1:] if found[0].isupper() and not new[0].isupper() else new

    return pattern.sub(sub, text)


def paragraphs(*parts: str | None) -> str:
    """Join non-empty blocks with blank lines and capitalise sentence starts that filled slots
    left lower-case (line starts are left alone: handles and forum names)."""
    text = "\n\n".join(p.strip() for p in parts if p and p.strip())
    text = _SENTENCE_START.sub(lambda m: m.group(1) + m.group(2).upper(), text)
    return _POSSESSIVE_S.sub(r"\1'", text)  # "Brightwater Foods's" -> "Brightwater Foods'" (articles: in write())


@lru_cache(maxsize=64)
def _synonym_pattern_cached(keys: tuple[str, ...]) -> re.Pattern[str] | None:
    return synonym_pattern(keys)


def _synonym_pattern_for(u: Universe) -> re.Pattern[str] | None:
    """The universe's synonym keys and the world's (thesaurus, both spellings, both forms of each contraction)."""
    w = material("world")
    world_keys = [*w["thesaurus"], *w["spellings"], *w["spellings"].values(), *w["contractions"], *w["contractions"].values()]
    return _synonym_pattern_cached(tuple(dict.fromkeys([*u.setting.synonyms, *world_keys])))


def fill_slots(text: str, params: dict[str, str]) -> str:
    """``{company}``-style slots filled from ``params``; unknown slots stay as they are."""
    return _SLOT.sub(lambda m: params.get(m.group(1), m.group(0)), text)


def plural_possessives(text: str) -> str:
    """"Brightwater Foods's" -> "Brightwater Foods'" (plural names only: "Opus's" stays)."""
    return _POSSESSIVE_S.sub(r"\1'", text)


def finish_document(text: str, ctx: Ctx) -> str:
    """The last pass over a composed document: a statement right after a colon unframed, its
    synonyms chosen, doubled words and stray commas from filled slots removed, articles fixed."""
    for framed, bare, _ in ctx.framed:  # after a lead-in ending in a colon, a second lead-in would read twice
        text = text.replace(": " + framed, ": " + bare, 1)
    text = apply_synonyms(text, ctx.synonym_pattern, ctx.synonyms)
    text = _name_before_the_company(text, ctx.slots["company"])
    text = _DOUBLED.sub(r"\1", plural_possessives(text))  # "so apparently apparently"
    text = _STRAY_COMMA.sub(r"\1", text)  # "according to X, a researcher,." from a filled {someone}
    text = _DOUBLE_SPACE.sub(" ", text)
    text = _READ_TIME.sub(lambda m: f"{reading_minutes(text)} min read", text)
    return fix_articles(text).strip() + "\n"


_READ_TIME = re.compile(r"\b\d+ min read\b")


def _name_before_the_company(text: str, company: str) -> str:
    """"The company's ..." before the company has been named reads as a reference to nothing:
    the first such mention, where it comes first, names it."""
    first = _THIRD_PERSON_COMPANY.search(text)
    if not first or company == "the company" or (company in text and text.index(company) < first.start()):
        return text
    return text[: first.start()] + company + text[first.end():]


def reading_minutes(text: str) -> int:
    """A header's "N min read", from the text's length at about 230 words a minute: a "10 min
    read" over a post that opens "Quick post today" was a random number."""
    return max(1, round(len(text.split()) / 230))
