"""A trading session: what happened, kept as it happens, for the live view and
the closing summary (trades, rejections by reason, PnL, fees, the most
leverage and margin usage reached, the equity curve)."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from dydx_trader.app.account_actor import TradeResult
from dydx_trader.app.executor import Settlement
from dydx_trader.domain.decision import Outcome
from dydx_trader.domain.margin import AccountRisk
from dydx_trader.domain.order import OrderState


@dataclass(frozen=True, slots=True)
class EquityPoint:
    """Equity (USDC) and the figures around it at one moment (chain time)."""

    at: datetime
    equity: Decimal
    leverage: Decimal
    margin_usage: Decimal


@dataclass
class SessionStats:
    """Running totals of one session. ``recent`` holds the latest lines for display."""

    signals: int = 0
    accepted: int = 0
    orders_sent: int = 0
    trades: int = 0
    fills: int = 0
    fees: Decimal = Decimal(0)
    volume: Decimal = Decimal(0)
    rejections: Counter[str] = field(default_factory=Counter)
    order_outcomes: Counter[str] = field(default_factory=Counter)
    equity_curve: list[EquityPoint] = field(default_factory=list)
    max_leverage: Decimal = Decimal(0)
    max_margin_usage: Decimal = Decimal(0)
    recent: deque[str] = field(default_factory=lambda: deque(maxlen=12))
    last_risk: AccountRisk | None = None

    def on_result(self, result: TradeResult) -> None:
        """Count one signal's outcome."""
        self.signals += 1
        decision = result.decision
        signal = result.signal
        if decision is None:
            # Rejected by a validation rule without a decision, or HOLD.
            if result.validation.startswith("rejected"):
                self.rejections[result.validation.split(":", 1)[0]] += 1
            return
        if decision.outcome is Outcome.REFUSED:
            rule = decision.numbers.get("rule")
            code = decision.error_code or "refused"
            self.rejections[f"{code} ({rule})" if rule else code] += 1
            self.recent.appendleft(
                f"{signal.action.value:5} {signal.market:9} refused: {decision.reason}"
            )
            return
        self.accepted += 1
        if result.order is not None:
            self.orders_sent += 1
            if result.order.state is OrderState.REJECTED:
                self.order_outcomes[OrderState.REJECTED.value] += 1
            self.recent.appendleft(
                f"{signal.action.value:5} {signal.market:9} {decision.reason} "
                f"-> {result.order.state.value}"
            )

    def on_settled(self, settlement: Settlement) -> None:
        """Count one order's final outcome and its fills."""
        self.order_outcomes[settlement.order.state.value] += 1
        if settlement.fills:
            self.trades += 1
        for fill in settlement.fills:
            self.fills += 1
            self.volume += fill.quote_amount
            if fill.fee is not None:
                self.fees += fill.fee

    def on_risk(self, at: datetime, risk: AccountRisk) -> None:
        """Record the account's figures at ``at``."""
        self.last_risk = risk
        leverage = risk.leverage or Decimal(0)
        margin_usage = risk.margin_usage or Decimal(0)
        self.equity_curve.append(EquityPoint(at, risk.equity, leverage, margin_usage))
        self.max_leverage = max(self.max_leverage, leverage)
        self.max_margin_usage = max(self.max_margin_usage, margin_usage)

    @property
    def pnl(self) -> Decimal:
        """Equity change over the session, USDC (fees and funding included)."""
        if len(self.equity_curve) < 2:
            return Decimal(0)
        return self.equity_curve[-1].equity - self.equity_curve[0].equity
