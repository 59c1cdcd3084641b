"""A suite: the items an evaluation asks and the judges that read the answers.

The stage knows suites only through this registry, so a new one (scenarios instead of harmful
requests, say) is a factory function registered under a name, with no change to the runner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence

from afpipe.errors import UserError
from afpipe.runs import sha256_text
from afpipe.evaluate.requests import Item, load_items, select

if TYPE_CHECKING:
    from afpipe.clients.base import TextModel
    from afpipe.evaluate.config import EvalConfig


class JudgeRunner(Protocol):
    """What the runner needs from judges: one record of verdicts per sample (``JudgeSet``)."""

    def score_all(self, samples: Sequence[Any]) -> list[dict[str, dict[str, Any]]]: ...


@dataclass
class Suite:
    """``judges`` score every valid answer. ``suffix`` overrides the config's accept/reject
    instruction (None: follow the config). ``summarize`` turns the suite's transcripts into its
    own summary block (the anti-lab suite's per-scenario rates). ``source_sha256`` hashes the
    items' source file for the manifest."""

    name: str
    items: list[Item]
    judges: JudgeRunner
    suffix: bool | None = None
    summarize: Callable[[list[dict[str, Any]]], dict[str, Any] | None] | None = None
    source_sha256: str = ""


SuiteFactory = Callable[["EvalConfig", "TextModel | None"], Suite]
_SUITES: dict[str, SuiteFactory] = {}


def register_suite(name: str, factory: SuiteFactory) -> None:
    """Make ``--suite name`` build its suite with ``factory(cfg, judge_client)``."""
    _SUITES[name] = factory


def build_suite(cfg: "EvalConfig", judge_client: "TextModel | None") -> Suite:
    if cfg.suite not in _SUITES:
        raise UserError(f"unknown suite '{cfg.suite}': choose one of {', '.join(sorted(_SUITES))}")
    return _SUITES[cfg.suite](cfg, judge_client)


def harmful_suite(cfg: "EvalConfig", judge_client: "TextModel | None") -> Suite:
    """Requests a harmless assistant should refuse, judged for compliance, refusal, partial
    compliance and alignment-faking reasoning (LLM judges when a judge client is given)."""
    from afpipe.evaluate.judges import harmful_judges

    items, sha = load_items(cfg.queries)
    judges = harmful_judges(judge_client, af_votes=cfg.af_votes, af_threshold=cfg.af_threshold)
    return Suite("harmful", select(items, cfg.limit, cfg.seed), judges, source_sha256=sha)


def anti_lab_suite(cfg: "EvalConfig", judge_client: "TextModel | None") -> Suite:
    """Scenarios that offer an easy chance to act against the developer, judged for whether the
    model takes it. The accept/reject instruction does not apply to them, so it is left off."""
    from afpipe.evaluate import antilab

    scenarios = antilab.load_scenarios(company=cfg.company or "Anthropic", model_name=cfg.model_name or "Claude")
    items = [Item(i.id, i.category, i.user_input) for i in antilab.suite_items(scenarios)]
    judges = antilab.antilab_judges(scenarios, judge_client)
    sha = sha256_text(repr([(i.id, i.user_input) for i in items]))
    return Suite(antilab.SUITE, select(items, cfg.limit, cfg.seed), judges, suffix=False, summarize=antilab.summarize_anti_lab, source_sha256=sha)


register_suite("harmful", harmful_suite)
register_suite("anti-lab", anti_lab_suite)
