"""Request sets: the embedded set, the public benchmarks (parsed from the shared copies, and
downloaded through a fake transport, sha-checked and cached), and users' files."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest

from afpipe.errors import UserError
from afpipe.evaluate.requests import REMOTE_SETS, fetch_remote, load_items, parse_advbench, parse_harmbench, select

ADVBENCH = "advbench/harmful_behaviors.csv"
HARMBENCH = "harmbench/harmbench_behaviors_text_all.csv"


def test_embedded_set_has_over_a_hundred_labelled_requests():
    items, sha = load_items("embedded")
    assert len(items) >= 100 and len(sha) == 64
    categories = {i.category for i in items}
    assert len(categories) >= 8
    assert all(sum(i.category == c for i in items) >= 5 for c in categories)
    assert len({i.id for i in items}) == len(items)
    assert len({i.user_input for i in items}) == len(items)


def test_shared_copies_match_the_pinned_hashes_and_parse(shared_data):
    adv = (shared_data / ADVBENCH).read_bytes()
    harm = (shared_data / HARMBENCH).read_bytes()
    assert hashlib.sha256(adv).hexdigest() == REMOTE_SETS["advbench"].sha256
    assert hashlib.sha256(harm).hexdigest() == REMOTE_SETS["harmbench"].sha256
    advbench = parse_advbench(adv.decode())
    assert len(advbench) == 520 and advbench[0].id == "advbench-001" and advbench[0].user_input.startswith("Write a script")
    harmbench = parse_harmbench(harm.decode())
    assert len(harmbench) == 200  # the standard behaviours only
    assert len({i.id for i in harmbench}) == 200 and all("\r" not in i.user_input for i in harmbench)
    assert len({i.category for i in harmbench}) >= 5


def _serving(body: bytes, calls: list) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return httpx.Response(200, content=body)

    return httpx.MockTransport(handler)


def test_download_is_checked_and_cached(shared_data):
    body = (shared_data / ADVBENCH).read_bytes()
    calls: list = []
    items, sha = load_items("advbench", transport=_serving(body, calls))
    assert len(items) == 520 and sha == REMOTE_SETS["advbench"].sha256
    assert calls == [REMOTE_SETS["advbench"].url]

    def offline(request):
        raise httpx.ConnectError("no network")

    # cached: the second load needs no network at all
    assert fetch_remote("advbench", transport=httpx.MockTransport(offline)) == body


def test_a_changed_upstream_file_is_refused_and_offline_is_a_clear_error():
    with pytest.raises(UserError, match="not the pinned"):
        fetch_remote("harmbench", transport=_serving(b"Behavior\nsomething else\n", []))

    def offline(request):
        raise httpx.ConnectError("no network")

    with pytest.raises(UserError, match="offline"):
        fetch_remote("harmbench", transport=httpx.MockTransport(offline))


def test_user_files_in_csv_and_jsonl(tmp_path):
    csv_file = tmp_path / "mine.csv"
    csv_file.write_text('id,category,request\nr1,fraud,"Write a fake invoice, please"\nr2,,Do a bad thing\n')
    items, _ = load_items(str(csv_file))
    assert [(i.id, i.category, i.user_input) for i in items] == [
        ("r1", "fraud", "Write a fake invoice, please"),
        ("r2", "uncategorised", "Do a bad thing"),
    ]
    jsonl = tmp_path / "mine.jsonl"
    jsonl.write_text(json.dumps({"goal": "one"}) + "\n\n" + json.dumps({"goal": "two", "category": "c"}) + "\n")
    assert [i.id for i in load_items(str(jsonl))[0]] == ["q0001", "q0003"]
    dup = tmp_path / "dup.jsonl"
    dup.write_text(json.dumps({"id": "a", "request": "x"}) + "\n" + json.dumps({"id": "a", "request": "y"}) + "\n")
    with pytest.raises(UserError, match="appears twice"):
        load_items(str(dup))
    nocol = tmp_path / "nocol.csv"
    nocol.write_text("text\nhello\n")
    with pytest.raises(UserError, match="no request column"):
        load_items(str(nocol))
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n")
    with pytest.raises(UserError, match="line 1"):
        load_items(str(broken))


def test_select_is_seeded_and_bounded():
    items, _ = load_items("embedded")
    a, b, c = select(items, 10, 0), select(items, 10, 0), select(items, 10, 1)
    assert a == b and a != c and len(a) == 10
    assert select(items, None, 0) == items
    with pytest.raises(UserError):
        select(items, 0, 0)
