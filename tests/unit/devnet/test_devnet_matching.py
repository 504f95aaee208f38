"""Matching short-term orders: fills, fees, slippage, collateral at match time."""

from __future__ import annotations

from decimal import Decimal

from devnet_helpers import (
    ALICE,
    BOB,
    BUY,
    GTT,
    SELL,
    USDC,
    make_engine,
    on_tick,
    position_of,
    short_term,
    usdc_of,
)

from dydx_devnet import views
from dydx_devnet.engine import DevnetEvent, Engine
from dydx_devnet.subaccounts import risk

BTC_STEP = 1_000_000  # 0.0001 BTC


def _fills(engine: Engine, owner: str = ALICE) -> list[dict[str, object]]:
    """The chain's fills, newest first (the indexer shows them from the next block on)."""
    return list(reversed(engine.state.fills[(owner, 0)]))


def _indexed_orders(engine: Engine, owner: str = ALICE, **filters: object) -> list[dict]:
    """``/v4/orders`` once the block holding the orders' fills is indexed."""
    engine.advance_block()
    return views.orders(engine, owner, 0, **filters)  # type: ignore[arg-type]


def test_ioc_buy_when_book_has_liquidity_then_fills_at_best_ask_and_pays_taker_fee(
    engine: Engine,
) -> None:
    engine.deposit(ALICE, 0, 10_000 * USDC)
    best_ask = engine.state.books["BTC-USD"].synthetic(bids=False).prices[0]
    market = engine.markets["BTC-USD"]

    result = engine.place_order(
        short_term(engine, BUY, 10 * BTC_STEP, on_tick(engine, "BTC-USD", 50))
    )

    assert result.code == 0
    quote = best_ask * 10 * BTC_STEP // 10**9  # subticks x quantums x 10^qce, qce = -9
    fee = -((-quote * 500) // 1_000_000)
    assert usdc_of(engine) == 10_000 * USDC - quote - fee
    assert position_of(engine, "BTC-USD") == 10 * BTC_STEP
    (fill,) = _fills(engine)
    assert fill["price"] == views.shapes.price(market, best_ask)
    assert fill["liquidity"] == "TAKER"
    assert fill["fee"] == views.shapes.usdc(fee)
    (order,) = _indexed_orders(engine)
    assert (order["status"], order["totalFilled"], order["size"]) == ("FILLED", "0.001", "0.001")


def test_ioc_larger_than_one_level_when_placed_then_walks_the_book_with_rising_prices() -> None:
    engine = make_engine(depth_per_level_usdc=1_000)
    engine.deposit(ALICE, 0, 100_000 * USDC)
    asks = engine.state.books["BTC-USD"].synthetic(bids=False)
    depth = asks.available[0]

    engine.place_order(
        short_term(engine, BUY, depth * 3 + BTC_STEP, on_tick(engine, "BTC-USD", 500))
    )

    prices = [int(f["price"]) for f in reversed(_fills(engine))]
    assert prices == sorted(prices)
    assert len(set(prices)) == 4
    assert position_of(engine, "BTC-USD") == depth * 3 + BTC_STEP
    assert asks.available[:3] == [0, 0, 0]


def test_same_ioc_twice_in_one_block_when_liquidity_consumed_then_second_pays_more() -> None:
    engine = make_engine(depth_per_level_usdc=1_000)
    engine.deposit(ALICE, 0, 100_000 * USDC)
    depth = engine.state.books["BTC-USD"].synthetic(bids=False).available[0]
    limit = on_tick(engine, "BTC-USD", 500)

    engine.place_order(short_term(engine, BUY, depth, limit, client_id=1))
    engine.place_order(short_term(engine, BUY, depth, limit, client_id=2))

    first, second = reversed(_fills(engine))
    assert int(second["price"]) > int(first["price"])


def test_liquidity_when_next_block_arrives_then_synthetic_depth_is_restored() -> None:
    engine = make_engine(depth_per_level_usdc=1_000)
    engine.deposit(ALICE, 0, 100_000 * USDC)
    depth = engine.state.books["BTC-USD"].synthetic(bids=False).available[0]
    engine.place_order(short_term(engine, BUY, depth, on_tick(engine, "BTC-USD", 500)))

    engine.advance_block()

    assert engine.state.books["BTC-USD"].synthetic(bids=False).available[0] == depth


def test_ioc_when_limit_below_best_ask_then_removed_unstored_and_404_on_the_indexer(
    engine: Engine, events: list[DevnetEvent]
) -> None:
    engine.deposit(ALICE, 0, 1_000 * USDC)

    result = engine.place_order(short_term(engine, BUY, BTC_STEP, on_tick(engine, "BTC-USD", -5)))
    engine.advance_block()

    assert result.code == 0
    (state,) = engine.state.orders_by_uuid.values()
    assert (state.status, state.removal_reason) == (
        "BEST_EFFORT_CANCELED",
        "ORDER_REMOVAL_REASON_IMMEDIATE_OR_CANCEL_WOULD_REST_ON_BOOK",
    )
    # Never filled, so never stored: gone from /v4/orders, 404 for its id.
    assert views.orders(engine, ALICE, 0) == []
    assert views.order(engine, state.uuid) is None
    assert _fills(engine) == []
    statuses = [
        o["status"]
        for e in events
        if e.channel == "v4_subaccounts"
        for o in e.contents.get("orders", [])
    ]
    assert statuses == ["BEST_EFFORT_OPENED", "BEST_EFFORT_CANCELED"]


def test_ioc_when_taker_would_be_undercollateralized_then_code_0_and_removed(
    engine: Engine,
) -> None:
    engine.deposit(ALICE, 0, 10 * USDC)

    result = engine.place_order(
        short_term(engine, BUY, 10_000 * BTC_STEP, on_tick(engine, "BTC-USD", 500))
    )

    assert result.code == 0
    state = next(iter(engine.state.orders.values()))
    assert (state.status, state.removal_reason) == (
        "BEST_EFFORT_CANCELED",
        "ORDER_REMOVAL_REASON_UNDERCOLLATERALIZED",
    )
    # A synthetic level is many small makers, each checked alone: the taker keeps
    # what its 10 USDC carry, and the account still meets its initial margin.
    assert 0 < position_of(engine, "BTC-USD") < 10_000 * BTC_STEP
    figures = risk(engine.state.subaccounts[(ALICE, 0)], engine.markets)
    assert figures.net_collateral >= figures.initial


def test_ioc_when_partly_affordable_then_earlier_fills_stand() -> None:
    engine = make_engine(depth_per_level_usdc=1_000)
    engine.deposit(ALICE, 0, 100 * USDC)

    engine.place_order(short_term(engine, BUY, 10_000 * BTC_STEP, on_tick(engine, "BTC-USD", 500)))

    state = next(iter(engine.state.orders.values()))
    assert state.removal_reason == "ORDER_REMOVAL_REASON_UNDERCOLLATERALIZED"
    assert 0 < state.filled < state.quantums
    assert position_of(engine, "BTC-USD") == state.filled


def test_resting_user_order_when_crossed_by_taker_then_maker_fills_first_paying_1_bp(
    engine: Engine,
) -> None:
    engine.deposit(ALICE, 0, 10_000 * USDC)
    engine.deposit(BOB, 0, 10_000 * USDC)
    best_ask = engine.state.books["BTC-USD"].synthetic(bids=False).prices[0]
    maker_price = best_ask - engine.markets["BTC-USD"].spec.subticks_per_tick
    engine.place_order(short_term(engine, SELL, 5 * BTC_STEP, maker_price, tif=GTT, owner=BOB))

    engine.place_order(short_term(engine, BUY, 5 * BTC_STEP, on_tick(engine, "BTC-USD", 50)))

    (maker_fill,) = _fills(engine, BOB)
    assert maker_fill["liquidity"] == "MAKER"
    assert Decimal(maker_fill["fee"]) > 0  # standard tier 1: maker +100 ppm
    assert position_of(engine, "BTC-USD", BOB) == -5 * BTC_STEP
    assert _indexed_orders(engine, BOB)[0]["status"] == "FILLED"


def test_taker_when_crossing_own_resting_order_then_own_maker_is_removed_as_self_trade(
    engine: Engine,
) -> None:
    engine.deposit(ALICE, 0, 10_000 * USDC)
    best_ask = engine.state.books["BTC-USD"].synthetic(bids=False).prices[0]
    spt = engine.markets["BTC-USD"].spec.subticks_per_tick
    engine.place_order(short_term(engine, SELL, BTC_STEP, best_ask - spt, tif=GTT, client_id=9))

    engine.place_order(short_term(engine, BUY, BTC_STEP, on_tick(engine, "BTC-USD", 50)))

    maker = next(o for o in engine.state.orders.values() if o.client_id == 9)
    assert maker.removal_reason == "ORDER_REMOVAL_REASON_SELF_TRADE_ERROR"
    assert position_of(engine, "BTC-USD") == BTC_STEP


def test_reduce_only_larger_than_position_when_matched_then_resized_and_position_closed(
    engine: Engine,
) -> None:
    engine.deposit(ALICE, 0, 10_000 * USDC)
    engine.place_order(short_term(engine, BUY, BTC_STEP, on_tick(engine, "BTC-USD", 50)))

    result = engine.place_order(
        short_term(
            engine,
            SELL,
            3 * BTC_STEP,
            on_tick(engine, "BTC-USD", -50),
            client_id=2,
            reduce_only=True,
        )
    )

    assert result.code == 0
    state = next(o for o in engine.state.orders.values() if o.client_id == 2)
    assert (state.filled, state.removal_reason) == (
        BTC_STEP,
        "ORDER_REMOVAL_REASON_REDUCE_ONLY_RESIZE",
    )
    assert position_of(engine, "BTC-USD") == 0
    engine.advance_block()  # the indexer shows the close from the next block
    closed = views.perpetual_positions(engine, ALICE, 0, status="CLOSED")["positions"]
    assert len(closed) == 1 and closed[0]["sumClose"] == "0.0001"


def test_gtt_order_when_not_crossing_then_rests_and_appears_in_orderbook(engine: Engine) -> None:
    engine.deposit(ALICE, 0, 10_000 * USDC)
    bid = on_tick(engine, "BTC-USD", -100)

    engine.place_order(short_term(engine, BUY, 7 * BTC_STEP, bid, tif=GTT))

    book = views.orderbook(engine, "BTC-USD")
    assert book is not None
    price = views.shapes.price(engine.markets["BTC-USD"], bid)
    assert {"price": price, "size": "0.0007"} in book["bids"]
    # Unfilled and short-term: only in the indexer's Redis, as BEST_EFFORT_OPENED.
    (listed,) = views.orders(engine, ALICE, 0, status="BEST_EFFORT_OPENED")
    assert (listed["status"], listed["totalFilled"]) == ("BEST_EFFORT_OPENED", "0")
    assert "createdAtHeight" not in listed


def test_resting_bid_when_oracle_falls_through_it_then_fills_as_maker_next_block(
    engine: Engine,
) -> None:
    engine.deposit(ALICE, 0, 10_000 * USDC)
    market = engine.markets["BTC-USD"]
    bid = on_tick(engine, "BTC-USD", -300)
    engine.place_order(short_term(engine, BUY, BTC_STEP, bid, tif=GTT))

    engine.set_oracle_price("BTC-USD", market.oracle_price * 9 / 10)
    engine.advance_block()

    assert position_of(engine, "BTC-USD") == BTC_STEP
    (fill,) = _fills(engine)
    assert (fill["liquidity"], fill["price"]) == ("MAKER", views.shapes.price(market, bid))


def _akt_ioc(engine: Engine, side: int, client_id: int) -> int:
    akt = engine.markets["AKT-USD"]
    limit = on_tick(engine, "AKT-USD", 100 if side == BUY else -100)
    result = engine.place_order(
        short_term(
            engine,
            side,
            10 * akt.spec.step_base_quantums,
            limit,
            client_id=client_id,
            clob_pair_id=akt.clob_pair_id,
        )
    )
    return result.code


def test_isolated_market_when_account_holds_cross_position_then_order_removed(
    engine: Engine,
) -> None:
    engine.deposit(ALICE, 0, 10_000 * USDC)
    engine.place_order(short_term(engine, BUY, BTC_STEP, on_tick(engine, "BTC-USD", 50)))

    code = _akt_ioc(engine, BUY, client_id=2)

    assert code == 0
    state = next(o for o in engine.state.orders.values() if o.client_id == 2)
    assert state.removal_reason == "ORDER_REMOVAL_REASON_VIOLATES_ISOLATED_SUBACCOUNT_CONSTRAINTS"
    assert position_of(engine, "AKT-USD") == 0


def test_isolated_market_when_subaccount_empty_then_trades_and_blocks_cross_orders(
    engine: Engine,
) -> None:
    engine.deposit(ALICE, 0, 10_000 * USDC)

    assert _akt_ioc(engine, BUY, client_id=1) == 0
    engine.place_order(
        short_term(engine, BUY, BTC_STEP, on_tick(engine, "BTC-USD", 50), client_id=2)
    )

    assert position_of(engine, "AKT-USD") > 0
    assert position_of(engine, "BTC-USD") == 0


def test_ioc_when_subaccount_set_1x_leverage_then_match_fails_undercollateralized(
    engine: Engine,
) -> None:
    engine.deposit(ALICE, 0, 1_000 * USDC)
    engine.state.subaccounts[(ALICE, 0)].custom_imf_ppm["BTC-USD"] = 1_000_000  # 1x
    market = engine.markets["BTC-USD"]
    # About 1.5x the account's equity: 50x is allowed by the market, not by the setting.
    steps = 1_500 * USDC * 10**9 // (market.oracle_subticks() * BTC_STEP) + 1

    engine.place_order(short_term(engine, BUY, steps * BTC_STEP, on_tick(engine, "BTC-USD", 50)))

    (state,) = engine.state.orders_by_uuid.values()
    assert (state.status, state.removal_reason) == (
        "BEST_EFFORT_CANCELED",
        "ORDER_REMOVAL_REASON_UNDERCOLLATERALIZED",
    )
    # It kept what a 100 % IMF allows (about 1x equity), not the 1.5x it asked for.
    assert 0 < state.filled < steps * BTC_STEP
    notional = market.notional(position_of(engine, "BTC-USD"))
    assert notional <= engine.state.subaccounts[(ALICE, 0)].usdc + notional
    assert notional > 900 * USDC


def test_ioc_when_leverage_setting_leaves_room_then_fills_up_to_it(engine: Engine) -> None:
    engine.deposit(ALICE, 0, 1_000 * USDC)
    engine.state.subaccounts[(ALICE, 0)].custom_imf_ppm["BTC-USD"] = 500_000  # 2x
    market = engine.markets["BTC-USD"]
    steps = 1_500 * USDC * 10**9 // (market.oracle_subticks() * BTC_STEP)  # about 1.5x

    engine.place_order(short_term(engine, BUY, steps * BTC_STEP, on_tick(engine, "BTC-USD", 50)))

    assert position_of(engine, "BTC-USD") == steps * BTC_STEP
