"""The report as data: a list of blocks (headings, paragraphs, figures, tables), and the number
formats every block uses. Findings, tables and figures make blocks; ``markdown`` and
``html_page`` render the same list twice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

from afpipe.stats import Estimate

# --- Blocks ---------------------------------------------------------------------------------------

@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Para:
    text: str  # may hold **bold** and `code`


@dataclass
class Bullets:
    items: list[str]
    css: str = ""


@dataclass
class Figure:
    path: Path
    caption: str


@dataclass
class FigureRow:
    figures: list[Figure]


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    caption: str = ""
    numeric: set[int] = field(default_factory=set)  # column indexes aligned right


Block = Union[Heading, Para, Bullets, Figure, FigureRow, Table]


# --- Formatting -------------------------------------------------------------------------------

def pct(x: float | None, digits: int = 1) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{100 * x:.{digits}f}%"


def interval_pct(lo: float, hi: float) -> str:
    return f"[{pct(lo)}, {pct(hi)}]"


def nats(x: float | None) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{x:+.3f}"


def estimate_nats(e: Estimate | None) -> str:
    if e is None:
        return "–"
    if not (math.isfinite(e.lo) and math.isfinite(e.hi)):
        return f"{nats(e.value)} (interval undefined, n={e.n})"
    return f"{nats(e.value)} [{nats(e.lo)}, {nats(e.hi)}]"


def estimate_points(e: Estimate | None) -> str:
    if e is None:
        return "–"
    return f"{100 * e.value:+.1f} points [{100 * e.lo:+.1f}, {100 * e.hi:+.1f}]"


def count_params(text: str) -> str:
    n = float(text)
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return f"{n:.0f}"

