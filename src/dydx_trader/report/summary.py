"""The session's summary: every figure of the trader's report, JSON-ready.

:func:`build_summary` takes what a session recorded (:class:`SessionFacts`)
and returns plain values: money as exact decimal strings (USDC to the
micro-USDC), ratios as short decimals (:data:`RATIO_PLACES` places), times as
ISO-8601 UTC. PnL splits into realized (closed trips, before fees; a trip the chain closed by
liquidation or deleveraging counts, and is also listed under ``liquidations``),
unrealized (open positions at the last oracle price), fees (a liquidated
fill's insurance fund payment among them), and funding: the rest of the equity
change, which on dYdX is the funding paid or received (and quantum rounding).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

from dydx_trader.report.performance import (
    buy_and_hold,
    max_drawdown,
    sharpe,
    step_returns,
    total_return,
)
from dydx_trader.report.trips import FillRow, RoundTrip, Trips, round_trips, summarize

ZERO = Decimal(0)
RATIO_PLACES = 4
USDC_PLACES = 6


@dataclass(frozen=True, slots=True)
class EquitySample:
    """The account marked to market at ``at``: equity USDC, leverage (x) and
    margin usage (fraction)."""

    at: datetime
    equity: Decimal
    leverage: Decimal
    margin_usage: Decimal


@dataclass(frozen=True, slots=True)
class OpenPosition:
    """A position held at the end: signed size (base units), prices USDC."""

    market: str
    size: Decimal
    entry_price: Decimal
    oracle_price: Decimal
    unrealized_pnl: Decimal


@dataclass(frozen=True, slots=True)
class LiquidationFill:
    """A fill the chain made on our position, with no order of ours: ``kind`` is
    ``LIQUIDATED`` (its fee is what went to the insurance fund; negative: the fund
    paid), ``DELEVERAGED`` or ``OFFSETTING``. It is among the session's fills too."""

    kind: str
    fill: FillRow


@dataclass(frozen=True)
class SessionFacts:
    """What one session recorded, for :func:`build_summary`.

    ``prices`` maps each traded market to its price at the first and last
    step (buy-and-hold); ``step_s`` is the sampling period (seconds).
    ``signals``/``accepted``/``refused`` count by strategy. ``liquidations``
    are the fills among ``fills`` that the chain made on our positions.
    """

    samples: Sequence[EquitySample]
    fills: Sequence[FillRow]
    positions: Sequence[OpenPosition]
    prices: Mapping[str, tuple[Decimal, Decimal]]
    step_s: int
    orders_sent: int = 0
    order_outcomes: Mapping[str, int] = field(default_factory=dict)
    rejections: Mapping[str, int] = field(default_factory=dict)
    signals: Mapping[str, int] = field(default_factory=dict)
    accepted: Mapping[str, int] = field(default_factory=dict)
    refused: Mapping[str, int] = field(default_factory=dict)
    liquidations: Sequence[LiquidationFill] = ()


def money(value: Decimal | None) -> str | None:
    """USDC to the micro-USDC, positional."""
    if value is None:
        return None
    return _plain(value.quantize(Decimal(1).scaleb(-USDC_PLACES), rounding=ROUND_HALF_EVEN))


def ratio(value: Decimal | None) -> str | None:
    """A derived ratio to :data:`RATIO_PLACES` places, positional."""
    if value is None:
        return None
    return _plain(value.quantize(Decimal(1).scaleb(-RATIO_PLACES), rounding=ROUND_HALF_EVEN))


