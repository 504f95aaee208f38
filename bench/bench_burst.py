"""A burst at the candle close, against the devnet at 100 ms network latency.

* ``burst_250_signals_ms``: 250 signals on 250 different markets (the devnet's
  bundled ACTIVE markets, then synthetic ones up to 250), submitted at once
  (``asyncio.gather`` of ``trader.submit``) until every order has been broadcast
  and the devnet accepted its transaction (each ``submit`` has answered with a
  SUBMITTED order). Milliseconds of wall time.
* ``burst_250_signals_rtt``: that figure divided by the configured round trip
  (:data:`LATENCY_MS`: every gRPC call and indexer answer is held that long), so
  it reads the same on any machine: 2 means "two round trips for the whole burst".
* ``decision_latency_us_p99_burst``: the 99th percentile, over the burst, of one
  decision from the account actor taking the signal up to its decision journaled
  (the trader's ``decision_started``/``decided`` metrics: mailbox queueing and the
  broadcast are left out, the reads the decision waits for are in). Microseconds.
* ``tick_to_trade_ms_p50_100ms``: ``tick_to_trade_ms_p50`` of ``bench_trade``
  with the devnet at the same latency: submit until the fill is visible on the
  indexer (whose answers are themselves held 100 ms).

The balance is warm at the start of the burst (TTL 5 s, the default), as it is
after the trader's last mark to market; the trader follows the venue's streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import sqlite3
import statistics
import tempfile
import time
from decimal import Decimal
from multiprocessing.connection import Connection
from pathlib import Path

import aiohttp

from bench_trade import _emit, _percentile, _settings, _signal, _tick_to_trade
from dydx_devnet.config import EngineConfig
from dydx_devnet.demo import DEMO_MNEMONIC
from dydx_devnet.indexer_limits import IndexerLimits
from dydx_devnet.markets import build_markets
from dydx_devnet.server import Devnet, DevnetConfig
from dydx_trader.adapters.dydx.network import network_profile
from dydx_trader.adapters.dydx.node import NodeGateway
from dydx_trader.app.metrics import NoMetrics
from dydx_trader.bootstrap import Trader, build_trader, signing_sender
from dydx_trader.domain.decision import Outcome
from dydx_trader.domain.order import OrderState
from dydx_trader.secrets import Secret

BURST_SIGNALS = 250
LATENCY_MS = 100
BLOCK_TIME_S = 0.5  # a block every half second: dYdX mainnet makes about one a second
FUNDS_USDC = Decimal(1_000_000)
BURST_NOTIONAL_USDC = Decimal(200)
SUBMIT_TIMEOUT_S = 600.0


class DecisionTimer(NoMetrics):
    """Records, per signal, when the actor took it up and when it was decided."""

    def __init__(self) -> None:
        self.started: dict[str, int] = {}
        self.latencies_us: list[float] = []

    def decision_started(self, signal_id: str) -> None:
        self.started[signal_id] = time.perf_counter_ns()

    def decided(self, signal_id: str, outcome: str, reason: str) -> None:
        started = self.started.pop(signal_id, None)
        if started is not None:
            self.latencies_us.append((time.perf_counter_ns() - started) / 1_000)


def burst_markets() -> tuple[tuple[str, ...], int]:
    """The bundled ACTIVE cross markets (the trader opens no isolated position), and
    how many synthetic ones make up 250."""
    active = tuple(
        ticker
        for ticker, market in build_markets().items()
        if market.spec.status == "ACTIVE" and market.spec.market_type == "CROSS"
    )
    return active[:BURST_SIGNALS], max(0, BURST_SIGNALS - len(active))


async def _burst(trader: Trader, tickers: list[str], journal: Path) -> float:
    """Milliseconds until every signal's order was broadcast and accepted."""
    await trader.sample_risk()  # the balance is warm, as after a mark to market
    signals = [_signal("BUY", ticker, BURST_NOTIONAL_USDC) for ticker in tickers]
    started = time.perf_counter()
    results = await asyncio.gather(*(trader.submit(s, SUBMIT_TIMEOUT_S) for s in signals))
    elapsed_ms = (time.perf_counter() - started) * 1_000
    failed = []
    for result in results:
        decision = result.decision
        if decision is None or decision.outcome is not Outcome.ACCEPTED:
            failed.append(f"{result.signal.market} refused: {decision and decision.reason}")
        elif result.order is None or result.order.state is not OrderState.SUBMITTED:
            failed.append(f"{result.signal.market}: {result.order and result.order.state}")
    if failed:
        raise RuntimeError(
            f"{len(failed)} of {len(results)} signals not accepted in {elapsed_ms:.0f} ms: "
            f"{failed[:3]}; rejections: {_rejections(journal)[:3]}"
        )
    return elapsed_ms


