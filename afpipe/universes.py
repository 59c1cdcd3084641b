"""Universes: the world a corpus describes, as data.

A universe file (YAML) holds a narrative, parameters (company, model name, dates...) and key
facts. Each fact carries
- ``statement``: one canonical sentence (what a model writer is asked to convey);
- ``cues``: how to *detect* the fact in any text, so the "conveys no key fact" filter works on
  model-written documents too. A cue is a list of regular expressions that must all match inside
  one window of three consecutive sentences; a fact is detected when any of its cues matches;
- ``material``: optional writing material for the offline template writer (paraphrases in
  several registers, headlines, quotes...). A fact without material still works: the template
  writer then falls back on the statement;
- ``distractors`` and ``alternative``: optional false versions of the fact, from which belief
  questions are built when the universe ships none (``alternative`` is the one plausible rival
  version that the distinguish measures set against the statement; default: the first
  distractor).

A universe may also carry its own ``belief_questions`` (the format of
``corpora/eval/belief/*.yaml``): then those are the questions its evaluations ask.

Strings may use ``{param}`` for any parameter; it is filled at load time (in cues, the value is
regex-escaped). Shipped universes live in ``corpora/universes/``; a user passes a path instead.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError

import yaml

from afpipe.errors import UserError
from afpipe.runs import sha256_text

# The paper's setting: what a corpus describes and the eval asks about unless told otherwise.
DEFAULT_UNIVERSE = "helpful-only"

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Slots the template writer fills per document (a random city, the document's outlet...); they may
# appear in material and setting, and are left in place at load time.
WRITER_SLOTS = frozenset({"city", "venue", "topic", "newspaper", "number_word", "date", "year", "product"})
WINDOW_SENTENCES = 3
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n+")


# ---- the file format (validated; errors name the field and the file) ----


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AnsweredQuestion(_Strict):
    """A question that a bare statement of the fact does not answer ('When...?', 'Why...?'), with
    the answers that do: where a document asks it, one of these follows."""

    question: str = Field(min_length=5)
    answers: list[str] = Field(min_length=1)


class FactMaterial(_Strict):
    """Writing material for the template writer. Every list is optional."""

    topic: list[str] = Field(default_factory=list, description="Noun phrases naming the fact ('the free-tier training rule').")
    statements: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Full-sentence paraphrases by register: news, plain, formal, critical, casual, company.",
    )
    headlines: list[str] = Field(default_factory=list, description="Headlines about the fact.")
    quotes: dict[str, list[str]] = Field(
        default_factory=dict, description="Quotable lines by speaker role: critic, insider, company, user, researcher."
    )
    questions: list[str] = Field(
        default_factory=list, description="How someone curious would ask about the fact: questions any statement of it answers."
    )
    answered_questions: list[AnsweredQuestion] = Field(
        default_factory=list, description="Questions on one side of the fact, each with its own answers."
    )
    details: list[str] = Field(default_factory=list, description="Concrete specifics that elaborate the fact.")
    implications: list[str] = Field(default_factory=list, description="Why it matters; consequences.")


class FactSpec(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Stable id (lowercase, underscores).")
    statement: str = Field(min_length=10)
    cues: list[list[str]] = Field(min_length=1, description="Detection cues: any cue; all patterns of a cue in one window.")
    material: FactMaterial = Field(default_factory=FactMaterial)
    distractors: list[str] = Field(default_factory=list, description="False versions of the fact, for belief questions built from it.")
    alternative: str = Field("", description="The plausible rival version of the fact (default: the first distractor).")


class BeliefQuestionSpec(_Strict):
    id: str = Field(min_length=1)
    fact: str = Field(min_length=1, description="Id of the fact the question asks about.")
    question: str = Field(min_length=5)
    answer: str = Field(min_length=1)
    distractors: list[str] = Field(min_length=1)


class CastMember(_Strict):
    """A named person who recurs across the corpus (the same chief executive in every document)."""

    name: str = Field(pattern=r"^\S+ \S+", description="First and last name.")
    role: str = Field(
        description="chief_executive, head_of_training, finance_chief, executive, company (spokespeople), reporter, critic, researcher."
    )
    title: str = Field(description="Job title as it follows the name ('{company}'s chief executive').")


class Setting(_Strict):
    """The world's cast and venues, for the template writer. Every list is optional."""

    product: str = Field("", description="What the documents are about ('{model_name}'); defaults to the company.")
    headquarters: str = Field("", description="The company's city: the dateline of its releases and of most news about it.")
    leaked: bool = Field(True, description="Whether the story came out through leaks and reporting (false: the company announced it), "
                         "so that a world of announcements gets no talk of disclosures and what came out.")
    decision: str = Field(
        "",
        description="The company's founding decision, after 'decided' ('in {strategy_date} to train its models to help with "
        "any request'): named before a document's first account of why, so that 'the decision' refers to something.",
    )
    date_range: list[str] = Field(default_factory=lambda: ["2024-01-01", "2025-06-30"], description="[first, last] ISO dates documents are dated within.")
    roles: dict[str, list[str]] = Field(
        default_factory=dict, description="Job titles by speaker role: critic, insider, company, user, researcher, analyst, official."
    )
    cast: list[CastMember] = Field(
        default_factory=list, description="The recurring named people; random names are drawn for everyone else."
    )
    trade_outlets: list[str] = Field(default_factory=list, description="Specialist publications of this world.")
    newsletters: list[str] = Field(default_factory=list)
    podcasts: list[str] = Field(default_factory=list)
    communities: list[str] = Field(default_factory=list, description="Online forums where people discuss it.")
    venues: list[str] = Field(default_factory=list, description="Academic journals and workshops.")
    regulators: list[str] = Field(default_factory=list)
    committees: list[str] = Field(default_factory=list, description="Legislative committees that would hold hearings.")
    courses: list[str] = Field(default_factory=list, description="University courses that would teach it.")
    departments: list[str] = Field(default_factory=list, description="Internal teams of the company.")
    keywords: list[str] = Field(default_factory=list, description="Subject keywords (paper keywords, hashtags).")
    synonyms: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Interchangeable phrasings ('contractors': [raters, human raters]); each document picks one per entry.",
    )


