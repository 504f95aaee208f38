"""``dydx-trader run`` as real processes on one subaccount of a loopback devnet (review F2, F10).

* A second ``run`` on the same network, address and subaccount refuses to
  start with one line naming the holder (pid, journal), whether it shares the
  journal or has its own; it creates no journal.
* A webhook signal is journaled before its 202, so after a restart a replayed
  id is a 409, and the signal is decided exactly once.
* Each session is a ``runs`` row that ends ``clean``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest

from dydx_devnet.demo import DEMO_ADDRESS, DEMO_MNEMONIC
from dydx_devnet.server import Devnet
from dydx_trader.adapters.instance_lock import LockHolder, journal_holders
from dydx_trader.adapters.journal import Journal, RunStatus

pytestmark = pytest.mark.timeout(240)
SECRET = "a-long-webhook-secret-for-the-run-lock-test"
START_S = 120.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Runs:
    """Starts ``dydx-trader run --network testnet`` against the test's devnet."""

    def __init__(self, devnet: Devnet, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.locks = tmp_path / "data" / "dydx-trader" / "locks"
        self.env = {
            **os.environ,
            "XDG_DATA_HOME": str(tmp_path / "data"),
            "DYDX_TRADER_MNEMONIC": DEMO_MNEMONIC,
            "DYDX_TRADER_WEBHOOK_SECRET": SECRET,
            "DYDX_TRADER_CONFIG": "",
        }
        self.devnet = devnet

    def config(self, journal: Path) -> Path:
        path = self.tmp_path / f"{journal.stem}.toml"
        path.write_text(
            f'[network]\nname = "testnet"\nindexer_url = "{self.devnet.indexer_url}"\n'
            f'websocket_url = "{self.devnet.websocket_url}"\n'
            f'grpc_address = "{self.devnet.grpc_address}"\n'
            f'[account]\naddress = "{DEMO_ADDRESS}"\n'
            f'[journal]\npath = "{journal}"\n'
        )
        return path

    async def start(self, journal: Path, port: int) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "dydx_trader", "run", "--network", "testnet", "--plain",
            "--config", str(self.config(journal)), "--http-port", str(port),
            "--run-dir", str(self.tmp_path / f"report-{port}"),
            cwd=self.tmp_path, env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip

    async def holding(self, journal: Path, process: asyncio.subprocess.Process) -> LockHolder:
        """Wait until ``process`` holds the subaccount's lock."""
        async with asyncio.timeout(START_S):
            while True:
                assert process.returncode is None, await _output(process)
                holders = journal_holders(journal, self.locks)
                if holders:
                    return holders[0]
                await asyncio.sleep(0.2)

    async def listening(self, port: int, process: asyncio.subprocess.Process) -> None:
        async with asyncio.timeout(START_S):
            while True:
                assert process.returncode is None, await _output(process)
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.close()
                    return
                except OSError:
                    await asyncio.sleep(0.2)


async def _output(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    return (await process.stdout.read()).decode(errors="replace")


async def _stop(process: asyncio.subprocess.Process) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    return int(process.returncode or 0), output.decode(errors="replace")


def _post(port: int, body: dict[str, object]) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhook/signals", data=json.dumps(body).encode(), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.slow
async def test_run_when_second_trader_on_same_subaccount_then_refuses_naming_the_holder(
    devnet: Devnet, tmp_path: Path
) -> None:
    devnet.fund_demo(Decimal(10_000))
    runs = Runs(devnet, tmp_path)
    journal, own_journal = tmp_path / "a.sqlite3", tmp_path / "b.sqlite3"
    first = await runs.start(journal, _free_port())
    try:
        holder = await runs.holding(journal, first)
        assert holder.pid == first.pid

        for second_journal in (own_journal, journal):  # its own journal, then a shared one
            second = await runs.start(second_journal, _free_port())
            output, _ = await asyncio.wait_for(second.communicate(), timeout=START_S)
            text = output.decode(errors="replace").strip()

            assert second.returncode == 1, text  # refused (exit 1), as every refusal
            refusal = text.splitlines()[-1]
            assert "InstanceLocked" in refusal and f"testnet {DEMO_ADDRESS}/0" in refusal
            assert f"pid {first.pid}" in refusal and f"journal {journal}" in refusal
        assert not own_journal.exists()
    finally:
        code, output = await _stop(first)
    assert code == 0, output
    with Journal.open(journal, read_only=True) as opened:
        assert [run.status for run in opened.runs()] == [RunStatus.CLEAN]


@pytest.mark.slow
async def test_run_when_restarted_then_webhook_replay_is_409_and_decided_once(
    devnet: Devnet, tmp_path: Path
) -> None:
    devnet.fund_demo(Decimal(10_000))
    runs = Runs(devnet, tmp_path)
    journal = tmp_path / "journal.sqlite3"
    alert = {"secret": SECRET, "id": "tv-restart-1", "market": "ETH-USD", "action": "buy",
             "confidence": "0.9", "strategy": "tv_1h"}  # fmt: skip
    answers = []
    for _ in range(2):  # the session, then the same session restarted
        port = _free_port()
        process = await runs.start(journal, port)
        try:
            await runs.listening(port, process)
            answers.append(await asyncio.to_thread(_post, port, alert))
        finally:
            code, output = await _stop(process)
        assert code == 0, output

    assert answers == [202, 409]
    with Journal.open(journal, read_only=True) as opened:
        decided = [r for r in opened.decision_reports(50) if r.decision.signal_id == "tv-restart-1"]
        assert len(decided) == 1
        assert [run.status for run in opened.runs()] == [RunStatus.CLEAN, RunStatus.CLEAN]
