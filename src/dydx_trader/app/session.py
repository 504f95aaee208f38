"""A trading session: what happened, kept as it happens, for the live view, the
plain lines and the closing report (signals by strategy, decisions, orders and
their outcomes, every fill, liquidations, rejections by reason, the
marked-to-market equity samples, and each market's first and last price).

Times are the records' own: a signal's candle close, a decision's market
time, a fill's block time. Nothing here reads a clock.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from dydx_trader.app.account_messages import TradeResult
from dydx_trader.app.executor import Settlement
from dydx_trader.app.foreign_activity import ForeignActivity
from dydx_trader.domain.decision import Outcome
from dydx_trader.domain.margin import AccountRisk
from dydx_trader.domain.order import OrderState
from dydx_trader.report.summary import EquitySample, LiquidationFill, OpenPosition
from dydx_trader.report.trips import FillRow

# What the live view calls an order's final state.
_SHOWN = {
    OrderState.BEST_EFFORT_CANCELED: "CANCELED",
    OrderState.EXPIRED: "CANCELED",
}

EquityPoint = EquitySample  # the name the live view and older callers use


@dataclass
class DecisionLine:
    """One accepted or refused decision as the live view shows it; ``state``
    moves to FILLED, PARTIALLY_FILLED or CANCELED when its order settles."""

    at: datetime
    strategy: str
    action: str
    market: str
    text: str
    state: str
    fill: str = ""


@dataclass
class SessionStats:
    """Running totals of one session. ``recent`` holds the latest decisions and
    ``events`` the latest orders and fills, newest first, for display;
    ``on_line`` (when set) gets one plain line per signal, decision, order and fill."""

    signals: int = 0
    accepted: int = 0
    orders_sent: int = 0
    trades: int = 0
    fills: int = 0
    fees: Decimal = Decimal(0)
    volume: Decimal = Decimal(0)
    rejections: Counter[str] = field(default_factory=Counter)
    order_outcomes: Counter[str] = field(default_factory=Counter)
    equity_curve: list[EquitySample] = field(default_factory=list)
    max_leverage: Decimal = Decimal(0)
    max_margin_usage: Decimal = Decimal(0)
    recent: deque[DecisionLine] = field(default_factory=lambda: deque(maxlen=12))
    events: deque[str] = field(default_factory=lambda: deque(maxlen=10))
    last_risk: AccountRisk | None = None
    fill_rows: list[FillRow] = field(default_factory=list)
    signals_by_strategy: Counter[str] = field(default_factory=Counter)
    accepted_by_strategy: Counter[str] = field(default_factory=Counter)
    refused_by_strategy: Counter[str] = field(default_factory=Counter)
    first_prices: dict[str, Decimal] = field(default_factory=dict)
    last_prices: dict[str, Decimal] = field(default_factory=dict)
    liquidations: list[LiquidationFill] = field(default_factory=list)
    on_line: Callable[[str], None] | None = None
    _strategy_of: dict[str, str] = field(default_factory=dict)
    _holder: dict[str, str] = field(default_factory=dict)  # market -> strategy of its last fill
    _lines: dict[str, DecisionLine] = field(default_factory=dict)

    def on_result(self, result: TradeResult) -> None:
        """Count one signal's outcome."""
        self.signals += 1
        decision, signal = result.decision, result.signal
        self.signals_by_strategy[signal.strategy] += 1
        self._strategy_of[signal.id] = signal.strategy
        head = f"{signal.strategy} {signal.action.value} {signal.market}"
        self._say(f"{signal.created_at:%Y-%m-%d %H:%M} signal {head} conf {signal.confidence:.2f}")
        if decision is None:
            # Rejected by a validation rule without a decision, or HOLD.
            if result.validation.startswith("rejected"):
                self.rejections[result.validation.split(":", 1)[0]] += 1
                self.refused_by_strategy[signal.strategy] += 1
            return
        at = decision.decided_at
        if decision.outcome is Outcome.REFUSED:
            rule = decision.numbers.get("rule")
            code = decision.error_code or "refused"
            self.rejections[f"{code} ({rule})" if rule else code] += 1
            self.refused_by_strategy[signal.strategy] += 1
            reason = decision.reason
            self._remember(
                DecisionLine(
                    at, signal.strategy, signal.action.value, signal.market, reason, "REFUSED"
                ),
                signal.id,
            )
            self._say(f"{at:%Y-%m-%d %H:%M} refused {signal.market}: {reason}")
            return
        self.accepted += 1
        self.accepted_by_strategy[signal.strategy] += 1
        order = result.order
        state = "NOT SENT" if order is None else order.state.value
        self._remember(
            DecisionLine(
                at, signal.strategy, signal.action.value, signal.market, decision.reason, state
            ),
            signal.id,
        )
        self._say(f"{at:%Y-%m-%d %H:%M} decision {decision.reason}")
        if order is not None:
            self.orders_sent += 1
            if order.state is OrderState.REJECTED:
                self.order_outcomes[OrderState.REJECTED.value] += 1
            text = f"order {order.intent.client_id} {signal.market} -> {order.state.value}"
            self.events.appendleft(f"{at:%m-%d %H:%M} {text}")
            self._say(f"{at:%Y-%m-%d %H:%M} {text}")

    def on_settled(self, settlement: Settlement) -> None:
        """Count one order's final outcome and its fills."""
        order = settlement.order
        intent = order.intent
        self.order_outcomes[order.state.value] += 1
        # A protective order (stop-loss, take-profit) serves the strategy holding the position.
        strategy = self._strategy_of.get(intent.signal_id) or self._holder.get(intent.market, "?")
        size = Decimal(0)
        value = Decimal(0)
        fee = Decimal(0)
        for fill in settlement.fills:
            self.fills += 1
            self.volume += fill.quote_amount
            fill_fee = fill.fee if fill.fee is not None else Decimal(0)
            self.fees += fill_fee
            size += fill.size
            value += fill.quote_amount
            fee += fill_fee
            self._holder[fill.ticker] = strategy
            self.fill_rows.append(
                FillRow(
                    fill.created_at,
                    fill.ticker,
                    fill.side.value,
                    fill.size,
                    fill.price,
                    fill_fee,
                    strategy,
                    intent.signal_id,
                )
            )
            self.events.appendleft(
                f"{fill.created_at:%m-%d %H:%M} fill {fill.side.value} {fill.size} "
                f"{fill.ticker} @ {fill.price} fee {fill_fee:.2f}"
            )
            self._say(
                f"{fill.created_at:%Y-%m-%d %H:%M} fill {fill.side.value} {fill.size} "
                f"{fill.ticker} @ {fill.price} fee {fill_fee:.2f}"
            )
        if settlement.fills:
            self.trades += 1
        shown = _SHOWN.get(order.state, order.state.value)
        line = self._lines.get(intent.signal_id)
        if line is not None:
            line.state = shown
            if size:
                line.fill = f"@ {value / size:.6g} fee {fee:.2f}"
        if not settlement.fills:
            self.events.appendleft(f"order {intent.client_id} {intent.market} -> {shown}")
            self._say(f"order {intent.client_id} {intent.market} -> {shown}")

    def on_foreign(self, activity: ForeignActivity) -> None:
        """A foreign order or fill on the subaccount: a liquidation or deleveraging
        fill counts among the fills (PnL, fees) of the strategy that held the
        position, and among the liquidations."""
        fill = activity.fill
        if not activity.is_liquidation or fill is None:
            return
        kind = activity.details.get("type", fill.fill_type)
        fee = fill.fee if fill.fee is not None else Decimal(0)
        strategy = self._holder.get(fill.ticker, "liquidation")
        row = FillRow(
            fill.created_at, fill.ticker, fill.side.value, fill.size, fill.price, fee, strategy, ""
        )
        self.fills += 1
        self.fees += fee
        self.volume += fill.quote_amount
        self.fill_rows.append(row)
        self.liquidations.append(LiquidationFill(kind, row))
        text = (
            f"{kind} {fill.side.value} {fill.size} {fill.ticker} @ {fill.price} "
            f"(insurance fund {fee:.2f})"
        )
        self.events.appendleft(f"{fill.created_at:%m-%d %H:%M} {text}")
        self._say(f"{fill.created_at:%Y-%m-%d %H:%M} {text}")

    def on_risk(self, at: datetime, risk: AccountRisk) -> None:
        """Record the account's figures at ``at``."""
        self.last_risk = risk
        leverage = risk.leverage or Decimal(0)
        margin_usage = risk.margin_usage or Decimal(0)
        self.equity_curve.append(EquitySample(at, risk.equity, leverage, margin_usage))
        self.max_leverage = max(self.max_leverage, leverage)
        self.max_margin_usage = max(self.max_margin_usage, margin_usage)

    def on_prices(self, prices: Mapping[str, Decimal]) -> None:
        """Each market's price at one step (the first kept, the last replaced)."""
        for market, price in prices.items():
            self.first_prices.setdefault(market, price)
            self.last_prices[market] = price

    def open_positions(self) -> tuple[OpenPosition, ...]:
        """The positions of the latest sample."""
        risk = self.last_risk
        return tuple(
            OpenPosition(p.market, p.size, p.entry_price, p.oracle_price, p.unrealized_pnl)
            for p in (risk.positions if risk else ())
        )

    @property
    def pnl(self) -> Decimal:
        """Equity change over the session, USDC (fees and funding included)."""
        if len(self.equity_curve) < 2:
            return Decimal(0)
        return self.equity_curve[-1].equity - self.equity_curve[0].equity

    def _remember(self, line: DecisionLine, signal_id: str) -> None:
        if len(self.recent) == self.recent.maxlen:
            dropped = self.recent.pop()
            self._lines = {k: v for k, v in self._lines.items() if v is not dropped}
        self.recent.appendleft(line)
        self._lines[signal_id] = line

    def _say(self, text: str) -> None:
        if self.on_line is not None:
            self.on_line(text)
