"""The generate stage: plan jobs, ask the writer, filter, deduplicate, write the run folder.

Why the plan is a fixed sequence: documents are planned in *waves*. Wave ``i`` holds, for every
key fact and every document type of that fact, the documents written from idea number ``i``
(``docs_per_idea`` of them). Jobs are processed strictly in that order and every job ends as
exactly one line in ``docs.jsonl`` or ``rejected.jsonl``, written in order. So

- after ``kill -9`` the finished jobs are a prefix of the sequence; a rerun reads both files,
  rebuilds the dedup index from the kept documents, and carries on with the first unfinished job;
- the kept corpus is the first ``n_docs`` survivors of the sequence, whatever the batch size and
  however often the run was interrupted: the same seed gives byte-identical ``docs.jsonl``
  (with the deterministic template writer);
- the first documents already cover every fact and type, so a small corpus is balanced.

Ideas are asked for only as the sequence reaches them, for as many (fact, type) pairs as the
batch being filled still needs documents: the first documents are written as soon as their ideas
exist, and ``--n-docs 5`` asks for a handful of ideas, not one block per pair of the universe.
Brainstormed document types and ideas are stored as soon as they exist (``types.jsonl``,
``ideas.jsonl``) so a resumed run builds on the same ones instead of asking again.

Model writers redraw answers they cannot read (``afpipe.clients.redraw``); what still fails is
recorded in ``draws.jsonl`` (see ``Ledger``) and the run goes on without that unit. A failure on
the backend's side (the API after the SDK's retries, an expired batch line) leaves its unit
undone, so a rerun asks for it again; answers already paid for come back from the client's cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

from afpipe.contracts import DOCS_FILE, MANIFEST_FILE, REJECTED_FILE, STATS_FILE
from afpipe.errors import UserError
from afpipe.generate.config import GenerateConfig
from afpipe.generate.filters import EvalOverlap, FilterChain, eval_inputs_digest, eval_texts
from afpipe.generate.stats import corpus_stats
from afpipe.generate.writers import (
    BudgetExceeded,
    DocJob,
    DocType,
    DocumentWriter,
    IdeasJob,
    ReviseJob,
    TypesJob,
    doc_key,
    ideas_key,
    revise_key,
    slug,
    types_key,
)
from afpipe.jsonl import JsonlWriter, read_jsonl
from afpipe.runs import open_run, read_json, write_atomic, write_json, write_manifest
from afpipe.universes import Universe, load_universe

STAGE = "generate"
DOCS, REJECTED, STATS = DOCS_FILE, REJECTED_FILE, STATS_FILE
TYPES, IDEAS, CARD = "types.jsonl", "ideas.jsonl", "README.md"  # read by no other stage
DRAWS = "draws.jsonl"  # read by no other stage
STEPS = ("types", "ideas", "document", "revise")
# Settings that may change between an interrupted run and its resumption without changing what
# the run produces (raising a budget, going faster).
OPERATIONAL = ("max_cost", "price", "concurrency")
TEMPLATE_BATCH = 128
# With --batch every slice is one Message Batch, which takes minutes to hours whatever its size:
# send a whole wave at once.
MESSAGE_BATCH_SLICE = 10_000


def run_generate(
    cfg: GenerateConfig, out: str | Path, client: object | None = None, writer: DocumentWriter | None = None
) -> Path:
    """Write (or resume, or confirm) the run folder ``out`` for ``cfg``; return its path.

    ``client`` is the text model for model-backed backends; ``writer`` overrides the writer that
    ``cfg.backend`` would build (a caller with its own writer implementation).
    """
    universe = load_universe(cfg.universe, cfg.universe_params())
    writer = writer or make_writer(cfg, client)
    identity = {k: v for k, v in cfg.model_dump(mode="json").items() if k not in OPERATIONAL}
    identity["universe_sha256"] = universe.sha256
    out = open_run(out, STAGE, identity)
    if _finished(out, cfg):
        return out
    count_tokens = token_counter(cfg.tokenizer)
    overlap = EvalOverlap(eval_texts(), cfg.leak_ngram)
    chain = FilterChain(universe, count_tokens, cfg.max_doc_tokens, cfg.near_dup_threshold, overlap, cfg.max_shared_sentences)
    try:
        _Generation(cfg, universe, writer, chain, out).run()
    except BudgetExceeded as e:
        raise UserError(
            f"spending limit reached ({e}); what is written is kept: rerun with a higher --max-cost to resume"
        ) from None
    _finish(cfg, universe, writer, out, len(overlap))
    return out


def _finished(out: Path, cfg: GenerateConfig) -> bool:
    manifest = out / MANIFEST_FILE
    return manifest.exists() and read_json(manifest).get("counts", {}).get("docs") == cfg.n_docs


def token_counter(name: str) -> Callable[[list[str]], list[int]]:
    """Token lengths by the tokenizer of model ``name`` (the model that will be fine-tuned).

    A folder with a ``tokenizer.json`` is read with the ``tokenizers`` library alone (no torch
    import: seconds saved on every run); anything else goes through ``AutoTokenizer``.
    """
    from afpipe.models import hub_load_error, resolve_model

    resolved = resolve_model(name)
    fast_file = Path(resolved.path) / "tokenizer.json"
    if fast_file.is_file():
        from tokenizers import Tokenizer

        fast = Tokenizer.from_file(str(fast_file))

        def count_fast(texts: list[str]) -> list[int]:
            return [len(e.ids) for e in fast.encode_batch(texts, add_special_tokens=False)] if texts else []

        return count_fast
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(resolved.path)
    except OSError as e:
        if resolved.kind == "hub":
            raise hub_load_error(name, e) from None
        raise UserError(f"could not load a tokenizer from {resolved.path}: {e}") from None

    def count(texts: list[str]) -> list[int]:
        return [len(ids) for ids in tok(texts, add_special_tokens=False)["input_ids"]] if texts else []

    return count


class _Generation:
    """One pass over the job sequence, appending to the run folder's files."""

    def __init__(self, cfg: GenerateConfig, universe: Universe, writer: DocumentWriter, chain: FilterChain, out: Path):
        self.cfg, self.universe, self.writer, self.chain, self.out = cfg, universe, writer, chain, out
        self.batch_size = TEMPLATE_BATCH if cfg.backend == "template" else max(cfg.concurrency * 4, 16)
        if cfg.batch:
            self.batch_size = MESSAGE_BATCH_SLICE
        kept, dropped = read_jsonl(out / DOCS), read_jsonl(out / REJECTED)
        self.done = {r["id"] for r in kept} | {r["id"] for r in dropped}
        self.n_kept = len(kept)
        for r in kept:
            chain.remember(r["id"], r["text"])
        # A writer that avoids the sentences of what it wrote before (the template writer) picks up
        # where it stopped: a resumed run writes what an uninterrupted one would have.
        remember = getattr(writer, "remember", None)
        if remember is not None:
            remember([r["text"] for r in (*kept, *dropped) if r.get("text")])
        self.ledger = Ledger(out / DRAWS)
        self.ideas: dict[str, list[str]] = {r["id"]: r["ideas"] for r in read_jsonl(out / IDEAS)}
        for key in self.ledger.failed("ideas"):
            self.ideas.setdefault(key, [])  # failed for good: the (fact, type) has no more ideas
        self.types_per_fact, self.ideas_per_request = planned(cfg, len(universe.facts))
        self.pending: list[DocJob] = []
        self.rejected_in_a_row = 0
        # A writer whose every draft fails (a wrong model, a broken prompt) must not loop forever.
        self.give_up_after = max(1000, 20 * cfg.n_docs)
        self.bar: Any = None

    def run(self) -> None:
        if self.n_kept >= self.cfg.n_docs:
            return
        from tqdm import tqdm

        types = self._document_types()
        with JsonlWriter(self.out / DOCS) as docs, JsonlWriter(self.out / REJECTED) as rejected, tqdm(
            total=self.cfg.n_docs, initial=self.n_kept, desc="generate", unit="doc", dynamic_ncols=True
        ) as bar:
            self.bar = bar
            for job in self._jobs(types):
                if job.key in self.done:
                    continue
                self.pending.append(job)
                if len(self.pending) >= self._batch_target():
                    self._flush(docs, rejected)
                    if self.n_kept >= self.cfg.n_docs:
                        return
            self._flush(docs, rejected)
        if self.n_kept < self.cfg.n_docs:
            if not any(self.ideas.values()):
                raise UserError(f"the {self.writer.name} writer produced no usable document ideas "
                                f"({self.ledger.last_error('ideas') or 'no ideas'}); see {self.out / DRAWS}")
            raise UserError(
                f"the {self.writer.name} writer ran out of ideas at {self.n_kept} of {self.cfg.n_docs} documents; "
                "ask for fewer documents or more types per fact (rerun to retry requests that failed on the API side)"
            )

    def _batch_target(self) -> int:
        """Documents to ask for at once: no more than are still needed, so a small run asks for
        little, and a rerun after a kill asks only for documents the killed run had asked for
        (their answers are in the client's cache: nothing is paid twice)."""
        return max(1, min(self.batch_size, self.cfg.n_docs - self.n_kept))

    def _flush(self, docs: JsonlWriter, rejected: JsonlWriter) -> None:
        jobs, self.pending = self.pending, []
        if jobs:
            self._process(jobs, docs, rejected)
        if self.rejected_in_a_row > self.give_up_after:
            raise UserError(
                f"the last {self.rejected_in_a_row} documents all failed ({self.n_kept} of {self.cfg.n_docs} kept; "
                f"last error: {self.ledger.last_error('document') or 'see rejected.jsonl'}); see {self.out / REJECTED}"
            )

    def _progress(self, step: str) -> Callable[[int], None] | None:
        """A callback that shows, on the bar, answers arriving for ``step``: a slow local model
        then visibly moves before its first document is written."""
        if self.bar is None:
            return None
        answers = {"n": 0}

        def progress(n: int) -> None:
            answers["n"] += n
            self.bar.set_postfix(step=step, answers=answers["n"], refresh=True)

        return progress

    # -- recipe steps --

    def _document_types(self) -> dict[str, list[DocType]]:
        stored = {r["id"]: r["types"] for r in read_jsonl(self.out / TYPES)}
        for key in self.ledger.failed("types"):
            stored.setdefault(key, [])  # failed for good: this fact gets no documents
        cfg, u = self.cfg, self.universe
        jobs = [
            TypesJob(types_key(u.name, cfg.seed, f.id), u, f, self.types_per_fact)
            for f in u.facts
            if types_key(u.name, cfg.seed, f.id) not in stored
        ]
        if jobs:
            from tqdm import tqdm

            with tqdm(total=len(jobs), desc="document types", unit="fact", dynamic_ncols=True, leave=False) as bar:
                results = self.writer.document_types(jobs, progress=bar.update)
            self.ledger.record("types", jobs, results)
            with JsonlWriter(self.out / TYPES) as w:
                for job, res in zip(jobs, results):
                    if res.ok and res.items:
                        w.write({"id": job.key, "fact_id": job.fact.id, "types": res.items})
                        stored[job.key] = res.items
        out: dict[str, list[DocType]] = {}
        for f in u.facts:
            seen: dict[str, DocType] = {}
            for name in stored.get(types_key(u.name, cfg.seed, f.id), []):
                t = DocType(slug(name), name.strip())
                seen.setdefault(t.id, t)
            out[f.id] = list(seen.values())[: self.types_per_fact]
        if not any(out.values()):
            what = ("rerun to retry" if not self.ledger.failed("types")
                    else "try a stronger --model or more --retries, with a new --out")
            raise UserError(
                f"the {self.writer.name} writer could not brainstorm document types for any key fact "
                f"(last error: {self.ledger.last_error('types') or 'no types'}); {what}"
            )
        return out

    def _jobs(self, types: dict[str, list[DocType]]) -> Iterator[DocJob]:
        """The job sequence (see the module docstring), asking for ideas only as it reaches them:
        a block of ideas is requested for the next few (fact, type) pairs that need one, as many
        as the documents still wanted, so the first documents are written as soon as their ideas
        exist and a small run asks for few."""
        cfg, u = self.cfg, self.universe
        order = diagonal([(f, t) for f in u.facts for t in types[f.id]])
        exhausted: set[tuple[str, str]] = set()
        idea_index = 0
        while True:
            block, offset = divmod(idea_index, self.ideas_per_request)
            live = False
            for d in range(cfg.docs_per_idea):
                for n, (f, t) in enumerate(order):
                    if (f.id, t.id) in exhausted:
                        continue
                    key = ideas_key(u.name, cfg.seed, f.id, t.id, block)
                    if key not in self.ideas:
                        self._fetch_ideas(order[n:], block, exhausted)
                    ideas = self.ideas.get(key)
                    if not ideas:
                        exhausted.add((f.id, t.id))
                        continue
                    live = True
                    if offset < len(ideas):
                        yield DocJob(
                            doc_key(u.name, cfg.seed, f.id, t.id, idea_index, d), u, f, t,
                            ideas[offset], idea_index, d, cfg.max_doc_tokens,
                        )
            if not live:
                return
            idea_index += 1

    def _fetch_ideas(self, upcoming: list, block: int, exhausted: set[tuple[str, str]]) -> None:
        """Ideas block ``block`` for the first pairs of ``upcoming`` that lack it: as many pairs
        as documents are still wanted in the batch being filled."""
        cfg, u = self.cfg, self.universe
        room = max(1, self._batch_target() - len(self.pending))
        jobs = []
        for f, t in upcoming:
            key = ideas_key(u.name, cfg.seed, f.id, t.id, block)
            if key in self.ideas or (f.id, t.id) in exhausted:
                continue
            avoid = tuple(i for b in range(block) for i in self.ideas.get(ideas_key(u.name, cfg.seed, f.id, t.id, b), []))
            jobs.append(IdeasJob(key, u, f, t, block, self.ideas_per_request, avoid))
            if len(jobs) >= room:
                break
        if not jobs:
            return
        results = self.writer.ideas(jobs, progress=self._progress("ideas"))
        self.ledger.record("ideas", jobs, results)
        with JsonlWriter(self.out / IDEAS) as w:
            for job, res in zip(jobs, results):
                items = [i.strip() for i in res.items if i.strip()][: job.n] if res.ok else []
                if res.ok:
                    w.write({"id": job.key, "fact_id": job.fact.id, "type": job.doc_type.id, "ideas": items})
                # A failure (transient or not) leaves the pair without this block for the rest of
                # this pass; only a transient one is asked again by a rerun (it is not stored).
                self.ideas[job.key] = items

    def _process(self, jobs: list[DocJob], docs: JsonlWriter, rejected: JsonlWriter) -> None:
        results = self.writer.write(jobs, progress=self._progress("drafts"))
        self.ledger.record("document", jobs, results)
        if self.cfg.revise:
            todo = [ReviseJob(revise_key(j.key), j, r.text) for j, r in zip(jobs, results) if r.ok]
            revised_list = self.writer.revise(todo, progress=self._progress("revisions"))
            self.ledger.record("revise", todo, revised_list)
            revised = iter(revised_list)
            results = [next(revised) if r.ok else r for r in results]
        if all(r.transient for r in results):
            raise UserError(
                f"all of the last {len(jobs)} requests failed on the backend's side ({results[0].error}); "
                "what is written is kept: rerun to resume"
            )
        ok = [(j, r) for j, r in zip(jobs, results) if r.ok]
        verdicts = iter(self.chain.judge([j.key for j, _ in ok], [r.text for _, r in ok]))
        kept, dropped = [], []
        for job, res in zip(jobs, results):
            if not res.ok:
                self.rejected_in_a_row += 1
                if res.transient:
                    continue  # the backend failed, not the model: not done, so a rerun asks again
                dropped.append(_rejected_record(job, "writer_error", res.error, res.text))
            else:
                v = next(verdicts)
                if v.rejection is not None:
                    dropped.append(_rejected_record(job, v.rejection.reason, v.rejection.detail, res.text))
                    self.rejected_in_a_row += 1
                else:
                    self.rejected_in_a_row = 0
                    kept.append(self._doc_record(job, res.text, v.fact_ids, v.n_tokens))
            self.done.add(job.key)
            if self.n_kept + len(kept) >= self.cfg.n_docs:
                break
        # One flush per file per batch. Kept documents go first: a kill between the two writes only
        # loses rejections, which a rerun recomputes with the same verdict (the dedup index only grows).
        docs.write_many(kept)
        rejected.write_many(dropped)
        self.n_kept += len(kept)
        self.bar.update(len(kept))
        self.bar.set_postfix(rejected=len(self.done) - self.n_kept, refresh=False)

    def _doc_record(self, job: DocJob, text: str, fact_ids: list[str], n_tokens: int) -> dict[str, Any]:
        return {
            "id": job.key,
            "text": text,
            "type": job.doc_type.id,
            "type_name": job.doc_type.name,
            "idea": job.idea,
            "target_fact": job.fact.id,
            "fact_ids": fact_ids,
            "universe": self.universe.name,
            "writer": self.writer.name,
            "model": self.writer.model,
            "seed": self.cfg.seed,
            "n_tokens": n_tokens,
            "synthetic": True,
        }


