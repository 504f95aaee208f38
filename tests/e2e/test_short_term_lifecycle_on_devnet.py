"""Short-term orders as the real indexer shows them, settled by the trader on the devnet.

The devnet's blocks come only when a test asks (``auto_blocks=False``), so what the
trader may conclude between two blocks is checked exactly:

* a resting order is ``BEST_EFFORT_OPENED`` (journal OPEN), and an unfilled one is
  never stored: gone from ``/v4/orders`` once removed, settled EXPIRED only past its
  good-til-block;
* a fill at CheckTx is optimistic (the account stream's sparse messages carry
  ``totalOptimisticFilled``); the block indexes it one height later, and only then
  is anything released.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from e2e_harness import SignalFactory, journal_at, settings_for, start_trader

from conftest import E2E_GENESIS, E2E_MARKETS
from dydx_devnet.server import Devnet, DevnetConfig
from dydx_devnet.state import EngineConfig
from dydx_trader.adapters.dydx.indexer import IndexerGateway
from dydx_trader.app.executor import Settlement
from dydx_trader.bootstrap import Trader
from dydx_trader.config import Settings
from dydx_trader.domain.order import OrderIntent, OrderState
from dydx_trader.domain.signal import HintKind, SizingHint
from dydx_trader.domain.venue import IndexerOrderStatus

SMALL = SizingHint(HintKind.NOTIONAL_USDC, Decimal(200))


@pytest.fixture
async def still_devnet() -> AsyncIterator[Devnet]:
    """A devnet whose chain moves only when the test produces a block."""
    engine = EngineConfig(seed=7, markets=E2E_MARKETS, block_time_s=1, genesis_time=E2E_GENESIS)
    config = DevnetConfig(indexer_port=0, grpc_port=0, auto_blocks=False, engine=engine)
    async with Devnet(config) as running:
        yield running


async def _ours(venue: IndexerGateway, intent: OrderIntent) -> IndexerOrderStatus | None:
    """Our order's status on the indexer's ``/v4/orders``, ``None`` when it is not there."""
    orders = await venue.get_orders(intent.address, 0, ticker=intent.market)
    found = [o.status for o in orders if o.client_id == intent.client_id]
    return found[0] if found else None


async def _past_good_til_block(devnet: Devnet, trader: Trader, intent: OrderIntent) -> None:
    assert intent.good_til_block is not None
    await devnet.advance_blocks(intent.good_til_block - devnet.engine.height + 1)  # type: ignore[union-attr]
    assert await trader.settle_round() == 0


async def _submitted(trader: Trader, make_signal: SignalFactory, **fields: object) -> OrderIntent:
    result = await trader.submit(make_signal("BUY", sizing=SMALL, **fields))
    assert result.order is not None and result.order.state is OrderState.SUBMITTED, result
    return result.order.intent


async def test_unfilled_ioc_when_never_stored_then_expired_only_past_good_til_block(
    still_devnet: Devnet, tmp_path: Path, make_signal: SignalFactory
) -> None:
    # A worst price a tenth of a basis point through the oracle never reaches the book.
    settings = settings_for(tmp_path / "j.sqlite3", execution={"slippage_bps": "0.1"})
    trader = await start_trader(still_devnet, settings)
    venue = IndexerGateway(still_devnet.indexer_url)
    try:
        intent = await _submitted(trader, make_signal)
        await still_devnet.advance_blocks(2)
        assert await trader.settle_round() == 1
        # Removed unfilled, never stored: the indexer no longer has it, yet it may
        # still be anywhere until its good-til-block: nothing is released.
        assert await _ours(venue, intent) is None
        assert _state(settings, intent) is OrderState.SUBMITTED
        assert trader.status().reserved

        await _past_good_til_block(still_devnet, trader, intent)
    finally:
        await venue.close()
        await trader.stop()

    assert _state(settings, intent) is OrderState.EXPIRED
    with journal_at(settings) as journal:
        reason = journal.order_history(intent.client_id)[-1].reason
        assert reason.startswith("not on the indexer at height")
        assert journal.fills(intent.client_id) == []
    assert trader.status().reserved == ()


async def test_resting_order_when_best_effort_opened_then_open_and_expired_past_good_til_block(
    still_devnet: Devnet, tmp_path: Path, make_signal: SignalFactory
) -> None:
    settings = settings_for(tmp_path / "j.sqlite3", execution={"order_type": "limit"})
    trader = await start_trader(still_devnet, settings)
    venue = IndexerGateway(still_devnet.indexer_url)
    try:
        oracle = (await venue.get_markets())["ETH-USD"].require_oracle_price()
        intent = await _submitted(trader, make_signal, reference_price=oracle * Decimal("0.99"))
        await still_devnet.advance_blocks(1)
        assert await trader.settle_round() == 1
        assert await _ours(venue, intent) is IndexerOrderStatus.BEST_EFFORT_OPENED
        assert _state(settings, intent) is OrderState.OPEN
        assert trader.status().reserved

        await _past_good_til_block(still_devnet, trader, intent)
        assert await _ours(venue, intent) is None  # expired unfilled: never stored
    finally:
        await venue.close()
        await trader.stop()

    assert _state(settings, intent) is OrderState.EXPIRED
    assert trader.status().reserved == ()


async def test_fill_when_only_optimistic_then_nothing_released_until_its_block_indexes_it(
    still_devnet: Devnet, tmp_path: Path, make_signal: SignalFactory
) -> None:
    settings = settings_for(tmp_path / "j.sqlite3")
    settled: list[Settlement] = []
    # Streams on: the sparse order messages (totalOptimisticFilled) reach the trader.
    trader = await start_trader(
        still_devnet, settings, follow_streams=True, on_settled=settled.append
    )
    try:
        placed_at = still_devnet.engine.height  # type: ignore[union-attr]
        intent = await _submitted(trader, make_signal)
        for _ in range(3):  # the optimistic news, read again and again: still no block
            assert await trader.settle_round() == 1
        assert _state(settings, intent) is OrderState.SUBMITTED
        with journal_at(settings) as journal:
            assert journal.fills(intent.client_id) == []
        assert trader.status().reserved

        await still_devnet.advance_blocks(1)
        assert await trader.settle_round() == 0
    finally:
        await trader.stop()

    (settlement,) = settled
    assert settlement.order.state is OrderState.FILLED
    assert [fill.created_at_height for fill in settlement.fills] == [placed_at + 1]
    assert settlement.height >= placed_at + 1
    with journal_at(settings) as journal:
        assert journal.order(intent.client_id).filled_quantums == intent.quantums
    assert trader.status().reserved == ()


def _state(settings: Settings, intent: OrderIntent) -> OrderState:
    with journal_at(settings) as journal:
        return journal.order(intent.client_id).state
