"""Protected positions end to end on the devnet: a webhook BUY with a stop-loss and a
take-profit leaves exactly one reduce-only stop and one take-profit on the chain for
the filled size; a CLOSE cancels both; the oracle crossing the stop closes the
position with no trader running; a crash between the fill and the stop (the stop
journaled and not sent, or sent and its answer lost), then a restart, ends with the
stop in place and nothing placed twice; FLATTENING closes every position, then
HALTED."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from bot_key_harness import WEBHOOK_SECRET, webhook
from e2e_harness import SignalFactory, journal_at, profile_of, settings_for, start_trader

from dydx_devnet.demo import DEMO_ADDRESS
from dydx_devnet.server import Devnet
from dydx_trader.adapters.dydx.indexer import IndexerGateway
from dydx_trader.adapters.dydx.node import NodeGateway
from dydx_trader.adapters.journal import Journal
from dydx_trader.bootstrap import Trader
from dydx_trader.config import Settings
from dydx_trader.domain.order import Order, OrderFlags, OrderIntent, OrderState
from dydx_trader.domain.signal import HintKind, SizingHint
from dydx_trader.domain.trading_state import Authority, TradingState
from dydx_trader.domain.venue import IndexerOrder, IndexerOrderStatus

MARKET = "ETH-USD"
NOTIONAL = SizingHint(HintKind.NOTIONAL_USDC, Decimal(2_000))
ROUNDS = 60  # settlement rounds (one block apart) before a test gives up


class Crash(BaseException):
    """Stands for the process being killed (not an Exception: nothing may catch it)."""


class CrashAtTheStop:
    """The real journal, except that the process "dies" at the first protective order,
    after the entry filled: right after its intent is journaled (nothing sent), or
    right after it was sent (before its answer is journaled)."""

    def __init__(self, journal: Journal, crash_point: str) -> None:
        self._journal = journal
        self._crash_point = crash_point

    def __getattr__(self, name: str) -> Any:
        return getattr(self._journal, name)

    def record_intent(self, intent: OrderIntent, reason: str = "intent journaled") -> Order:
        order = self._journal.record_intent(intent, reason)
        stop = intent.order_flags is OrderFlags.CONDITIONAL
        if stop and self._crash_point == "after_intent_journaled":
            raise Crash("killed before the stop was sent")
        return order

    def transition(
        self, client_id: int, new_state: OrderState, reason: str, **numbers: Any
    ) -> Order:
        stop = self._journal.order(client_id).intent.order_flags is OrderFlags.CONDITIONAL
        if stop and self._crash_point == "after_send":
            raise Crash("killed after the stop was sent")
        return self._journal.transition(client_id, new_state, reason, **numbers)


async def _oracle(venue: IndexerGateway) -> Decimal:
    return (await venue.get_markets())[MARKET].require_oracle_price()


async def _conditionals(venue: IndexerGateway) -> list[IndexerOrder]:
    orders = await venue.get_orders(DEMO_ADDRESS, 0, ticker=MARKET)
    return [order for order in orders if order.order_flags == int(OrderFlags.CONDITIONAL)]


async def _untriggered(venue: IndexerGateway) -> list[IndexerOrder]:
    return [o for o in await _conditionals(venue) if o.status is IndexerOrderStatus.UNTRIGGERED]


async def _position(venue: IndexerGateway) -> Decimal:
    return (await venue.get_account(DEMO_ADDRESS, 0)).position_size(MARKET)


async def _until_protected(trader: Trader, devnet: Devnet, venue: IndexerGateway) -> None:
    """Settlement rounds (as a lockstep replay runs them) until nothing protective is
    pending and the venue shows both protective orders untriggered."""
    for _ in range(ROUNDS):
        pending = await trader.settle_round()
        if pending == 0 and len(await _untriggered(venue)) >= 2:
            return
        await devnet.wait_blocks(1)
    raise AssertionError("the position never got its stop-loss and take-profit")


async def _until_unprotected(trader: Trader, devnet: Devnet, venue: IndexerGateway) -> None:
    for _ in range(ROUNDS):
        pending = await trader.settle_round()
        if pending == 0 and not await _untriggered(venue):
            return
        await devnet.wait_blocks(1)
    raise AssertionError("the protective orders were never cancelled")


async def _protected_buy(
    trader: Trader, devnet: Devnet, venue: IndexerGateway, make_signal: SignalFactory
) -> tuple[Decimal, Decimal]:
    oracle = await _oracle(venue)
    stop, take_profit = (oracle * Decimal("0.9")).quantize(1), (oracle * Decimal("1.2")).quantize(1)
    signal = make_signal("BUY", MARKET, sizing=NOTIONAL, stop_loss=stop, take_profit=take_profit)
    result = await trader.submit(signal)
    assert result.decision is not None and result.decision.protection is not None
    await trader.wait_settled()
    return stop, take_profit


def _protective(orders: list[IndexerOrder]) -> dict[str, IndexerOrder]:
    return {order.order_type: order for order in orders}


async def _post(url: str, action: str, **fields: str) -> int:
    body = {"secret": WEBHOOK_SECRET, "id": f"tv-{action.lower()}", "market": MARKET,
            "action": action, "confidence": "0.9", "strategy": "tv_1h", **fields}  # fmt: skip
    async with aiohttp.ClientSession() as session, session.post(url, data=json.dumps(body)) as r:
        return r.status


async def test_webhook_buy_with_stop_and_take_profit_then_one_of_each_then_close_cancels_both(
    devnet: Devnet, venue: IndexerGateway, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path / "journal.sqlite3")
    trader = await start_trader(devnet, settings)
    oracle = await _oracle(venue)
    stop, take_profit = (oracle * Decimal("0.9")).quantize(1), (oracle * Decimal("1.2")).quantize(1)
    try:
        async with webhook(trader) as url:
            bought = await _post(url, "BUY", stop_loss=str(stop), take_profit=str(take_profit))
            await _until_protected(trader, devnet, venue)
            size = await _position(venue)
            protected = _protective(await _untriggered(venue))
            closed = await _post(url, "CLOSE")
            await _until_unprotected(trader, devnet, venue)
            for _ in range(ROUNDS):
                if await _position(venue) == 0:
                    break
                await devnet.wait_blocks(1)
        after = await _conditionals(venue)
        flat = await _position(venue)
    finally:
        await trader.stop()

    assert (bought, closed) == (202, 202)
    assert size > 0
    assert sorted(protected) == ["STOP_LIMIT", "TAKE_PROFIT"]
    for order in protected.values():
        assert order.side.value == "SELL" and order.reduce_only and order.size == size
    assert protected["STOP_LIMIT"].trigger_price == stop
    assert protected["TAKE_PROFIT"].trigger_price == take_profit
    assert len(after) == 2 and {o.status for o in after} == {IndexerOrderStatus.CANCELED}
    assert flat == 0


async def test_stop_when_oracle_crosses_it_with_no_trader_running_then_position_closed(
    devnet: Devnet, venue: IndexerGateway, tmp_path: Path, make_signal: SignalFactory
) -> None:
    settings = settings_for(tmp_path / "journal.sqlite3")
    trader = await start_trader(devnet, settings)
    try:
        stop, _ = await _protected_buy(trader, devnet, venue, make_signal)
        await _until_protected(trader, devnet, venue)
    finally:
        await trader.stop()
    assert devnet.engine is not None

    devnet.engine.set_oracle_price(MARKET, stop * Decimal("0.99"))
    for _ in range(ROUNDS):
        if await _position(venue) == 0:
            break
        await devnet.wait_blocks(1)
    protective = _protective(await _conditionals(venue))
    # The next start finds the take-profit orphaned and cancels it.
    restarted = await start_trader(devnet, settings, fund=False)
    try:
        await _until_unprotected(restarted, devnet, venue)
        after = _protective(await _conditionals(venue))
    finally:
        await restarted.stop()

    assert await _position(venue) == 0
    assert protective["STOP_LIMIT"].status is IndexerOrderStatus.FILLED
    assert after["TAKE_PROFIT"].status is IndexerOrderStatus.CANCELED


@pytest.mark.parametrize("crash_point", ["after_intent_journaled", "after_send"])
async def test_crash_between_fill_and_stop_when_restarted_then_stop_in_place_nothing_twice(
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
    trader = await start_trader(
        devnet, settings, journal=CrashAtTheStop(files, crash_point), node=node, indexer=indexer
    )
    try:
        await _protected_buy(trader, devnet, venue, make_signal)
        with pytest.raises(Crash):
            await trader.settle_round()
        with journal_at(settings) as journal:
            left = journal.live_protective_orders()
    finally:
        # The process is gone: only its files and sockets are closed.
        await node.close()
        await indexer.close()
        files.close()
    await devnet.wait_blocks(2)
    before_restart = await _conditionals(venue)
    size = await _position(venue)

    restarted = await start_trader(devnet, settings, fund=False)
    try:
        await _until_protected(restarted, devnet, venue)
        for _ in range(3):  # more rounds place nothing more
            await restarted.settle_round()
            await devnet.wait_blocks(1)
        placed = await _conditionals(venue)
    finally:
        await restarted.stop()
    with journal_at(settings) as journal:
        journaled = journal.live_protective_orders()

    assert [o.state for o in left] == [OrderState.PENDING_SUBMIT]
    # Killed after the send, the stop reached the chain; before it, nothing did.
    assert len(before_restart) == (1 if crash_point == "after_send" else 0)
    assert sorted(o.order_type for o in placed) == ["STOP_LIMIT", "TAKE_PROFIT"]
    assert all(o.status is IndexerOrderStatus.UNTRIGGERED and o.size == size for o in placed)
    assert sorted(o.client_id for o in placed) == sorted(o.client_id for o in journaled)
    assert all(o.state is OrderState.UNTRIGGERED for o in journaled)


async def test_flatten_when_positions_open_then_closed_by_reduce_only_ioc_then_halted(
    devnet: Devnet, venue: IndexerGateway, tmp_path: Path, make_signal: SignalFactory
) -> None:
    settings: Settings = settings_for(tmp_path / "journal.sqlite3")
    trader = await start_trader(devnet, settings)
    try:
        await _protected_buy(trader, devnet, venue, make_signal)
        await _until_protected(trader, devnet, venue)
        with journal_at(settings) as operator:
            operator.set_trading_state(
                TradingState.FLATTENING, "the operator flattens", Authority.OPERATOR
            )
        for _ in range(ROUNDS):
            if await trader.settle_round() == 0 and await _position(venue) == 0:
                break
            await devnet.wait_blocks(1)
        await _until_unprotected(trader, devnet, venue)
        state = trader.status().trading_state
    finally:
        await trader.stop()
    with journal_at(settings) as journal:
        closes = [o for o in journal.recent_orders(50) if o.intent.signal_id.startswith("flatten")]

    assert await _position(venue) == 0
    assert closes and all(o.intent.reduce_only for o in closes)
    assert all(o.intent.order_flags is OrderFlags.SHORT_TERM for o in closes)
    assert state is TradingState.HALTED
