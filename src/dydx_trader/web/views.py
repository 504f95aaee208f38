"""The dashboard's JSON: the journal's records and the trader's status as plain values.

Money, prices and sizes travel as exact decimal strings (the page formats them
for display only); times as ISO-8601 UTC (market time in a paper run). Nothing
secret is in any of these values: they are built field by field, never by
dumping an object.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from dydx_trader.adapters.journal import (
    AccountSample,
    OrderReport,
    PositionFigures,
    SignalOutcome,
    TradingStateRecord,
)
from dydx_trader.domain.margin import AccountRisk, PositionRisk
from dydx_trader.domain.proposal import OrderProposal
from dydx_trader.report.performance import drawdown_series
from dydx_trader.report.summary import EquitySample, OpenPosition, SessionFacts, build_summary
from dydx_trader.report.trips import FillRow

Json = dict[str, object]


def text(value: Decimal | None) -> str | None:
    """A Decimal as positional text (no exponent), None kept."""
    return None if value is None else f"{value:f}"


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def account_view(risk: AccountRisk | None, sample: AccountSample | None) -> Json | None:
    """The account: the trader's fresh balance when it has one, else the latest
    journaled sample (``source`` says which, ``as_of`` when it was marked)."""
    if risk is not None:
        positions = [_position(_figures(p)) for p in risk.positions]
        return _account("balance", None, risk.equity, risk.sizing_free_collateral,
                        risk.margin_usage, risk.leverage, positions)  # fmt: skip
    if sample is not None:
        positions = [_position(p) for p in sample.positions]
        return _account("sample", sample.at, sample.equity, sample.free_collateral,
                        sample.margin_usage, sample.leverage, positions)  # fmt: skip
    return None


def _account(
    source: str,
    as_of: datetime | None,
    equity: Decimal,
    free_collateral: Decimal,
    margin_usage: Decimal | None,
    leverage: Decimal | None,
    positions: list[Json],
) -> Json:
    return {
        "source": source,
        "as_of": iso(as_of),
        "equity": text(equity),
        "free_collateral": text(free_collateral),
        "margin_usage": text(margin_usage),
        "leverage": text(leverage),
        "positions": positions,
    }


def _figures(p: PositionRisk) -> PositionFigures:
    return PositionFigures(
        p.market, p.size, p.entry_price, p.oracle_price, p.notional, p.unrealized_pnl,
        p.leverage, p.liquidation_price, p.liquidation_distance_pct,
    )  # fmt: skip


def _position(p: PositionFigures) -> Json:
    return {
        "market": p.market,
        "side": "LONG" if p.size > 0 else "SHORT",
        "size": text(p.size),
        "entry_price": text(p.entry_price),
        "oracle_price": text(p.oracle_price),
        "notional": text(p.notional),
        "unrealized_pnl": text(p.unrealized_pnl),
        "leverage": text(p.leverage),
        "liquidation_price": text(p.liquidation_price),
        "liquidation_distance_pct": text(p.liquidation_distance_pct),
        # Stop-loss / take-profit orders guarding the position: none are placed yet.
        "protective_orders": [],
    }


def trading_state_view(in_force: str, reason: str, record: TradingStateRecord) -> Json:
    """The state in force (the trader's, which a halt it could not persist tightens)
    and the journal's last change: why, by whom, from where, when."""
    return {
        "state": in_force,
        "reason": reason or record.reason,
        "authority": record.authority.value,
        "source": record.source or "trader",
        "since": iso(record.at),
    }


def orders_view(reports: Sequence[OrderReport]) -> list[Json]:
    return [
        {
            "client_id": r.order.client_id,
            "signal_id": r.order.intent.signal_id,
            "market": r.order.intent.market,
            "side": r.order.intent.side.value,
            "size": text(r.size),
            "filled": text(r.filled_size),
            "quantums": str(r.order.intent.quantums),
            "time_in_force": r.order.intent.time_in_force.value,
            "reduce_only": r.order.intent.reduce_only,
            "good_til_block": r.order.intent.good_til_block,
            "state": r.order.state.value,
            "last_reason": r.last_reason,
            "updated_at": iso(r.last_at),
        }
        for r in reports
    ]


def reserved_view(reserved: Sequence[OrderProposal]) -> list[Json]:
    """The worst cases held for the orders in flight."""
    return [{"market": p.market, "side": p.side.value, "size": text(p.size)} for p in reserved]


def fills_view(rows: Sequence[FillRow]) -> list[Json]:
    return [
        {
            "at": iso(f.at),
            "market": f.market,
            "side": f.side,
            "size": text(f.size),
            "price": text(f.price),
            "fee": text(f.fee),
            "strategy": f.strategy,
            "signal_id": f.signal_id,
        }
        for f in rows
    ]


def signals_view(outcomes: Sequence[SignalOutcome]) -> list[Json]:
    """Each signal with its decision: the reason, the binding cap and the arithmetic."""
    rows: list[Json] = []
    for item in outcomes:
        signal, decision = item.signal, item.decision
        row: Json = {
            "signal_id": signal.id,
            "at": iso(signal.created_at),
            "strategy": signal.strategy,
            "source": signal.source.value,
            "action": signal.action.value,
            "market": signal.market,
            "confidence": text(signal.confidence),
            "outcome": "PENDING" if decision is None else decision.outcome.value,
            "decided_at": None if decision is None else iso(decision.decided_at),
            "reason": "" if decision is None else decision.reason,
            "error_code": None if decision is None else decision.error_code,
            "bound_by": None if decision is None else decision.bound_by,
            "arithmetic": [] if decision is None else [list(line) for line in decision.arithmetic],
            "order_state": None if item.order_state is None else item.order_state.value,
        }
        rows.append(row)
    return rows


def series_view(samples: Sequence[AccountSample]) -> Json:
    """Column arrays for the charts: unix seconds, equity USDC, drawdown (a
    fraction of the running peak), leverage (x) and margin usage (a fraction)."""
    drawdowns = drawdown_series([(s.at, s.equity) for s in samples])
    return {
        "t": [int(s.at.timestamp()) for s in samples],
        "equity": [text(s.equity) for s in samples],
        "drawdown": [text(d) for d in drawdowns],
        "leverage": [text(s.leverage) for s in samples],
        "margin_usage": [text(s.margin_usage) for s in samples],
    }


def report_view(
    samples: Sequence[AccountSample], fills: Sequence[FillRow], step_s: int
) -> Json:
    """The report's figures so far, by the report package itself."""
    last = samples[-1].positions if samples else ()
    facts = SessionFacts(
        samples=[EquitySample(s.at, s.equity, s.leverage, s.margin_usage) for s in samples],
        fills=fills,
        positions=[
            OpenPosition(p.market, p.size, p.entry_price, p.oracle_price, p.unrealized_pnl)
            for p in last
        ],
        prices={},
        step_s=step_s,
    )
    summary = build_summary(facts)
    trips = summary["round_trips"]
    assert isinstance(trips, dict)
    return {
        "equity": summary["equity"],
        "pnl": summary["pnl"],
        "drawdown": summary["drawdown"],
        "sharpe": summary["sharpe"],
        "fills": summary["fills"],
        "volume_usdc": summary["volume_usdc"],
        "round_trips": {k: v for k, v in trips.items() if k != "trips"},
    }
