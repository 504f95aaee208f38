"""An order: the intent we journal before sending, and its lifecycle.

:class:`~dydx_trader.domain.order_intent.OrderIntent` is exactly what goes on
the wire (re-exported here). :class:`Order` is the intent plus its state and
filled quantity. States move
only along :data:`TRANSITIONS`; anything else raises
:class:`IllegalStateTransition` and changes nothing. Moving to the state an
order is already in is a no-op (venue events arrive twice: WebSocket and REST).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from dydx_trader.domain.errors import IllegalStateTransition, InvalidInput
from dydx_trader.domain.order_intent import (
    MAX_CLIENT_ID,
    MAX_SUBACCOUNT_NUMBER,
    UINT64_MAX,
    ConditionType,
    OrderFlags,
    OrderIntent,
    TimeInForce,
    check_uint,
    derive_client_id,
)

__all__ = (
    "IN_FLIGHT_STATES",
    "MAX_CLIENT_ID",
    "MAX_SUBACCOUNT_NUMBER",
    "TERMINAL_STATES",
    "TRANSITIONS",
    "ConditionType",
    "Order",
    "OrderFlags",
    "OrderIntent",
    "OrderState",
    "TimeInForce",
    "derive_client_id",
    "require_transition",
)


class OrderState(StrEnum):
    """Where an order stands, as far as we know."""

    PENDING_SUBMIT = "PENDING_SUBMIT"
    """Journaled, not yet (known to be) sent. After a crash it may have been sent."""
    SUBMITTED = "SUBMITTED"
    """A node's CheckTx accepted it (code 0): not filled, not final."""
    IN_FLIGHT_UNKNOWN = "IN_FLIGHT_UNKNOWN"
    """The send's answer was lost. Never a rejection: the indexer settles it."""
    UNTRIGGERED = "UNTRIGGERED"
    """A conditional order in state, waiting for its trigger (not on the book)."""
    OPEN = "OPEN"
    """Resting on the book (a conditional order: triggered), nothing filled."""
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    BEST_EFFORT_CANCELED = "BEST_EFFORT_CANCELED"
    """Removed by gossip (IOC remainder, cancel); may still revert until good-til passes."""
    EXPIRED = "EXPIRED"
    """Good-til passed and the indexer processed past it: no more fills can come."""
    REJECTED = "REJECTED"
    """Definitively refused (CheckTx code or pre-send); it never reached the book."""

    @property
    def is_terminal(self) -> bool:
        """True once the order can no longer rest or be sent (documented late edges aside)."""
        return self in TERMINAL_STATES


_S = OrderState
IN_FLIGHT_STATES: Final = frozenset(
    {
        _S.PENDING_SUBMIT,
        _S.SUBMITTED,
        _S.IN_FLIGHT_UNKNOWN,
        _S.UNTRIGGERED,
        _S.OPEN,
        _S.PARTIALLY_FILLED,
    }
)
TERMINAL_STATES: Final = frozenset(
    {_S.FILLED, _S.CANCELED, _S.BEST_EFFORT_CANCELED, _S.EXPIRED, _S.REJECTED}
)
_VENUE_SEEN: Final = frozenset(
    {
        _S.UNTRIGGERED,
        _S.OPEN,
        _S.PARTIALLY_FILLED,
        _S.FILLED,
        _S.CANCELED,
        _S.BEST_EFFORT_CANCELED,
        _S.EXPIRED,
    }
)

# The whole lifecycle. Reconciliation may find a PENDING_SUBMIT order already on
# the venue (crash between send and record), hence the wide first row.
# Documented late edges out of terminal states:
# * CANCELED -> FILLED: a fill matched before the cancel landed (fill-after-cancel);
# * EXPIRED -> FILLED: the indexer reported, late, fills that completed the order;
# * BEST_EFFORT_CANCELED -> anything the venue can still report: the cancel was
#   gossip and may not hold until good-til-block has passed.
TRANSITIONS: Final = MappingProxyType(
    {
        _S.PENDING_SUBMIT: frozenset({_S.SUBMITTED, _S.IN_FLIGHT_UNKNOWN, _S.REJECTED})
        | _VENUE_SEEN,
        _S.SUBMITTED: _VENUE_SEEN | {_S.REJECTED},
        _S.IN_FLIGHT_UNKNOWN: _VENUE_SEEN | {_S.SUBMITTED, _S.REJECTED},
        _S.UNTRIGGERED: _VENUE_SEEN - {_S.UNTRIGGERED, _S.BEST_EFFORT_CANCELED},
        _S.OPEN: frozenset(
            {_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELED, _S.BEST_EFFORT_CANCELED, _S.EXPIRED}
        ),
        _S.PARTIALLY_FILLED: frozenset(
            {_S.FILLED, _S.CANCELED, _S.BEST_EFFORT_CANCELED, _S.EXPIRED}
        ),
        _S.BEST_EFFORT_CANCELED: frozenset(
            {_S.OPEN, _S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELED, _S.EXPIRED}
        ),
        _S.CANCELED: frozenset({_S.FILLED}),
        _S.FILLED: frozenset(),
        _S.EXPIRED: frozenset({_S.FILLED}),
        _S.REJECTED: frozenset(),
    }
)

