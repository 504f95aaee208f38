"""The dashboard of a running paper session, in a real (headless) Chromium.

``dydx-trader run`` replays two days at a pace a person can follow; the page
must show the equity, a position and decision rows, and keep them moving
without a reload; a halt clicked without the token is refused, with it the
trading state turns HALTED and the next signal is refused as TradingHalted;
and the page logs no error to its console. Set ``DASHBOARD_SCREENSHOT`` to a
path to keep a screenshot of the page (``docs/dashboard.png`` is made so).

Needs Debian's ``chromium`` (``apt-get install chromium``; ``.ci/run`` installs
it); without it the tests are skipped, saying so.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

CHROMIUM = os.environ.get("DYDX_TRADER_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
TOKEN = "browser-test-dashboard-token-0123456789"
SECRET = "browser-test-webhook-secret-0123456789"
WAIT_MS = 90_000

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(600),
    pytest.mark.skipif(
        not Path(CHROMIUM).is_file(),
        reason=f"no Chromium at {CHROMIUM}: the dashboard's browser tests are skipped "
        "(apt-get install chromium, or set DYDX_TRADER_CHROMIUM)",
    ),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Session:
    """The running paper session and the browser page on its dashboard."""

    url: str
    folder: Path
    process: subprocess.Popen[str]
    page: Any
    console: list[str] = field(default_factory=list)

    def post_signal(self, signal_id: str) -> int:
        body = {"secret": SECRET, "id": signal_id, "market": "ETH-USD", "action": "sell",
                "confidence": "0.9", "strategy": "tv_browser"}  # fmt: skip
        request = urllib.request.Request(  # noqa: S310 - loopback, http
            self.url + "webhook/signals", data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback
                return int(answer.status)
        except urllib.error.HTTPError as error:
            return error.code


def _wait_until_serving(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        try:
            with urllib.request.urlopen(url + "healthz", timeout=2):  # noqa: S310 - loopback
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the dashboard never answered")


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    from playwright.sync_api import sync_playwright

    expect.set_options(timeout=WAIT_MS)
    folder = tmp_path_factory.mktemp("dashboard")
    port = _free_port()
    env = {**os.environ, "DYDX_TRADER_CONFIG": "", "DYDX_TRADER_WEBHOOK_SECRET": SECRET,
           "DYDX_TRADER_DASHBOARD_TOKEN": TOKEN}  # fmt: skip
    process = subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "dydx_trader", "run", "--plain", "--days", "2", "--speed", "1200",
         "--seed", "7", "--hold", "--http-port", str(port), "--run-dir", str(folder / "run")],
        cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_serving(url, process)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1440, "height": 1400})
            page.set_default_timeout(WAIT_MS)
            running = Session(url, folder / "run", process, page)
            page.on("console", lambda m: m.type == "error" and running.console.append(m.text))
            page.on("pageerror", lambda error: running.console.append(str(error)))
            page.goto(url)
            yield running
            page.close()  # before the server goes: a lost stream is not the page's error
            browser.close()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def _eventually(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_MS / 1000
    while not condition():
        assert time.monotonic() < deadline, "the page did not update"
        time.sleep(0.25)


def _text(page: Any, selector: str) -> str:
    return str(page.inner_text(selector))


def test_dashboard_when_paper_session_runs_then_equity_position_and_decisions_appear_and_update(
    session: Session,
) -> None:
    page = session.page

    expect(page.locator("#equity")).to_have_text(re.compile(r"^[0-9],[0-9]{3}\.[0-9]{2}$"))
    expect(page.locator("#positions tbody tr:not(.empty)").first).to_be_visible()
    expect(page.locator("#signals tbody tr.decision").first).to_be_visible()
    first_clock = _text(page, "#clock")
    first_rows = page.locator("#signals tbody tr.decision").count()
    _eventually(
        lambda: _text(page, "#clock") != first_clock
        and page.locator("#signals tbody tr.decision").count() > first_rows
    )
    expect(page.locator("#equity-chart canvas")).to_have_count(1)
    page.wait_for_timeout(1500)  # let the charts draw for the picture
    picture = os.environ.get("DASHBOARD_SCREENSHOT")
    page.screenshot(path=picture or str(session.folder.parent / "dashboard.png"), full_page=True)
    page.locator("#signals tbody tr.decision").first.click()

    assert page.locator("#signals tbody tr.arithmetic").count() == 1
    assert _text(page, "#link") == "live"
    assert "market time" in _text(page, "#clock")
    assert session.console == []


def test_halt_when_clicked_without_then_with_token_then_refused_then_halted_and_signal_refused(
    session: Session,
) -> None:
    page = session.page
    page.wait_for_selector("#trading-state-box.ACTIVE")

    page.fill("#token", "")
    page.click("#halt")
    expect(page.locator("#control-result")).to_contain_text("401")
    refused = _text(page, "#control-result")
    still = _text(page, "#trading-state")
    page.fill("#token", TOKEN)
    page.fill("#reason", "browser test")
    page.click("#halt")
    page.wait_for_selector("#trading-state-box.HALTED")
    status = session.post_signal("tv-browser-after-halt")
    after_halt = page.locator("#signals tbody tr.decision", has_text="tv_browser")
    expect(after_halt.filter(has_text="TradingHalted")).to_have_count(1)

    assert refused.startswith("refused (401)") and still.startswith("ACTIVE")
    assert status == 202
    assert "dashboard" in _text(page, "#trading-reason")
    with sqlite3.connect(session.folder / "journal.sqlite3") as journal:
        row = journal.execute(
            "SELECT state, authority, source, reason FROM trading_state ORDER BY id DESC LIMIT 1"
        ).fetchone()
    assert row == ("HALTED", "operator", "dashboard", "browser test")
    # Chromium logs the refused request itself (the 401 this test asked for); nothing else.
    caused = "Failed to load resource: the server responded with a status of 401 (Unauthorized)"
    assert [message for message in session.console if message != caused] == []

