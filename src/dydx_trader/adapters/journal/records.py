"""What the journal hands back: plain frozen values, never a database row."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from dydx_trader.domain.decision import Decision
from dydx_trader.domain.order import Order, OrderState
from dydx_trader.domain.trading_state import Authority, TradingState


@dataclass(frozen=True, slots=True)
class Transition:
    """One step of an order's history (``from_state`` is None for the first)."""

    client_id: int
    from_state: OrderState | None
    to_state: OrderState
    reason: str
    numbers: Mapping[str, str]
    at: datetime


@dataclass(frozen=True, slots=True)
class FillRecord:
    """One applied fill: ``quantums`` base quantums, ``size`` base units, ``price`` and
    ``fee`` USDC (fee negative for a maker rebate), ``height`` the block if known."""

    fill_id: str
    client_id: int
    quantums: int
    size: Decimal
    price: Decimal
    fee: Decimal
    height: int | None
    filled_at: datetime


@dataclass(frozen=True, slots=True)
class OrderReport:
    """One order as the operator reads it: its state, sizes, fills and last word.

    ``size`` and ``filled_size`` are base units when the order's accepted
    decision gives the size of its quantums, else None (then read ``order``'s
    quantums). ``last_reason`` is the reason of the latest history row.
    """

    order: Order
    size: Decimal | None
    filled_size: Decimal | None
    fills: tuple[FillRecord, ...]
    last_reason: str
    last_at: datetime | None


@dataclass(frozen=True, slots=True)
class DecisionReport:
    """A decision with the state of the order it led to (all None: no order);
    ``filled_size`` in base units."""

    decision: Decision
    order_state: OrderState | None
    filled_quantums: int | None
    filled_size: Decimal | None


@dataclass(frozen=True, slots=True)
class TradingStateRecord:
    """The persisted trading state, why, by whom, since when (None: never set) and
    from where (``trader``, ``cli``, ``dashboard``; empty in older journals)."""

    state: TradingState
    reason: str
    authority: Authority
    at: datetime | None
    source: str = ""


class RunStatus(StrEnum):
    """How a session ended."""

    RUNNING = "running"
    CLEAN = "clean"
    """Stopped on request (SIGINT/SIGTERM, end of the replay) with exit code 0."""
    FAILED = "failed"
    """Stopped by an error it could report (see the run's reason)."""
    CRASHED = "crashed"
    """Found still ``running`` by a later start: the process died without a word."""


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One session of ``dydx-trader run``."""

    id: int
    started_at: datetime
    finished_at: datetime | None
    mode: str
    network: str
    address: str
    subaccount_number: int
    version: str
    config_hash: str
    pid: int | None
    host: str
    status: RunStatus
    reason: str
    details: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class ForeignActivity:
    """An order or fill on our subaccount that is not in the journal (``kind``
    says which), by the venue's id, with what was seen of it."""

    kind: str
    venue_id: str
    market: str
    details: Mapping[str, str]
    height: int | None
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class PositionFigures:
    """One position as it was marked: signed ``size`` (base units), prices and
    ``notional`` / ``unrealized_pnl`` USDC, ``leverage`` x equity (None when equity
    <= 0), the ``liquidation_price`` USDC and its distance in percent of the oracle
    (None when undefined)."""

    market: str
    size: Decimal
    entry_price: Decimal
    oracle_price: Decimal
    notional: Decimal
    unrealized_pnl: Decimal
    leverage: Decimal | None
    liquidation_price: Decimal | None
    liquidation_distance_pct: Decimal | None


@dataclass(frozen=True, slots=True)
class AccountSample:
    """The account marked to market at ``at`` (aware; market time in a paper run):
    ``equity`` and ``free_collateral`` USDC, ``leverage`` x and ``margin_usage``
    (a fraction; both 0 when equity <= 0), and the positions held."""

    at: datetime
    equity: Decimal
    free_collateral: Decimal
    leverage: Decimal
    margin_usage: Decimal
    positions: tuple[PositionFigures, ...]