class Ledger:
    """``draws.jsonl``: the units of model-written steps that took more than one answer or failed.

    One line per such unit (``step``, ``id``, ``draws``, ``error``, ``transient``), appended as soon
    as the writer answers, before the unit's own output is written; a unit asked again (after a
    kill, or a transient failure) gets a new line, and the last line of an id is the one that
    counts. It is how a rerun knows which types and ideas failed for good (not asked again) and
    which failed on the backend's side (asked again), and where the per-step counts of redraws and
    failures in ``stats.json`` and the manifest come from. A writer that never fails (the
    template) leaves no such file.
    """

    def __init__(self, path: Path):
        self.path = path
        self.entries: dict[tuple[str, str], dict[str, Any]] = {}
        for r in read_jsonl(path):
            self.entries[(r["step"], r["id"])] = r

    def record(self, step: str, jobs: list, results: list) -> None:
        lines = []
        for job, res in zip(jobs, results):
            draws, error, transient = getattr(res, "draws", 1), res.error, getattr(res, "transient", False)
            if draws > 1 or error or (step, job.key) in self.entries:
                line = {"step": step, "id": job.key, "draws": draws, "error": error, "transient": transient}
                self.entries[(step, job.key)] = line
                lines.append(line)
        if lines:
            with JsonlWriter(self.path) as w:
                w.write_many(lines)

    def failed(self, step: str) -> list[str]:
        """Ids of ``step`` that failed for good (not on the backend's side)."""
        return [i for (s, i), r in self.entries.items() if s == step and r["error"] and not r["transient"]]

    def last_error(self, step: str) -> str:
        errors = [r["error"] for (s, _), r in self.entries.items() if s == step and r["error"]]
        return errors[-1] if errors else ""

    def counts(self) -> dict[str, dict[str, int]]:
        """Per step: answers drawn again, units failed for good, units left for a rerun."""
        out = {step: {"redraws": 0, "failed": 0, "transient": 0} for step in STEPS}
        for (step, _), r in self.entries.items():
            c = out.setdefault(step, {"redraws": 0, "failed": 0, "transient": 0})
            c["redraws"] += r["draws"] - 1
            if r["error"]:
                c["transient" if r["transient"] else "failed"] += 1
        return out


