"""Blocks: expiry, cancels, long-term placement, liquidation, prices, events, lag."""

from __future__ import annotations

from decimal import Decimal

from devnet_helpers import (
    ALICE,
    BOB,
    BUY,
    GTT,
    SELL,
    USDC,
    cancel,
    long_term,
    make_engine,
    on_tick,
    order_id,
    position_of,
    short_term,
    usdc_of,
)
from v4_proto.dydxprotocol.clob import tx_pb2

from dydx_devnet import views
from dydx_devnet.engine import DevnetEvent, Engine

STEP = 1_000_000


def _only_order(engine: Engine) -> tuple[str, str | None]:
    (state,) = engine.state.orders.values()
    return state.status, state.removal_reason


def test_short_term_order_when_good_til_block_passes_then_canceled_expired(
    engine: Engine,
) -> None:
    engine.deposit(ALICE, 0, 1_000 * USDC)
    gtb = engine.height + 3
    engine.place_order(
        short_term(engine, BUY, STEP, on_tick(engine, "BTC-USD", -200), tif=GTT, good_til_block=gtb)
    )

    while engine.height < gtb - 1:
        engine.advance_block()
    assert _only_order(engine) == ("OPEN", None)
    engine.advance_block()

    assert _only_order(engine) == ("CANCELED", "ORDER_REMOVAL_REASON_EXPIRED")
    assert views.orderbook(engine, "BTC-USD") is not None
    assert not engine.state.books["BTC-USD"].bids.levels()


def test_short_term_cancel_when_order_rests_then_best_effort_canceled_user(
    engine: Engine, events: list[DevnetEvent]
) -> None:
    engine.deposit(ALICE, 0, 1_000 * USDC)
    order = short_term(engine, BUY, STEP, on_tick(engine, "BTC-USD", -200), tif=GTT)
    engine.place_order(order)

    result = engine.cancel_order(cancel(engine, order.order_id, order.good_til_block))

    assert result.code == 0
    assert _only_order(engine) == ("BEST_EFFORT_CANCELED", "ORDER_REMOVAL_REASON_USER_CANCELED")
    last = [e for e in events if e.channel == "v4_subaccounts"][-1]
    assert last.contents["orders"][0]["removalReason"] == "ORDER_REMOVAL_REASON_USER_CANCELED"


def test_batch_cancel_when_orders_rest_then_all_are_canceled(engine: Engine) -> None:
    engine.deposit(ALICE, 0, 1_000 * USDC)
    for client_id in (1, 2, 3):
        engine.place_order(
            short_term(
                engine, BUY, STEP, on_tick(engine, "BTC-USD", -200), tif=GTT, client_id=client_id
            )
        )

    result = engine.batch_cancel(
        tx_pb2.MsgBatchCancel(
            subaccount_id=order_id().subaccount_id,
            short_term_cancels=[tx_pb2.OrderBatch(clob_pair_id=0, client_ids=[1, 2, 3])],
            good_til_block=engine.height + 10,
        )
    )

    assert result.code == 0
    assert {o.status for o in engine.state.orders.values()} == {"BEST_EFFORT_CANCELED"}


def test_long_term_order_when_accepted_then_placed_on_the_next_block(engine: Engine) -> None:
    engine.deposit(ALICE, 0, 1_000 * USDC)
    price = on_tick(engine, "BTC-USD", -200)

    assert engine.place_order(long_term(engine, BUY, STEP, price)).code == 0
    assert not engine.state.books["BTC-USD"].bids.levels()
    engine.advance_block()

    assert engine.state.books["BTC-USD"].bids.levels() == [(price, STEP)]
    (row,) = views.orders(engine, ALICE, 0, status="OPEN")
    assert (row["orderFlags"], row["timeInForce"], row["createdAtHeight"]) == (
        "64",
        "GTT",
        str(engine.height),
    )
    assert "goodTilBlockTime" in row and "goodTilBlock" not in row


