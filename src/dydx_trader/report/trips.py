"""Round trips from fills: a position opened from flat and closed back to flat.

Fills are folded per market in time order with average-cost accounting (the
indexer's entry price): a fill on the position's side grows it at the
volume-weighted entry price; one against it realizes ``(exit - entry) x size``
(signed by the side) on the part it closes; a fill larger than the position
closes the trip and opens a new one with the rest. Fees are the fills' own
(negative: a rebate), shared pro rata when a fill both closes and opens.
A closed trip's exit reason is the one of the fill that brought it back to flat
(:func:`exit_reason`). Prices USDC per base unit, sizes base units, money USDC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from dydx_trader.domain.protection import PROTECT_PREFIX

ZERO = Decimal(0)
# The kill switch's FLATTENING closes (app.flattener's signal ids).
FLATTEN_PREFIX = "flatten-"
_PROTECTIVE_REASONS = {"STOP_LOSS": "stop-loss", "TAKE_PROFIT": "take-profit"}


def exit_reason(signal_id: str) -> str:
    """Why a fill of the order serving ``signal_id`` traded: ``stop-loss`` or
    ``take-profit`` (a protective order the chain triggered), ``liquidation`` (no
    order of ours: the chain's liquidation or deleveraging), ``flatten`` (the kill
    switch), else ``signal``."""
    if not signal_id:
        return "liquidation"
    if signal_id.startswith(PROTECT_PREFIX):
        kind = signal_id[len(PROTECT_PREFIX) :].split(":")[1:2]
        return _PROTECTIVE_REASONS.get(kind[0] if kind else "", "signal")
    if signal_id.startswith(FLATTEN_PREFIX):
        return "flatten"
    return "signal"


@dataclass(frozen=True, slots=True)
class FillRow:
    """One fill as the report reads it. ``side`` is ``"BUY"`` or ``"SELL"``;
    ``size`` unsigned base units; ``fee`` USDC (negative = rebate)."""

    at: datetime
    market: str
    side: str
    size: Decimal
    price: Decimal
    fee: Decimal
    strategy: str
    signal_id: str

    @property
    def signed_size(self) -> Decimal:
        return self.size if self.side == "BUY" else -self.size


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """One position from flat back to flat (``exit_at`` ``None``: still open).

    ``size`` is the largest signed size it reached; ``entry_price`` and
    ``exit_price`` are volume-weighted; ``gross_pnl`` is before fees and
    ``pnl`` after them (for an open trip, marked at ``exit_price``, the last
    price given).
    """

    market: str
    strategy: str
    side: str
    size: Decimal
    entry_at: datetime
    entry_price: Decimal
    exit_at: datetime | None
    exit_price: Decimal | None
    gross_pnl: Decimal
    fees: Decimal
    unrealized_pnl: Decimal = ZERO
    exit_reason: str | None = None  # closed trips: see exit_reason()

    @property
    def realized_pnl(self) -> Decimal:
        """What was closed, before fees."""
        return self.gross_pnl - self.unrealized_pnl

    @property
    def pnl(self) -> Decimal:
        return self.gross_pnl - self.fees

    @property
    def is_open(self) -> bool:
        return self.exit_at is None

    @property
    def duration_s(self) -> int | None:
        if self.exit_at is None:
            return None
        return int((self.exit_at - self.entry_at).total_seconds())


@dataclass(slots=True)
class _Book:
    """One market's open trip while folding fills."""

    strategy: str
    entry_at: datetime
    size: Decimal = ZERO  # signed base units held now
    cost: Decimal = ZERO  # |size| x average entry price
    peak: Decimal = ZERO  # largest |size| reached
    entry_size: Decimal = ZERO  # every size bought (long) or sold (short) into it
    entry_value: Decimal = ZERO
    closed_size: Decimal = ZERO
    closed_value: Decimal = ZERO  # sum of exit price x size closed
    gross: Decimal = ZERO
    fees: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Trips:
    """Closed round trips in the order they closed, and the ones still open."""

    closed: tuple[RoundTrip, ...]
    open: tuple[RoundTrip, ...]


