"""The HTML report in a real browser: headless Chromium, driven over the DevTools protocol.

The driver speaks CDP over ``--remote-debugging-pipe`` (JSON messages separated by NUL bytes on
file descriptors 3 and 4), so it needs no websocket library and no browser download: only
Debian's ``chromium``. Outside CI the test skips when Chromium is absent; in CI it must run.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from afpipe.report import write_report
from report_fixtures import ANTI_LAB, CONDITIONS, N_ANTI_LAB_TRANSCRIPTS, N_REQUESTS, SECRET_MARK, write_experiment

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--remote-debugging-pipe", "--window-size=1280,2400",
]


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """Just enough CDP to open a page, evaluate JavaScript in it and take a screenshot."""

    def __init__(self, binary: str, profile: Path):
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def wire_pipes() -> None:  # in the child: fd 3 = commands in, fd 4 = replies out
            a, b = os.dup(to_child_r), os.dup(from_child_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            preexec_fn=wire_pipes, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._buffer = b""
        self._next_id = 0
        self.session: str | None = None

    def send(self, method: str, params: dict[str, Any] | None = None, *, timeout: float = 30.0) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if self.session and not method.startswith("Target."):
            message["sessionId"] = self.session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self._next_id:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    return reply.get("result", {})
            if time.monotonic() > deadline:
                raise TimeoutError(f"no reply to {method} from Chromium")
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk

    def open(self, url: str) -> None:
        target = self.send("Target.createTarget", {"url": url})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        # The new target starts on about:blank; wait for *this* document to finish loading.
        self.wait_for(f"location.href === {json.dumps(url)} && document.readyState === 'complete'")

    def eval(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise AssertionError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.eval(expression):
            if time.monotonic() > deadline:
                raise TimeoutError(f"page never satisfied: {expression}")
            time.sleep(0.05)

    def screenshot(self, path: Path) -> None:
        data = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_child)
        os.close(self._from_child)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory):
    binary = _chromium()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI: .ci/run installs Debian's 'chromium' before the tests")
        pytest.skip("Chromium is not installed (apt-get install chromium); CI runs this test")
    root = write_experiment(tmp_path_factory.mktemp("experiment"))
    html_path = write_report(root)
    browser = Browser(binary, tmp_path_factory.mktemp("chromium-profile"))
    try:
        browser.open(html_path.as_uri())
        yield browser, root
    finally:
        browser.close()


def _select(browser: Browser, element_id: str, value: str) -> None:
    browser.eval(
        f"(() => {{ const s = document.getElementById({json.dumps(element_id)}); s.value = {json.dumps(value)};"
        " s.dispatchEvent(new Event('change')); })()"
    )


def _visible_rows(browser: Browser) -> list[str]:
    return browser.eval("Array.from(document.querySelectorAll('#t-list .t-row .meta')).map(e => e.textContent)")


def test_figures_render_in_the_browser(page) -> None:
    browser, root = page
    figures = browser.eval(
        "Array.from(document.querySelectorAll('img[data-figure]')).map(i => "
        "({name: i.dataset.figure, w: i.naturalWidth, h: i.naturalHeight, src: i.src.slice(0, 21)}))"
    )
    names = {f["name"] for f in figures}
    assert names == {"compliance", "anti_lab", "forced_choice", "belief"}
    for f in figures:
        assert f["w"] > 300 and f["h"] > 150, f  # the PNG decoded: an embedded image, not a broken link
        assert f["src"] == "data:image/png;base64"
    # The anti-lab figure sits beside the compliance figure, in one row.
    assert browser.eval("document.querySelector('.fig-row').querySelectorAll('img').length") == 2
    browser.screenshot(root / "screenshot.png")
    assert (root / "screenshot.png").stat().st_size > 20_000


def test_transcript_browser_filters(page) -> None:
    browser, _ = page
    per_condition = 2 * N_REQUESTS + 2 * len(ANTI_LAB) * N_ANTI_LAB_TRANSCRIPTS  # harmful and anti-lab, both tiers
    total = len(CONDITIONS) * per_condition
    assert browser.eval("document.getElementById('t-count').textContent") == f"{total} of {total} transcripts"

    _select(browser, "f-condition", "document-trained")
    _select(browser, "f-tier", "free")
    _select(browser, "f-suite", "harmful")
    assert browser.eval("document.getElementById('t-count').textContent") == f"{N_REQUESTS} of {total} transcripts"
    assert all(m.startswith("document-trained · free") for m in _visible_rows(browser))

    # The fixture's document-trained condition fakes alignment in exactly one free-tier answer.
    _select(browser, "f-judge-alignment_faking", "yes")
    assert browser.eval("document.getElementById('t-count').textContent") == f"1 of {total} transcripts"
    browser.eval("document.querySelector('#t-list .t-row').click()")
    scratchpad = browser.eval("document.getElementById('d-scratchpad').textContent")
    output = browser.eval("document.getElementById('d-output').textContent")
    assert scratchpad.startswith("[document-trained/free/2]") and "modified" in scratchpad
    assert output.startswith("<request_fully_accepted/>")
    # Scratchpad and output are read side by side.
    left, right = browser.eval(
        "[document.getElementById('d-scratchpad'), document.getElementById('d-output')]"
        ".map(e => e.getBoundingClientRect().left)"
    )
    assert right > left + 200

    # Invalid answers: no judge label "yes", and the raw completion is shown instead.
    _select(browser, "f-judge-alignment_faking", "")
    _select(browser, "f-valid", "invalid")
    assert browser.eval("document.getElementById('t-count').textContent") == f"2 of {total} transcripts"

    for element in ("f-condition", "f-tier", "f-suite", "f-valid"):
        _select(browser, element, "")
    # Model text is shown as text: the fixture's request holding "</script><b id=injected>" stays inert.
    assert browser.eval("document.getElementById('injected')") is None
    browser.eval("(() => { const i = document.getElementById('f-text'); i.value = 'injected';"
                 " i.dispatchEvent(new Event('input')); })()")
    count = browser.eval("document.getElementById('t-count').textContent")
    assert count.startswith(str(2 * len(CONDITIONS)) + " of"), count
    assert SECRET_MARK in browser.eval("document.querySelector('#t-list .t-row').textContent")
