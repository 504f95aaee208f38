"""From the protective orders live now to the ones a position needs: what to cancel
and what to place.

Stateful orders cannot be amended, so a protective order whose size, trigger
or price no longer fits the position is cancelled and a new one placed (a new
client id); one of a kind the position no longer needs is cancelled (when the
stop-loss fills the take-profit goes: one-cancels-other). An order whose
outcome is not known yet counts as live: it is never replaced by a second one
while it may exist, only cancelled. An order whose cancel is on its way is
neither cancelled again nor kept. Both the cancels and the placements are
reduce-only orders, so a moment with two stops, or none, never opens a
position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dydx_trader.domain.order_intent import ConditionType
from dydx_trader.domain.protection import ProtectiveOrder
from dydx_trader.domain.side import Side


@dataclass(frozen=True, slots=True)
class LiveProtection:
    """A protective order the journal has live (placed, untriggered, or unknown).

    ``good_til_block_time`` unix seconds; ``cancel_pending`` when a cancel of it
    was accepted and waits for its block.
    """

    client_id: int
    market: str
    kind: ConditionType
    side: Side
    quantums: int
    trigger_subticks: int
    subticks: int
    good_til_block_time: int
    cancel_pending: bool = False

    def fits(self, wanted: ProtectiveOrder) -> bool:
        return (
            self.market == wanted.market
            and self.kind is wanted.kind
            and self.side is wanted.side
            and self.quantums == wanted.quantums
            and self.trigger_subticks == wanted.trigger_subticks
            and self.subticks == wanted.subticks
        )


@dataclass(frozen=True, slots=True)
class ProtectionPlan:
    """What to do: ``cancel`` these, ``place`` those; ``keep`` what already fits."""

    cancel: tuple[LiveProtection, ...] = ()
    place: tuple[ProtectiveOrder, ...] = ()
    keep: tuple[LiveProtection, ...] = ()

    @property
    def idle(self) -> bool:
        return not self.cancel and not self.place


def plan_protection(
    wanted: Sequence[ProtectiveOrder],
    live: Sequence[LiveProtection],
    *,
    now_s: int,
    refresh_before_s: int,
) -> ProtectionPlan:
    """The plan from ``live`` to ``wanted`` at ``now_s`` (unix seconds). A live order
    that expires within ``refresh_before_s`` no longer fits: it is replaced."""
    keep: list[LiveProtection] = []
    cancel: list[LiveProtection] = []
    place: list[ProtectiveOrder] = []
    available = [order for order in live if not order.cancel_pending]
    for order in wanted:
        match = next(
            (
                candidate
                for candidate in available
                if candidate.fits(order)
                and candidate.good_til_block_time - now_s > refresh_before_s
            ),
            None,
        )
        if match is None:
            place.append(order)
        else:
            keep.append(match)
            available.remove(match)
    cancel.extend(available)
    return ProtectionPlan(tuple(cancel), tuple(place), tuple(keep))
