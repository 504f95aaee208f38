"""Candles: built from CSV text, indexer objects and adapter values; bad series refused."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest
from strategy_data import real_candles, series

from dydx_trader.domain.errors import InvalidInput
from dydx_trader.domain.venue import Candle, CandleResolution
from dydx_trader.strategies.candles import Candles

CSV = """started_at,open,high,low,close,base_volume
2024-09-04T11:00:00Z,56461.0,56680.0,56456.0,56584.0,75.67353
2024-09-04T12:00:00Z,56581.0,56777.0,56500.0,56620.0,91.58561
"""


def test_from_csv_text_when_valid_then_columns_and_epoch_seconds() -> None:
    candles = Candles.from_csv_text(CSV)
    assert len(candles) == 2
    assert candles.timestamps.tolist() == [1725447600, 1725451200]
    assert candles.close.tolist() == [56584.0, 56620.0]
    assert candles.volume[0] == pytest.approx(75.67353)
    assert candles.last_started_at == datetime(2024, 9, 4, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("time,o,h,l,c,v\n", "header"),
        (CSV + "2024-09-04T13:00:00Z,1,2,0.5,nan,1\n", "line 4"),
        (CSV + "2024-09-04T13:00:00Z,1,2,0.5\n", "expected 6 fields"),
        (CSV + "2024-09-04T13:00:00,1,2,0.5,1,1\n", "no timezone"),
        (CSV + "yesterday,1,2,0.5,1,1\n", "ISO-8601"),
        (CSV + "2024-09-04T12:00:00Z,1,2,0.5,1,1\n", "strictly increasing"),
        (CSV + "2024-09-04T13:00:00Z,1,2,0.5,3,1\n", "out of order"),
        (CSV + "2024-09-04T13:00:00Z,-1,2,-2,1,1\n", "zero or negative"),
        (CSV + "2024-09-04T13:00:00Z,1,2,0.5,1,-1\n", "volume is negative"),
    ],
)
def test_from_csv_text_when_malformed_then_invalid_input_names_problem(
    text: str, fragment: str
) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        Candles.from_csv_text(text)


def test_from_indexer_objects_when_newest_first_strings_then_sorted_oldest_first() -> None:
    rows = [
        {"startedAt": "2025-12-08T16:12:00.000Z", "open": "2", "high": "3", "low": "1",
         "close": "2.5", "baseTokenVolume": "4"},
        {"startedAt": "2025-12-08T16:11:00.000Z", "open": "1", "high": "2", "low": "0.5",
         "close": "2", "baseTokenVolume": "3"},
    ]  # fmt: skip
    candles = Candles.from_indexer_objects(rows)
    assert candles.close.tolist() == [2.0, 2.5]
    assert candles.timestamps[1] - candles.timestamps[0] == 60


def test_from_indexer_objects_when_field_missing_then_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="candle 0"):
        Candles.from_indexer_objects([{"startedAt": "2025-12-08T16:12:00Z", "open": "1"}])


def test_from_candles_when_adapter_values_then_same_numbers() -> None:
    started = datetime(2025, 1, 1, tzinfo=UTC)
    candle = Candle(
        ticker="BTC-USD",
        resolution=CandleResolution.ONE_HOUR,
        started_at=started,
        open=Decimal("100.5"),
        high=Decimal("101"),
        low=Decimal("99"),
        close=Decimal("100"),
        base_volume=Decimal("2"),
        usd_volume=Decimal("200"),
        trades=3,
    )
    candles = Candles.from_candles([candle])
    assert candles.close.tolist() == [100.0]
    assert candles.timestamps.tolist() == [int(started.timestamp())]


def test_arrays_when_built_then_read_only() -> None:
    candles = series([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="read-only"):
        candles.close[0] = 5.0


def test_from_arrays_when_lengths_differ_then_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="shape"):
        Candles.from_arrays([1, 2], [1.0], [1.0], [1.0], [1.0])


def test_from_arrays_when_infinite_then_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="NaN or infinite"):
        Candles.from_arrays([1], [1.0], [np.inf], [1.0], [1.0])


def test_tail_when_shorter_than_series_then_newest_candles_as_views() -> None:
    candles = real_candles()
    tail = candles.tail(100)
    assert len(tail) == 100
    assert tail.close[-1] == candles.close[-1]
    assert tail.timestamps[0] == candles.timestamps[-100]
    assert candles.tail(10**6) is candles


def test_real_files_when_loaded_then_hourly_and_complete() -> None:
    candles = real_candles("ETH-USD")
    assert len(candles) == 7793
    assert set(np.diff(candles.timestamps).tolist()) == {3600}
