"""MarketDataManager: TTL refresh, stream updates, oracle age, candles."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from dydx_trader.adapters.dydx.mapping import parse_market
from dydx_trader.app.market_data import MarketDataManager
from dydx_trader.domain.errors import (
    MarketNotTradable,
    StaleMarketData,
    UnknownMarket,
    VenueUnavailable,
)
from dydx_trader.domain.market import MarketSpec, MarketStatus
from dydx_trader.domain.venue import (
    Candle,
    CandleResolution,
    CandlesSnapshot,
    CandleUpdate,
    MarketEvent,
    MarketPatch,
    MarketsSnapshot,
    OraclePrice,
    OraclePricesUpdate,
)
from kit.clock import FakeClock

FIXTURE = (
    Path(__file__).resolve().parents[2]
    / "fixtures"
    / "dydx"
    / "indexer_http"
    / "nt2025_http_get_perpetual_markets.json"
)
HOUR = CandleResolution.ONE_HOUR
T0 = datetime(2025, 12, 8, tzinfo=UTC)


def _markets() -> dict[str, MarketSpec]:
    if not FIXTURE.exists():
        pytest.skip("market fixture not available")
    body = json.loads(FIXTURE.read_text())["result"]
    return {t: parse_market(m) for t, m in body["markets"].items()}


class FakeReader:
    def __init__(self) -> None:
        self.markets = _markets()
        self.calls = 0
        self.gate: asyncio.Event | None = None

    async def get_markets(self) -> Mapping[str, MarketSpec]:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        return dict(self.markets)


def _candle(hour: int, close: str = "100", ticker: str = "BTC-USD") -> Candle:
    price = Decimal(close)
    return Candle(
        ticker=ticker,
        resolution=HOUR,
        started_at=T0 + timedelta(hours=hour),
        open=price,
        high=price,
        low=price,
        close=price,
        base_volume=Decimal(1),
        usd_volume=price,
        trades=1,
    )


class FakeCandles:
    def __init__(self, candles: Sequence[Candle]) -> None:
        self.candles = tuple(candles)
        self.limits: list[int | None] = []

    async def get_candles(
        self, ticker: str, resolution: CandleResolution, *, limit: int | None = None
    ) -> Sequence[Candle]:
        self.limits.append(limit)
        return self.candles


class ScriptedFeed:
    """Each connection yields the next script's events, then drops."""

    def __init__(self, *scripts: Sequence[MarketEvent]) -> None:
        self.scripts = list(scripts)
        self.connections = 0

    async def events(
        self, candles: Sequence[tuple[str, CandleResolution]] = ()
    ) -> AsyncIterator[MarketEvent]:
        self.connections += 1
        script = self.scripts.pop(0) if self.scripts else []
        for event in script:
            yield event
        if not self.scripts:
            await asyncio.Event().wait()  # stay connected
        raise VenueUnavailable("indexer websocket closed")


def _manager(
    clock: FakeClock, reader: FakeReader | None = None, **options: object
) -> MarketDataManager:
    return MarketDataManager(reader or FakeReader(), clock=clock, **options)  # type: ignore[arg-type]


async def test_market_when_never_read_then_stale_market_data() -> None:
    with pytest.raises(StaleMarketData, match="not been read"):
        _manager(FakeClock()).market("BTC-USD")


async def test_market_when_refreshed_then_spec_and_unknown_ticker_refused() -> None:
    manager = _manager(FakeClock())
    await manager.refresh()
    assert manager.market("BTC-USD").oracle_price == Decimal("89919.2")
    with pytest.raises(UnknownMarket, match="DOGE-USD"):
        manager.market("DOGE-USD")


async def test_oracle_price_when_older_than_max_age_then_stale_market_data() -> None:
    clock = FakeClock()
    manager = _manager(clock, max_oracle_age_s=10)
    await manager.refresh()
    clock.advance(9)
    assert manager.oracle_price("ETH-USD").age_s == pytest.approx(9)
    clock.advance(2)
    with pytest.raises(StaleMarketData, match=r"ETH-USD is 11\.0 s old"):
        manager.oracle_price("ETH-USD")