def test_long_term_order_when_canceled_then_canceled_user_canceled_at_next_block(
    engine: Engine,
) -> None:
    engine.deposit(ALICE, 0, 1_000 * USDC)
    order = long_term(engine, BUY, STEP, on_tick(engine, "BTC-USD", -200))
    engine.place_order(order)
    engine.advance_block()
    cancel = tx_pb2.MsgCancelOrder(
        order_id=order.order_id, good_til_block_time=order.good_til_block_time
    )

    result = engine.cancel_order(cancel)
    again = engine.cancel_order(cancel)
    before_block = _only_order(engine)
    engine.advance_block()

    assert result.code == 0
    assert again.code == 32  # one uncommitted cancel per order
    assert before_block == ("OPEN", None)  # a stateful cancel is a block fact
    assert _only_order(engine) == ("CANCELED", "ORDER_REMOVAL_REASON_USER_CANCELED")


def test_stateful_cancel_when_before_the_order_good_til_block_time_then_code_29(
    engine: Engine,
) -> None:
    engine.deposit(ALICE, 0, 1_000 * USDC)
    order = long_term(engine, BUY, STEP, on_tick(engine, "BTC-USD", -200))
    engine.place_order(order)
    now = int(engine.block_time.timestamp())

    early = engine.cancel_order(
        tx_pb2.MsgCancelOrder(order_id=order.order_id, good_til_block_time=now + 60)
    )
    past = engine.cancel_order(
        tx_pb2.MsgCancelOrder(order_id=order.order_id, good_til_block_time=now)
    )
    far = engine.cancel_order(
        tx_pb2.MsgCancelOrder(order_id=order.order_id, good_til_block_time=now + 96 * 86_400)
    )

    assert [early.code, past.code, far.code] == [29, 3003, 3004]


def test_long_term_order_when_good_til_block_time_passes_then_expired() -> None:
    engine = make_engine(block_time_s=1.0, speed=30.0)  # 30 s of chain time per block
    engine.deposit(ALICE, 0, 1_000 * USDC)
    engine.place_order(long_term(engine, BUY, STEP, on_tick(engine, "BTC-USD", -2000), seconds=60))

    for _ in range(3):
        engine.advance_block()

    assert _only_order(engine) == ("CANCELED", "ORDER_REMOVAL_REASON_EXPIRED")


def test_post_only_long_term_when_crossing_at_placement_then_removed(engine: Engine) -> None:
    engine.deposit(ALICE, 0, 10_000 * USDC)
    from devnet_helpers import POST_ONLY

    engine.place_order(long_term(engine, BUY, STEP, on_tick(engine, "BTC-USD", 500), tif=POST_ONLY))
    engine.advance_block()

    assert _only_order(engine) == (
        "CANCELED",
        "ORDER_REMOVAL_REASON_POST_ONLY_WOULD_CROSS_MAKER_ORDER",
    )


def test_account_when_below_maintenance_margin_then_liquidated_in_block_sized_parts(
    engine: Engine,
) -> None:
    engine.deposit(ALICE, 0, 100 * USDC)
    market = engine.markets["BTC-USD"]
    # ~40x: $4,000 of BTC on $100 (IMF 2 %, MMF 1.2 %).
    engine.place_order(short_term(engine, BUY, 650 * STEP, on_tick(engine, "BTC-USD", 100)))
    assert position_of(engine, "BTC-USD") == 650 * STEP
    fund = engine.state.insurance_fund

    engine.set_oracle_price("BTC-USD", market.oracle_price * Decimal("0.985"))
    engine.advance_block()

    # One block liquidates at most max(1 000 USDC, 10 %) of the position, at the book.
    left = position_of(engine, "BTC-USD")
    assert 0 < left < 650 * STEP
    assert abs(market.notional(650 * STEP - left)) <= 1_000 * USDC + market.notional(STEP)
    liquidated = [f for f in engine.state.fills[(ALICE, 0)] if f["type"] == "LIQUIDATED"]
    assert {(f["side"], f["liquidity"]) for f in liquidated} == {("SELL", "TAKER")}
    # The taker pays no trading fee: its "fee" is the insurance fund's delta.
    paid = sum(Decimal(f["fee"]) for f in liquidated)
    assert paid == Decimal(engine.state.insurance_fund - fund).scaleb(-6) != 0
    for _ in range(20):
        engine.advance_block()
    assert position_of(engine, "BTC-USD") == 0
    positions = views.perpetual_positions(engine, ALICE, 0, status="LIQUIDATED")["positions"]
    assert len(positions) == 1
    recent = views.trades(engine, "BTC-USD")
    assert recent is not None and "LIQUIDATED" in {t["type"] for t in recent["trades"]}


