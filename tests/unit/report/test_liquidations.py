"""Liquidation and deleveraging fills in the session: counted among the fills and the
PnL of the strategy that held the position, listed under ``liquidations`` in the report,
and a line of the closing table; other foreign activity is left to the journal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from dydx_trader.app.account_messages import TradeResult
from dydx_trader.app.executor import Settlement
from dydx_trader.app.foreign_activity import ForeignActivity
from dydx_trader.app.session import SessionStats
from dydx_trader.cli.run_view import summary_tables
from dydx_trader.domain.order import Order, OrderState
from dydx_trader.domain.side import Side
from dydx_trader.domain.signal import Signal, SignalSource
from dydx_trader.domain.venue import IndexerFill
from dydx_trader.report.summary import SessionFacts, build_summary
from kit.orders import short_term_intent

T0 = datetime(2026, 1, 5, 12, tzinfo=UTC)


def _fill(
    fill_id: str, side: Side, size: str, price: str, fee: str, kind: str, order: str | None
) -> IndexerFill:
    return IndexerFill(
        fill_id=fill_id, ticker="BTC-USD", side=side, liquidity="TAKER", fill_type=kind,
        price=Decimal(price), size=Decimal(size), fee=Decimal(fee),
        created_at=T0 + timedelta(minutes=len(fill_id)), created_at_height=100, order_id=order,
    )  # fmt: skip


def _foreign(fill: IndexerFill) -> ForeignActivity:
    details = {"type": fill.fill_type, "side": fill.side.value, "size": str(fill.size)}
    return ForeignActivity("fill", fill.fill_id, fill.ticker, details, 100, fill)


def _session() -> SessionStats:
    """A long of 2 BTC bought at 50,000 by ``ema_cross``, then liquidated at 48,000."""
    stats = SessionStats()
    signal = Signal.create(
        market="BTC-USD", action="BUY", created_at=T0, source=SignalSource.STRATEGY,
        strategy="ema_cross", id="sig-1",
    )  # fmt: skip
    intent = short_term_intent("sig-1", market="BTC-USD")
    stats.on_result(TradeResult(signal, None, "accepted"))  # the strategy of the signal
    bought = _fill("own", Side.BUY, "2", "50000", "50", "LIMIT", "order-1")
    order = Order(intent, OrderState.FILLED, intent.quantums)
    stats.on_settled(Settlement(order, (bought,), 100))
    liquidated = _fill("liq-1", Side.SELL, "1.5", "48000", "1080", "LIQUIDATED", None)
    stats.on_foreign(_foreign(liquidated))
    stats.on_foreign(_foreign(_fill("delev", Side.SELL, "0.5", "47000", "0", "DELEVERAGED", None)))
    return stats


def _summary(stats: SessionStats) -> dict[str, object]:
    facts = SessionFacts(
        samples=stats.equity_curve, fills=stats.fill_rows, positions=(), prices={}, step_s=3600,
        liquidations=stats.liquidations,
    )  # fmt: skip
    return build_summary(facts)


def test_liquidation_fills_when_they_close_a_position_then_realized_and_listed() -> None:
    summary = _summary(_session())

    pnl = summary["pnl"]
    assert isinstance(pnl, dict)
    # 1.5 x (48,000 - 50,000) + 0.5 x (47,000 - 50,000): realized, before fees.
    assert pnl["realized_usdc"] == "-4500" and pnl["unrealized_usdc"] == "0"
    assert pnl["fees_usdc"] == "1130"
    assert summary["liquidations"] == {
        "fills": 2,
        "by_type": {"DELEVERAGED": 1, "LIQUIDATED": 1},
        "markets": ["BTC-USD"],
        "volume_usdc": "95500",
        "insurance_fund_usdc": "1080",
    }
    trips = summary["round_trips"]
    assert isinstance(trips, dict) and trips["count"] == 1
    by_strategy = summary["by_strategy"]
    assert isinstance(by_strategy, dict) and set(by_strategy) == {"ema_cross"}


def test_liquidations_when_any_then_a_line_of_the_closing_report() -> None:
    table = summary_tables(_summary(_session()))[0]
    labels, values = (list(column.cells) for column in table.columns)

    line = dict(zip(labels, values, strict=True))["liquidations"]
    assert line == (
        "2 fills (DELEVERAGED 1, LIQUIDATED 1) in BTC-USD, 95,500.00 USDC traded, "
        "1,080.00 USDC to the insurance fund"
    )


def test_liquidations_when_none_then_the_line_says_none() -> None:
    table = summary_tables(_summary(SessionStats()))[0]
    labels, values = (list(column.cells) for column in table.columns)

    assert dict(zip(labels, values, strict=True))["liquidations"] == "none"


def test_foreign_fill_when_not_a_liquidation_then_left_out_of_the_session() -> None:
    stats = SessionStats()
    web = _fill("web", Side.BUY, "1", "50000", "25", "LIMIT", "someone-elses-order")

    stats.on_foreign(_foreign(web))

    assert stats.fills == 0 and stats.fill_rows == [] and stats.liquidations == []


def test_liquidation_when_seen_then_a_live_view_event_and_a_plain_line() -> None:
    lines: list[str] = []
    stats = SessionStats(on_line=lines.append)

    stats.on_foreign(_foreign(_fill("liq", Side.SELL, "1", "48000", "720", "LIQUIDATED", None)))

    assert stats.events[0].endswith("LIQUIDATED SELL 1 BTC-USD @ 48000 (insurance fund 720.00)")
    assert lines == ["2026-01-05 12:03 LIQUIDATED SELL 1 BTC-USD @ 48000 (insurance fund 720.00)"]