async def test_oracle_price_when_stream_update_then_new_price_and_age_reset() -> None:
    clock = FakeClock()
    manager = _manager(clock, max_oracle_age_s=10)
    await manager.refresh()
    clock.advance(8)
    manager.apply(OraclePricesUpdate((OraclePrice("ETH-USD", Decimal("3200.5")),)))
    clock.advance(8)
    quote = manager.oracle_price("ETH-USD")
    assert quote.price == Decimal("3200.5")
    assert quote.age_s == pytest.approx(8)
    with pytest.raises(StaleMarketData):
        manager.oracle_price("BTC-USD")  # not updated: 16 s old


async def test_oracle_price_when_the_indexer_serves_the_same_price_again_then_it_keeps_aging() -> (
    None
):
    clock = FakeClock()
    reader = FakeReader()
    manager = _manager(clock, reader, max_oracle_age_s=10)
    await manager.refresh()
    clock.advance(8)
    reader.markets["BTC-USD"] = MarketPatch("BTC-USD", {"oracle_price": Decimal(90_000)}).apply_to(
        reader.markets["BTC-USD"]
    )
    await manager.refresh()  # ETH-USD comes back unchanged, BTC-USD with a new price
    clock.advance(3)
    assert manager.oracle_price("BTC-USD").age_s == pytest.approx(3)
    with pytest.raises(StaleMarketData, match=r"ETH-USD is 11\.0 s old"):
        manager.oracle_price("ETH-USD")


async def test_oracle_price_when_the_stream_gives_its_effective_time_then_age_counts_from_it() -> (
    None
):
    clock = FakeClock()
    manager = _manager(clock, max_oracle_age_s=10)
    await manager.refresh()
    effective = clock.now() - timedelta(seconds=7)  # a stream update seven seconds late
    manager.apply(OraclePricesUpdate((OraclePrice("ETH-USD", Decimal(3201), effective),)))
    clock.advance(2)
    assert manager.oracle_price("ETH-USD").age_s == pytest.approx(9)
    clock.advance(2)
    with pytest.raises(StaleMarketData):
        manager.oracle_price("ETH-USD")


async def test_markets_when_tickers_given_then_each_oracle_checked() -> None:
    clock = FakeClock()
    manager = _manager(clock, max_oracle_age_s=10)
    await manager.refresh()
    clock.advance(11)
    manager.apply(OraclePricesUpdate((OraclePrice("SOL-USD", Decimal(140)),)))
    assert list(manager.markets(["SOL-USD"])) == ["SOL-USD"]
    with pytest.raises(StaleMarketData):
        manager.markets(["SOL-USD", "BTC-USD"])
    with pytest.raises(UnknownMarket):
        manager.markets(["XYZ-USD"])


async def test_market_when_params_older_than_max_then_stale() -> None:
    clock = FakeClock()
    manager = _manager(clock, max_params_age_s=60)
    await manager.refresh()
    clock.advance(61)
    with pytest.raises(StaleMarketData, match="parameters"):
        manager.markets()


async def test_oracle_price_when_market_has_no_price_then_not_tradable() -> None:
    reader = FakeReader()
    reader.markets["BTC-USD"] = MarketPatch("BTC-USD", {"oracle_price": None}).apply_to(
        reader.markets["BTC-USD"]
    )
    manager = _manager(FakeClock(), reader)
    await manager.refresh()
    with pytest.raises(MarketNotTradable):
        manager.oracle_price("BTC-USD")


async def test_apply_when_trading_patch_then_status_changes() -> None:
    manager = _manager(FakeClock())
    await manager.refresh()
    manager.apply(MarketPatch("SOL-USD", {"status": MarketStatus.CANCEL_ONLY}))
    assert manager.market("SOL-USD").status is MarketStatus.CANCEL_ONLY
    assert not manager.market("SOL-USD").is_tradable