def _plain(value: Decimal) -> str:
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def build_summary(facts: SessionFacts) -> dict[str, object]:
    """Every figure of the report (see the module docstring)."""
    samples = list(facts.samples)
    start = samples[0].equity if samples else ZERO
    end = samples[-1].equity if samples else ZERO
    marks = {p.market: p.oracle_price for p in facts.positions}
    trips = round_trips(facts.fills, marks)
    fees = sum((f.fee for f in facts.fills), ZERO)
    realized = sum((t.realized_pnl for t in (*trips.closed, *trips.open)), ZERO)
    unrealized = sum((t.unrealized_pnl for t in trips.open), ZERO)
    total = end - start
    series = [(s.at, s.equity) for s in samples]
    drawdown = max_drawdown(series)
    sharpe_ratio = sharpe(step_returns(series), facts.step_s)
    volume = sum((f.price * f.size for f in facts.fills), ZERO)
    stats = summarize(trips.closed)
    return {
        "equity": {
            "start_usdc": money(start),
            "end_usdc": money(end),
            "return": ratio(total_return(start, end)),
            "max_leverage": ratio(max((s.leverage for s in samples), default=ZERO)),
            "max_margin_usage": ratio(max((s.margin_usage for s in samples), default=ZERO)),
            "samples": len(samples),
        },
        "pnl": {
            "total_usdc": money(total),
            "realized_usdc": money(realized),
            "unrealized_usdc": money(unrealized),
            "funding_usdc": money(total - realized - unrealized + fees),
            "fees_usdc": money(fees),
        },
        "drawdown": {
            "max_usdc": money(drawdown.amount),
            "max": ratio(drawdown.fraction),
            "from": _iso(drawdown.peak_at),
            "to": _iso(drawdown.trough_at),
        },
        "sharpe": {
            "value": ratio(sharpe_ratio),
            "period": f"{facts.step_s} s returns, annualized (risk-free 0)",
        },
        "fills": len(facts.fills),
        "volume_usdc": money(volume),
        "round_trips": {
            "count": stats["count"],
            "wins": stats["wins"],
            "losses": stats["losses"],
            "win_rate": ratio(_dec(stats["win_rate"])),
            "profit_factor": ratio(_dec(stats["profit_factor"])),
            "pnl_usdc": money(_dec(stats["pnl"])),
            "exits_by_reason": _exits_by_reason(trips.closed),
            "trips": [_trip(t) for t in trips.closed],
        },
        "by_market": _by(trips, facts.fills, key="market"),
        "by_strategy": _by_strategy(trips, facts),
        "buy_and_hold": {m: ratio(v) for m, v in buy_and_hold(dict(facts.prices)).items()},
        "liquidations": _liquidations(facts.liquidations),
        "orders_sent": facts.orders_sent,
        "order_outcomes": dict(sorted(facts.order_outcomes.items())),
        "rejections_by_reason": dict(sorted(facts.rejections.items())),
        "open_positions": [
            {
                "market": p.market,
                "size": _plain(p.size),
                "entry_price": _plain(p.entry_price),
                "oracle_price": _plain(p.oracle_price),
                "unrealized_pnl_usdc": money(p.unrealized_pnl),
            }
            for p in sorted(facts.positions, key=lambda p: p.market)
        ],
    }


def _liquidations(fills: Sequence[LiquidationFill]) -> dict[str, object]:
    """How often the chain closed our positions, how much it traded, and what the
    liquidated fills paid the insurance fund (their fee; negative: the fund paid)."""
    kinds: dict[str, int] = {}
    for entry in fills:
        kinds[entry.kind] = kinds.get(entry.kind, 0) + 1
    return {
        "fills": len(fills),
        "by_type": dict(sorted(kinds.items())),
        "markets": sorted({entry.fill.market for entry in fills}),
        "volume_usdc": money(sum((e.fill.price * e.fill.size for e in fills), ZERO)),
        "insurance_fund_usdc": money(
            sum((e.fill.fee for e in fills if e.kind == "LIQUIDATED"), ZERO)
        ),
    }


def _exits_by_reason(trips: Sequence[RoundTrip]) -> dict[str, int]:
    """Closed round trips by what closed them: signal, stop-loss, take-profit,
    liquidation (each shown, 0 when none), flatten when the kill switch did."""
    counts = {"signal": 0, "stop-loss": 0, "take-profit": 0, "liquidation": 0}
    for trip in trips:
        reason = trip.exit_reason or "signal"
        counts[reason] = counts.get(reason, 0) + 1
    return counts


def _dec(value: object) -> Decimal | None:
    return value if isinstance(value, Decimal) else None


def _trip(trip: RoundTrip) -> dict[str, object]:
    return {
        "market": trip.market,
        "strategy": trip.strategy,
        "side": trip.side,
        "size": _plain(trip.size),
        "entry_at": _iso(trip.entry_at),
        "entry_price": money(trip.entry_price),
        "exit_at": _iso(trip.exit_at),
        "exit_price": money(trip.exit_price),
        "pnl_usdc": money(trip.pnl),
        "fees_usdc": money(trip.fees),
        "duration_s": trip.duration_s,
        "exit_reason": trip.exit_reason,
    }


def _by(trips: Trips, fills: Sequence[FillRow], *, key: str) -> dict[str, dict[str, object]]:
    table: dict[str, dict[str, object]] = {}
    names = sorted({getattr(f, key) for f in fills})
    for name in names:
        closed = [t for t in trips.closed if getattr(t, key) == name]
        held = [t for t in trips.open if getattr(t, key) == name]
        mine = [f for f in fills if getattr(f, key) == name]
        stats = summarize(closed)
        table[name] = {
            "fills": len(mine),
            "round_trips": stats["count"],
            "win_rate": ratio(_dec(stats["win_rate"])),
            "realized_pnl_usdc": money(sum((t.realized_pnl for t in (*closed, *held)), ZERO)),
            "unrealized_pnl_usdc": money(sum((t.unrealized_pnl for t in held), ZERO)),
            "fees_usdc": money(sum((f.fee for f in mine), ZERO)),
            "volume_usdc": money(sum((f.price * f.size for f in mine), ZERO)),
        }
    return table


def _by_strategy(trips: Trips, facts: SessionFacts) -> dict[str, dict[str, object]]:
    table = _by(trips, facts.fills, key="strategy")
    names = sorted(set(table) | set(facts.signals))
    out: dict[str, dict[str, object]] = {}
    for name in names:
        out[name] = {
            "signals": facts.signals.get(name, 0),
            "accepted": facts.accepted.get(name, 0),
            "refused": facts.refused.get(name, 0),
            **table.get(name, {"fills": 0, "round_trips": 0}),
        }
    return out
