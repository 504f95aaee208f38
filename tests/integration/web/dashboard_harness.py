"""The operator's server over loopback, in front of a trader built on the kit's
fake exchange: the very server ``dydx-trader run`` serves."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import aiohttp

from dydx_trader.adapters.journal import Journal
from dydx_trader.adapters.metrics import PrometheusMetrics
from dydx_trader.bootstrap import Trader, build_trader
from dydx_trader.config import Settings
from dydx_trader.domain.signal import Signal, SignalSource
from dydx_trader.secrets import Secret
from dydx_trader.web.auth import DashboardToken
from dydx_trader.web.server import OperatorServer
from dydx_trader.web.source import DashboardSource
from kit.clock import T0, FakeClock
from kit.exchange import FakeExchange
from kit.markets import make_market
from kit.trader import UNUSED_PROFILE, kit_settings

TOKEN = "a-dashboard-token-for-the-tests-0123456789"
ETH = make_market("ETH-USD", oracle_price=Decimal(2000), imf=Decimal("0.05"), clob_pair_id=1)


@dataclass
class Dashboard:
    """A served dashboard: its URL, an HTTP session, the trader (not started), the
    source and metrics behind the server, and the trader's settings."""

    url: str
    http: aiohttp.ClientSession
    trader: Trader
    source: DashboardSource
    metrics: PrometheusMetrics
    settings: Settings
    clock: FakeClock
    server: OperatorServer

    async def get(self, path: str) -> tuple[int, str]:
        async with self.http.get(self.url + path.lstrip("/")) as answer:
            return answer.status, await answer.text()

    async def control(
        self, state: str, *, token: str | None = TOKEN, headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        body = f'{{"state": "{state}", "reason": "test"}}'
        async with self.http.post(self.url + "api/trading-state", data=body,
                                  headers=sent) as answer:  # fmt: skip
            return answer.status, await answer.text()


def loopback() -> socket.socket:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.setblocking(False)
    return listener


def buy(signal_id: str, market: str = "ETH-USD", action: str = "BUY") -> Signal:
    return Signal.create(id=signal_id, market=market, action=action, confidence=Decimal(1),
                         created_at=T0, source=SignalSource.CLI, strategy="test")  # fmt: skip


@asynccontextmanager
async def served_dashboard(
    tmp_path: Path, exchange: FakeExchange, *, open_reads: bool | None = None
) -> AsyncIterator[Dashboard]:
    """The server first, then a trader built (not started) with the server's metrics;
    ``open_reads=False`` serves it as off loopback (every view needs the token)."""
    settings = kit_settings(tmp_path / "journal.sqlite3")
    clock = FakeClock()
    path = settings.journal.resolved_path()
    journal = Journal.open(path, fsync=False, clock=clock.now)
    source = DashboardSource(journal, clock.now, mode="paper", session_start=None, step_s=3600)
    metrics = PrometheusMetrics(source.scrape_figures)
    listener = loopback()
    token = DashboardToken(Secret(TOKEN), "test", False)
    server = await OperatorServer.start(
        listener, source, token, metrics, webhook=True, open_reads=open_reads
    )
    trader = await build_trader(
        settings, UNUSED_PROFILE, address=exchange.address, mnemonic=None, clock=clock,
        indexer=exchange, node=exchange, sender=exchange,
        journal=Journal.open(path, fsync=False, clock=clock.now),
        settle_poll_s=0.001, metrics=metrics,
    )  # fmt: skip
    source.trader = trader
    try:
        async with aiohttp.ClientSession() as http:
            yield Dashboard(server.url, http, trader, source, metrics, settings, clock, server)
    finally:
        await server.close()
        await trader.stop()
        journal.close()
        listener.close()
