"""A lagging indexer serves the state as of ``height - lag``, not only a lower height."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from devnet_helpers import ALICE, BOB, BUY, GTT, SELL, USDC, make_engine, on_tick, short_term

from dydx_devnet import views
from dydx_devnet.engine import DevnetEvent, Engine

STEP = 1_000_000


def _stored(orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Resting short-term orders come from vulcan's Redis, which does not wait for blocks.
    return [o for o in orders if o["status"] != "BEST_EFFORT_OPENED"]


def _indexer_bodies(engine: Engine) -> dict[str, Any]:
    """Everything the indexer has processed about ALICE (and BOB), by route."""
    orders = _stored(views.orders(engine, ALICE, 0))
    snapshot = views.subscribed_contents(engine, "v4_subaccounts", f"{ALICE}/0")
    snapshot["orders"] = _stored(snapshot["orders"])
    return {
        "subaccount": views.subaccount(engine, ALICE, 0),
        "bob": views.subaccount(engine, BOB, 0),
        "address": views.address(engine, ALICE),
        "orders": orders,
        "order": [views.order(engine, o["id"]) for o in orders],
        "fills": views.fills(engine, ALICE, 0),
        "positions": views.perpetual_positions(engine, ALICE, 0),
        "assets": views.asset_positions(engine, ALICE, 0),
        "height": views.height(engine),
        "snapshot": snapshot,
    }


def _trade_a_little(engine: Engine, client_id: int, *, then_block: bool = True) -> None:
    """A fill and a resting order, then (by default) a block that moves prices."""
    engine.place_order(
        short_term(engine, BUY, 2 * STEP, on_tick(engine, "BTC-USD", 50), client_id=client_id)
    )
    engine.place_order(
        short_term(
            engine,
            SELL,
            STEP,
            on_tick(engine, "ETH-USD", 300),
            tif=GTT,
            client_id=client_id + 1,
            clob_pair_id=1,
        )
    )
    if then_block:
        engine.advance_block()


def test_lagging_indexer_when_held_n_blocks_then_every_view_equals_the_one_n_blocks_ago(
    engine: Engine,
) -> None:
    engine.deposit(ALICE, 0, 10_000 * USDC)
    _trade_a_little(engine, 1, then_block=False)
    before = _indexer_bodies(engine)  # as of the end of this height
    engine.advance_block()
    for block in range(4):
        _trade_a_little(engine, 10 + 2 * block, then_block=block < 3)
    engine.deposit(ALICE, 0, 5 * USDC)
    engine.deposit(BOB, 0, 7 * USDC)
    engine.set_oracle_price("BTC-USD", engine.markets["BTC-USD"].oracle_price * Decimal("1.01"))
    assert _indexer_bodies(engine) != before

    engine.set_indexer_lag(4)

    assert _indexer_bodies(engine) == before
    engine.set_indexer_lag(0)
    assert _indexer_bodies(engine)["subaccount"] != before["subaccount"]


def test_lagging_indexer_when_subaccount_funded_after_the_indexer_height_then_404(
    engine: Engine,
) -> None:
    engine.advance_block()
    engine.set_indexer_lag(1)
    engine.deposit(ALICE, 0, 100 * USDC)

    assert views.subaccount(engine, ALICE, 0) is None
    assert views.address(engine, ALICE) is None
    engine.advance_block()
    engine.advance_block()
    body = views.subaccount(engine, ALICE, 0)
    assert body is not None and body["subaccount"]["equity"] == "100"


def test_lagging_indexer_when_order_fills_after_the_indexer_height_then_unknown_until_caught_up(
    engine: Engine,
) -> None:
    engine.deposit(ALICE, 0, 10_000 * USDC)
    engine.advance_block()
    engine.set_indexer_lag(2)
    engine.place_order(short_term(engine, BUY, STEP, on_tick(engine, "BTC-USD", 50)))
    (state,) = engine.state.orders.values()

    assert views.orders(engine, ALICE, 0) == [] and views.order(engine, state.uuid) is None
    engine.advance_block()
    engine.advance_block()
    assert views.orders(engine, ALICE, 0) == []  # its block is not indexed yet
    engine.advance_block()
    (row,) = views.orders(engine, ALICE, 0)
    assert row["status"] == "FILLED" and views.order(engine, state.uuid) == row


def test_lagging_indexer_when_short_term_order_rests_then_redis_shows_it_at_once(
    engine: Engine,
) -> None:
    engine.deposit(ALICE, 0, 10_000 * USDC)
    engine.advance_block()
    engine.set_indexer_lag(2)
    engine.place_order(
        short_term(engine, BUY, STEP, on_tick(engine, "BTC-USD", -100), tif=GTT)
    )

    (row,) = views.orders(engine, ALICE, 0)

    assert (row["status"], row["totalFilled"]) == ("BEST_EFFORT_OPENED", "0")


def test_indexer_lag_when_beyond_the_history_then_refused_with_the_limit() -> None:
    engine = make_engine(indexer_history_blocks=8)

    with pytest.raises(ValueError, match=r"0\.\.8 blocks"):
        engine.set_indexer_lag(9)
    engine.set_indexer_lag(8)
    assert engine.indexer_height == engine.height - 8


def test_history_when_far_more_blocks_than_the_ring_then_old_versions_are_dropped() -> None:
    engine = make_engine(indexer_history_blocks=4)
    engine.deposit(ALICE, 0, 10_000 * USDC)
    for block in range(30):
        _trade_a_little(engine, 100 + 2 * block)
    before = _indexer_bodies(engine)
    engine.advance_block()
    for block in range(4):
        _trade_a_little(engine, 500 + 2 * block, then_block=block < 3)

    engine.set_indexer_lag(4)

    assert _indexer_bodies(engine) == before
    versions = engine.state.history._accounts[(ALICE, 0)].items
    assert len(versions) <= 6


def _account_events(events: list[DevnetEvent]) -> list[dict[str, Any]]:
    return [e.contents for e in events if e.channel == "v4_subaccounts"]


def test_lagging_websocket_when_updates_are_newer_than_the_indexer_then_held_and_released_in_order(
    engine: Engine, events: list[DevnetEvent]
) -> None:
    engine.deposit(ALICE, 0, 10_000 * USDC)
    engine.set_indexer_lag(2)
    events.clear()
    for block in range(4):
        _trade_a_little(engine, 20 + 2 * block)

    seen = [int(c["blockHeight"]) for c in _account_events(events)]
    assert seen and max(seen) == engine.indexer_height == engine.height - 2
    block_heights = [
        int(e.contents["blockHeight"]) for e in events if e.channel == "v4_block_height"
    ]
    assert block_heights == list(range(engine.height - 3, engine.height - 1))
    engine.set_indexer_lag(0)

    released = [int(c["blockHeight"]) for c in _account_events(events)]
    # The last trades' CheckTx results were indexed with the last block.
    assert released == sorted(released) and released[-1] == engine.height
    assert engine.state.feed.held == 0


def test_fill_delay_when_set_then_fills_show_k_blocks_late_on_rest_and_websocket(
    engine: Engine, events: list[DevnetEvent]
) -> None:
    engine.deposit(ALICE, 0, 10_000 * USDC)
    engine.set_fill_delay(2)
    events.clear()

    engine.place_order(short_term(engine, BUY, STEP, on_tick(engine, "BTC-USD", 50)))
    engine.advance_block()  # the block holding the fill: indexed now, its fills 2 later

    (order,) = views.orders(engine, ALICE, 0)
    assert order["status"] == "FILLED" and views.fills(engine, ALICE, 0)["fills"] == []
    (update,) = [c for c in _account_events(events) if "perpetualPositions" in c]
    assert "orders" in update and "fills" not in update
    engine.advance_block()
    assert views.fills(engine, ALICE, 0)["fills"] == []
    engine.advance_block()
    assert len(views.fills(engine, ALICE, 0)["fills"]) == 1
    (late,) = [c for c in _account_events(events) if "fills" in c]
    assert set(late) == {"fills", "blockHeight"} and int(late["blockHeight"]) == engine.height - 2
