"""`dydx-trader serve-webhook` as a real process on a loopback port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

SECRET_TEXT = "process-test-secret-9b1c2d3e"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _post(port: int, body: dict[str, object]) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhook/signals",
        data=json.dumps(body).encode(),
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture
def serving() -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = _free_port()
    env = {**os.environ, "DYDX_TRADER_WEBHOOK_SECRET": SECRET_TEXT}
    proc = subprocess.Popen(  # noqa: S603 - our own CLI, fixed interpreter
        [sys.executable, "-c", "from dydx_trader.cli.app import main; main()",
         "serve-webhook", "--http-port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                time.sleep(0.1)
        else:
            pytest.fail("serve-webhook did not start listening within 30 s")
        yield proc, port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.mark.slow
def test_serve_webhook_when_alert_posted_then_prints_signal_and_verdict_not_secret(
    serving: tuple[subprocess.Popen[str], int],
) -> None:
    proc, port = serving
    status = _post(
        port,
        {"secret": SECRET_TEXT, "id": "tv-1", "market": "BTC-USD", "action": "buy",
         "confidence": 0.9},
    )  # fmt: skip
    assert status == 202
    assert _post(port, {"secret": "wrong-secret-wrong", "market": "BTC-USD", "action": "buy"}) == (
        401
    )
    proc.terminate()
    output, _ = proc.communicate(timeout=10)
    printed = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert len(printed) == 1
    assert printed[0]["signal"]["id"] == "tv-1"
    assert printed[0]["accepted"] is True
    assert SECRET_TEXT not in output
    assert "/webhook/signals" in output
