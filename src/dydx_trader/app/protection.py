"""The protection manager: every position's stop-loss and take-profit, kept in line.

It owns the protective orders of one subaccount (conditional, reduce-only IOC
orders the chain triggers itself, so they outlive the trader) and does their
I/O; what a position needs is decided by the pure
:func:`~dydx_trader.domain.protection.protective_orders` and
:func:`~dydx_trader.domain.protection_plan.plan_protection`.

* Before an entry is sent its levels are journaled for its market
  (:meth:`ProtectionManager.remember`): intent before send.
* :meth:`ProtectionManager.sync` reads each live protective order from the
  indexer (fills and states journaled), the positions (a fresh balance) and
  the levels, and cancels and places until every position has exactly one
  stop-loss and one take-profit for its whole size. It runs after an entry
  settles, on account news (a stop filled, a liquidation, a trade by hand),
  at start (reconciliation: missing ones placed, orphans cancelled), and at
  every settlement round of a lockstep replay. When one of stop-loss and
  take-profit fills, the position shrinks or closes and the other is resized
  or cancelled: one-cancels-other, made safe by reduce-only (a stop can never
  open a position, even the moment both exist).
* A protective order refused by the chain is not sent again for
  :data:`RETRY_AFTER_BLOCKS` blocks; a cancel accepted waits
  :data:`CANCEL_GRACE_BLOCKS` blocks for its block before it is sent again.

Reservations: protective orders reserve nothing. They are reduce-only, so they
can only shrink a position, never add exposure, leverage or notional; the
position they protect is already counted by every cap. (The chain does not
collateral-check a conditional order at placement either.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final, Protocol

from dydx_trader.app.balance_snapshot import BalanceSnapshot
from dydx_trader.app.ports import MarketSource, ProtectionJournal, VenueOrders
from dydx_trader.app.reconciler import Settlement
from dydx_trader.app.stateful_budget import StatefulOrderBudget
from dydx_trader.app.stateful_orders import StatefulOrders
from dydx_trader.domain.account import Subaccount
from dydx_trader.domain.broadcast import Accepted
from dydx_trader.domain.decision import Decision
from dydx_trader.domain.errors import ClientIdConflict, DydxTraderError, describe
from dydx_trader.domain.market import MarketSpec
from dydx_trader.domain.order import (
    Order,
    OrderFlags,
    OrderIntent,
    OrderState,
    TimeInForce,
    derive_client_id,
)
from dydx_trader.domain.protection import (
    ProtectionLevels,
    ProtectionPolicy,
    ProtectiveOrder,
    protective_orders,
    protective_signal_id,
)
from dydx_trader.domain.protection_plan import LiveProtection, plan_protection

log = logging.getLogger(__name__)

RETRY_AFTER_BLOCKS: Final = 20
CANCEL_GRACE_BLOCKS: Final = 3
_CLIENT_ID_ATTEMPTS: Final = 3
_UNCONFIRMED = (OrderState.PENDING_SUBMIT, OrderState.SUBMITTED, OrderState.IN_FLIGHT_UNKNOWN)
_RESENDABLE = (OrderState.PENDING_SUBMIT, OrderState.IN_FLIGHT_UNKNOWN)


class Positions(Protocol):
    """Fresh positions, and the balance's invalidation once a protective order filled."""

    async def get_snapshot(self) -> BalanceSnapshot: ...

    def require_height(self, height: int, reason: str | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class ProtectionStatus:
    """What the manager holds: the live protective orders by market, how many of
    them have a placement or cancel not settled yet, the last problem met, and the
    levels (USDC) each market's position is protected at."""

    orders: dict[str, tuple[Order, ...]]
    pending: int
    problem: str | None
    levels: dict[str, ProtectionLevels] = field(default_factory=dict)


class ProtectionManager:
    """Keeps one subaccount's protective orders in line with its positions."""

    def __init__(
        self,
        *,
        owner: Subaccount,
        policy: ProtectionPolicy,
        orders: StatefulOrders | None,
        journal: ProtectionJournal,
        positions: Positions,
        markets: MarketSource,
        venue: VenueOrders,
        on_settled: Callable[[Settlement], None] | None = None,
    ) -> None:
        self._owner = owner
        self._policy = policy
        self._orders = orders
        self._journal = journal
        self._positions = positions
        self._markets = markets
        self._venue = venue
        # Hears of each protective order settled (the session's report counts its fills).
        self._on_settled = on_settled
        self._lock = asyncio.Lock()
        self._cancels: dict[int, int] = {}  # client id -> indexer height of the accepted cancel
        self._refused: dict[tuple[str, str], int] = {}  # (market, kind) -> height refused
        self._budget = StatefulOrderBudget()
        self._deferred = 0  # placements the last sync left for a later block (the budget)
        self._wake = asyncio.Event()
        self.problem: str | None = None

    @property
    def policy(self) -> ProtectionPolicy:
        return self._policy

    @property
    def active(self) -> bool:
        """Whether it manages anything: enabled, and able to sign stateful orders."""
        return self._policy.enabled and self._orders is not None

    def remember(self, decision: Decision) -> None:
        """An accepted entry is about to be sent: its levels become its market's."""
        if self.active and decision.protection is not None and not decision.protection.empty:
            self._journal.set_protection(decision.market, decision.protection, decision.signal_id)

    def request_sync(self, update: object = None) -> None:
        """Something changed (a settlement, account news): sync soon (see :meth:`run`)."""
        self._wake.set()

    def pending(self) -> int:
        """Protective orders whose placement or cancel the venue has not settled yet,
        and those the last sync held back for a later block (the chain's rate)."""
        if not self.active:
            return 0
        live = self._journal.live_protective_orders()
        unconfirmed = sum(1 for order in live if order.state in _UNCONFIRMED)
        cancelling = sum(1 for order in live if order.client_id in self._cancels)
        return unconfirmed + cancelling + self._deferred

    def status(self) -> ProtectionStatus:
        by_market: dict[str, list[Order]] = {}
        for order in self._journal.live_protective_orders() if self.active else []:
            by_market.setdefault(order.intent.market, []).append(order)
        entries = self._journal.protection_entries() if self.active else {}
        return ProtectionStatus(
            {market: tuple(lines) for market, lines in by_market.items()},
            self.pending(),
            self.problem,
            {market: levels for market, (levels, _) in entries.items()},
        )

    async def run(self, interval_s: float) -> None:
        """Sync on every request, and at least every ``interval_s`` seconds (live mode)."""
        while True:
            # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancel that
            # arrives as the wake-up does, and the trader's stop then waits forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval_s):
                    await self._wake.wait()
            self._wake.clear()
            await self.sync()

    async def sync(self) -> None:
        """Bring every position's protective orders in line (one pass; never raises for
        the venue: a failed read is retried at the next pass)."""
        if not self.active:
            return
        async with self._lock:
            try:
                await self._sync()
                self.problem = None
            except DydxTraderError as error:
                self.problem = describe(error)
                log.warning("protection sync: %s", self.problem)

    async def _sync(self) -> None:
        assert self._orders is not None
        self._deferred = 0
        live_before = self._journal.live_protective_orders()
        if not live_before and not self._journal.protection_entries():
            return  # nothing protected, nothing live: no venue read (a replay's every round)
        height = await self._venue.get_height()
        for order in live_before:
            settlement = await self._orders.settle_once(order.intent)
            if settlement is not None:
                self._cancels.pop(order.client_id, None)
                if self._on_settled is not None:
                    self._on_settled(settlement)
                if settlement.fills:
                    self._positions.require_height(settlement.height, "a protective order filled")
        live_orders = self._journal.live_protective_orders()
        entries = self._journal.protection_entries()
        tickers = sorted(set(entries) | {order.intent.market for order in live_orders})
        if not tickers:
            return
        snapshot = await self._positions.get_snapshot()
        sizes = {position.market: position.size for position in snapshot.positions}
        markets = self._markets.markets(tickers)
        now_s = int(height.time.timestamp())
        for ticker in tickers:
            spec = markets[ticker]
            size = sizes.get(ticker, Decimal(0))
            quantums = spec.size_to_quantums(abs(size)) if size else 0
            levels = entries[ticker][0] if ticker in entries else None
            signed = quantums if size >= 0 else -quantums
            wanted = protective_orders(spec, signed, levels, self._policy)
            mine = [order for order in live_orders if order.intent.market == ticker]
            await self._apply(spec, wanted, mine, height.height, now_s)
            if not size and not mine and ticker in entries:
                self._forget_if_done(ticker, entries[ticker][1])

    async def _apply(
        self,
        spec: MarketSpec,
        wanted: tuple[ProtectiveOrder, ...],
        mine: list[Order],
        height: int,
        now_s: int,
    ) -> None:
        assert self._orders is not None
        by_id = {order.client_id: order for order in mine}
        for client_id, accepted_at in list(self._cancels.items()):
            if client_id not in by_id or height > accepted_at + CANCEL_GRACE_BLOCKS:
                del self._cancels[client_id]  # gone, or its cancel never landed: try again
        live = [_live(order, client_id in self._cancels) for client_id, order in by_id.items()]
        plan = plan_protection(
            wanted, live, now_s=now_s, refresh_before_s=self._policy.refresh_before_s
        )
        for stale in plan.cancel:
            outcome = await self._orders.cancel(by_id[stale.client_id].intent)
            if isinstance(outcome, Accepted):
                self._cancels[stale.client_id] = height
        for kept in plan.keep:
            if by_id[kept.client_id].state in _RESENDABLE and self._budget.allows(height):
                # Its placement is unknown: the same order again (the chain dedupes by id).
                self._budget.spend(height)
                await self._orders.place(by_id[kept.client_id].intent)
        for order in plan.place:
            refused_at = self._refused.get((order.market, order.kind.value))
            if refused_at is not None and height <= refused_at + RETRY_AFTER_BLOCKS:
                continue
            if not self._budget.allows(height):
                self._deferred += 1  # the chain's stateful-order rate: at a later block
                continue
            self._budget.spend(height)
            placed = await self._place(spec, order, now_s)
            if placed.state is OrderState.REJECTED:
                self._refused[(order.market, order.kind.value)] = height
                log.warning(
                    "%s %s not placed (%s): the position is not fully protected",
                    order.market,
                    order.kind.value,
                    placed.state.value,
                )

    async def _place(self, spec: MarketSpec, wanted: ProtectiveOrder, now_s: int) -> Order:
        assert self._orders is not None
        owner = self._owner
        number = self._journal.protective_order_count(wanted.market, wanted.kind)
        for attempt in range(_CLIENT_ID_ATTEMPTS):
            signal_id = protective_signal_id(wanted.market, wanted.kind, number + attempt)
            intent = OrderIntent(
                signal_id=signal_id,
                address=owner.address,
                subaccount_number=owner.number,
                market=wanted.market,
                clob_pair_id=spec.clob_pair_id,
                side=wanted.side,
                quantums=wanted.quantums,
                subticks=wanted.subticks,
                time_in_force=TimeInForce.IOC,
                reduce_only=True,
                order_flags=OrderFlags.CONDITIONAL,
                client_id=derive_client_id(owner.address, owner.number, signal_id),
                good_til_block_time=now_s + self._policy.good_til_s,
                condition_type=wanted.kind,
                trigger_subticks=wanted.trigger_subticks,
            )
            try:
                return await self._orders.place(intent)
            except ClientIdConflict:
                continue  # another order holds this 32-bit id: the next number
        raise ClientIdConflict(f"no free client id for a {wanted.kind.value} in {wanted.market}")

    def _forget_if_done(self, market: str, signal_id: str) -> None:
        """Flat, nothing live, and the entry that set the levels is settled: forget them."""
        entry = self._journal.order_by_signal(signal_id)
        if entry is None or entry.state.is_terminal:
            self._journal.clear_protection(market)


def _live(order: Order, cancel_pending: bool) -> LiveProtection:
    intent = order.intent
    assert intent.condition_type is not None and intent.trigger_subticks is not None
    return LiveProtection(
        client_id=intent.client_id,
        market=intent.market,
        kind=intent.condition_type,
        side=intent.side,
        quantums=order.remaining_quantums,
        trigger_subticks=intent.trigger_subticks,
        subticks=intent.subticks,
        good_til_block_time=intent.good_til_block_time or 0,
        cancel_pending=cancel_pending,
    )


__all__ = ["ProtectionManager", "ProtectionStatus"]