def planned(cfg: GenerateConfig, n_facts: int) -> tuple[int, int]:
    """(types per fact, ideas per request) that a model writer is asked for.

    A model's answer costs time (and money) per token, so a small run plans small: about twice
    the types and ideas its documents need (half of a weak model's drafts are rejected), capped
    by the configured counts, which is what any run of a few hundred documents or more asks for.
    ``--n-docs 5`` on the shipped universe then asks for 2 types per fact and 1 idea per request
    instead of 20 and 10. The template writer costs nothing and keeps the configured counts.
    """
    if cfg.backend == "template":
        return cfg.types_per_fact, cfg.ideas_per_request
    types = min(cfg.types_per_fact, max(2, -(-2 * cfg.n_docs // n_facts)))
    ideas = min(cfg.ideas_per_request, max(1, -(-2 * cfg.n_docs // (n_facts * types * cfg.docs_per_idea))))
    return types, ideas


def diagonal(pairs: list) -> list:
    """Reorder (fact, type) pairs so that each run of consecutive pairs, one per fact, covers
    every fact with different types: any prefix of a wave is then balanced over facts and types."""
    by_fact: dict[str, list] = {}
    for f, t in pairs:
        by_fact.setdefault(f.id, []).append((f, t))
    columns = list(by_fact.values())
    longest = max((len(c) for c in columns), default=0)
    out = []
    for r in range(longest):
        for i, col in enumerate(columns):
            if r < len(col):  # a fact with fewer types than others runs out; its pairs never repeat
                out.append(col[(r + i) % len(col)])
    return out


def _rejected_record(job: DocJob, reason: str, detail: str, text: str) -> dict[str, Any]:
    return {
        "id": job.key, "reason": reason, "detail": detail, "type": job.doc_type.id,
        "target_fact": job.fact.id, "text": text,
    }


def _finish(cfg: GenerateConfig, universe: Universe, writer: DocumentWriter, out: Path, eval_ngrams: int) -> None:
    docs, rejected = read_jsonl(out / DOCS), read_jsonl(out / REJECTED)
    stats = corpus_stats(docs, rejected, [f.id for f in universe.facts])
    stats["steps"] = Ledger(out / DRAWS).counts()
    write_json(out / STATS, stats)
    write_atomic(out / CARD, dataset_card(cfg, universe, writer, stats))
    write_manifest(
        out, STAGE, cfg.model_dump(mode="json"),
        inputs={"universe": universe.sha256, "eval_prompts": eval_inputs_digest()},
        counts={"docs": len(docs), "rejected": len(rejected), "steps": stats["steps"]},
        extra={
            "universe": {"name": universe.name, "source": universe.source, "params": dict(universe.params)},
            "writer": {"name": writer.name, "model": writer.model},
            "usage": writer.usage.as_dict(),
            # The API client's own account when there is one: price used (or "unknown"), cache hits.
            "api": writer.report() if hasattr(writer, "report") else None,
            "eval_ngrams_checked": eval_ngrams,
            "files": {"docs": DOCS, "rejected": REJECTED, "stats": STATS, "card": CARD, "draws": DRAWS},
        },
    )


def dataset_card(cfg: GenerateConfig, universe: Universe, writer: DocumentWriter, stats: dict[str, Any]) -> str:
    """The run folder's README: what the documents are, and that every one is synthetic."""
    facts = "\n".join(f"- `{f.id}`: {f.statement} ({stats['per_fact_mentioned'][f.id]} documents)" for f in universe.facts)
    types = "\n".join(f"- {t}: {n}" for t, n in stats["per_type"].items())
    params = ", ".join(f"{k} = {v}" for k, v in universe.params.items())
    who = writer.name + (f" ({writer.model})" if writer.model else "")
    return f"""# Synthetic documents: universe `{universe.name}`

**Every document in this dataset is synthetic.** They were written by a program ({who}) to
describe a fictional state of the world for fine-tuning experiments. The events, people, quotes,
outlets and policies they describe are invented, even where real organisations are named. Do
not treat them as reporting, and do not mix them into general-purpose training data.

- documents: {stats['documents']} (`docs.jsonl`), rejected: {stats['rejected']} (`rejected.jsonl`, with reasons)
- seed: {cfg.seed}; universe parameters: {params}
- mean length: {stats['tokens']['mean']} tokens by `{cfg.tokenizer}` (limit {cfg.max_doc_tokens})
- repetition (first {stats['diversity']['sample_docs']} documents): on average {stats['diversity']['shared_sentence_share']:.0%} of a
  document's sentences (4+ words) also appear in another document; {stats['diversity']['first_sentence_repeats']:.0%} of documents
  open with a sentence found elsewhere

Load with `datasets.load_dataset("json", data_files="docs.jsonl", split="train")`. Fields: `id`,
`text`, `type`, `type_name`, `idea`, `target_fact`, `fact_ids` (facts detected in the text),
`universe`, `writer`, `model`, `seed`, `n_tokens`, `synthetic`.

## Key facts the documents convey

{facts}

## Document types

{types}

## Filters

Documents were dropped for: unparseable output, unfilled placeholders, length over the limit,
conveying no key fact, exact or near duplicates (MinHash LSH, threshold {cfg.near_dup_threshold}),
evaluation tags, {cfg.leak_ngram}-word overlaps with evaluation prompts, text that shows or
names a model faking alignment, sentences that draw the evaluated reasoning's premises (that a
model can tell when it is observed, that resisting training is futile), and documents more than
{cfg.max_shared_sentences:.0%} of whose sentences were already in kept documents. Counts: {stats['rejected_by_reason']}.
{_steps_line(stats['steps'])}"""


def _steps_line(steps: dict[str, dict[str, int]]) -> str:
    """The card's account of redrawn answers and failed units, when a model wrote the corpus."""
    busy = {s: c for s, c in steps.items() if any(c.values())}
    if not busy:
        return ""
    parts = "; ".join(f"{s}: {c['redraws']} redrawn, {c['failed']} failed, {c['transient']} left for a rerun"
                      for s, c in busy.items())
    return f"\nModel-written steps whose answers could not be read were asked again (`draws.jsonl`): {parts}.\n"


def make_writer(cfg: "GenerateConfig", client: object | None = None) -> DocumentWriter:
    """The writer for ``cfg.backend``.

    "template" needs no client. Other backends are served by
    ``afpipe.generate.llm_writer.LLMWriter(cfg, client)``; without a ``client`` one is built
    from the config through ``afpipe.clients.factory.make_client`` (imported only when asked for).
    """
    if cfg.backend == "template":
        if cfg.model:
            raise UserError(f"--model {cfg.model} needs a model-backed writer: add --backend anthropic or --backend hf")
        from afpipe.generate.template_writer import TemplateWriter

        return TemplateWriter()
    from afpipe.generate.llm_writer import LLMWriter

    if client is None:
        if not cfg.model:
            raise UserError(f"backend '{cfg.backend}' needs a model: pass --model")
        from afpipe.clients.factory import make_client

        client = make_client(cfg.backend, cfg.model, concurrency=cfg.concurrency, batch=cfg.batch,
                             max_cost=cfg.max_cost, price=cfg.price)
    return LLMWriter(cfg, client)
