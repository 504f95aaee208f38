"""Drawdown, Sharpe, returns and the summary's number formats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from dydx_trader.report.performance import (
    buy_and_hold,
    max_drawdown,
    sharpe,
    step_returns,
    total_return,
)
from dydx_trader.report.summary import EquitySample, SessionFacts, build_summary, money, ratio
from dydx_trader.report.trips import FillRow

T0 = datetime(2025, 5, 1, tzinfo=UTC)


def series(*values: str) -> list[tuple[datetime, Decimal]]:
    return [(T0 + timedelta(hours=k), Decimal(v)) for k, v in enumerate(values)]


def test_max_drawdown_when_equity_falls_twice_then_the_deeper_fall_with_its_dates() -> None:
    drawdown = max_drawdown(series("100", "120", "90", "130", "110"))

    assert drawdown.amount == Decimal(30) and drawdown.fraction == Decimal("0.25")
    assert drawdown.peak_at == T0 + timedelta(hours=1)
    assert drawdown.trough_at == T0 + timedelta(hours=2)


def test_max_drawdown_when_equity_only_rises_then_zero_and_no_dates() -> None:
    drawdown = max_drawdown(series("100", "101", "102"))

    assert drawdown.amount == 0 and drawdown.peak_at is None and drawdown.trough_at is None


def test_sharpe_when_returns_vary_then_annualized_mean_over_deviation() -> None:
    returns = step_returns(series("100", "110", "99", "108.9"))

    value = sharpe(returns, 86_400)

    assert returns == [Decimal("0.1"), Decimal("-0.1"), Decimal("0.1")]
    # mean 1/30, sample deviation 0.11547, x sqrt(365 days)
    assert value is not None and Decimal("5.51") < value < Decimal("5.52")


def test_sharpe_when_flat_or_too_short_then_none() -> None:
    assert sharpe([Decimal(0), Decimal(0)], 3600) is None
    assert sharpe([Decimal("0.1")], 3600) is None


def test_total_return_and_buy_and_hold_when_prices_move_then_fractions() -> None:
    assert total_return(Decimal(100), Decimal(110)) == Decimal("0.1")
    assert total_return(Decimal(0), Decimal(110)) is None
    changes = buy_and_hold(
        {"BTC-USD": (Decimal(100), Decimal(120)), "ETH-USD": (Decimal(10), Decimal(9))}
    )
    assert changes == {
        "BTC-USD": Decimal("0.2"), "ETH-USD": Decimal("-0.1"), "equal_weight": Decimal("0.05")
    }  # fmt: skip


def test_money_and_ratio_when_long_decimals_then_short_positional_text() -> None:
    assert ratio(Decimal("3.198704309597238281818278576")) == "3.1987"
    assert money(Decimal("1E-7")) == "0" and money(Decimal("12.5000001")) == "12.5"
    assert ratio(None) is None


def test_build_summary_when_fees_and_funding_then_pnl_parts_add_up() -> None:
    fills = [
        FillRow(T0, "ETH-USD", "BUY", Decimal(1), Decimal(100), Decimal(1), "s", "a"),
        FillRow(T0 + timedelta(hours=1), "ETH-USD", "SELL", Decimal(1), Decimal(110),
                Decimal(1), "s", "b"),
    ]  # fmt: skip
    samples = [
        EquitySample(T0, Decimal(1000), Decimal(0), Decimal(0)),
        # 10 realized - 2 fees - 0.5 funding
        EquitySample(T0 + timedelta(hours=2), Decimal("1007.5"), Decimal(0), Decimal(0)),
    ]

    summary = build_summary(
        SessionFacts(samples=samples, fills=fills, positions=(), prices={}, step_s=3600)
    )

    assert summary["pnl"] == {
        "total_usdc": "7.5", "realized_usdc": "10", "unrealized_usdc": "0",
        "funding_usdc": "-0.5", "fees_usdc": "2",
    }  # fmt: skip
    trips = summary["round_trips"]
    assert isinstance(trips, dict) and trips["count"] == 1 and trips["win_rate"] == "1"