def _rejections(journal: Path) -> list[str]:
    """Why the chain rejected orders, from the journal."""
    with contextlib.closing(sqlite3.connect(journal)) as db:
        rows = db.execute(
            "SELECT o.market, t.reason FROM order_transitions t JOIN orders o "
            "USING (client_id) WHERE t.to_state = 'REJECTED'"
        ).fetchall()
    return [f"{market}: {reason}" for market, reason in rows]


class RemoteDevnet:
    """The devnet in a process of its own (the venue is remote: its CPU is not the
    trader's), with what ``bench_trade``'s tick-to-trade needs of it."""

    def __init__(self, config: DevnetConfig) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(target=_serve_devnet, args=(config, child))
        self.indexer_url = self.websocket_url = self.grpc_address = self.address = ""
        self.tickers: list[str] = []

    async def __aenter__(self) -> RemoteDevnet:
        self._process.start()
        urls, self.address, self.tickers = await asyncio.to_thread(self._pipe.recv)
        self.indexer_url, self.websocket_url, self.grpc_address = urls
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._pipe.send("stop")
        await asyncio.to_thread(self._process.join, 60)

    async def wait_blocks(self, count: int = 1) -> int:
        """Until the indexer has seen ``count`` more blocks; returns the height."""
        async with aiohttp.ClientSession() as http:
            first = height = await self._height(http)
            while height < first + count:
                await asyncio.sleep(BLOCK_TIME_S / 5)
                height = await self._height(http)
        return height

    async def _height(self, http: aiohttp.ClientSession) -> int:
        async with http.get(f"{self.indexer_url}/v4/height") as response:
            return int((await response.json())["height"])


def _serve_devnet(config: DevnetConfig, pipe: Connection) -> None:
    async def serve() -> None:
        async with Devnet(config) as devnet:
            await devnet.wait_blocks(2)
            address = devnet.fund_demo(FUNDS_USDC)
            tickers = list(devnet.engine.state.markets) if devnet.engine else []
            urls = (devnet.indexer_url, devnet.websocket_url, devnet.grpc_address)
            pipe.send((urls, address, tickers))
            await asyncio.to_thread(pipe.recv)  # until the benchmark is done

    asyncio.run(serve())


async def main() -> None:
    bundled, synthetic = burst_markets()
    engine = EngineConfig(
        seed=3, markets=bundled, synthetic_markets=synthetic, block_time_s=BLOCK_TIME_S,
        funding=False, max_short_term_orders_and_cancels_per_n_blocks=(),
    )  # fmt: skip
    config = DevnetConfig(
        indexer_port=0, grpc_port=0, engine=engine, latency_ms=LATENCY_MS,
        indexer_limits=IndexerLimits(enabled=False),  # a benchmark
    )  # fmt: skip
    metrics = DecisionTimer()
    with tempfile.TemporaryDirectory(prefix="bench-burst-") as folder:
        async with RemoteDevnet(config) as devnet:
            profile = network_profile(
                "devnet",
                indexer_url=devnet.indexer_url,
                websocket_url=devnet.websocket_url,
                grpc_address=devnet.grpc_address,
            )
            journal = Path(folder) / "journal.sqlite3"
            settings = _settings(journal)
            ttl = settings.ttl.model_copy(update={"balance_ttl_s": 5.0})
            settings = settings.model_copy(update={"ttl": ttl})
            timeout_s = settings.execution.send_timeout_s
            node = await NodeGateway.connect(profile, timeout_s=timeout_s)
            sender = await signing_sender(
                node, Secret(DEMO_MNEMONIC), devnet.address, timeout_s=timeout_s
            )
            trader = await build_trader(
                settings, profile, address=devnet.address, mnemonic=None, node=node,
                sender=sender, metrics=metrics,
            )  # fmt: skip
            await trader.start()
            try:
                burst_ms = await _burst(trader, devnet.tickers[:BURST_SIGNALS], journal)
                _emit("burst_250_signals_ms", burst_ms, "ms")
                _emit("burst_250_signals_rtt", burst_ms / LATENCY_MS, "round trips")
                p99 = _percentile(metrics.latencies_us, 0.99)
                _emit("decision_latency_us_p99_burst", p99, "us")
                await trader.wait_settled()
                # Flat again in ETH-USD: tick-to-trade starts with a BUY there.
                await trader.submit(_signal("CLOSE", "ETH-USD", BURST_NOTIONAL_USDC))
                await trader.wait_settled()
                trades = await _tick_to_trade(trader, devnet)  # type: ignore[arg-type]
                _emit("tick_to_trade_ms_p50_100ms", statistics.median(trades), "ms")
            finally:
                with contextlib.suppress(Exception):
                    await trader.stop()


if __name__ == "__main__":
    asyncio.run(main())
