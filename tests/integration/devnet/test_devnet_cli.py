"""``dydx-trader devnet`` runs in the foreground, prints a ready line and stops on Ctrl-C."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

READY = re.compile(r"devnet ready: indexer (http://127\.0\.0\.1:\d+) grpc (127\.0\.0\.1:\d+)")


def _start(*args: str) -> subprocess.Popen[str]:
    cli = Path(sys.executable).with_name("dydx-trader")
    return subprocess.Popen(  # noqa: S603 - our own console script
        [str(cli), "devnet", "--indexer-port", "0", "--grpc-port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_ready(proc: subprocess.Popen[str]) -> tuple[str, list[str]]:
    """The indexer URL from the ready line, and every line printed until then."""
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    lines = []
    match = None
    while match is None and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        match = READY.search(line)
    assert match is not None, "".join(lines)
    return match.group(1), lines


def test_devnet_command_when_started_then_ready_line_serves_and_ctrl_c_stops_cleanly() -> None:
    proc = _start("--block-time", "0.1")
    try:
        indexer_url, lines = _wait_ready(proc)
        with urllib.request.urlopen(f"{indexer_url}/v4/height", timeout=5) as response:  # noqa: S310
            assert response.status == 200
        assert any("demo account" in line for line in lines)

        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    assert proc.returncode == 0
    assert "devnet stopping" in rest
    assert "Traceback" not in rest


def test_devnet_command_when_port_taken_then_one_line_error_and_exit_1() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cli = Path(sys.executable).with_name("dydx-trader")
        proc = subprocess.run(  # noqa: S603 - our own console script
            [str(cli), "devnet", "--indexer-port", str(port), "--grpc-port", "0"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert proc.returncode == 1
    assert "devnet: cannot start" in proc.stderr
    assert "Traceback" not in proc.stderr


def _run_devnet(*args: str) -> subprocess.CompletedProcess[str]:
    cli = Path(sys.executable).with_name("dydx-trader")
    return subprocess.run(  # noqa: S603 - our own console script
        [str(cli), "devnet", "--indexer-port", "0", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        ("1e30", "must not exceed 1000000000 USDC"),
        ("1e999999", "must not exceed 1000000000 USDC"),
        ("NaN", "must be a positive number"),
        ("-5", "must be a positive number"),
        ("ten", "must be a positive number"),
        ("0.0000001", "must have at most 6 decimals"),
    ],
)
def test_devnet_command_when_fund_demo_is_refused_then_one_line_and_exit_2(
    amount: str, reason: str
) -> None:
    proc = _run_devnet("--grpc-port", "0", "--fund-demo", amount)

    assert proc.returncode == 2
    assert proc.stderr.strip() == f"devnet: --fund-demo {amount}: amount {reason}"
    assert proc.stdout == ""


def test_devnet_command_when_grpc_port_taken_then_one_line_error_and_exit_1() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _run_devnet("--grpc-port", str(port))

    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert line == f"devnet: cannot start: gRPC port {port} on 127.0.0.1 is already in use"


def test_devnet_command_when_manual_clock_then_blocks_only_on_post_in_the_datas_dates() -> None:
    proc = _start("--clock", "manual", "--from", "2025-01-06", "--days", "2")
    try:
        indexer_url, lines = _wait_ready(proc)
        clock_url = f"{indexer_url}/devnet/clock"
        with urllib.request.urlopen(clock_url, timeout=5) as response:  # noqa: S310
            before = json.loads(response.read())
        request = urllib.request.Request(  # noqa: S310 - loopback
            clock_url,
            data=json.dumps({"advance_to": "2025-01-06T01:00:00Z"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            after = json.loads(response.read())
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    assert any("manual clock : 2025-01-06T00:00:00.000Z to 2025-01-08" in line for line in lines)
    assert before["block_time"] == "2025-01-06T00:00:00.000Z"
    assert after["block_time"] == "2025-01-06T01:00:00.000Z" and after["blocks"] > 0


def test_devnet_command_when_replay_window_impossible_then_one_line_and_exit_2() -> None:
    proc = _run_devnet("--grpc-port", "0", "--clock", "manual", "--from", "2024-09-06")

    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("devnet: replay start 2024-09-06T00:00Z is too early: the data allows")


def test_devnet_command_when_latency_and_synthetic_markets_given_then_the_devnet_has_them() -> None:
    proc = _start("--latency-ms", "30", "--latency-jitter-ms", "5", "--synthetic-markets", "2")
    try:
        indexer_url, _ = _wait_ready(proc)
        with urllib.request.urlopen(f"{indexer_url}/devnet/faults", timeout=5) as response:  # noqa: S310
            faults = json.load(response)
        url = f"{indexer_url}/v4/perpetualMarkets?ticker=SYN002-USD"
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
            markets = json.load(response)["markets"]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)

    assert faults["latency"] == {"ms": 30, "jitter_ms": 5}
    assert markets["SYN002-USD"]["status"] == "ACTIVE"
