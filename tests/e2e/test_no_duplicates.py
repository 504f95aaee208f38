"""Nothing is lost and nothing is sent twice: a dropped answer, a crash after the
journal write, a crash after the send, and a thousand signals at once."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from e2e_harness import SignalFactory, journal_at, profile_of, settings_for, start_trader

from dydx_devnet.server import Devnet
from dydx_trader.adapters.dydx.indexer import IndexerGateway
from dydx_trader.adapters.dydx.node import NodeGateway
from dydx_trader.adapters.journal import Journal
from dydx_trader.bootstrap import Trader
from dydx_trader.domain.decision import Outcome
from dydx_trader.domain.margin import assess
from dydx_trader.domain.order import Order, OrderIntent, OrderState


class Crash(BaseException):
    """Stands for the process being killed at a crash point (not an Exception:
    nothing in the app may catch it)."""


class CrashingJournal:
    """The real journal, except that the process "dies" at ``crash_point``:
    right after the intent is journaled (nothing sent), or right after the send
    (before its outcome is journaled)."""

    def __init__(self, journal: Journal, crash_point: str) -> None:
        self._journal = journal
        self._crash_point = crash_point

    def __getattr__(self, name: str) -> Any:
        return getattr(self._journal, name)

    def record_intent(self, intent: OrderIntent, reason: str = "intent journaled") -> Order:
        order = self._journal.record_intent(intent, reason)
        if self._crash_point == "after_intent_journaled":
            raise Crash(self._crash_point)
        return order

    def transition(
        self, client_id: int, new_state: OrderState, reason: str, **numbers: Any
    ) -> Order:
        if self._crash_point == "after_send":
            raise Crash(self._crash_point)
        return self._journal.transition(client_id, new_state, reason, **numbers)


async def our_venue_orders(venue: IndexerGateway, address: str, client_id: int) -> list[object]:
    orders = await venue.get_orders(address, 0)
    return [o for o in orders if o.client_id == client_id]


async def test_dropped_broadcast_answer_then_one_order_and_settled_journal(
    devnet: Devnet,
    trader: Trader,
    venue: IndexerGateway,
    journal: Journal,
    make_signal: SignalFactory,
) -> None:
    devnet.faults.drop_next_broadcast_responses(1)
    address = trader.status().owner.address

    result = await trader.submit(make_signal("BUY", "ETH-USD"))

    assert result.order is not None and result.order.state is OrderState.IN_FLIGHT_UNKNOWN
    await trader.wait_settled()
    assert result.intent is not None
    assert journal.order(result.intent.client_id).state is OrderState.FILLED
    assert len(await our_venue_orders(venue, address, result.intent.client_id)) == 1
    account = await venue.get_account(address, 0)
    assert account.position_size("ETH-USD") == result.decision.size  # type: ignore[union-attr]


@pytest.mark.parametrize("crash_point", ["after_intent_journaled", "after_send"])
async def test_crash_then_restart_reconciles_without_loss_or_duplicate(
    devnet: Devnet,
    venue: IndexerGateway,
    tmp_path: Path,
    make_signal: SignalFactory,
    crash_point: str,
) -> None:
    settings = settings_for(tmp_path / "journal.sqlite3")
    files = journal_at(settings)
    node = await NodeGateway.connect(profile_of(devnet), timeout_s=5)
    indexer = IndexerGateway(devnet.indexer_url)
    first = await start_trader(
        devnet,
        settings,
        journal=CrashingJournal(files, crash_point),
        node=node,
        indexer=indexer,
    )
    signal = make_signal("BUY", "ETH-USD")
    with pytest.raises((Crash, Exception)):
        await first.submit(signal, timeout_s=5)
    intent = files.order_by_signal(signal.id)
    assert intent is not None and intent.state is OrderState.PENDING_SUBMIT
    client_id = intent.client_id
    # The process is gone: only its files and sockets are closed.
    await node.close()
    await indexer.close()
    files.close()

    restarted = await start_trader(devnet, settings, fund=False)  # reconciles in start()
    address = restarted.status().owner.address
    try:
        with journal_at(settings) as journal:
            settled = journal.order(client_id)
            assert journal.in_flight_orders() == []
        venue_orders = await our_venue_orders(venue, address, client_id)
        if crash_point == "after_send":
            assert settled.state is OrderState.FILLED
            assert len(venue_orders) == 1
        else:
            assert settled.state is OrderState.EXPIRED
            assert venue_orders == []
        # The same signal again is a replay: refused, nothing sent.
        again = await restarted.submit(signal)
        assert again.decision is not None and again.decision.outcome is Outcome.REFUSED
        assert len(await our_venue_orders(venue, address, client_id)) == len(venue_orders)
    finally:
        await restarted.stop()


async def test_thousand_signals_at_once_never_pass_the_caps_on_the_venue_books(
    devnet: Devnet, venue: IndexerGateway, tmp_path: Path, make_signal: SignalFactory
) -> None:
    max_leverage = Decimal(3)
    settings = settings_for(
        tmp_path / "journal.sqlite3",
        risk={"max_leverage": str(max_leverage), "max_exposure": str(max_leverage)},
        sizing={"kind": "equity_fraction", "equity_fraction": "0.5"},
    )
    trader = await start_trader(devnet, settings)
    try:
        signals = [make_signal("BUY", ("ETH-USD", "BTC-USD")[i % 2]) for i in range(1000)]
        results = await asyncio.gather(*(trader.submit(s) for s in signals))
        await trader.wait_settled()
    finally:
        await trader.stop()

    sent = [r for r in results if r.intent is not None]
    assert 0 < len(sent) < 1000
    # The venue's own books: the devnet's subaccount, valued by the chain's math.
    account = await venue.get_account(trader.status().owner.address, 0)
    risk = assess(account, await venue.get_markets())
    assert risk.free_collateral >= 0
    gross = sum((abs(p.notional) for p in risk.positions), Decimal(0))
    # Prices move a little between decision and check; 1 % is far below one more order.
    assert gross <= max_leverage * risk.equity * Decimal("1.01")
