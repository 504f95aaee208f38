"""The account sequence of stateful transactions, kept here and nowhere else.

Stateful orders and their cancels use and consume the account sequence;
short-term orders skip it. The chain refuses a stateful transaction signed at
the wrong sequence with ``sdk`` code 32 ("account sequence mismatch, expected
N, got M"), and the node's account query answers the *committed* sequence only,
so two stateful transactions in one block from a re-read sequence collide
(trap T11). The :class:`Sequencer` therefore

* sends one stateful transaction at a time (an ``asyncio.Lock``), from a
  sequence it keeps locally: read from the node once, then moved on by every
  accepted transaction;
* on code 32 re-reads the sequence from the node (taking the chain's
  "expected N" when the node's committed one has not caught up) and signs the
  **same** message again at it, a few times at most. The order keeps its client
  id: only the transaction changes;
* after a lost answer forgets the sequence (the transaction may or may not have
  consumed it): the next send reads it again. A refusal with any other code
  consumed nothing, so the sequence stays.

It never raises for the venue: every answer is the broadcast's outcome.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Final

from dydx_trader.app.ports import StatefulSender
from dydx_trader.domain.broadcast import Accepted, BroadcastOutcome, Rejected, SignedOrder, Unknown
from dydx_trader.domain.errors import DydxTraderError, VenueRejected, describe

log = logging.getLogger(__name__)

WRONG_SEQUENCE: Final = 32
_EXPECTED = re.compile(r"expected (\d+), got (\d+)")


def is_sequence_mismatch(error: VenueRejected) -> bool:
    """True for the SDK's "account sequence mismatch" (codespace ``sdk``, code 32);
    the ``clob`` code 32 is another error (an uncommitted cancel exists)."""
    return error.numbers.get("codespace") == "sdk" and error.numbers.get("chain_code") == 32


class Sequencer:
    """Serializes ``sender``'s stateful transactions and keeps their sequence.

    ``attempts`` bounds the re-signs after code 32 (per transaction).
    """

    def __init__(self, sender: StatefulSender, *, attempts: int = 3) -> None:
        self._sender = sender
        self._attempts = attempts
        self._lock = asyncio.Lock()
        self._next: int | None = None

    @property
    def sender(self) -> StatefulSender:
        return self._sender

    async def send(
        self, sign: Callable[[int], SignedOrder]
    ) -> tuple[SignedOrder | None, BroadcastOutcome]:
        """Sign (``sign(sequence)``) and broadcast one stateful transaction, recovering
        from code 32 by re-signing the same message at the right sequence.

        Returns the last signed transaction (``None`` when the sequence could not
        be read and nothing was sent) and its outcome.
        """
        async with self._lock:
            try:
                sequence = await self._sequence()
            except DydxTraderError as error:
                reason = f"not sent: the account sequence cannot be read ({describe(error)})"
                return None, Rejected(VenueRejected(reason))
            signed = sign(sequence)
            outcome = await self._sender.broadcast(signed)
            for _ in range(self._attempts):
                if not (isinstance(outcome, Rejected) and is_sequence_mismatch(outcome.error)):
                    break
                recovered = await self._recover(sequence, outcome.error)
                if recovered is None:
                    break
                log.warning(
                    "stateful transaction at sequence %d refused (%s); signing it again at %d",
                    sequence,
                    outcome.error.message,
                    recovered,
                )
                sequence = recovered
                signed = sign(sequence)
                outcome = await self._sender.broadcast(signed)
            self._settle(sequence, outcome)
            return signed, outcome

    async def _sequence(self) -> int:
        if self._next is None:
            self._next = await self._sender.committed_sequence()
        return self._next

    async def _recover(self, used: int, error: VenueRejected) -> int | None:
        """The sequence to sign at after ``used`` was refused; ``None`` when neither the
        node nor the chain's message names another one."""
        try:
            committed = await self._sender.committed_sequence()
        except DydxTraderError as read_error:
            log.warning("sequence not re-read after code 32: %s", describe(read_error))
            committed = used
        found = _EXPECTED.search(str(error.numbers.get("raw_log", error.message)))
        # The node's committed sequence lags transactions still in the mempool; the
        # chain's own "expected N" (its check state) does not.
        fresh = int(found.group(1)) if found else committed
        return None if fresh == used else fresh

    def _settle(self, sequence: int, outcome: BroadcastOutcome) -> None:
        if isinstance(outcome, Accepted):
            self._next = sequence + 1
        elif isinstance(outcome, Unknown) or (
            isinstance(outcome, Rejected) and is_sequence_mismatch(outcome.error)
        ):
            self._next = None  # consumed or not: read it again next time
        else:
            self._next = sequence  # a CheckTx refusal consumes nothing
