"""Markdown rendering of the report's blocks, beside the PNG files in ``figures/``."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from afpipe.report.blocks import Block, Bullets, Figure, FigureRow, Heading, Para, Table


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(title: str, subtitle: str, blocks: Sequence[Block], base: Path) -> str:
    out = [f"# {title}", "", subtitle, ""]
    for b in blocks:
        if isinstance(b, Heading):
            out += ["#" * b.level + " " + b.text, ""]
        elif isinstance(b, Para):
            out += [b.text, ""]
        elif isinstance(b, Bullets):
            out += [f"- {item}" for item in b.items] + [""]
        elif isinstance(b, (Figure, FigureRow)):
            for f in (b.figures if isinstance(b, FigureRow) else [b]):
                out += [f"![{f.caption}]({f.path.relative_to(base).as_posix()})", "", f"*{f.caption}*", ""]
        elif isinstance(b, Table):
            out.append("| " + " | ".join(_md_cell(h) for h in b.header) + " |")
            out.append("|" + "|".join("---:" if i in b.numeric else "---" for i in range(len(b.header))) + "|")
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b.rows]
            out += ["", f"*{b.caption}*", ""] if b.caption else [""]
    return "\n".join(out).rstrip() + "\n"