def test_account_when_above_maintenance_then_not_liquidated(engine: Engine) -> None:
    engine.deposit(ALICE, 0, 1_000 * USDC)
    engine.place_order(short_term(engine, SELL, 10 * STEP, on_tick(engine, "BTC-USD", -100)))

    for _ in range(5):
        engine.advance_block()

    assert position_of(engine, "BTC-USD") == -10 * STEP


def test_engines_when_same_seed_then_same_prices_and_different_seed_differs() -> None:
    first, second, other = make_engine(), make_engine(), make_engine(seed=8)

    for engine in (first, second, other):
        for _ in range(20):
            engine.advance_block()

    prices = [{t: m.price_value for t, m in e.markets.items()} for e in (first, second, other)]
    assert prices[0] == prices[1]
    assert prices[0]["ADA-USD"] != prices[2]["ADA-USD"]


def test_block_when_advanced_then_emits_height_and_oracle_prices(
    engine: Engine, events: list[DevnetEvent]
) -> None:
    engine.advance_block()

    channels = [e.channel for e in events]
    assert "v4_block_height" in channels and "v4_markets" in channels
    height = next(e for e in events if e.channel == "v4_block_height")
    assert height.contents == {
        "blockHeight": str(engine.config.initial_height + 1),
        "time": "2026-01-01T00:00:00.500Z",
    }
    markets = [e.contents for e in events if e.channel == "v4_markets"]
    prices = next(c["oraclePrices"] for c in markets if "oraclePrices" in c)
    assert set(prices) == set(engine.markets)
    assert set(prices["BTC-USD"]) == {"oraclePrice", "effectiveAt", "effectiveAtHeight", "marketId"}


def test_orderbook_when_watched_then_block_emits_level_deltas(
    engine: Engine, events: list[DevnetEvent]
) -> None:
    views.subscribed_contents(engine, "v4_orderbook", "BTC-USD")
    engine.set_oracle_price("BTC-USD", engine.markets["BTC-USD"].oracle_price * Decimal("1.01"))

    books = [e for e in events if e.channel == "v4_orderbook"]
    assert books and books[-1].id == "BTC-USD"
    update = books[-1].contents
    assert any(size == "0" for _, size in update["bids"] + update["asks"])
    assert all(isinstance(level, list) and len(level) == 2 for level in update["bids"])


def test_orderbook_when_not_watched_then_no_book_events(
    engine: Engine, events: list[DevnetEvent]
) -> None:
    engine.advance_block()

    assert not [e for e in events if e.channel == "v4_orderbook"]


def test_candles_when_watched_then_block_emits_current_candle(
    engine: Engine, events: list[DevnetEvent]
) -> None:
    views.subscribed_contents(engine, "v4_candles", "ETH-USD/1MIN")

    engine.advance_block()

    (candle,) = [e for e in events if e.channel == "v4_candles"]
    assert candle.id == "ETH-USD/1MIN"
    assert candle.contents["ticker"] == "ETH-USD" and candle.contents["resolution"] == "1MIN"
    assert set(candle.contents) == {
        "baseTokenVolume",
        "close",
        "high",
        "low",
        "open",
        "resolution",
        "startedAt",
        "startingOpenInterest",
        "ticker",
        "trades",
        "usdVolume",
    }  # the keys of the real channel_data candle (nt2024_v4_candles_channel_data.json)


