"""Candle sources for scan: CSV files in a directory, and the indexer (through a fake)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from strategy_data import MARKET_DATA

from dydx_trader.adapters.candle_source import CsvCandleSource, IndexerCandleSource
from dydx_trader.domain.errors import InvalidInput, UnknownMarket
from dydx_trader.domain.market import MarketSpec, MarketStatus
from dydx_trader.domain.venue import Candle, CandleResolution

CSV = "started_at,open,high,low,close,base_volume\n" + "".join(
    f"2024-09-04T{h:02d}:00:00Z,{100 + h}.0,{101 + h}.5,{99 + h}.0,{100 + h}.5,1.0\n"
    for h in range(10)
)


async def test_csv_source_when_directory_of_files_then_tickers_and_newest_candles(
    tmp_path: Path,
) -> None:
    (tmp_path / "BTC-USD-1HOUR.csv").write_text(CSV)
    (tmp_path / "ETH-USD-1HOUR.csv").write_text(CSV)
    (tmp_path / "ETH-USD-1MIN.csv").write_text(CSV)
    (tmp_path / "notes.txt").write_text("ignored")
    source = CsvCandleSource(tmp_path)
    assert await source.tickers() == ["BTC-USD", "ETH-USD"]
    candles = await source.candles("BTC-USD", 4)
    assert candles.close.tolist() == [106.5, 107.5, 108.5, 109.5]


async def test_csv_source_when_unknown_market_then_unknown_market(tmp_path: Path) -> None:
    with pytest.raises(UnknownMarket, match="no candle file for SOL-USD"):
        await CsvCandleSource(tmp_path).candles("SOL-USD", 10)


async def test_csv_source_when_bad_file_then_invalid_input_names_file_and_line(
    tmp_path: Path,
) -> None:
    (tmp_path / "BTC-USD-1HOUR.csv").write_text(CSV + "2024-09-05T00:00:00Z,1,1,1,x,1\n")
    with pytest.raises(InvalidInput, match=r"BTC-USD-1HOUR\.csv line 12"):
        await CsvCandleSource(tmp_path).candles("BTC-USD", 10)


def test_csv_source_when_directory_missing_then_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="does not exist"):
        CsvCandleSource(tmp_path / "nope")


async def test_csv_source_when_shared_market_data_then_seven_markets() -> None:
    if not MARKET_DATA.is_dir():
        pytest.skip(f"shared market data not found at {MARKET_DATA}")
    source = CsvCandleSource(MARKET_DATA)
    assert len(await source.tickers()) == 7
    assert len(await source.candles("XRP-USD", 1000)) == 1000


def _spec(ticker: str, status: MarketStatus = MarketStatus.ACTIVE) -> MarketSpec:
    return MarketSpec(
        ticker=ticker,
        clob_pair_id=0,
        status=status,
        oracle_price=Decimal(100),
        initial_margin_fraction=Decimal("0.05"),
        maintenance_margin_fraction=Decimal("0.03"),
        open_interest=Decimal(0),
        atomic_resolution=-9,
        quantum_conversion_exponent=-9,
        tick_size=Decimal("0.01"),
        step_size=Decimal("0.001"),
        step_base_quantums=1_000_000,
        subticks_per_tick=1_000,
    )


class FakeIndexer:
    """Markets and newest-first candles, recording the limits asked for."""

    def __init__(self) -> None:
        self.limits: list[int | None] = []

    async def get_markets(self) -> dict[str, MarketSpec]:
        return {
            "BTC-USD": _spec("BTC-USD"),
            "OLD-USD": _spec("OLD-USD", MarketStatus.FINAL_SETTLEMENT),
            "ETH-USD": _spec("ETH-USD"),
        }

    async def get_candles(
        self, ticker: str, resolution: CandleResolution, *, limit: int | None = None
    ) -> Sequence[Candle]:
        self.limits.append(limit)
        start = datetime(2025, 1, 1, tzinfo=UTC)
        base = Candle(
            ticker=ticker,
            resolution=resolution,
            started_at=start,
            open=Decimal(100),
            high=Decimal(102),
            low=Decimal(99),
            close=Decimal(101),
            base_volume=Decimal(1),
            usd_volume=Decimal(101),
            trades=1,
        )
        rows = [
            replace(base, started_at=start + timedelta(hours=i), close=Decimal(100 + i % 2))
            for i in range(3)
        ]
        return list(reversed(rows))


async def test_indexer_source_when_markets_then_active_only_and_candles_oldest_first() -> None:
    fake = FakeIndexer()
    source = IndexerCandleSource(fake)
    assert await source.tickers() == ["BTC-USD", "ETH-USD"]
    candles = await source.candles("BTC-USD", 5000)
    assert fake.limits == [1000]  # the indexer serves at most 1,000 a request
    assert candles.close.tolist() == [100.0, 101.0, 100.0]
    assert list(candles.timestamps) == sorted(candles.timestamps)
