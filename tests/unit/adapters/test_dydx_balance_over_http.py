"""BalanceManager over the real IndexerGateway and loopback HTTP: counted requests,
and every indexer failure ending in a refusal, never an old balance."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from decimal import Decimal

import pytest
from dydx_payloads import load_fixture
from fake_indexer import FakeIndexer, Reply

from dydx_trader.adapters.dydx.indexer import IndexerGateway
from dydx_trader.adapters.dydx.retry import RetryPolicy
from dydx_trader.app.balance import BalanceManager
from dydx_trader.domain.errors import StaleAccountData
from dydx_trader.domain.market import MarketSpec

ADDRESS = "dydx1n56z5fhmemtffzkt2eqyf9kuc7ycjfs86mvqy7"
PATH = f"/v4/addresses/{ADDRESS}/subaccountNumber/0"
FAST = RetryPolicy(max_attempts=3, max_total_s=2.0, base_delay_s=0.01, max_delay_s=0.02)


class _Chain:
    def __init__(self, height: int) -> None:
        self.height = height

    async def latest_block_height(self) -> int:
        return self.height


class _NoMarkets:
    def markets(self, tickers: Iterable[str] | None = None) -> Mapping[str, MarketSpec]:
        return {}


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now


def _body(equity: str = "45.201296") -> object:
    body = load_fixture("indexer_http/nt2025_http_get_subaccount.json")
    body["subaccount"]["equity"] = equity
    return body


def _manager(url: str, clock: _Clock | None = None, chain_height: int = 66624141) -> BalanceManager:
    return BalanceManager(
        IndexerGateway(url, timeout_s=1.0, retry=FAST),
        _Chain(chain_height),
        _NoMarkets(),
        address=ADDRESS,
        clock=clock or _Clock(),
    )


async def test_get_snapshot_when_1000_concurrent_callers_then_one_http_request() -> None:
    async with FakeIndexer() as indexer:
        indexer.script(PATH, Reply(body=_body(), delay_s=0.05))
        manager = _manager(indexer.url)
        snapshots = await asyncio.gather(*(manager.get_snapshot() for _ in range(1000)))
    assert indexer.count(PATH) == 1
    assert {s.usdc_balance for s in snapshots} == {Decimal("45.201296")}


async def test_get_snapshot_when_429_persists_after_ttl_then_refused_not_old_balance() -> None:
    clock = _Clock()
    async with FakeIndexer() as indexer:
        indexer.script(PATH, Reply(body=_body()))
        manager = _manager(indexer.url, clock)
        await manager.get_snapshot()
        clock.now += 6
        indexer.script(PATH, Reply(429, {"errors": [{"msg": "Too many requests"}]}))
        with pytest.raises(StaleAccountData, match="429"):
            await manager.get_snapshot()
    assert indexer.count(PATH) == 1 + FAST.max_attempts


async def test_get_snapshot_when_payload_malformed_then_refused_naming_the_field() -> None:
    async with FakeIndexer() as indexer:
        indexer.script(PATH, Reply(body=_body(equity="Infinity")))
        with pytest.raises(StaleAccountData, match="'equity'") as raised:
            await _manager(indexer.url).get_snapshot()
    assert raised.value.numbers["cause"] == "MalformedPayload"


async def test_get_snapshot_when_indexer_held_back_then_refused_with_the_lag() -> None:
    async with FakeIndexer() as indexer:
        indexer.script(PATH, Reply(body=_body()))
        with pytest.raises(StaleAccountData, match="50 blocks behind"):
            await _manager(indexer.url, chain_height=66624141 + 50).get_snapshot()
