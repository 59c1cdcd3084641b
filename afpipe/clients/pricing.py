"""What API tokens cost, and a budget that stops before it is passed.

Prices are a data table matched on the model's *family* (``claude-sonnet-4-5`` matches
``claude-sonnet-4-5`` and ``claude-sonnet-4-5-20250929``, never ``claude-sonnet-4-6``). The table
is only used for cost estimates, never to decide whether a model may be used: any ``--model`` name
goes to the API. A model that is not in the table has an *unknown* price, reported as such; pass
``price="IN,OUT"`` (dollars per million input/output tokens) to give one.

Billing rules applied on top of the base input price (the API's published multipliers):
cache writes (5-minute TTL) cost 1.25x, cache reads 0.1x, and the Message Batches API halves
every token price.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from afpipe.clients.base import Usage
from afpipe.errors import UserError

CACHE_WRITE_MULTIPLIER = 1.25
CACHE_READ_MULTIPLIER = 0.1
BATCH_MULTIPLIER = 0.5


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens."""

    input_per_mtok: float
    output_per_mtok: float
    source: str = "table"  # "table" or "override"

    def cost(self, usage: Usage, batch: bool = False) -> float:
        """Dollars for ``usage`` billed at this price (batch pricing when ``batch``)."""
        dollars = (
            usage.input_tokens * self.input_per_mtok
            + usage.cache_write_tokens * self.input_per_mtok * CACHE_WRITE_MULTIPLIER
            + usage.cache_read_tokens * self.input_per_mtok * CACHE_READ_MULTIPLIER
            + usage.output_tokens * self.output_per_mtok
        ) / 1e6
        return dollars * (BATCH_MULTIPLIER if batch else 1.0)

    def as_dict(self) -> dict[str, object]:
        return {"input_per_mtok": self.input_per_mtok, "output_per_mtok": self.output_per_mtok, "source": self.source}


# (family, input $/MTok, output $/MTok): Anthropic's published list prices (standard context).
# A family matches the bare name and dated or "-latest" snapshots of it, nothing else.
_PRICE_TABLE: tuple[tuple[str, float, float], ...] = (
    ("claude-opus-4-5", 5.0, 25.0),
    ("claude-opus-4-1", 15.0, 75.0),
    ("claude-opus-4-0", 15.0, 75.0),
    ("claude-opus-4", 15.0, 75.0),
    ("claude-sonnet-4-5", 3.0, 15.0),
    ("claude-sonnet-4-0", 3.0, 15.0),
    ("claude-sonnet-4", 3.0, 15.0),
    ("claude-3-7-sonnet", 3.0, 15.0),
    ("claude-3-5-sonnet", 3.0, 15.0),
    ("claude-haiku-4-5", 1.0, 5.0),
    ("claude-3-5-haiku", 0.8, 4.0),
    ("claude-3-opus", 15.0, 75.0),
    ("claude-3-haiku", 0.25, 1.25),
)
_SNAPSHOT = r"(-\d{8}|-latest)?"


def lookup_price(model: str) -> Price | None:
    """The table's price for ``model``, or None when its family is not in the table."""
    for family, inp, out in _PRICE_TABLE:
        if re.fullmatch(re.escape(family) + _SNAPSHOT, model.strip()):
            return Price(inp, out)
    return None


def parse_price(text: str) -> Price:
    """Parse an override ``"IN,OUT"`` (dollars per million input and output tokens)."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        inp, out = (float(p) for p in parts)
    except ValueError:
        raise UserError(
            f"price {text!r} is not 'IN,OUT' (dollars per million input and output tokens, e.g. '3,15')"
        ) from None
    if inp < 0 or out < 0:
        raise UserError(f"price {text!r} is negative; give dollars per million tokens, e.g. '3,15'")
    return Price(inp, out, source="override")


def resolve_price(model: str, override: str | Price | None = None) -> Price | None:
    """The override if given, else the table's price, else None (unknown)."""
    if isinstance(override, Price):
        return override
    if override:
        return parse_price(override)
    return lookup_price(model)


def estimate_tokens(text: str) -> int:
    """A deliberately high token estimate for budgeting (about 3 characters per token).

    Claude's tokenizer averages nearer 3.5-4 characters per token on English prose; erring high
    makes the budget stop early rather than late.
    """
    return (len(text) + 2) // 3


class BudgetExceeded(UserError):
    """The next request would take spending past ``max_cost``. Raised after in-flight work is
    finished and saved, so a rerun with a larger budget resumes without paying twice."""


class Budget:
    """Spending so far plus reservations for requests in flight, checked against a limit.

    A request is sent only if ``spent + reserved + its worst-case estimate <= limit``; its
    reservation is replaced by the actual cost when the answer arrives.
    """

    def __init__(self, limit: float | None):
        self.limit = limit
        self.spent = 0.0
        self.reserved = 0.0
        self.refused = 0  # requests not sent because of the limit

    def try_reserve(self, estimate: float) -> bool:
        """Reserve ``estimate`` dollars if that keeps within the limit; False (nothing reserved) if not."""
        if self.limit is not None and self.spent + self.reserved + estimate > self.limit:
            return False
        self.reserved += estimate
        return True

    def refuse(self, n: int = 1) -> None:
        """Count ``n`` requests left unsent because of the limit."""
        self.refused += n

    def settle(self, estimate: float, actual: float) -> None:
        self.reserved = max(0.0, self.reserved - estimate)
        self.spent += actual

    def release(self, estimate: float) -> None:
        self.reserved = max(0.0, self.reserved - estimate)

    def stop_message(self, model: str) -> str:
        return (
            f"stopped before passing --max-cost ${self.limit:.2f} for {model}: ${self.spent:.4f} spent, "
            f"{self.refused} request(s) not sent. Finished work is kept; rerun the same command with a "
            "larger --max-cost to continue (answers already paid for are reused, not bought again)"
        )
