"""Round trips by what closed them: a signal, the chain-triggered stop-loss or
take-profit, a liquidation; counted in ``summary.json`` and a line of the closing
report. A protective order's fills count for the strategy that holds the position; the
live view shows each position's levels and its protective orders on the chain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from dydx_trader.app.account_messages import TradeResult
from dydx_trader.app.executor import Settlement
from dydx_trader.app.foreign_activity import ForeignActivity
from dydx_trader.app.protection import ProtectionStatus
from dydx_trader.app.session import SessionStats
from dydx_trader.cli.run_view import protection_cell, summary_tables
from dydx_trader.domain.order import ConditionType, Order, OrderState
from dydx_trader.domain.protection import ProtectionLevels, protective_signal_id
from dydx_trader.domain.side import Side
from dydx_trader.domain.signal import Signal, SignalSource
from dydx_trader.domain.venue import IndexerFill
from dydx_trader.report.summary import SessionFacts, build_summary
from dydx_trader.report.trips import exit_reason
from kit.orders import short_term_intent

T0 = datetime(2026, 1, 5, 12, tzinfo=UTC)
MARKET = "BTC-USD"


class _Session:
    """One strategy's trips in BTC-USD, each opened by a signal, at one minute a fill."""

    def __init__(self) -> None:
        self.stats = SessionStats()
        self._minutes = 0

    def _fill(self, side: Side, price: str, order: str | None) -> IndexerFill:
        self._minutes += 1
        return IndexerFill(
            fill_id=f"fill-{self._minutes}", ticker=MARKET, side=side, liquidity="TAKER",
            fill_type="LIMIT" if order else "LIQUIDATED", price=Decimal(price), size=Decimal(1),
            fee=Decimal(0), created_at=T0 + timedelta(minutes=self._minutes),
            created_at_height=100 + self._minutes, order_id=order,
        )  # fmt: skip

    def filled(self, signal_id: str, side: Side, price: str, *, strategy: str | None) -> None:
        if strategy is not None:
            signal = Signal.create(
                market=MARKET, action=side.value, created_at=T0, source=SignalSource.STRATEGY,
                strategy=strategy, id=signal_id,
            )  # fmt: skip
            self.stats.on_result(TradeResult(signal, None, "accepted"))
        intent = short_term_intent(signal_id, market=MARKET, side=side)
        order = Order(intent, OrderState.FILLED, intent.quantums)
        self.stats.on_settled(Settlement(order, (self._fill(side, price, signal_id),), 100))

    def liquidated(self, price: str) -> None:
        fill = self._fill(Side.SELL, price, None)
        details = {"type": "LIQUIDATED", "side": "SELL", "size": "1"}
        self.stats.on_foreign(ForeignActivity("fill", fill.fill_id, MARKET, details, 100, fill))


def _summary(stats: SessionStats) -> dict[str, object]:
    facts = SessionFacts(
        samples=stats.equity_curve, fills=stats.fill_rows, positions=(), prices={}, step_s=3600,
        liquidations=stats.liquidations,
    )  # fmt: skip
    return build_summary(facts)


def _four_trips() -> SessionStats:
    session = _Session()
    stop = protective_signal_id(MARKET, ConditionType.STOP_LOSS, 0)
    take_profit = protective_signal_id(MARKET, ConditionType.TAKE_PROFIT, 0)
    session.filled("buy-1", Side.BUY, "50000", strategy="ema_cross")
    session.filled("close-1", Side.SELL, "50100", strategy="ema_cross")
    session.filled("buy-2", Side.BUY, "50000", strategy="ema_cross")
    session.filled(stop, Side.SELL, "49000", strategy=None)
    session.filled("buy-3", Side.BUY, "50000", strategy="ema_cross")
    session.filled(take_profit, Side.SELL, "52000", strategy=None)
    session.filled("buy-4", Side.BUY, "50000", strategy="ema_cross")
    session.liquidated("45000")
    return session.stats


def test_exits_when_closed_by_signal_stop_take_profit_and_liquidation_then_counted_by_reason() -> (
    None
):
    summary = _summary(_four_trips())

    trips = summary["round_trips"]
    assert isinstance(trips, dict)
    assert trips["exits_by_reason"] == {
        "signal": 1, "stop-loss": 1, "take-profit": 1, "liquidation": 1,
    }  # fmt: skip
    assert [trip["exit_reason"] for trip in trips["trips"]] == [
        "signal", "stop-loss", "take-profit", "liquidation",
    ]  # fmt: skip
    by_strategy = summary["by_strategy"]
    assert isinstance(by_strategy, dict) and set(by_strategy) == {"ema_cross"}


def test_exits_when_any_then_a_line_of_the_closing_report() -> None:
    table = summary_tables(_summary(_four_trips()))[0]
    labels, values = (list(column.cells) for column in table.columns)

    line = dict(zip(labels, values, strict=True))["  exits by reason"]
    assert line == "signal 1, stop-loss 1, take-profit 1, liquidation 1"


def test_exit_reason_when_flattened_or_unknown_protective_then_flatten_or_signal() -> None:
    assert exit_reason("flatten-ETH-USD-1234") == "flatten"
    assert exit_reason("protect:ETH-USD:SOMETHING:0") == "signal"
    assert exit_reason("") == "liquidation"


def test_protection_cell_when_levels_and_live_orders_then_both_shown() -> None:
    levels = ProtectionLevels(Side.BUY, stop_loss=Decimal("45000"), take_profit=Decimal("56000"))
    intent = short_term_intent("protect:BTC-USD:STOP_LOSS:0", market=MARKET, side=Side.SELL)
    live = Order(intent, OrderState.UNTRIGGERED, 0)
    status = ProtectionStatus({MARKET: (live,)}, 0, None, {MARKET: levels})
    only_orders = ProtectionStatus({MARKET: (live,)}, 0, None)

    assert protection_cell(status, MARKET) == "45,000 / 56,000 (1 live)"
    assert protection_cell(only_orders, MARKET) == "- (1 live)"
    assert protection_cell(status, "ETH-USD") == "-"
