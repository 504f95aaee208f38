"""Round trips from fills, with average-cost accounting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from dydx_trader.report.trips import FillRow, round_trips, summarize

T0 = datetime(2025, 5, 1, tzinfo=UTC)


def fill(hour: int, side: str, size: str, price: str, fee: str = "0", market: str = "ETH-USD",
         strategy: str = "ema_cross") -> FillRow:  # fmt: skip
    return FillRow(
        T0 + timedelta(hours=hour), market, side, Decimal(size), Decimal(price), Decimal(fee),
        strategy, f"s{hour}",
    )  # fmt: skip


def test_round_trips_when_long_opened_and_closed_then_one_trip_with_pnl_after_fees() -> None:
    trips = round_trips([fill(0, "BUY", "1", "2000", "1"), fill(3, "SELL", "1", "2100", "1")])

    (trip,) = trips.closed
    assert trips.open == ()
    assert (trip.side, trip.size, trip.entry_price, trip.exit_price) == (
        "LONG", Decimal(1), Decimal(2000), Decimal(2100)
    )  # fmt: skip
    assert trip.gross_pnl == Decimal(100) and trip.fees == Decimal(2) and trip.pnl == Decimal(98)
    assert trip.duration_s == 3 * 3600


def test_round_trips_when_short_flips_long_then_the_short_closes_and_a_long_opens() -> None:
    trips = round_trips(
        [fill(0, "SELL", "2", "2000", "2"), fill(1, "BUY", "3", "1900", "3")],
        marks={"ETH-USD": Decimal(1950)},
    )

    (short,) = trips.closed
    (long,) = trips.open
    assert short.side == "SHORT" and short.gross_pnl == Decimal(200)
    assert short.fees == Decimal(4)  # its own 2 and two thirds of the flip's 3
    assert long.side == "LONG" and long.size == Decimal(1) and long.entry_price == Decimal(1900)
    assert long.unrealized_pnl == Decimal(50) and long.realized_pnl == 0
    assert long.fees == Decimal(1) and long.exit_at is None


def test_round_trips_when_added_then_partly_reduced_then_average_cost_realizes() -> None:
    trips = round_trips(
        [fill(0, "BUY", "1", "100"), fill(1, "BUY", "1", "200"), fill(2, "SELL", "1", "160")],
        marks={"ETH-USD": Decimal(150)},
    )

    (trip,) = trips.open
    assert trip.realized_pnl == Decimal(10)  # sold 1 at 160 against an average of 150
    assert trip.unrealized_pnl == Decimal(0)  # 1 held at 150, marked at 150
    assert trip.size == Decimal(2) and trip.entry_price == Decimal(150)


def test_summarize_when_wins_and_losses_then_win_rate_and_profit_factor() -> None:
    trips = round_trips(
        [
            fill(0, "BUY", "1", "100"), fill(1, "SELL", "1", "130"),
            fill(2, "BUY", "1", "100"), fill(3, "SELL", "1", "90"),
        ]
    )  # fmt: skip

    stats = summarize(trips.closed)

    assert stats["count"] == 2 and stats["wins"] == 1 and stats["losses"] == 1
    assert stats["win_rate"] == Decimal("0.5") and stats["profit_factor"] == Decimal(3)
    assert stats["pnl"] == Decimal(20)


def test_summarize_when_no_trips_then_ratios_none() -> None:
    stats = summarize(())

    assert stats["count"] == 0 and stats["win_rate"] is None and stats["profit_factor"] is None