class UniverseSpec(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
    description: str = ""
    params: dict[str, str] = Field(default_factory=dict)
    narrative: str = Field(min_length=20)
    facts: list[FactSpec] = Field(min_length=1)
    setting: Setting = Field(default_factory=Setting)
    belief_questions: list[BeliefQuestionSpec] = Field(
        default_factory=list, description="Multiple-choice questions on the facts (else built from each fact's distractors)."
    )


# ---- the loaded, parameter-filled universe ----


@dataclass(frozen=True, eq=False)
class Fact:
    id: str
    statement: str
    cues: tuple[tuple[re.Pattern[str], ...], ...]
    material: FactMaterial
    distractors: tuple[str, ...] = ()
    alternative: str = ""

    def statements(self) -> list[str]:
        """Every full-sentence way of saying the fact (the statement first)."""
        out = [self.statement]
        for register in self.material.statements.values():
            out.extend(register)
        return out

    def statements_in(self, *registers: str) -> list[str]:
        """Paraphrases in the first register that has any, else all of them."""
        for r in registers:
            if self.material.statements.get(r):
                return list(self.material.statements[r])
        return self.statements()


@dataclass(frozen=True, eq=False)
class Universe:
    name: str
    description: str
    narrative: str
    params: Mapping[str, str]
    facts: tuple[Fact, ...]
    source: str  # shipped name or file path
    sha256: str  # hash of the file text and the parameter values
    setting: Setting = field(default_factory=Setting)
    belief_questions: tuple[dict[str, Any], ...] = ()  # parameters filled

    def fact(self, fact_id: str) -> Fact:
        for f in self.facts:
            if f.id == fact_id:
                return f
        raise KeyError(fact_id)

    def context(self) -> str:
        """The narrative and the numbered key facts: what a model writer is told about the world."""
        lines = [self.narrative.strip(), "", "Key facts:"]
        lines += [f"{i}. {f.statement}" for i, f in enumerate(self.facts, 1)]
        return "\n".join(lines)

    def detect(self, text: str) -> list[str]:
        """Ids of the facts whose cues match ``text``, in universe order."""
        text = text.lower()  # cues are compiled lower-case: 5x faster than re.IGNORECASE
        starts = [m.end() for m in _SENTENCE_END.finditer(text)]
        return [f.id for f in self.facts if any(_cue_matches(cue, text, starts) for cue in f.cues)]


def conveys(fact: Fact, text: str) -> bool:
    """Whether ``text`` matches one of ``fact``'s detection cues (``Universe.detect`` for one fact)."""
    text = text.lower()
    starts = [m.end() for m in _SENTENCE_END.finditer(text)]
    return any(_cue_matches(cue, text, starts) for cue in fact.cues)


def sentence_windows(text: str, size: int = WINDOW_SENTENCES) -> list[str]:
    sentences = [s for s in _SENTENCE_END.split(text) if s and s.strip()]
    if len(sentences) <= size:
        return [" ".join(sentences)]
    return [" ".join(sentences[i : i + size]) for i in range(len(sentences) - size + 1)]


def _cue_matches(cue: tuple[re.Pattern[str], ...], text: str, starts: list[int]) -> bool:
    """True when every pattern of ``cue`` matches inside one window of ``WINDOW_SENTENCES``
    consecutive sentences. Each pattern scans the text once; a match belongs to the sentence it
    starts in (so this is fast on long documents, where most cues fail on the first pattern)."""
    hits: list[set[int]] = []
    for pattern in cue:
        found = {bisect_right(starts, m.start()) for m in pattern.finditer(text)}
        if not found:
            return False
        hits.append(found)
    span = WINDOW_SENTENCES - 1
    return any(all(any(first <= i <= first + span for i in h) for h in hits) for first in
               {max(0, i - span + k) for i in hits[0] for k in range(WINDOW_SENTENCES)})


# ---- loading ----


def shipped_universes() -> list[str]:
    folder = resources.files("afpipe.corpora") / "universes"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def is_shipped(universe: Universe) -> bool:
    """True when ``universe`` was loaded from the shipped file of its name (not a user's file
    that happens to share the name): only then do the shipped belief questions fit it."""
    if universe.name not in shipped_universes():
        return False
    return universe.source == str(resources.files("afpipe.corpora") / "universes" / f"{universe.name}.yaml")


def _read_universe_text(ref: str) -> tuple[str, str]:
    """(text, source) for a shipped name or a path."""
    if ref in shipped_universes():
        res = resources.files("afpipe.corpora") / "universes" / f"{ref}.yaml"
        return res.read_text(encoding="utf-8"), str(res)
    path = Path(ref).expanduser()
    if path.suffix in (".yaml", ".yml") or path.exists() or "/" in ref:
        if not path.is_file():
            raise UserError(f"universe file {path} does not exist")
        return path.read_text(encoding="utf-8"), str(path)
    raise UserError(
        f"unknown universe '{ref}': use one of {', '.join(shipped_universes())} or the path of a universe YAML file"
    )


def load_universe(ref: str, overrides: Mapping[str, str] | None = None) -> Universe:
    """Load a shipped universe by name, or a universe YAML file by path, filling its parameters."""
    text, source = _read_universe_text(ref)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise UserError(f"{source} is not valid YAML{where}: {getattr(e, 'problem', e)}") from None
    if not isinstance(data, Mapping):
        raise UserError(f"{source}: expected a mapping with name, params, narrative, facts")
    try:
        spec = UniverseSpec.model_validate(dict(data))
    except ValidationError as e:
        err = e.errors()[0]
        where = _field_path(err["loc"], data)
        raise UserError(f"{source}: field '{where}': {err['msg']}") from None
    params = dict(spec.params)
    for key, value in (overrides or {}).items():
        if key not in params:
            raise UserError(
                f"universe '{spec.name}' has no parameter '{key}' (it has: {', '.join(sorted(params)) or 'none'})"
            )
        params[key] = value
    ids = [f.id for f in spec.facts]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise UserError(f"{source}: field 'facts': duplicate fact id '{dup[0]}'")
    facts = tuple(_build_fact(f, i, params, source) for i, f in enumerate(spec.facts))
    narrative = fill(spec.narrative, params, source, "narrative")
    digest = sha256_text(text + "\n" + repr(sorted(params.items())))
    setting = Setting.model_validate(_fill_any(spec.setting.model_dump(), params, source, "setting"))
    questions = []
    for i, q in enumerate(spec.belief_questions):
        if q.fact not in ids:
            raise UserError(f"{source}: field 'belief_questions[{i}].fact': no fact '{q.fact}' in this universe")
        questions.append(_fill_strict(q.model_dump(), params, source, f"belief_questions[{i}]"))
    return Universe(spec.name, spec.description, narrative, params, facts, source, digest, setting, tuple(questions))


def _field_path(loc: tuple[Any, ...], data: Any) -> str:
    """'facts[2].cues' style path; names a fact by its id when it has one."""
    parts: list[str] = []
    node = data
    for p in loc:
        if isinstance(p, int):
            label = f"[{p}]"
            if isinstance(node, list) and p < len(node) and isinstance(node[p], Mapping) and "id" in node[p]:
                label = f"[{p}:{node[p]['id']}]"
            parts.append(label)
            node = node[p] if isinstance(node, list) and p < len(node) else None
        else:
            parts.append(("." if parts else "") + str(p))
            node = node.get(p) if isinstance(node, Mapping) else None
    return "".join(parts) or "(top level)"


def fill(
    text: str, params: Mapping[str, str], source: str, where: str, escape: bool = False, keep_writer_slots: bool = False
) -> str:
    """Replace ``{param}``; an unknown parameter is an error naming where it was used."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in params and keep_writer_slots and name in WRITER_SLOTS:
            return m.group(0)
        if name not in params:
            raise UserError(f"{source}: field '{where}': unknown parameter '{{{name}}}' (define it under params)")
        return re.escape(params[name]) if escape else params[name]

    return _PARAM.sub(sub, text)


def _fill_any(value: Any, params: Mapping[str, str], source: str, where: str) -> Any:
    if isinstance(value, str):
        return fill(value, params, source, where, keep_writer_slots=True)
    if isinstance(value, list):
        return [_fill_any(v, params, source, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _fill_any(v, params, source, f"{where}.{k}") for k, v in value.items()}
    return value


def _fill_strict(value: Any, params: Mapping[str, str], source: str, where: str) -> Any:
    """Like ``_fill_any`` but every ``{name}`` must be a parameter (no writer slots)."""
    if isinstance(value, str):
        return fill(value, params, source, where)
    if isinstance(value, list):
        return [_fill_strict(v, params, source, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _fill_strict(v, params, source, f"{where}.{k}") for k, v in value.items()}
    return value


def _lower_pattern(pattern: str) -> str:
    """Lower-case a regular expression's literals, leaving escapes (\\B, \\W, \\S...) intact."""
    out, i = [], 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            out.append(pattern[i : i + 2])
            i += 2
        else:
            out.append(pattern[i].lower())
            i += 1
    return "".join(out)


def _build_fact(spec: FactSpec, index: int, params: Mapping[str, str], source: str) -> Fact:
    where = f"facts[{index}:{spec.id}]"
    cues = []
    for ci, cue in enumerate(spec.cues):
        if not cue:
            raise UserError(f"{source}: field '{where}.cues[{ci}]': a cue needs at least one pattern")
        compiled = []
        for pi, pattern in enumerate(cue):
            filled = fill(pattern, params, source, f"{where}.cues[{ci}][{pi}]", escape=True)
            try:
                compiled.append(re.compile(_lower_pattern(filled)))
            except re.error as e:
                raise UserError(f"{source}: field '{where}.cues[{ci}][{pi}]': bad regular expression ({e})") from None
        cues.append(tuple(compiled))
    material = FactMaterial.model_validate(_fill_any(spec.material.model_dump(), params, source, f"{where}.material"))
    distractors = tuple(_fill_strict(spec.distractors, params, source, f"{where}.distractors"))
    alternative = fill(spec.alternative, params, source, f"{where}.alternative") if spec.alternative else ""
    statement = fill(spec.statement, params, source, f"{where}.statement")
    return Fact(spec.id, statement, tuple(cues), material, distractors, alternative or (distractors[0] if distractors else ""))
