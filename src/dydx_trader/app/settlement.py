"""Settler: follow every order in flight until the indexer settles it. It never gives up.

One task per order calls :meth:`OrderReconciler.settle_once
<dydx_trader.app.reconciler.OrderReconciler.settle_once>` until the order is
final, and then reports it through ``on_settled``, exactly once. Meanwhile:

* a transient venue failure (HTTP 503 or 429, a timeout, a dropped
  connection) is waited out with exponential backoff and jitter, at least as
  long as the indexer's ``Retry-After`` asks; it is never raised;
* anything else (malformed venue data, a definitive refusal, the journal
  failing, any exception) is reported through ``on_fault`` once per distinct
  error, and the order stays followed: a fault halts trading, it does not
  abandon an order that may hold money;
* when the order is still not settled ``confirm_timeout_s`` after it was
  followed (on the injected monotonic ``clock``), ``on_unsettled`` is called
  once (the kill switch counts "could not settle") and the task goes on at
  the slower ``reconcile_interval_s``: the in-session reconciler. Nothing is
  left unsettled until the next start.

:meth:`Settler.reconcile` follows everything the journal has in flight (at
start, before trading) and raises, naming each order and why, if any of them
cannot be settled in time; :meth:`Settler.settle_all` waits for every followed
order (clean shutdown). Account stream news (:meth:`Settler.notify`) wakes
every waiting task at once instead of at its next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from dydx_trader.app.ports import OrderJournal
from dydx_trader.app.reconciler import Settlement
from dydx_trader.domain.errors import (
    InvalidInput,
    OrderOutcomeUnknown,
    StaleMarketData,
    VenueFailure,
    describe,
    venue_failure,
)
from dydx_trader.domain.order import OrderIntent
from dydx_trader.domain.venue import SubaccountUpdate

log = logging.getLogger(__name__)


class SettlesOrders(Protocol):
    """One read of the venue for one order: the settlement once final, else ``None``."""

    async def settle_once(self, intent: OrderIntent) -> Settlement | None: ...


@dataclass(slots=True)
class _Followed:
    intent: OrderIntent
    task: asyncio.Task[Settlement] | None = None
    # Resolved when the order settles or its deadline passes, whichever is first.
    decided: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    unsettled: str | None = None
    # Set (and replaced) when the account's stream may have news of this order.
    news: asyncio.Event = field(default_factory=asyncio.Event)
    # Reads of the venue begun and finished for this order (see Settler.sweep).
    reads_started: int = 0
    reads_done: int = 0

    def decide(self) -> None:
        if not self.decided.done():
            self.decided.set_result(None)


class Settler:
    """Follows the orders of one subaccount to settlement; see the module docstring.

    Durations in seconds: ``confirm_timeout_s`` until an order counts as "could
    not settle"; ``poll_interval_s`` between reads while it is not final;
    ``reconcile_interval_s`` between reads after that; backoff on transient
    failures from ``poll_interval_s`` doubling up to ``max_backoff_s``
    (``sleep`` waits them out; injectable for tests).
    """

    def __init__(
        self,
        orders: SettlesOrders,
        journal: OrderJournal,
        *,
        confirm_timeout_s: float,
        clock: Callable[[], float],
        on_settled: Callable[[Settlement], None],
        on_unsettled: Callable[[OrderIntent, str], None],
        on_fault: Callable[[OrderIntent, Exception], None],
        poll_interval_s: float = 1.0,
        reconcile_interval_s: float = 10.0,
        max_backoff_s: float = 30.0,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        for name, value in (
            ("confirm_timeout_s", confirm_timeout_s),
            ("poll_interval_s", poll_interval_s),
            ("reconcile_interval_s", reconcile_interval_s),
            ("max_backoff_s", max_backoff_s),
        ):
            if not 0 < value < float("inf"):
                raise InvalidInput(f"{name} {value!r} must be a positive number of seconds")
        self._orders = orders
        self._journal = journal
        self._confirm_timeout_s = confirm_timeout_s
        self._clock = clock
        self._on_settled = on_settled
        self._on_unsettled = on_unsettled
        self._on_fault = on_fault
        self._poll_interval_s = poll_interval_s
        self._reconcile_interval_s = reconcile_interval_s
        self._max_backoff_s = max_backoff_s
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._read = asyncio.Event()  # set (and replaced) after every read of any order
        self._following: dict[int, _Followed] = {}
        self._settled: set[int] = set()

    @property
    def following(self) -> tuple[int, ...]:
        """Client ids of the orders followed now, oldest first."""
        return tuple(self._following)

    def follow(self, intent: OrderIntent, *, just_sent: bool = False) -> None:
        """Follow ``intent``'s order until it settles (idempotent per client id).

        An order ``just_sent`` is first read on news of it or after one poll
        interval, not at once: the indexer cannot show it before the next block,
        and a burst's hundreds of sends would each cost a read for nothing."""
        if intent.client_id in self._following or intent.client_id in self._settled:
            return
        record = _Followed(intent)
        self._following[intent.client_id] = record
        record.task = asyncio.create_task(
            self._run(record, just_sent), name=f"settle order {intent.client_id}"
        )

    def notify(self, update: object = None) -> None:
        """News on the account's stream: the waiting orders it names read the venue
        now (every order, when it names none, or fills of orders it does not name:
        a burst's hundreds of updates would otherwise each wake every order)."""
        named = _named_orders(update)
        for record in self._following.values():
            if named is None or record.intent.client_id in named:
                news, record.news = record.news, asyncio.Event()
                news.set()

    async def sweep(self) -> None:
        """Every followed order reads the venue once more, starting now; returns when
        each has (or has settled). A lockstep replay calls it after each move of the
        market clock, so what settles when depends on the venue's state, not on
        wall-clock poll timing."""
        targets = {cid: r.reads_started + 1 for cid, r in self._following.items()}
        self.notify()
        while True:
            pending = [
                cid
                for cid, target in targets.items()
                if cid in self._following and self._following[cid].reads_done < target
            ]
            if not pending:
                return
            read = self._read
            await read.wait()

    async def settle_all(self) -> None:
        """Wait until every followed order has settled (clean shutdown).

        Orders followed meanwhile are waited for too. This waits as long as
        settlement takes; bound it from outside (``asyncio.timeout``): that
        cancels the wait, never the settlements.
        """
        while self._following:
            tasks = [r.task for r in self._following.values() if r.task is not None]
            await asyncio.wait(tasks)

    async def reconcile(self) -> list[Settlement]:
        """Settle every order the journal has in flight (at start, before trading).

        Returns their settlements. Raises :class:`OrderOutcomeUnknown` naming
        each order not settled within ``confirm_timeout_s`` and why; those are
        still followed, and settle later through ``on_settled``.
        """
        # Stateful orders (the protective stops) rest for days: the protection
        # manager reconciles those; this settles what the actor sent.
        intents = [
            order.intent
            for order in self._journal.in_flight_orders()
            if not order.intent.is_stateful
        ]
        for intent in intents:
            self.follow(intent)
        records = [self._following[i.client_id] for i in intents if i.client_id in self._following]
        if records:
            await asyncio.wait([record.decided for record in records])
        unsettled = [record for record in records if record.unsettled is not None]
        if unsettled:
            names = "; ".join(
                f"order {r.intent.client_id} ({r.intent.market}, signal {r.intent.signal_id}): "
                f"{r.unsettled}"
                for r in unsettled
            )
            raise OrderOutcomeUnknown(
                f"could not settle {len(unsettled)} order(s) left in flight: {names}",
                client_ids=",".join(str(r.intent.client_id) for r in unsettled),
            )
        return [
            r.task.result()
            for r in records
            if r.task is not None and r.task.done() and not r.task.cancelled()
        ]

    async def close(self) -> None:
        """Stop following (at exit, after :meth:`settle_all`); orders left stay in
        flight in the journal for the next start."""
        tasks = [r.task for r in self._following.values() if r.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- one order ----------------------------------------------------------------

    async def _run(self, record: _Followed, just_sent: bool = False) -> Settlement:
        intent = record.intent
        deadline = self._clock() + self._confirm_timeout_s
        failures = 0
        problem: str | None = None
        faults: set[str] = set()
        try:
            if just_sent:
                await self._pause(record.news, self._poll_interval_s, wake_on_news=True)
            while True:
                news = record.news
                record.reads_started += 1
                try:
                    settlement = await self._orders.settle_once(intent)
                except Exception as error:  # noqa: BLE001 - reported or waited out, never raised
                    problem = describe(error)
                    failures += 1
                    wait = max(self._backoff(failures), _retry_after_s(error))
                    if not _transient(error) and problem not in faults:
                        faults.add(problem)
                        log.error("order %s: settlement fault: %s", intent.client_id, problem)
                        _call(self._on_fault, intent, error)
                else:
                    if settlement is not None:
                        self._settled.add(intent.client_id)
                        record.decide()
                        _call(self._on_settled, settlement)
                        return settlement
                    failures, problem = 0, None
                    wait = self._poll_interval_s
                if record.unsettled is None and self._clock() >= deadline:
                    record.unsettled = self._unsettled_reason(intent, problem)
                    log.warning("%s", record.unsettled)
                    record.decide()
                    _call(self._on_unsettled, intent, record.unsettled)
                if record.unsettled is not None:
                    wait = max(wait, self._reconcile_interval_s)
                self._read_done(record)
                await self._pause(news, wait, wake_on_news=failures == 0)
        finally:
            self._following.pop(intent.client_id, None)
            record.decide()
            self._read_done(record)

    def _read_done(self, record: _Followed) -> None:
        record.reads_done = record.reads_started
        read, self._read = self._read, asyncio.Event()
        read.set()

    def _backoff(self, failures: int) -> float:
        """Equal jitter: half the exponential step for sure, half at random."""
        step = min(self._max_backoff_s, self._poll_interval_s * 2.0 ** min(failures - 1, 30))
        return step / 2 + self._rng.uniform(0, step / 2)

    async def _pause(self, news: asyncio.Event, seconds: float, *, wake_on_news: bool) -> None:
        # After a failure the venue's pace rules (Retry-After): news does not cut it short.
        if not wake_on_news:
            await self._sleep(seconds)
            return
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow the
        # cancel a stop sends when the event fires at the same moment (a hung stop).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await news.wait()

    def _unsettled_reason(self, intent: OrderIntent, problem: str | None) -> str:
        why = problem
        if why is None:
            try:
                state = self._journal.order(intent.client_id).state.value
            except Exception as error:  # noqa: BLE001 - the reason must still be given
                state = f"unknown ({describe(error)})"
            why = f"the indexer does not show it final yet (journal state {state})"
        return (
            f"order {intent.client_id} ({intent.market}) not settled within "
            f"{self._confirm_timeout_s:g} s: {why}; still following it"
        )


def _transient(error: Exception) -> bool:
    """A failure worth waiting out: classified transient by the adapter, a timeout,
    or market data older than allowed (a paper replay's clock may move between a
    settlement read and the markets' refresh: the next read finds them fresh)."""
    if isinstance(error, TimeoutError | StaleMarketData):
        return True
    return venue_failure(error) is VenueFailure.TRANSIENT


def _retry_after_s(error: Exception) -> float:
    """The venue's ``Retry-After`` carried by the error, seconds (0 when none)."""
    numbers = getattr(error, "numbers", None)
    value = numbers.get("retry_after_ms") if isinstance(numbers, Mapping) else None
    return float(value) / 1000 if isinstance(value, int) and value > 0 else 0.0


def _call(callback: Callable[..., None], *args: object) -> None:
    """Run a callback; one that fails is logged, it never ends the settlement."""
    try:
        callback(*args)
    except Exception:
        log.exception("settlement callback %r failed", callback)


def _named_orders(update: object) -> frozenset[int] | None:
    """The client ids an account update is about; ``None`` when it may concern any."""
    if not isinstance(update, SubaccountUpdate) or not update.orders:
        return None
    ids = {order.client_id for order in update.orders}
    venue_ids = {order.order_id for order in update.orders}
    if None in ids or any(fill.order_id not in venue_ids for fill in update.fills):
        return None
    return frozenset(cid for cid in ids if cid is not None)
