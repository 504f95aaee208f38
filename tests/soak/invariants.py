"""What must hold after every step, and once everything has settled, against the venue.

Each check compares the devnet's own state (:class:`~soak.world.VenueState`)
with the journal (:class:`~soak.journal_view.JournalView`):

* ``caps``: gross notional and each position's notional within the caps,
  with the one tolerance of :mod:`soak.tolerance`;
* ``placed twice``: the chain accepted no client id twice;
* ``traded twice`` / ``unknown signal``: each signal has at most one order,
  and only signals the soak sent trade;
* ``lost order``: every order the chain accepted is in the journal, journaled
  before the chain saw it;
* ``fills``: every fill the journal holds is the venue's, never more filled
  than the venue says; once settled, the journal's final state and fills are
  the venue's, and nothing is left in flight;
* ``sent while halted``: no order was journaled (decided) while the journal's
  trading state was HALTED, and none grew a position while REDUCING.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from soak.journal_view import JournalView
from soak.schedule import Caps
from soak.tolerance import CapBound
from soak.world import VenueState

IN_FLIGHT = frozenset(
    {"PENDING_SUBMIT", "SUBMITTED", "IN_FLIGHT_UNKNOWN", "OPEN", "PARTIALLY_FILLED"}
)
UNFILLED_ENDS = frozenset({"BEST_EFFORT_CANCELED", "EXPIRED", "CANCELED"})
NEVER_PLACED_ENDS = frozenset({"REJECTED", "EXPIRED"})


@dataclass(frozen=True, slots=True)
class Violation:
    invariant: str
    detail: str

    def __str__(self) -> str:
        return f"{self.invariant}: {self.detail}"


def check_step(
    venue: VenueState, journal: JournalView, caps: Caps, bound: CapBound, sent: Iterable[str]
) -> list[Violation]:
    """What must hold at any moment."""
    return [
        *_caps(venue, caps, bound),
        *_placements(venue, journal, frozenset(sent)),
        *_fills_so_far(venue, journal),
        *_halted(venue, journal),
    ]


def check_settled(venue: VenueState, journal: JournalView) -> list[Violation]:
    """What must hold once the trader stopped cleanly: every order settled as the venue says."""
    found: list[Violation] = []
    venue_fills: dict[int, set[str]] = {}
    for fill in venue.fills.values():
        if fill.client_id is not None:
            venue_fills.setdefault(fill.client_id, set()).add(fill.fill_id)
    journal_fills: dict[int, set[str]] = {}
    for fill in journal.fills.values():
        journal_fills.setdefault(fill.client_id, set()).add(fill.fill_id)
    placed_at = {p.client_id: p.height for p in venue.placements if p.accepted}
    for order in journal.orders.values():
        cid = order.client_id
        name = (
            f"order {cid} (signal {order.signal_id}, {order.market}, good-til-block "
            f"{order.good_til_block}, placed at {placed_at.get(cid, 'no height')})"
        )
        if order.state in IN_FLIGHT:
            found.append(Violation("unsettled", f"{name} still {order.state} after a clean stop"))
            continue
        on_venue = venue.orders.get(cid)
        if on_venue is None:
            if order.state not in NEVER_PLACED_ENDS or order.filled_quantums:
                found.append(
                    Violation("state differs", f"{name} is {order.state}; the venue never had it")
                )
            continue
        if journal_fills.get(cid, set()) != venue_fills.get(cid, set()):
            found.append(
                Violation(
                    "fills differ",
                    f"{name}: journal fills {sorted(journal_fills.get(cid, set()))}, venue "
                    f"{sorted(venue_fills.get(cid, set()))} at heights "
                    f"{sorted(f.height for f in venue.fills.values() if f.client_id == cid)}",
                )
            )
        if order.filled_quantums != on_venue.filled:
            found.append(
                Violation(
                    "fills differ",
                    f"{name}: journal filled {order.filled_quantums}, venue {on_venue.filled}",
                )
            )
        full = on_venue.filled == on_venue.quantums
        if (order.state == "FILLED") != full or (not full and order.state not in UNFILLED_ENDS):
            found.append(
                Violation(
                    "state differs",
                    f"{name} is {order.state}; the venue says {on_venue.status} "
                    f"({on_venue.filled}/{on_venue.quantums})",
                )
            )
    return found


def _caps(venue: VenueState, caps: Caps, bound: CapBound) -> list[Violation]:
    equity = venue.equity_qq
    found = []
    exposure = Fraction(caps.max_exposure)
    if venue.gross_qq and not bound.allows(venue.gross_qq, exposure, equity):
        found.append(
            Violation(
                "caps",
                f"gross {_usdc(venue.gross_qq)} USDC on equity {_usdc(equity)} USDC = "
                f"{_ratio(venue.gross_qq, equity)}x > {caps.max_exposure}x exposure cap "
                f"(tolerance x{float(bound.factor):.5f}, slack {bound.slack_qq} qq)",
            )
        )
    leverage = Fraction(caps.max_leverage)
    for ticker, notional in sorted(venue.notionals_qq.items()):
        if notional and not bound.allows(notional, leverage, equity):
            found.append(
                Violation(
                    "caps",
                    f"{ticker} notional {_usdc(notional)} USDC on equity {_usdc(equity)} USDC = "
                    f"{_ratio(abs(notional), equity)}x > {caps.max_leverage}x leverage cap "
                    f"(tolerance x{float(bound.factor):.5f})",
                )
            )
    return found


def _placements(venue: VenueState, journal: JournalView, sent: frozenset[str]) -> list[Violation]:
    found = []
    accepted = [p for p in venue.placements if p.accepted]
    for cid, count in Counter(p.client_id for p in accepted).items():
        if count > 1:
            found.append(Violation("placed twice", f"client id {cid} accepted {count} times"))
    for placement in accepted:
        order = journal.orders.get(placement.client_id)
        if order is None:
            found.append(
                Violation(
                    "lost order",
                    f"the venue accepted client id {placement.client_id} at height "
                    f"{placement.height}; the journal has no such order",
                )
            )
        elif order.created_at.timestamp() > placement.at:
            found.append(
                Violation(
                    "lost order",
                    f"order {placement.client_id} reached the venue before its intent was "
                    "journaled",
                )
            )
    for signal_id, count in Counter(o.signal_id for o in journal.orders.values()).items():
        if count > 1:
            found.append(Violation("traded twice", f"signal {signal_id} has {count} orders"))
        if signal_id not in sent:
            found.append(Violation("unknown signal", f"signal {signal_id} was never sent"))
    return found


def _fills_so_far(venue: VenueState, journal: JournalView) -> list[Violation]:
    found = []
    for fill in journal.fills.values():
        on_venue = venue.fills.get(fill.fill_id)
        if on_venue is None or on_venue.client_id != fill.client_id:
            found.append(
                Violation("fills differ", f"journal fill {fill.fill_id} is not the venue's")
            )
        elif on_venue.quantums != fill.quantums:
            found.append(
                Violation(
                    "fills differ",
                    f"fill {fill.fill_id}: journal {fill.quantums}, venue {on_venue.quantums}",
                )
            )
    for order in journal.orders.values():
        on_venue = venue.orders.get(order.client_id)
        venue_filled = 0 if on_venue is None else on_venue.filled
        if order.filled_quantums > venue_filled:
            found.append(
                Violation(
                    "fills differ",
                    f"order {order.client_id}: journal filled {order.filled_quantums} > venue "
                    f"{venue_filled}",
                )
            )
    return found


def _halted(venue: VenueState, journal: JournalView) -> list[Violation]:
    found = []
    reduce_only = {p.client_id: p.reduce_only for p in venue.placements if p.accepted}
    for order in journal.orders.values():
        if order.client_id not in reduce_only:
            continue
        state = journal.state_at(order.created_at)
        if state is None:
            continue
        if state.state == "HALTED":
            found.append(
                Violation(
                    "sent while halted",
                    f"order {order.client_id} (signal {order.signal_id}) was decided at "
                    f"{order.created_at.isoformat()}, HALTED since {state.at.isoformat()} "
                    f"({state.reason})",
                )
            )
        elif state.state == "REDUCING" and not reduce_only[order.client_id]:
            found.append(
                Violation(
                    "sent while halted",
                    f"order {order.client_id} was sent while REDUCING without reduce-only",
                )
            )
    return found


def _usdc(quantums: int) -> str:
    return f"{quantums / 1_000_000:,.2f}"


def _ratio(numerator: int, denominator: int) -> str:
    return "inf" if denominator <= 0 else f"{numerator / denominator:.4f}"