def test_indexer_lag_when_set_then_latest_processed_height_trails(engine: Engine) -> None:
    engine.deposit(ALICE, 0, 10 * USDC)
    for _ in range(5):
        engine.advance_block()

    engine.set_indexer_lag(3)

    body = views.subaccount(engine, ALICE, 0)
    assert body is not None
    assert body["subaccount"]["latestProcessedBlockHeight"] == str(engine.height - 3)
    assert views.height(engine)["height"] == str(engine.height - 3)


def test_deposit_when_amount_not_positive_then_value_error(engine: Engine) -> None:
    import pytest

    with pytest.raises(ValueError, match="positive"):
        engine.deposit(ALICE, 0, 0)
    with pytest.raises(ValueError, match="128000"):
        engine.deposit(ALICE, 128_001, 1)


def test_replay_when_data_runs_out_then_finished() -> None:
    # 30 days of chain time per block: the ~320 days of data end within a dozen blocks.
    engine = make_engine(block_time_s=1.0, speed=30 * 86_400.0)

    blocks = 0
    while not engine.replay_finished and blocks < 50:
        engine.advance_block()
        blocks += 1

    assert engine.replay_finished
    assert 5 < blocks < 15


def test_funding_when_an_hour_passes_then_long_pays_at_the_market_rate() -> None:
    engine = make_engine(block_time_s=1.0, speed=600.0)  # ten minutes per block
    engine.deposit(ALICE, 0, 10_000 * USDC)
    engine.place_order(short_term(engine, BUY, 100 * STEP, on_tick(engine, "BTC-USD", 100)))
    market = engine.markets["BTC-USD"]
    assert market.funding_rate_ppb > 0
    before = usdc_of(engine)

    notionals = []
    for _ in range(6):
        engine.advance_block()
        notionals.append(market.notional(position_of(engine, "BTC-USD")))

    paid = before - usdc_of(engine)
    expected = -((-notionals[-1] * market.funding_rate_ppb) // 1_000_000_000)
    assert paid == expected > 0
    position = views.perpetual_positions(engine, ALICE, 0)["positions"][0]
    assert Decimal(position["netFunding"]) == Decimal(-paid) / USDC


def test_funding_when_disabled_then_nothing_is_paid() -> None:
    engine = make_engine(block_time_s=1.0, speed=600.0, funding=False)
    engine.deposit(ALICE, 0, 10_000 * USDC)
    engine.place_order(short_term(engine, BUY, 100 * STEP, on_tick(engine, "BTC-USD", 100)))
    before = usdc_of(engine)

    for _ in range(7):
        engine.advance_block()

    assert usdc_of(engine) == before


def test_bankrupt_account_when_insurance_fund_empty_then_deleveraged_against_a_profitable_short(
) -> None:
    engine = make_engine(insurance_fund_usdc=0)
    engine.deposit(ALICE, 0, 100 * USDC)
    engine.deposit(BOB, 0, 10_000 * USDC)
    market = engine.markets["BTC-USD"]
    engine.place_order(short_term(engine, BUY, 650 * STEP, on_tick(engine, "BTC-USD", 100)))
    engine.place_order(
        short_term(engine, SELL, 1_000 * STEP, on_tick(engine, "BTC-USD", -100), owner=BOB)
    )
    engine.advance_block()

    engine.set_oracle_price("BTC-USD", market.oracle_price * Decimal("0.95"))  # ALICE bankrupt
    engine.advance_block()

    delev = [f for f in engine.state.fills[(ALICE, 0)] if f["type"] == "DELEVERAGED"]
    offset = [f for f in engine.state.fills[(BOB, 0)] if f["type"] == "OFFSETTING"]
    assert delev and offset
    assert (delev[0]["liquidity"], offset[0]["liquidity"]) == ("TAKER", "MAKER")
    assert delev[0]["size"] == offset[0]["size"] and delev[0]["fee"] == "0"
    assert position_of(engine, "BTC-USD") == 0  # closed at its bankruptcy price
    assert position_of(engine, "BTC-USD", BOB) == -1_000 * STEP + 650 * STEP
    assert engine.state.subaccounts[(ALICE, 0)].usdc >= -1  # nothing left, nothing owed
    assert engine.state.insurance_fund == 0

