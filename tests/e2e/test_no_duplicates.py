"""Nothing is lost and nothing is sent twice: a dropped answer, a crash after the
journal write, a crash after the send, and a thousand signals at once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from e2e_harness import settings_for, start_trader

from dydx_devnet.server import Devnet
from dydx_trader.bootstrap import Trader
from dydx_trader.domain.broadcast import BroadcastOutcome, SignedOrder
from dydx_trader.domain.decision import Outcome
from dydx_trader.domain.margin import LeverageCalculator
from dydx_trader.domain.order import OrderState
from dydx_trader.domain.signal import Signal

SignalFactory = Callable[..., Signal]


class Crash(BaseException):
    """Stands for the process being killed at a crash point (not an Exception:
    nothing in the app may catch it)."""


async def abandon(trader: Trader) -> None:
    """Drop a crashed trader without any clean-up a killed process would not get,
    except closing its files and sockets so the test can reopen them."""
    for task in trader._tasks:
        task.cancel()
    trader.actor._abort()
    await trader.node.close()
    trader.journal.close()


async def our_venue_orders(trader: Trader, client_id: int) -> list[object]:
    orders = await trader.indexer.get_orders(trader.address, 0)
    return [o for o in orders if o.client_id == client_id]


async def test_dropped_broadcast_answer_then_one_order_and_settled_journal(
    devnet: Devnet, trader: Trader, make_signal: SignalFactory
) -> None:
    devnet.faults.drop_next_broadcast_responses(1)

    result = await trader.submit(make_signal("BUY", "ETH-USD"))

    assert result.order is not None and result.order.state is OrderState.IN_FLIGHT_UNKNOWN
    await trader.actor.settle_all()
    assert result.intent is not None
    assert trader.journal.order(result.intent.client_id).state is OrderState.FILLED
    assert len(await our_venue_orders(trader, result.intent.client_id)) == 1
    account = await trader.indexer.get_account(trader.address, 0)
    assert account.position_size("ETH-USD") == result.decision.size  # type: ignore[union-attr]


@pytest.mark.parametrize("crash_point", ["after_intent_journaled", "after_send"])
async def test_crash_then_restart_reconciles_without_loss_or_duplicate(
    devnet: Devnet, tmp_path: Path, make_signal: SignalFactory, crash_point: str
) -> None:
    settings = settings_for(tmp_path / "journal.sqlite3")
    first = await start_trader(devnet, settings)
    gateway = first.executor._sender
    real_broadcast = gateway.broadcast

    async def crashing_broadcast(signed: SignedOrder) -> BroadcastOutcome:
        if crash_point == "after_send":
            await real_broadcast(signed)
        raise Crash(crash_point)

    gateway.broadcast = crashing_broadcast  # type: ignore[method-assign]
    signal = make_signal("BUY", "ETH-USD")
    with pytest.raises((Crash, Exception)):
        await first.submit(signal, timeout_s=5)
    intent = first.journal.order_by_signal(signal.id)
    assert intent is not None and intent.state is OrderState.PENDING_SUBMIT
    client_id = intent.client_id
    await abandon(first)

    restarted = await start_trader(devnet, settings, fund=False)  # reconciles in start()
    try:
        settled = restarted.journal.order(client_id)
        venue = await our_venue_orders(restarted, client_id)
        if crash_point == "after_send":
            assert settled.state is OrderState.FILLED
            assert len(venue) == 1
        else:
            assert settled.state is OrderState.EXPIRED
            assert venue == []
        assert restarted.journal.in_flight_orders() == []
        # The same signal again is a replay: refused, nothing sent.
        again = await restarted.submit(signal)
        assert again.decision is not None and again.decision.outcome is Outcome.REFUSED
        assert len(await our_venue_orders(restarted, client_id)) == len(venue)
    finally:
        await restarted.stop()


async def test_thousand_signals_at_once_never_pass_the_caps_on_the_venue_books(
    devnet: Devnet, tmp_path: Path, make_signal: SignalFactory
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
        await trader.actor.settle_all()
    finally:
        await trader.stop()

    sent = [r for r in results if r.intent is not None]
    assert 0 < len(sent) < 1000
    # The venue's own books: the devnet's subaccount, valued by the chain's math.
    account = await trader.indexer.get_account(trader.address, 0)
    markets = await trader.indexer.get_markets()
    risk = LeverageCalculator(markets).assess(account)
    assert risk.free_collateral >= 0
    gross = sum((abs(p.notional) for p in risk.positions), Decimal(0))
    # Prices move a little between decision and check; 1 % is far below one more order.
    assert gross <= max_leverage * risk.equity * Decimal("1.01")
