"""What sending an order can come back with.

A broadcast has exactly three outcomes, and the third is not a failure:

* :class:`Accepted`: a node's CheckTx said code 0. Not a fill, not final.
* :class:`Rejected`: a definitive chain code (:class:`VenueRejected`).
* :class:`Unknown`: no answer (timeout, dropped connection). The order may be
  on the book; it is settled from the indexer and never resent under a new
  client id.
"""

from __future__ import annotations

from dataclasses import dataclass

from dydx_trader.domain.errors import OrderOutcomeUnknown, VenueRejected


@dataclass(frozen=True, slots=True)
class SignedOrder:
    """Transaction bytes ready to broadcast and their hash (upper-case hex SHA-256,
    the chain's transaction name); ``sequence`` the account sequence a stateful
    transaction was signed with (``None`` for short-term ones, which skip it)."""

    tx_bytes: bytes
    tx_hash: str
    sequence: int | None = None

    def __repr__(self) -> str:
        return f"SignedOrder(tx_hash={self.tx_hash!r}, {len(self.tx_bytes)} bytes)"


@dataclass(frozen=True, slots=True)
class Accepted:
    """CheckTx accepted the transaction (code 0); ``tx_hash`` names it."""

    tx_hash: str


@dataclass(frozen=True, slots=True)
class Rejected:
    """The chain refused the transaction definitively."""

    error: VenueRejected


@dataclass(frozen=True, slots=True)
class Unknown:
    """The answer was lost; the order may or may not be on the book."""

    error: OrderOutcomeUnknown


BroadcastOutcome = Accepted | Rejected | Unknown
