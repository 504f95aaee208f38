"""``dydx-trader devnet`` runs in the foreground, prints a ready line and stops on Ctrl-C."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

READY = re.compile(r"devnet ready: indexer (http://127\.0\.0\.1:\d+) grpc (127\.0\.0\.1:\d+)")


def test_devnet_command_when_started_then_ready_line_serves_and_ctrl_c_stops_cleanly() -> None:
    cli = Path(sys.executable).with_name("dydx-trader")
    proc = subprocess.Popen(  # noqa: S603 - our own console script
        [str(cli), "devnet", "--indexer-port", "0", "--grpc-port", "0", "--block-time", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
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
        indexer_url = match.group(1)
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
