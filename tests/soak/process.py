"""The trader as ``dydx-trader run --network testnet`` in a process of its own.

It is pointed at the soak's devnet through the config's network overrides,
signs with the devnet's public demo mnemonic, and takes signals on its webhook
only. A crash is a real ``kill -9``; a clean stop a real SIGTERM. Its output
goes to a file that the soak scans for tracebacks. ``SOAK_TRADER_SRC`` runs
another checkout's trader (its ``src`` folder) against the same devnet: how
the scenarios were shown to fail on a178e09.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import aiohttp

from dydx_devnet.demo import DEMO_ADDRESS, DEMO_MNEMONIC
from dydx_devnet.server import Devnet
from soak.schedule import Ask
from soak.signals import WEBHOOK_SECRET, post

STOP_S = 180.0
START_S = 120.0
# What a trader must never print: a crash that nothing handled.
UNHANDLED = ("Traceback (most recent call last)", "Task exception was never retrieved")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def toml(settings: dict[str, dict[str, Any]], devnet: Devnet) -> str:
    """The config file: no strategies (the soak sends every signal), the devnet as testnet."""
    sections: dict[str, dict[str, Any]] = {
        "network": {
            "name": "testnet",
            "indexer_url": devnet.indexer_url,
            "websocket_url": devnet.websocket_url,
            "grpc_address": devnet.grpc_address,
        },
        **settings,
    }
    sections["account"] = {"address": DEMO_ADDRESS, **settings.get("account", {})}
    lines = ["strategies = []"]
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {_value(value)}" for key, value in values.items())
    return "\n".join(lines) + "\n"


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


class ProcessTrader:
    """``dydx-trader run`` on ``config`` (a TOML file); each :meth:`start` is a new process."""

    def __init__(self, config: Path, folder: Path, *, data_home: Path | None = None) -> None:
        self._config = config
        self._folder = folder
        # XDG_DATA_HOME: where the instance locks live (one per machine user).
        self._data_home = data_home or folder / "data"
        self._process: asyncio.subprocess.Process | None = None
        self._session: aiohttp.ClientSession | None = None
        self._log: Any = None
        self.port = free_port()
        self.logs: list[Path] = []

    @property
    def running(self) -> bool:
        return self._process is not None

    @property
    def exited(self) -> int | None:
        """The exit code when the process ended without being asked to, else None."""
        process = self._process
        return None if process is None else process.returncode

    def environment(self) -> dict[str, str]:
        env = {
            **os.environ,
            "XDG_DATA_HOME": str(self._data_home),
            "DYDX_TRADER_MNEMONIC": DEMO_MNEMONIC,
            "DYDX_TRADER_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "DYDX_TRADER_CONFIG": "",
        }
        other = os.environ.get("SOAK_TRADER_SRC")
        if other:
            env["PYTHONPATH"] = other + os.pathsep + env.get("PYTHONPATH", "")
        return env

    async def start(self) -> None:
        log = self._folder / f"run-{len(self.logs) + 1}.log"
        self.logs.append(log)
        self._log = log.open("wb")
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "dydx_trader", "run", "--network", "testnet", "--plain",
            "--config", str(self._config), "--http-port", str(self.port),
            "--run-dir", str(self._folder / "report"),
            cwd=self._folder, env=self.environment(),
            stdout=self._log, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        self._session = aiohttp.ClientSession()
        await self._ready()

    async def _ready(self) -> None:
        """Until the trader has reconciled (its stop handler is in place by then), or
        the process ends.

        The operator's server answers before the trader starts (``/readyz`` says
        why it is not ready); signals posted before the webhook is attached wait
        for it. Only the ``reconciled`` check counts: a halted trader is not
        "ready" but is running."""
        assert self._process is not None and self._session is not None
        url = f"http://127.0.0.1:{self.port}/readyz"
        deadline = asyncio.get_running_loop().time() + START_S
        while self._process.returncode is None:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError, ValueError):
                async with self._session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as answer:
                    checks = (await answer.json()).get("checks", [])
                    if any(c.get("name") == "reconciled" and c.get("ok") for c in checks):
                        return
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"the trader did not reconcile within {START_S:g} s")
            await asyncio.sleep(0.05)

    async def send(self, ask: Ask, source: str) -> str:
        if self._process is None or self._session is None:
            return "not running"
        if self._process.returncode is not None:
            return f"exited {self._process.returncode}"
        return await post(self._session, self.port, ask)

    async def kill(self) -> None:
        """kill -9: nothing runs after it, nothing is flushed."""
        process = self._process
        if process is not None and process.returncode is None:
            process.send_signal(signal.SIGKILL)
        await self._reap()

    async def stop(self) -> int | None:
        """SIGTERM and wait; the exit code (None when it was not running)."""
        process = self._process
        if process is None:
            return None
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        return await self._reap()

    async def _reap(self) -> int | None:
        process, self._process = self._process, None
        code = None
        if process is not None:
            code = await asyncio.wait_for(process.wait(), STOP_S)
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._log is not None:
            self._log.close()
            self._log = None
        return code

    def unhandled(self) -> list[str]:
        """Lines of every log so far that show a crash nothing handled."""
        found = []
        for log in self.logs:
            text = log.read_text(errors="replace") if log.exists() else ""
            found.extend(line for line in text.splitlines() if any(u in line for u in UNHANDLED))
        return found

    def tail(self, lines: int = 15) -> str:
        if not self.logs or not self.logs[-1].exists():
            return ""
        return "\n".join(self.logs[-1].read_text(errors="replace").splitlines()[-lines:])
