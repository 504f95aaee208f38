"""Trading-loop benchmarks against the devnet running in this process.

* ``decision_latency_us_p50`` / ``decision_latency_us_p99``: one signal from
  "accepted into the flow" to signed transaction bytes ready to broadcast:
  ``await trader.preview(signal)`` (the actor's mailbox, balance, valuation,
  the decision with its sizing, checks and intent) then ``sender.sign(intent)``
  with the very order gateway the trader sends through, with warm caches: the
  balance snapshot is cached (TTL 60 s), markets are fresh, and the chain height
  is cached (the devnet is quiet during this phase: no block clock, so the
  height does not move). Microseconds over ``DECISION_SIGNALS`` signals. The
  devnet's servers idle on the same event loop, so what is timed is the
  trader's own work.
* ``tick_to_trade_ms_p50``: ``trader.submit(signal)`` (journal with fsync,
  sign, broadcast) until the fill is visible on the devnet indexer's
  ``/v4/fills``; ``TRADE_SIGNALS`` signals alternating BUY/SELL of a small
  fixed notional, blocks every ``BLOCK_TIME_S`` s (so about half a block of
  this figure is waiting for the next block).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp

from dydx_devnet.demo import DEMO_MNEMONIC
from dydx_devnet.indexer_limits import IndexerLimits
from dydx_devnet.server import Devnet, DevnetConfig
from dydx_trader.adapters.dydx.network import network_profile
from dydx_trader.adapters.dydx.node import NodeGateway
from dydx_trader.adapters.dydx.order_gateway import OrderGateway
from dydx_trader.bootstrap import Trader, build_trader, signing_sender
from dydx_trader.config import Settings
from dydx_trader.domain.account_terms import FeeTier
from dydx_trader.domain.decision import Outcome
from dydx_trader.domain.signal import HintKind, Signal, SignalSource, SizingHint
from dydx_trader.secrets import Secret

MARKETS = ("BTC-USD", "ETH-USD", "SOL-USD")
FUNDS_USDC = Decimal(100_000)
DECISION_WARMUP = 200
DECISION_SIGNALS = 3_000
TRADE_SIGNALS = 30
TRADE_NOTIONAL_USDC = Decimal(200)
BLOCK_TIME_S = 0.1
FILL_POLL_S = 0.002
FILL_DEADLINE_S = 10.0


def _emit(metric: str, value: float, unit: str) -> None:
    print(json.dumps({"metric": metric, "value": round(value, 3), "unit": unit}), flush=True)


def _settings(journal: Path) -> Settings:
    return Settings.model_validate(
        {
            "journal": {"path": str(journal)},
            # Alternating BUY / SELL of one size: each adds to or takes from the
            # position (in target mode a BUY while long would be nothing to trade).
            "execution": {"position_mode": "accumulate", "max_entries_per_market": 100},
            "validation": {
                "cooldown_s": 0,
                "rate_limit_per_minute": 100_000,
                "rate_limit_burst": 10_000,
            },
            "ttl": {"balance_ttl_s": 60, "market_ttl_s": 600, "max_oracle_age_s": 600},
        }
    )


def _signal(action: str, market: str, notional: Decimal) -> Signal:
    return Signal.create(
        market=market,
        action=action,
        confidence=Decimal("0.9"),
        created_at=datetime.now(UTC),
        source=SignalSource.CLI,
        strategy="bench",
        sizing=SizingHint(HintKind.NOTIONAL_USDC, notional),
    )


class StreamedHeights:
    """The node, except that while ``height`` is set it answers the chain height
    without a round trip, as a block-height stream would keep it."""

    def __init__(self, node: NodeGateway) -> None:
        self._node = node
        self.height: int | None = None

    async def latest_block_height(self) -> int:
        if self.height is not None:
            return self.height
        return await self._node.latest_block_height()

    async def chain_id(self) -> str:
        return await self._node.chain_id()

    async def account_numbers(self, address: str) -> tuple[int, int]:
        return await self._node.account_numbers(address)

    async def subaccount_leverage(self, address: str, subaccount_number: int) -> dict[int, int]:
        return await self._node.subaccount_leverage(address, subaccount_number)

    async def user_fee_tier(self, address: str) -> FeeTier:
        return await self._node.user_fee_tier(address)

    async def close(self) -> None:
        await self._node.close()


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _decision_latencies(
    trader: Trader, sender: OrderGateway, heights: StreamedHeights
) -> list[float]:
    """Microseconds from signal to signed bytes, caches warm."""
    heights.height = await heights.latest_block_height()  # the devnet is quiet now
    await trader.sample_risk()  # warm the balance cache
    latencies: list[float] = []
    for index in range(DECISION_WARMUP + DECISION_SIGNALS):
        action = "BUY" if index % 2 == 0 else "SELL"
        signal = _signal(action, MARKETS[index % len(MARKETS)], Decimal(500))
        started = time.perf_counter_ns()
        result = await trader.preview(signal)
        if result.intent is None:
            raise RuntimeError(f"signal refused: {result.decision and result.decision.reason}")
        signed = sender.sign(result.intent)
        elapsed = time.perf_counter_ns() - started
        if not signed.tx_bytes:
            raise RuntimeError("empty transaction")
        if index >= DECISION_WARMUP:
            latencies.append(elapsed / 1_000)
    heights.height = None  # blocks move again from here
    return latencies


async def _fill_ids(http: aiohttp.ClientSession, devnet: Devnet, address: str) -> set[str]:
    """The ids of the demo subaccount's newest ETH-USD fills on the indexer."""
    params = {"address": address, "subaccountNumber": "0", "market": "ETH-USD",
              "marketType": "PERPETUAL", "limit": "20"}  # fmt: skip
    async with http.get(f"{devnet.indexer_url}/v4/fills", params=params) as response:
        response.raise_for_status()
        body = await response.json()
    return {str(fill["id"]) for fill in body["fills"]}


