"""``dydx-trader run --hold`` as an operator watches it: /readyz turns ready once the
replay runs, /metrics shows the trading with non-zero values, and after the data
ends the dashboard stays up (not ready: the replay has ended) until Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]
SECRET = "metrics-test-webhook-secret-0123456789"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - loopback
            return int(answer.status), answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _until(what: str, condition: Callable[[], bool], process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 240
    while not condition():
        assert process.poll() is None, f"stopped before {what}: {process.communicate()[0]}"
        assert time.monotonic() < deadline, f"never {what}"
        time.sleep(0.2)


def _metrics(text: str) -> dict[str, float]:
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


def _ready(url: str) -> bool:
    try:
        return _get(url + "readyz")[0] == 200
    except OSError:
        return False


def test_run_hold_when_paper_session_then_ready_metrics_then_held_until_interrupted(
    tmp_path: Path,
) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "DYDX_TRADER_CONFIG": "", "DYDX_TRADER_WEBHOOK_SECRET": SECRET}
    env.pop("DYDX_TRADER_DASHBOARD_TOKEN", None)
    process = subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "dydx_trader", "run", "--plain", "--days", "2", "--speed", "5000",
         "--seed", "3", "--hold", "--http-port", str(port), "--run-dir", str(tmp_path / "run")],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        _until("ready", lambda: _ready(url), process)
        body = json.dumps({"secret": SECRET, "id": "tv-metrics-1", "market": "ETH-USD",
                           "action": "buy", "confidence": "0.9"}).encode()  # fmt: skip
        request = urllib.request.Request(url + "webhook/signals", data=body, method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback
            assert answer.status == 202
        seen: dict[str, float] = {}

        def traded() -> bool:
            seen.update(_metrics(_get(url + "metrics")[1]))
            return any(k.startswith('dydx_trader_orders_total{state="FILLED"}') for k in seen)

        _until("a filled order in /metrics", traded, process)
        _until("the replay's end", lambda: not _ready(url), process)
        held, readiness = _get(url + "readyz")
        page, html = _get(url)
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=120)

    assert process.returncode == 0, output
    assert seen["dydx_trader_equity_usdc"] > 0 and seen["dydx_trader_free_collateral_usdc"] > 0
    assert seen["dydx_trader_decision_latency_seconds_count"] >= 1
    assert seen["dydx_trader_tick_to_trade_seconds_count"] >= 1
    assert seen['dydx_trader_webhook_requests_total{status="202"}'] == 1
    assert seen['dydx_trader_kill_switch_state{state="ACTIVE"}'] == 1
    assert seen["dydx_trader_balance_upstream_requests_total"] > 0
    assert any(k.startswith("dydx_trader_decisions_total{") for k in seen)
    assert held == 503 and "the replay is not running" in readiness
    assert page == 200 and "<title>dydx-trader</title>" in html
    token_file = tmp_path / "run" / "dashboard.token"
    assert f"dashboard: {url}" in output
    assert token_file.read_text().strip() in output  # shown once, on the terminal
    assert token_file.read_text().strip() not in (tmp_path / "run" / "run.log").read_text()
    assert "the dashboard stays at" in output