def round_trips(fills: Iterable[FillRow], marks: Mapping[str, Decimal] | None = None) -> Trips:
    """Fold ``fills`` (any order; sorted by time, stable) into round trips; an
    open trip is marked at ``marks[market]`` (USDC) when given, else its entry."""
    books: dict[str, _Book] = {}
    closed: list[RoundTrip] = []
    for fill in sorted(fills, key=lambda f: f.at):
        remaining = fill.signed_size
        while remaining:
            book = books.get(fill.market)
            if book is None:
                book = books[fill.market] = _Book(fill.strategy, fill.at)
            if book.size == 0 or (book.size > 0) == (remaining > 0):
                book.size += remaining
                book.cost += abs(remaining) * fill.price
                book.entry_size += abs(remaining)
                book.entry_value += abs(remaining) * fill.price
                book.fees += _fee_share(fill, abs(remaining))
                book.peak = max(book.peak, abs(book.size))
                remaining = ZERO
                continue
            part = min(abs(remaining), abs(book.size))
            direction = Decimal(1) if book.size > 0 else Decimal(-1)
            entry = book.cost / abs(book.size)
            book.gross += (fill.price - entry) * part * direction
            book.fees += _fee_share(fill, part)
            book.closed_size += part
            book.closed_value += part * fill.price
            book.cost -= entry * part
            book.size -= part * direction
            remaining += part * direction
            if book.size == 0:
                trip = _trip(fill.market, book, direction, fill.at, None)
                closed.append(replace(trip, exit_reason=exit_reason(fill.signal_id)))
                del books[fill.market]
    opened = tuple(
        _trip(market, book, Decimal(1) if book.size > 0 else Decimal(-1), None, marks or {})
        for market, book in sorted(books.items())
    )
    return Trips(tuple(closed), opened)


def _fee_share(fill: FillRow, part: Decimal) -> Decimal:
    """The fill's fee for ``part`` of its size (all of it, exactly, for the whole)."""
    return fill.fee if part == fill.size else fill.fee * part / fill.size


def _trip(
    market: str,
    book: _Book,
    direction: Decimal,
    closed_at: datetime | None,
    marks: Mapping[str, Decimal] | None,
) -> RoundTrip:
    unrealized = ZERO
    exit_price = book.closed_value / book.closed_size if book.closed_size else None
    if marks is not None:
        # Still open: what is held is marked at the market's price (unrealized).
        held = abs(book.size)
        entry = book.cost / held
        mark = marks.get(market, entry)
        unrealized = (mark - entry) * held * direction
        exit_price = mark
    return RoundTrip(
        market=market,
        strategy=book.strategy,
        side="LONG" if direction > 0 else "SHORT",
        size=book.peak * direction,
        entry_at=book.entry_at,
        entry_price=book.entry_value / book.entry_size,
        exit_at=closed_at,
        exit_price=exit_price,
        gross_pnl=book.gross + unrealized,
        fees=book.fees,
        unrealized_pnl=unrealized,
    )


def summarize(trips: Sequence[RoundTrip]) -> dict[str, Decimal | int | None]:
    """Counts, win rate and profit factor of closed ``trips`` (after fees)."""
    wins = [t.pnl for t in trips if t.pnl > 0]
    losses = [t.pnl for t in trips if t.pnl <= 0]
    gross_loss = -sum(losses, ZERO)
    return {
        "count": len(trips),
        "wins": len(wins),
        "losses": len(losses),
        "win_rate": Decimal(len(wins)) / len(trips) if trips else None,
        "profit_factor": sum(wins, ZERO) / gross_loss if gross_loss else None,
        "pnl": sum((t.pnl for t in trips), ZERO),
    }
