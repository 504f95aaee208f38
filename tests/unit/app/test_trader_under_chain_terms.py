"""The trader under its account's terms on the chain, through ``build_trader`` with fakes:
it sizes under a user-set leverage and with its fee tier, read at start and again once
per balance TTL (never per decision), and refuses when they cannot be read."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dydx_trader.app.account_terms import AccountTermsCache
from dydx_trader.config import Settings
from dydx_trader.domain.account import Subaccount
from dydx_trader.domain.account_terms import AccountTerms, FeeTier
from dydx_trader.domain.decision import Outcome
from dydx_trader.domain.errors import MalformedPayload, VenueUnavailable
from dydx_trader.domain.signal import HintKind, Signal, SignalSource, SizingHint
from kit.clock import T0, FakeClock
from kit.exchange import FakeExchange
from kit.markets import make_market
from kit.orders import ADDRESS
from kit.trader import kit_settings, started_trader

ETH = make_market("ETH-USD", oracle_price=Decimal(2000), imf=Decimal("0.05"), clob_pair_id=1)
BTC = make_market(
    "BTC-USD", oracle_price=Decimal(50_000), imf=Decimal("0.05"), atomic_resolution=-10,
    clob_pair_id=0,
)  # fmt: skip
ALL_IN = SizingHint(HintKind.NOTIONAL_USDC, Decimal(1_000_000))


def buy(market: str = "ETH-USD", **fields: Any) -> Signal:
    return Signal.create(
        market=market, action="BUY", confidence=Decimal(1), created_at=T0,
        source=SignalSource.CLI, strategy="test", sizing=ALL_IN, **fields,
    )  # fmt: skip


@pytest.fixture
def exchange() -> FakeExchange:
    return FakeExchange({"ETH-USD": ETH, "BTC-USD": BTC})


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # The market's own 20x is no bound here: only the account's setting can be.
    return kit_settings(tmp_path / "journal.sqlite3", risk={"max_leverage": 20, "max_exposure": 20})


async def test_buy_when_leverage_set_on_the_chain_then_sized_under_the_setting(
    exchange: FakeExchange, settings: Settings
) -> None:
    exchange.leverage = {1: 250_000}  # ETH-USD at 4x

    async with started_trader(exchange, settings) as trader:
        result = await trader.submit(buy())

    decision = result.decision
    assert decision is not None and decision.outcome is Outcome.ACCEPTED, decision
    assert decision.size is not None
    assert ("your leverage setting (chain)", "4x (IMF 250000 ppm)") in decision.arithmetic
    # 4x of what is left after the 5 % buffer and the slippage and fee of the fill.
    assert Decimal(30_000) < decision.size * 2000 <= 4 * Decimal(10_000)
    assert exchange.positions["ETH-USD"] == decision.size


async def test_buy_when_no_leverage_set_then_the_market_maximum_bounds_instead(
    exchange: FakeExchange, settings: Settings
) -> None:
    async with started_trader(exchange, settings) as trader:
        result = await trader.submit(buy())

    assert result.decision is not None and result.decision.size is not None
    assert result.decision.size * 2000 > Decimal(150_000)


async def test_buy_when_chain_fee_tier_read_then_sized_and_reported_with_it(
    exchange: FakeExchange, settings: Settings
) -> None:
    exchange.fee_ppm, exchange.maker_fee_ppm = 350, 0

    async with started_trader(exchange, settings) as trader:
        result = await trader.submit(buy())

    assert result.decision is not None and result.decision.reservation is not None
    assert result.decision.reservation.fee_ppm == 350
    assert ("fee rate", "350 ppm (tier 1 (chain): taker 350 ppm, maker 0 ppm)") in (
        result.decision.arithmetic
    )


async def test_fee_when_configured_then_overrides_the_chain_tier(
    exchange: FakeExchange, tmp_path: Path
) -> None:
    settings = kit_settings(
        tmp_path / "j.sqlite3", execution={"taker_fee_ppm": 700, "maker_fee_ppm": 200}
    )

    async with started_trader(exchange, settings) as trader:
        result = await trader.submit(buy())

    assert result.decision is not None and result.decision.reservation is not None
    assert result.decision.reservation.fee_ppm == 700


async def test_terms_when_decisions_follow_within_the_ttl_then_read_once_and_again_after(
    exchange: FakeExchange, settings: Settings
) -> None:
    clock = FakeClock()
    async with started_trader(exchange, settings, clock=clock) as trader:
        assert exchange.terms_reads == 1  # at start
        for number in range(3):
            await trader.preview(buy(id=f"same-ttl-{number}"))
        assert exchange.terms_reads == 1
        exchange.leverage = {1: 500_000}
        clock.advance(settings.ttl.balance_ttl_s + 1)

        result = await trader.preview(buy(id="after-ttl"))

    assert exchange.terms_reads == 2
    assert result.decision is not None and result.decision.size is not None
    assert result.decision.size * 2000 <= 2 * Decimal(10_000)


async def test_buy_when_leverage_cannot_be_read_then_refused_as_stale(
    exchange: FakeExchange, settings: Settings
) -> None:
    async def down(address: str, number: int) -> dict[int, int]:
        raise VenueUnavailable("node failed leverage settings (gRPC UNAVAILABLE)")

    exchange.subaccount_leverage = down  # type: ignore[method-assign]
    async with started_trader(exchange, settings) as trader:
        result = await trader.submit(buy())

    assert result.decision is not None and result.decision.outcome is Outcome.REFUSED
    assert result.decision.error_code == "StaleAccountData"
    assert "leverage settings" in result.decision.reason
    assert exchange.sent == []


# -- the cache itself ---------------------------------------------------------------------


class _Node:
    def __init__(self, leverage: dict[int, int], tier: FeeTier | None = None) -> None:
        self.leverage = leverage
        self.tier = tier or FeeTier("1", 500, 100)
        self.fee_reads = 0

    async def subaccount_leverage(self, address: str, subaccount_number: int) -> dict[int, int]:
        return self.leverage

    async def user_fee_tier(self, address: str) -> FeeTier:
        self.fee_reads += 1
        return self.tier


class _Markets:
    def markets(self, tickers: object = None) -> dict[str, Any]:
        return {"ETH-USD": ETH, "BTC-USD": BTC}


def _cache(node: _Node, override: FeeTier | None = None) -> AccountTermsCache:
    owner = Subaccount(ADDRESS, 0)
    return AccountTermsCache(node, _Markets(), owner, override, ttl_s=5, clock=FakeClock())


async def test_cache_when_settings_by_clob_pair_then_terms_by_ticker() -> None:
    terms = await _cache(_Node({0: 100_000, 1: 250_000, 77: 500_000})).terms()

    assert terms == AccountTerms({"BTC-USD": 100_000, "ETH-USD": 250_000}, FeeTier("1", 500, 100))


async def test_cache_when_fee_overridden_then_the_tier_is_not_read() -> None:
    node = _Node({})
    override = FeeTier("configured", 700, 200, "config")

    terms = await _cache(node, override).terms()

    assert terms.fee_tier == override and node.fee_reads == 0


async def test_cache_when_node_reports_an_impossible_setting_then_malformed() -> None:
    with pytest.raises(MalformedPayload, match="leverage setting of ETH-USD"):
        await _cache(_Node({1: 2_000_000})).terms()
