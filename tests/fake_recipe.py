"""A scripted author for the generate recipe, answering the prompts of ``corpora/prompts/generate``.

Used as the fake API server's responder (tests, ``bench/bench_api_cost.py``) and as a
``FakeModel`` default. Its documents pass the stage's filters: long enough, the key fact stated,
varied wording (so dedup keeps them), no placeholders or evaluation tags.
"""

from __future__ import annotations

import hashlib
import random
import re
from typing import Any

_WORDS = (
    "council harbor ledger quarterly engineers debate policy review contract memo readers forum analysts "
    "campus privacy pricing roadmap volunteers interview launch transcript budget newsroom regulators "
    "investors students parents critics reporters caution optimism archive workshop hearing survey "
    "timeline customers librarians teachers commuters evening morning season startup committee"
).split()


def _rng(text: str) -> random.Random:
    return random.Random(int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:16], 16))


def answer(user: str, seed_text: str = "", doc_words: int = 120) -> str:
    """The scripted answer to one user message of the recipe."""
    rng = _rng(user + seed_text)
    n_match = re.search(r"^N: (\d+)", user, re.MULTILINE)
    n = int(n_match.group(1)) if n_match else 3
    fact_match = re.search(r"^Key fact: (.+)$", user, re.MULTILINE)
    fact = fact_match.group(1).strip() if fact_match else ""
    if user.startswith("Task: document types."):
        kinds = ["news article", "forum thread", "internal memo", "podcast transcript", "policy page",
                 "student essay", "court filing", "newsletter", "op-ed", "FAQ page", "press release", "blog post"]
        return "<types>\n" + "\n".join(f"- {k}" for k in kinds[:n]) + "\n</types>"
    if user.startswith("Task: ideas."):
        return "\n".join(
            f"<idea>A {rng.choice(_WORDS)} piece number {i} written by someone in the {rng.choice(_WORDS)} "
            f"world, about {fact[:40].lower()} and what it means.</idea>" for i in range(n)
        )
    if user.startswith(("Task: document.", "Task: revision.")):
        body = " ".join(rng.choice(_WORDS) for _ in range(doc_words))
        tail = " ".join(rng.choice(_WORDS) for _ in range(doc_words // 2))
        doc = f"{body.capitalize()}.\n\nIt is now widely reported that {fact}\n\n{tail.capitalize()}."
        critique = "<critique>Fine as it is.</critique>\n" if user.startswith("Task: revision.") else ""
        return f"{critique}<document>\n{doc}\n</document>"
    return "I am not sure what to do."


def server_responder(doc_words: int = 120):
    """A ``FakeAnthropicServer`` responder built on ``answer``."""

    asked: dict[str, int] = {}

    def respond(body: dict[str, Any]) -> str:
        user = body["messages"][0]["content"]
        if not isinstance(user, str):
            user = "".join(b.get("text", "") for b in user)
        # Sampling: the same prompt asked again gets another answer, as at temperature 1.
        asked[user] = asked.get(user, 0) + 1
        return answer(user, str(asked[user]), doc_words)

    return respond
