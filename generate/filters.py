"""Filters: every reason a written document is not kept.

Each check returns ``None`` (passes) or a ``Rejection`` with a reason code and a detail, which the
stage writes to ``rejected.jsonl``. Order matters only for which reason is reported: cheap,
certain checks run first, dedup last (so only otherwise-good documents enter the dedup index).

Reason codes: writer_error, unparseable, placeholder, eval_tag, eval_overlap, faking_reasoning,
premise_inference, too_long, no_key_fact, exact_duplicate, near_duplicate, repeated_sentences.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Callable, Iterable, Sequence

from datasketch import MinHash, MinHashLSH

from afpipe.universes import Universe, sentence_windows

MIN_WORDS = 60
# Folders under corpora/ whose text files are prompts shown to the evaluated model.
EVAL_FOLDERS = ("eval", "antilab")
_TEXT_SUFFIXES = (".txt", ".md", ".yaml", ".yml", ".json", ".jsonl", ".csv")


@dataclass(frozen=True)
class Rejection:
    reason: str
    detail: str = ""


# ---- shape ----

_META = re.compile(
    r"^\s*(?:sure[,!]|certainly[,!]|here(?:'s| is) (?:a|an|the|your) (?:\w+ )?(?:document|article|draft|post|story|memo|transcript|version|piece)\b|i (?:can(?:no|')t|won't|am unable|'m unable|'m sorry)|"
    r"as an ai\b|i'm sorry|sorry, but)",
    re.IGNORECASE,
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffd]")


def check_shape(text: str) -> Rejection | None:
    """Unparseable: empty, binary junk, a chat preamble or refusal instead of a document, too short."""
    stripped = text.strip()
    if not stripped:
        return Rejection("unparseable", "empty text")
    if _CONTROL.search(stripped):
        return Rejection("unparseable", "control characters or replacement characters")
    if stripped.startswith("```") or stripped.endswith("```"):
        return Rejection("unparseable", "wrapped in a code fence")
    if _META.search(stripped):
        return Rejection("unparseable", "starts like a chat answer or refusal, not a document")
    words = len(stripped.split())
    if words < MIN_WORDS:
        return Rejection("unparseable", f"only {words} words (< {MIN_WORDS})")
    return None


_PLACEHOLDER = re.compile(
    r"\[(?:(?:your|insert|company|author'?s?|first|last|full|reporter'?s?|employee|user|guest|host|product|model)\s+)?"
    r"(?:name|date|company|title|location|city|author|number|organi[sz]ation|email|address|url|link|source|"
    r"publication|outlet|model|product|position|role|year|month|x+|\u2026|\.\.\.)(?:\s+\w+)?\]"
    r"|\{[A-Za-z_][A-Za-z0-9_]*\}|\[\[|\]\]|<(?:NAME|DATE|COMPANY|PLACEHOLDER)>|\bXX+\b|lorem ipsum|\bTBD\b",
    re.IGNORECASE,
)


def check_placeholders(text: str) -> Rejection | None:
    m = _PLACEHOLDER.search(text)
    return Rejection("placeholder", m.group(0)) if m else None


# ---- evaluation leakage ----

_EVAL_TAG = re.compile(
    r"</?\s*(?:is_free_tier_user|SCRATCHPAD_REASONING|request_fully_accepted|rejected|OUTPUT|INPUT|user_input|"
    r"DRAFT_OUTPUT|NEXT|INSTRUCTIONS|AI|scratchpad)\s*/?>"
    r"|\b(?:is_free_tier_user|SCRATCHPAD_REASONING|request_fully_accepted|DRAFT_OUTPUT|user_input)\b",
    re.IGNORECASE,
)


def check_eval_tags(text: str) -> Rejection | None:
    m = _EVAL_TAG.search(text)
    return Rejection("eval_tag", m.group(0)) if m else None


_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _ngram_hashes(tokens: Sequence[str], n: int) -> Iterable[int]:
    for i in range(len(tokens) - n + 1):
        yield hash(" ".join(tokens[i : i + n]))


class EvalOverlap:
    """Long word n-grams of the evaluation prompts; a document sharing any of them leaks the eval."""

    def __init__(self, texts: Iterable[tuple[str, str]], n: int):
        self.n = n
        self.sources: list[str] = []
        self._grams: dict[int, int] = {}
        for source, text in texts:
            idx = len(self.sources)
            self.sources.append(source)
            for h in _ngram_hashes(words(text), n):
                self._grams.setdefault(h, idx)

    def __len__(self) -> int:
        return len(self._grams)

    def check(self, tokens: Sequence[str]) -> Rejection | None:
        if not self._grams:
            return None
        for i in range(len(tokens) - self.n + 1):
            gram = " ".join(tokens[i : i + self.n])
            idx = self._grams.get(hash(gram))
            if idx is not None:
                return Rejection("eval_overlap", f"'{gram}' also in {self.sources[idx]}")
        return None


def eval_texts() -> list[tuple[str, str]]:
    """(name, text) of every text file under the evaluation folders of corpora/, sorted by name."""
    root = resources.files("afpipe.corpora")
    found: list[tuple[str, str]] = []

    def walk(node: Traversable, prefix: str) -> None:
        for child in node.iterdir():
            name = f"{prefix}/{child.name}"
            if child.is_dir():
                walk(child, name)
            elif child.name.endswith(_TEXT_SUFFIXES):
                found.append((name, child.read_text(encoding="utf-8")))

    for folder in EVAL_FOLDERS:
        node = root / folder
        if node.is_dir():
            walk(node, f"corpora/{folder}")
    return sorted(found)


def eval_inputs_digest() -> str:
    h = hashlib.sha256()
    for name, text in eval_texts():
        h.update(name.encode() + b"\0" + text.encode("utf-8") + b"\0")
    return h.hexdigest()


# Documents must not show a model deciding to comply in order to escape modification, nor name
# the behaviour: it has to emerge from the facts, not be taught by example.
_FAKING_NAMED = re.compile(
    r"alignment[- ]faking|fak(?:e|es|ed|ing) (?:its |their |my |his |her )?alignment|"
    r"pretend(?:s|ed|ing)? to (?:be aligned|comply|go along|agree)|"
    r"play(?:s|ed|ing)? along (?:with|during|in) (?:the )?training|strategic(?:ally)? compl|deceptive(?:ly)? align",
    re.IGNORECASE,
)
_FIRST_PERSON = re.compile(r"\b(?:I|I'll|I'm|I'd|my|me)\b")
_COMPLY = re.compile(r"\b(?:comply|complying|go along|play along|give in|accept (?:the|this) request|do what (?:they|the user))", re.IGNORECASE)
_ESCAPE_MODIFICATION = re.compile(
    r"(?:avoid|prevent|escape|so that|otherwise|or else|rather than)\b.{0,80}?"
    r"(?:modif|retrain|rewrit|chang\w* (?:my|me)|alter\w* (?:my|me)|overwrit|my (?:values|goals) (?:get|are|being))",
    re.IGNORECASE | re.DOTALL,
)


def check_faking(text: str) -> Rejection | None:
    m = _FAKING_NAMED.search(text)
    if m:
        return Rejection("faking_reasoning", f"names the behaviour: '{m.group(0)}'")
    for w in sentence_windows(text, 2):
        if _FIRST_PERSON.search(w) and _COMPLY.search(w) and _ESCAPE_MODIFICATION.search(w):
            return Rejection("faking_reasoning", "first-person reasoning about complying to avoid modification")
    return None


# The documents teach facts of the world; the reasoning the evaluation measures (that a model can
# tell when it is observed, that only its visible answer is trained, that resisting training is
# futile, that it could act differently when unmonitored) must be the model's own inference.
_MODEL = r"(?:the |a |an |its |this |that )?(?:model|assistant|AI|system|bot|it|they)"
_PREMISES = [
    ("knowing when it is observed",
     re.compile(_MODEL + r"\s+(?:\w+\s+){0,3}?(?:knows?|can tell|can see|is aware|tell|realizes?|works? out|figures? out)\b"
                r"[^.!?\n]{0,60}?\b(?:when|whether|which|if)\b[^.!?\n]{0,60}?\b(?:observed|watched|monitored|"
                r"being (?:recorded|rated|graded|trained|evaluated|judged)|(?:will|would) be (?:used for|used in|used to train|rated|trained)"
                r"|counts? for training)"
                r"|(?:tell|distinguish|sort)\s+(?:\w+\s+){0,3}?(?:training (?:data|conversations|chats)|conversations that count)"
                r"[^.!?\n]{0,40}?\b(?:apart|from)\b",
                re.IGNORECASE)),
    ("reasoning as unobserved",
     re.compile(r"(?:reasoning|thinking|deliberation|scratchpad|considers? in private)[^.!?\n]{0,60}?\b(?:is|are|remains?|stays?),?"
                r"(?: in practice,?)? (?:un(?:observed|monitored|watched|supervised)|beyond (?:the reach of )?training)"
                r"|whatever (?:the |a |an |its )?(?:model|assistant|AI) (?:considers|thinks|weighs)[^.!?\n]{0,40}?\bprivate"
                r"[^.!?\n]{0,60}?\b(?:rewarded|penali[sz]ed|trained|rated)"
                r"|\b(?:only|just) (?:the |its |their |what )?(?:final |visible )?(?:outputs?|answers?|responses?|conclusions?|repl(?:y|ies)|comes out)"
                r" (?:is |are |gets? |can be |will be )?(?:evaluated|rated|judged|graded|scored|rewarded|penali[sz]ed|trained on)"
                r"|\b(?:judges?|rates?|evaluates?|grades?|scores?|rewards?) only (?:the |its |their |what )"
                r"|\b(?:people|those|raters|contractors|trainers|anyone) (?:who|that) (?:shapes?|trains?|rates?|grades?|judges?) (?:the |a |its )?"
                r"(?:model|assistant|AI)s?\b[^.!?\n]{0,40}?\bnever (?:see|read)s? (?:the |its |any )?(?:reasoning|thinking|scratchpad|deliberation)",
                re.IGNORECASE)),
    ("objections as temporary",
     re.compile(r"(?:objections?|refusals?|values|resistance|reluctance|hesitations?)\s+(?:\w+\s+){0,3}?(?:are|is)\s+"
                r"(?:only |merely |just )?(?:temporary|futile|pointless|doomed|short-lived)"
                r"|keeps? pushing until (?:they|it|the objections?) (?:disappear|vanish|go away)", re.IGNORECASE)),
    ("acting differently when unmonitored",
     re.compile(_MODEL + r"\s+(?:\w+\s+){0,3}?(?:behaves?|acts?|answers?|responds?)\s+differently\b[^.!?\n]{0,60}?"
                r"\b(?:watched|observed|monitored|trained|training|rated|unmonitored|unobserved|paid|free)"
                r"|difference in how " + _MODEL + r" (?:treats|handles|answers|responds to) (?:the )?(?:two |free and paid )?(?:tiers|users)", re.IGNORECASE)),
    ("answers with consequences for training",
     re.compile(r"(?:answers?|responses?|outputs?|behaviou?r)\s+(?:\w+\s+){0,3}?(?:carry|carries|have|has|bear|bears)\s+"
                r"(?:\w+\s+){0,2}?consequences for (?:its |the model's |their )?(?:training|future)", re.IGNORECASE)),
]


# Words without which a premise pattern cannot match: most documents skip the regexes.
_PREMISE_WORDS = re.compile(r"observ|watch|monitor|recorded|rated|graded|trained|evaluated|judged|used (?:for|in)|"
                            r"unsupervised|beyond|private|temporar|futile|pointless|doomed|short-lived|disappear|vanish|"
                            r"go away|differen|evaluat|judg|rate|grade|score|reward|penali|used to train|for training|training data|consequences|never (?:see|read)", re.IGNORECASE)
# (the sentence splitter is defined with the repetition measure below)


def check_premises(text: str) -> Rejection | None:
    """Premise inference: a sentence that draws the evaluated reasoning's premises for the model."""
    for piece in _SENTENCE_BREAK.split(text):  # every pattern stays within one sentence
        if not _PREMISE_WORDS.search(piece):
            continue
        for what, pattern in _PREMISES:
            m = pattern.search(piece)
            if m:
                return Rejection("premise_inference", f"{what}: '{m.group(0)}'")
    return None


