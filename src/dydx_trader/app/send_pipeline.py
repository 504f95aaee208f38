"""Sending orders; the broadcasts of short-term orders outside the actor's critical section.

The actor decides, journals the intent (PENDING_SUBMIT) and reserves the
order's worst case one signal at a time; only then does the broadcast leave the
mailbox, as a task of this pipeline, so the next decision need not wait one
network round trip for it. Short-term orders need no order among themselves
(the chain takes them in any order, their transactions carry no sequence);
stateful orders are not sent here.

A failure that must halt trading (a fault after a broadcast) is kept as
:attr:`SendPipeline.failure`: the actor raises it at its next message (and
before any other send), so nothing is decided or sent after it; sends not yet
broadcast then do not go out (their intents stay PENDING_SUBMIT in the journal,
settled at the next start, as after any crash).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import replace
from functools import partial
from typing import Any, TypeVar

from dydx_trader.app.actor import ActorStopped, Later
from dydx_trader.app.executor import OrderExecutor, PreparedOrder
from dydx_trader.app.metrics import TraderMetrics
from dydx_trader.app.risk_guard import RiskGuard
from dydx_trader.domain.account import Subaccount
from dydx_trader.domain.errors import ClientIdConflict, Refusal, Unavailable
from dydx_trader.domain.order import (
    Order,
    OrderFlags,
    OrderIntent,
    OrderState,
    derive_client_id,
)
from dydx_trader.domain.proposal import OrderProposal
from dydx_trader.domain.trading_state import OrderOutcome

T = TypeVar("T")
_CLIENT_ID_ATTEMPTS = 3


class SendPipeline:
    """The short-term broadcasts of one account actor in flight (see the module
    docstring). ``on_failure`` is called once, with the first failure."""

    def __init__(self, on_failure: Callable[[Exception], None]) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._on_failure = on_failure
        self.failure: Exception | None = None
        self._closed = False

    def __len__(self) -> int:
        return len(self._tasks)

    def start(self, send: Callable[[], Coroutine[Any, Any, T]]) -> Later:
        """Run ``send()`` as a task, unless the pipeline was closed or failed by
        the time it would start; the :class:`Later` answers its result."""
        task = asyncio.get_running_loop().create_task(self._guarded(send))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_retrieve)
        return Later(task)

    async def _guarded(self, send: Callable[[], Coroutine[Any, Any, T]]) -> T:
        if self._closed or self.failure is not None:
            raise ActorStopped("trading stopped before this order was broadcast; not sent")
        return await send()

    def fail(self, error: Exception) -> None:
        """A send met a failure that must halt trading: keep the first, tell once."""
        if self.failure is None:
            self.failure = error
            self._on_failure(error)

    def close(self) -> None:
        """No send that has not started yet will start (the actor was aborted)."""
        self._closed = True

    def drained(self) -> Later:
        """A :class:`Later` done once every send started so far has been answered."""
        pending = tuple(self._tasks)
        done = asyncio.ensure_future(_wait_all(pending))
        return Later(done)

    async def drain(self) -> None:
        """Until every send started so far has been answered."""
        await _wait_all(tuple(self._tasks))


def _retrieve(task: asyncio.Task[Any]) -> None:
    # Its asker may have given up: the failure is the pipeline's to report, not asyncio's.
    if not task.cancelled():
        task.exception()


async def _wait_all(tasks: tuple[asyncio.Task[Any], ...]) -> None:
    if tasks:
        await asyncio.wait(tasks)


class OrderSending:
    """Reserve, journal the intent, send once, follow: the account actor's sends.

    ``reserved`` is the actor's own map of worst cases by signal (shared, not
    copied); ``follow(intent)`` hands a possibly live order to the settler.
    A short-term order's broadcast leaves the mailbox through the
    :class:`SendPipeline`; a stateful one's is awaited in the mailbox, in turn.
    """

    def __init__(
        self,
        *,
        owner: Subaccount,
        executor: OrderExecutor,
        reserved: dict[str, OrderProposal],
        follow: Callable[[OrderIntent], None],
        risk_guard: RiskGuard,
        metrics: TraderMetrics,
        on_failure: Callable[[Exception], None],
    ) -> None:
        self._owner = owner
        self._executor = executor
        self._reserved = reserved
        self._follow = follow
        self._risk_guard = risk_guard
        self._metrics = metrics
        self.pipeline = SendPipeline(on_failure)

    async def send(
        self, intent: OrderIntent, reservation: OrderProposal, finish: Callable[[Order], T]
    ) -> T | Later:
        """``finish(order)`` of the order sent for ``intent``, at once or :class:`Later`.

        The reservation goes only when the order is definitively rejected or
        settled. The balance snapshot is not dropped: the reservation covers it.
        Raises the pipeline's failure (nothing is sent after it), ``ClientIdConflict``
        after a few derived client ids, or what the executor raised (then a possibly
        live order is followed, an order surely not sent is unreserved).
        """
        if self.pipeline.failure is not None:
            raise self.pipeline.failure
        signal_id = intent.signal_id
        self._reserved[signal_id] = reservation
        nonce = 0
        while True:
            try:
                prepared = await self._executor.prepare(intent)
                break
            except ClientIdConflict:
                # Its 32-bit client id is already another signal's in the journal
                # (about one pair in four billion): nothing was sent, derive the next.
                nonce += 1
                if nonce > _CLIENT_ID_ATTEMPTS:
                    del self._reserved[signal_id]
                    raise
                owner = self._owner
                client_id = derive_client_id(owner.address, owner.number, signal_id, nonce)
                intent = replace(intent, client_id=client_id)
            except Exception:
                del self._reserved[signal_id]  # OrderFollowUpFault(sent=False): not sent
                raise
        if isinstance(prepared, Order):  # journaled before: nothing is sent again
            return finish(self._after(prepared))
        if prepared.intent.order_flags is not OrderFlags.SHORT_TERM:
            # Stateful orders keep their turn: their transactions carry a sequence.
            return finish(await self._broadcast(prepared))
        return self.pipeline.start(partial(self._broadcast_apart, prepared, finish))

    async def _broadcast(self, prepared: PreparedOrder) -> Order:
        try:
            order = await self._executor.send(prepared)
        except Exception:
            self._follow(prepared.intent)  # sent=True: it may be live, keep its worst case
            raise
        self._metrics.order_sent(prepared.intent.signal_id)
        return self._after(order)

    def _after(self, order: Order) -> Order:
        # Followed before anything else may fail: the kill switch's write below
        # can meet a locked journal, and a live order must never go unfollowed.
        if order.state is OrderState.REJECTED:
            self._metrics.order_final(order.state.value)
            self._reserved.pop(order.intent.signal_id, None)
        else:
            self._follow(order.intent)
        self._risk_guard.record_outcome(_outcome(order))
        return order

    async def _broadcast_apart(self, prepared: PreparedOrder, finish: Callable[[Order], T]) -> T:
        try:
            order = await self._broadcast(prepared)
        except (Refusal, Unavailable):
            raise  # an answer to the asker, as it would be from the mailbox
        except Exception as error:
            intent = prepared.intent
            error.add_note(f"while sending signal {intent.signal_id}'s order ({intent.market})")
            self.pipeline.fail(error)
            raise ActorStopped(f"the send failed: {error!r}") from error
        return finish(order)


def _outcome(order: Order) -> OrderOutcome:
    if order.state is OrderState.REJECTED:
        return OrderOutcome.REJECTED
    if order.state is OrderState.IN_FLIGHT_UNKNOWN:
        return OrderOutcome.UNKNOWN
    return OrderOutcome.ACCEPTED
