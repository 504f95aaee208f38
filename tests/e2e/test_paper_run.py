"""``dydx-trader run`` as a user runs it: a short paper session to the end of its
data, with a TradingView-style signal posted to its webhook on the way."""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from dydx_devnet.demo import DEMO_MNEMONIC

SECRET = "a-long-webhook-secret-for-the-paper-run-test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def post_signal(port: int, body: dict[str, object]) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhook/signals",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
        return int(answer.status)


def test_paper_run_when_data_ends_then_summary_chart_and_journal_written(tmp_path: Path) -> None:
    port = free_port()
    run_dir = tmp_path / "run"
    env = {**os.environ, "DYDX_TRADER_WEBHOOK_SECRET": SECRET, "DYDX_TRADER_CONFIG": ""}
    process = subprocess.Popen(  # noqa: S603 - our own CLI
        [
            sys.executable,
            "-m",
            "dydx_trader",
            "run",
            "--plain",
            "--days",
            "3",
            "--speed",
            "25000",
            "--seed",
            "3",
            "--http-port",
            str(port),
            "--run-dir",
            str(run_dir),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        status = None
        deadline = time.monotonic() + 60
        while status is None and time.monotonic() < deadline:
            try:
                status = post_signal(
                    port,
                    {
                        "secret": SECRET,
                        "id": "tv-e2e-1",
                        "market": "ETH-USD",
                        "action": "buy",
                        "confidence": "0.9",
                        "strategy": "tv_1h",
                    },
                )
            except OSError:
                time.sleep(0.2)
        output, _ = process.communicate(timeout=240)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert status == 202
    assert "session report" in output and "journal: dydx-trader journal --journal" in output
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["signals"] >= 1
    assert (run_dir / "equity.png").stat().st_size > 0
    with sqlite3.connect(run_dir / "journal.sqlite3") as journal:
        recorded = journal.execute(
            "SELECT count(*) FROM signals WHERE signal_id = 'tv-e2e-1'"
        ).fetchone()[0]
        decided = journal.execute(
            "SELECT count(*) FROM decisions WHERE payload LIKE '%tv-e2e-1%'"
        ).fetchone()[0]
    assert recorded == 1 and decided == 1
    # The run's log: every line timestamped, the webhook signal in it, no secret.
    log = (run_dir / "run.log").read_text()
    assert "paper session" in log and "tv-e2e-1" in log
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ", line) for line in log.splitlines())
    assert SECRET not in log and DEMO_MNEMONIC not in log
