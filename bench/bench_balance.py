"""BalanceManager benchmarks.

* ``balance_snapshot_hit_us``: one ``get_snapshot()`` answered from the cache
  (inside the TTL), microseconds, median of several runs.
* ``indexer_requests_per_1000_signals``: with the default TTL (5 s), 1,000
  signals spread evenly over 5 s of injected time each ask for the balance;
  how many indexer fetches that causes.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Iterable, Mapping
from decimal import Decimal

from dydx_trader.app.balance import DEFAULT_TTL_S, BalanceManager
from dydx_trader.app.ports import MonotonicClock, SystemClock
from dydx_trader.domain.account import AccountSnapshot
from dydx_trader.domain.market import MarketSpec

ADDRESS = "dydx1xx4evg0695an5nvhnmuw9wp3umwdpsguyxzhmp"


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now


class _Accounts:
    def __init__(self) -> None:
        self.requests = 0

    async def get_account(self, address: str, subaccount_number: int) -> AccountSnapshot:
        self.requests += 1
        await asyncio.sleep(0.001)  # a network round trip, shortened
        return AccountSnapshot(
            address=address,
            subaccount_number=subaccount_number,
            usdc_balance=Decimal(10_000),
            indexer_equity=Decimal(10_000),
            indexer_free_collateral=Decimal(10_000),
            updated_at_height=100,
            latest_processed_block_height=100,
        )


class _Chain:
    async def latest_block_height(self) -> int:
        return 100


class _Markets:
    def markets(self, tickers: Iterable[str] | None = None) -> Mapping[str, MarketSpec]:
        return {}


def _manager(clock: MonotonicClock, accounts: _Accounts) -> BalanceManager:
    return BalanceManager(accounts, _Chain(), _Markets(), address=ADDRESS, clock=clock)


async def snapshot_hit_us(calls: int = 50_000, runs: int = 5) -> float:
    manager = _manager(SystemClock(), _Accounts())  # the real clock: its cost is part of a hit
    await manager.get_snapshot()
    results = []
    for _ in range(runs):
        started = time.perf_counter()
        for _ in range(calls):
            await manager.get_snapshot()
        results.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(results)


async def requests_per_signals(signals: int = 1000, span_s: float = 5.0) -> int:
    clock = _Clock()
    accounts = _Accounts()
    manager = _manager(clock, accounts)
    assert manager.ttl_s == DEFAULT_TTL_S
    for index in range(signals):
        clock.now = span_s * index / signals
        await manager.get_snapshot()
    return accounts.requests


def main() -> None:
    hit = asyncio.run(snapshot_hit_us())
    print(json.dumps({"metric": "balance_snapshot_hit_us", "value": round(hit, 3), "unit": "us"}))
    requests = asyncio.run(requests_per_signals())
    print(
        json.dumps(
            {"metric": "indexer_requests_per_1000_signals", "value": requests, "unit": "requests"}
        )
    )


if __name__ == "__main__":
    main()