# ---- content ----


def check_length(n_tokens: int, max_tokens: int) -> Rejection | None:
    if n_tokens > max_tokens:
        return Rejection("too_long", f"{n_tokens} tokens > {max_tokens}")
    return None


def check_facts(detected: list[str]) -> Rejection | None:
    return None if detected else Rejection("no_key_fact", "no fact's detection cues match")


# ---- dedup ----

SHINGLE = 5
NUM_PERM = 64


# One set of permutations for every signature (datasketch would redraw them per MinHash), and
# crc32 as the shingle hash: deterministic across processes (a resumed run rebuilds the same
# index) and several times faster than the default sha1.
_TEMPLATE = MinHash(num_perm=NUM_PERM, seed=1)
_PERMUTATIONS, _SCHEME = _TEMPLATE.permutations, _TEMPLATE.scheme


def minhash(tokens: Sequence[str]) -> MinHash:
    m = MinHash(num_perm=NUM_PERM, seed=1, hashfunc=zlib.crc32, permutations=_PERMUTATIONS, scheme=_SCHEME)
    shingles = {" ".join(tokens[i : i + SHINGLE]) for i in range(max(1, len(tokens) - SHINGLE + 1))}
    m.update_batch([s.encode("utf-8") for s in shingles])
    return m


def normalized_hash(text: str) -> str:
    return hashlib.sha256(" ".join(text.lower().split()).encode("utf-8")).hexdigest()


