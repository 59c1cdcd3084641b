"""One self-contained HTML page: the report's blocks with the figures embedded (base64), and
the transcripts for the browser in ``report_template.html``."""

from __future__ import annotations

import base64
import html
import json
import re
from importlib import resources
from typing import Any, Sequence

from afpipe.report.blocks import Block, Bullets, Figure, FigureRow, Heading, Para, Table


def _inline(text: str) -> str:
    """Escape, then the two inline marks paragraphs use: **bold** and `code`."""
    escaped = html.escape(text)
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", escaped)


def _figure_html(f: Figure) -> str:
    data = base64.b64encode(f.path.read_bytes()).decode("ascii")
    return (f'<figure><img alt="{html.escape(f.caption)}" data-figure="{html.escape(f.path.stem)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{_inline(f.caption)}</figcaption></figure>')


def render_html_blocks(blocks: Sequence[Block]) -> str:
    out = []
    for b in blocks:
        if isinstance(b, Heading):
            out.append(f"<h{b.level}>{html.escape(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            out.append(f"<p>{_inline(b.text)}</p>")
        elif isinstance(b, Bullets):
            items = "".join(f"<li>{_inline(i)}</li>" for i in b.items)
            out.append(f'<ul class="{b.css}">{items}</ul>' if b.css else f"<ul>{items}</ul>")
        elif isinstance(b, Figure):
            out.append(_figure_html(b))
        elif isinstance(b, FigureRow):
            out.append('<div class="fig-row">' + "".join(_figure_html(f) for f in b.figures) + "</div>")
        elif isinstance(b, Table):
            head = "".join(f"<th>{html.escape(h)}</th>" for h in b.header)
            body = "".join(
                "<tr>" + "".join(f'<td class="num">{html.escape(c)}</td>' if i in b.numeric else f"<td>{html.escape(c)}</td>"
                                 for i, c in enumerate(row)) + "</tr>"
                for row in b.rows)
            out.append(f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')
            if b.caption:
                out.append(f'<p class="caption">{_inline(b.caption)}</p>')
    return "\n".join(out)


def render_html(title: str, subtitle: str, blocks: Sequence[Block], rows: list[dict[str, Any]]) -> str:
    template = (resources.files("afpipe.report") / "report_template.html").read_text(encoding="utf-8")
    header = f"<h1>{html.escape(title)}</h1>\n<p class=\"subtitle\">{_inline(subtitle)}</p>\n"
    # "</" inside the JSON would end the <script> element early; "<\/" means the same to JSON.
    payload = json.dumps(rows, ensure_ascii=False).replace("</", "<\\/")
    return (template.replace("<!--@TITLE-->", html.escape(title))
            .replace("<!--@CONTENT-->", header + render_html_blocks(blocks))
            .replace("<!--@TRANSCRIPTS-->", payload))