async def test_apply_when_patch_for_unknown_market_then_refresh_requested() -> None:
    reader = FakeReader()
    manager = _manager(FakeClock(), reader)
    await manager.refresh()
    manager.apply(MarketPatch("NEW-USD", {"open_interest": Decimal(5)}))
    assert manager.needs_refresh
    await manager.ensure_fresh()
    assert reader.calls == 2
    assert not manager.needs_refresh


async def test_apply_when_markets_snapshot_then_replaces_all() -> None:
    manager = _manager(FakeClock())
    await manager.refresh()
    btc = manager.market("BTC-USD")
    manager.apply(MarketsSnapshot({"BTC-USD": btc}))
    assert list(manager.markets()) == ["BTC-USD"]


async def test_refresh_when_concurrent_then_one_read() -> None:
    reader = FakeReader()
    reader.gate = asyncio.Event()
    manager = _manager(FakeClock(), reader)
    waiting = [asyncio.create_task(manager.refresh()) for _ in range(50)]
    await asyncio.sleep(0)
    reader.gate.set()
    await asyncio.gather(*waiting)
    assert reader.calls == 1


async def test_ensure_fresh_when_within_ttl_then_no_read_and_after_ttl_read() -> None:
    clock = FakeClock()
    reader = FakeReader()
    manager = _manager(clock, reader, refresh_ttl_s=15)
    await manager.ensure_fresh()
    clock.advance(14)
    await manager.ensure_fresh()
    assert reader.calls == 1
    clock.advance(2)
    await manager.ensure_fresh()
    assert reader.calls == 2


async def test_candles_when_backfilled_then_updates_merge_by_start_time() -> None:
    history = FakeCandles([_candle(0), _candle(1), _candle(2, "101")])
    manager = MarketDataManager(FakeReader(), candles=history, clock=FakeClock(), max_candles=3)
    await manager.backfill_candles("BTC-USD", HOUR, limit=3)
    manager.apply(CandleUpdate(_candle(2, "102")))  # the partial candle changes
    manager.apply(CandleUpdate(_candle(3, "103")))  # a new one starts; the oldest drops
    series = manager.candles("BTC-USD", HOUR)
    assert [c.started_at.hour for c in series] == [1, 2, 3]
    assert [c.close for c in series] == [Decimal(100), Decimal(102), Decimal(103)]
    assert history.limits == [3]


async def test_candles_when_stream_snapshot_then_series_filled() -> None:
    manager = _manager(FakeClock())
    manager.apply(CandlesSnapshot("ETH-USD", HOUR, (_candle(5, ticker="ETH-USD"),)))
    assert len(manager.candles("ETH-USD", HOUR)) == 1
    assert manager.candles("BTC-USD", HOUR) == ()


async def test_run_when_stream_drops_then_reconnects_and_keeps_applying() -> None:
    feed = ScriptedFeed(
        [OraclePricesUpdate((OraclePrice("BTC-USD", Decimal(90000)),))],
        [OraclePricesUpdate((OraclePrice("BTC-USD", Decimal(91000)),))],
    )
    reader = FakeReader()
    manager = MarketDataManager(reader, feed=feed, refresh_ttl_s=60)
    runner = asyncio.create_task(manager.run(reconnect_min_s=0.01, reconnect_max_s=0.02))
    for _ in range(200):
        await asyncio.sleep(0.01)
        if feed.connections >= 2 and manager.market("BTC-USD").oracle_price == Decimal(91000):
            break
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner
    assert feed.connections == 2
    assert manager.market("BTC-USD").oracle_price == Decimal(91000)
    assert isinstance(manager.last_stream_error, VenueUnavailable)
    assert reader.calls >= 2  # markets re-read over REST on every reconnect