async def _tick_to_trade(trader: Trader, devnet: Devnet) -> list[float]:
    """Milliseconds from submit to the fill on the indexer.

    The fills are polled over one kept-alive aiohttp session: the official
    client opens a new HTTP client per request (tens of ms), which would blur
    the measurement itself.
    """
    latencies: list[float] = []
    address = trader.status().owner.address
    async with aiohttp.ClientSession() as http:
        seen = await _fill_ids(http, devnet, address)
        for index in range(TRADE_SIGNALS):
            action = "BUY" if index % 2 == 0 else "SELL"
            signal = _signal(action, "ETH-USD", TRADE_NOTIONAL_USDC)
            started = time.perf_counter()
            result = await trader.submit(signal)
            decision = result.decision
            if decision is None or decision.outcome is not Outcome.ACCEPTED or not result.order:
                raise RuntimeError(f"signal {index} not traded: {decision and decision.reason}")
            deadline = started + FILL_DEADLINE_S
            while True:
                fills = await _fill_ids(http, devnet, address)
                if fills - seen:
                    latencies.append((time.perf_counter() - started) * 1_000)
                    seen |= fills
                    break
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"no fill for signal {index} within {FILL_DEADLINE_S} s")
                await asyncio.sleep(FILL_POLL_S)
            await devnet.wait_blocks(1)  # let the IOC settle before the next one
    return latencies


async def _blocks(devnet: Devnet) -> None:
    while True:
        await asyncio.sleep(BLOCK_TIME_S)
        await devnet.advance_blocks(1)


async def main() -> None:
    config = DevnetConfig(
        indexer_port=0, grpc_port=0, block_time=BLOCK_TIME_S, seed=3, markets=MARKETS,
        auto_blocks=False, indexer_limits=IndexerLimits(enabled=False),  # a benchmark
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-trade-") as folder:
        async with Devnet(config) as devnet:
            await devnet.advance_blocks(2)
            address = devnet.fund_demo(FUNDS_USDC)
            profile = network_profile(
                "devnet",
                indexer_url=devnet.indexer_url,
                websocket_url=devnet.websocket_url,
                grpc_address=devnet.grpc_address,
            )
            settings = _settings(Path(folder) / "journal.sqlite3")
            node = await NodeGateway.connect(profile, timeout_s=settings.execution.send_timeout_s)
            sender = await signing_sender(
                node, Secret(DEMO_MNEMONIC), address, timeout_s=settings.execution.send_timeout_s
            )
            heights = StreamedHeights(node)
            trader = await build_trader(
                settings,
                profile,
                address=address,
                mnemonic=None,
                node=heights,
                sender=sender,
                height_max_age_s=2 * BLOCK_TIME_S,
            )
            await trader.start(follow_streams=False)
            clock: asyncio.Task[Any] | None = None
            try:
                decisions = await _decision_latencies(trader, sender, heights)
                _emit("decision_latency_us_p50", statistics.median(decisions), "us")
                _emit("decision_latency_us_p99", _percentile(decisions, 0.99), "us")
                clock = asyncio.ensure_future(_blocks(devnet))
                trades = await _tick_to_trade(trader, devnet)
                _emit("tick_to_trade_ms_p50", statistics.median(trades), "ms")
            finally:
                await trader.stop()
                if clock is not None:
                    clock.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await clock


if __name__ == "__main__":
    asyncio.run(main())