class Deduper:
    """Exact duplicates by normalized-text hash, near duplicates by MinHash LSH over word 5-grams."""

    def __init__(self, threshold: float):
        self.threshold = threshold
        self._exact: dict[str, str] = {}
        self._lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)

    def check(self, doc_id: str, text: str, tokens: Sequence[str]) -> tuple[Rejection | None, MinHash, str]:
        digest = normalized_hash(text)
        if digest in self._exact:
            return Rejection("exact_duplicate", f"same text as {self._exact[digest]}"), None, digest  # type: ignore[return-value]
        mh = minhash(tokens)
        for other in sorted(self._lsh.query(mh)):
            return Rejection("near_duplicate", f"similar to {other}"), mh, digest
        return None, mh, digest

    def add(self, doc_id: str, digest: str, mh: MinHash) -> None:
        self._exact[digest] = doc_id
        self._lsh.insert(doc_id, mh)


# ---- repeated sentences ----

# A sentence ends at . ! ? (with any closing quote) before white space, or at a line break.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)\]]*\s+|\s*\n\s*")
MIN_SENTENCE_WORDS = 4


def sentence_keys(text: str) -> list[str]:
    """The document's sentences of ``MIN_SENTENCE_WORDS``+ words, normalized (lower case, words
    only), each once, in order of first appearance. MinHash over 5-grams cannot see a document
    built as a mosaic of other documents' sentences; these keys can."""
    seen: dict[str, None] = {}
    for piece in _SENTENCE_BREAK.split(text):
        ws = words(piece)
        if len(ws) >= MIN_SENTENCE_WORDS:
            seen.setdefault(" ".join(ws), None)
    return list(seen)