# States a late fill may land in without changing them (fill-after-cancel, a
# lagging indexer): the fill is real money, so it is recorded.
_FILLABLE_QUIETLY: Final = frozenset({_S.CANCELED, _S.BEST_EFFORT_CANCELED, _S.EXPIRED})


def require_transition(current: OrderState, new: OrderState) -> None:
    """Raise :class:`IllegalStateTransition` unless ``current -> new`` is in the table.

    Staying in the same state is always allowed (a repeated venue event).
    """
    if new is current or new in TRANSITIONS[current]:
        return
    raise IllegalStateTransition(
        f"an order cannot go from {current.value} to {new.value}",
        current=current.value,
        requested=new.value,
    )


@dataclass(frozen=True, slots=True)
class Order:
    """An intent, its state and how many base quantums have filled (0 … quantums)."""

    intent: OrderIntent
    state: OrderState = OrderState.PENDING_SUBMIT
    filled_quantums: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.state, OrderState):
            raise InvalidInput(f"order state {self.state!r} is unknown", field="state")
        check_uint("filled_quantums", self.filled_quantums, 0, self.intent.quantums)

    @property
    def client_id(self) -> int:
        return self.intent.client_id

    @property
    def remaining_quantums(self) -> int:
        return self.intent.quantums - self.filled_quantums

    def moved_to(self, new: OrderState) -> Order:
        """This order in state ``new``; raises :class:`IllegalStateTransition` if not allowed.

        FILLED needs every quantum filled (fills arrive through :meth:`filled_by`);
        PARTIALLY_FILLED needs some but not all.
        """
        require_transition(self.state, new)
        if new is OrderState.FILLED and self.remaining_quantums:
            raise IllegalStateTransition(
                f"order {self.client_id} cannot be FILLED with {self.remaining_quantums} "
                "quantums unfilled; record the fills",
                filled_quantums=self.filled_quantums,
                quantums=self.intent.quantums,
            )
        if new is OrderState.PARTIALLY_FILLED and not 0 < self.filled_quantums:
            raise IllegalStateTransition(
                f"order {self.client_id} has no fill, it cannot be PARTIALLY_FILLED",
                filled_quantums=self.filled_quantums,
            )
        return self if new is self.state else replace(self, state=new)

    def filled_by(self, quantums: int) -> Order:
        """This order after a fill of ``quantums`` (> 0) base quantums.

        The filled quantity only grows and never passes the order's quantity.
        A fill moves a live order to PARTIALLY_FILLED or FILLED; a late fill on a
        canceled or expired order is recorded and leaves it there unless it
        completes the order (then FILLED, a documented edge).
        """
        check_uint("fill quantums", quantums, 1, UINT64_MAX)
        total = self.filled_quantums + quantums
        if total > self.intent.quantums:
            raise IllegalStateTransition(
                f"a fill of {quantums} quantums would overfill order {self.client_id} "
                f"({self.filled_quantums} of {self.intent.quantums} already filled)",
                fill_quantums=quantums,
                filled_quantums=self.filled_quantums,
                quantums=self.intent.quantums,
            )
        if self.state in (OrderState.FILLED, OrderState.REJECTED):
            raise IllegalStateTransition(
                f"order {self.client_id} is {self.state.value}, it cannot take a fill",
                state=self.state.value,
            )
        if total == self.intent.quantums:
            new = OrderState.FILLED
        elif self.state in _FILLABLE_QUIETLY:
            new = self.state
        else:
            new = OrderState.PARTIALLY_FILLED
        return replace(self, state=new, filled_quantums=total)