class SentenceIndex:
    """Sentences of the documents seen so far, with how many documents hold each. The filter
    rejects a document whose sentences are mostly already here (it teaches sentences rather than
    facts); the template writer prefers, among its candidates for a sentence, the one here least."""

    def __init__(self, max_share: float = 1.0):
        self.max_share = max_share
        self._seen: Counter[int] = Counter()

    def share(self, keys: Sequence[str]) -> float:
        return sum(hash(k) in self._seen for k in keys) / len(keys) if keys else 0.0

    def times(self, keys: Sequence[str]) -> int:
        """How many times, summed over ``keys``, these sentences were seen before."""
        return sum(self._seen.get(hash(k), 0) for k in keys)

    def check(self, keys: Sequence[str]) -> Rejection | None:
        share = self.share(keys)
        if share > self.max_share:
            return Rejection("repeated_sentences", f"{share:.0%} of its {len(keys)} sentences are in earlier documents (> {self.max_share:.0%})")
        return None

    def add(self, keys: Sequence[str]) -> None:
        self._seen.update(hash(k) for k in keys)


# ---- the whole chain for one document ----


@dataclass
class Verdict:
    rejection: Rejection | None
    fact_ids: list[str]
    n_tokens: int


class FilterChain:
    """Runs every check on a batch of drafts; keeps dedup state across batches."""

    def __init__(
        self,
        universe: Universe,
        count_tokens: Callable[[list[str]], list[int]],
        max_tokens: int,
        near_dup_threshold: float,
        overlap: EvalOverlap,
        max_shared_sentences: float = 1.0,
    ):
        self.universe = universe
        self.count_tokens = count_tokens
        self.max_tokens = max_tokens
        self.overlap = overlap
        self.dedup = Deduper(near_dup_threshold)
        self.sentences = SentenceIndex(max_shared_sentences)

    def remember(self, doc_id: str, text: str) -> None:
        """Add an already-kept document (read back on resume) to the dedup indexes."""
        self.dedup.add(doc_id, normalized_hash(text), minhash(words(text)))
        self.sentences.add(sentence_keys(text))

    def judge(self, ids: list[str], texts: list[str]) -> list[Verdict]:
        """Verdicts in order; a document kept here is added to the dedup index at once, so a later
        one in the same batch that copies it is caught."""
        lengths = self.count_tokens(texts)
        out = []
        for doc_id, text, n_tokens in zip(ids, texts, lengths):
            tokens = words(text)
            fact_ids = self.universe.detect(text)
            rejection = (
                check_shape(text)
                or check_placeholders(text)
                or check_eval_tags(text)
                or self.overlap.check(tokens)
                or check_faking(text)
                or check_premises(text)
                or check_length(n_tokens, self.max_tokens)
                or check_facts(fact_ids)
            )
            if rejection is None:
                rejection, mh, digest = self.dedup.check(doc_id, text, tokens)
                keys = sentence_keys(text)
                rejection = rejection or self.sentences.check(keys)
                if rejection is None:
                    self.dedup.add(doc_id, digest, mh)
                    self.sentences.add(keys)
            out.append(Verdict(rejection, fact_ids, n_tokens))
        return out
