"""Property: whatever orders arrive, fills add up to positions, USDC, and order totals,
and no fill is worse than its order's limit."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from devnet_helpers import ALICE, BOB, BUY, GTT, IOC, SELL, USDC, make_engine, short_term
from hypothesis import given, settings
from hypothesis import strategies as st

from dydx_devnet import views

MARKETS = ("BTC-USD", "ETH-USD")

actions = st.lists(
    st.tuples(
        st.sampled_from((ALICE, BOB)),
        st.sampled_from(MARKETS),
        st.booleans(),  # buy?
        st.integers(min_value=1, max_value=3000),  # steps
        st.integers(min_value=-60, max_value=60),  # limit offset, basis points
        st.sampled_from((IOC, GTT)),
        st.booleans(),  # advance a block afterwards?
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=40, deadline=None)
@given(script=actions)
def test_fills_when_random_orders_then_positions_usdc_and_totals_add_up(
    script: list[tuple[str, str, bool, int, int, int, bool]],
) -> None:
    engine = make_engine(markets=MARKETS, depth_per_level_usdc=2_000, funding=False)
    start = {ALICE: 5_000 * USDC, BOB: 5_000 * USDC}
    for owner, amount in start.items():
        engine.deposit(owner, 0, amount)
    limits: dict[str, tuple[bool, Decimal]] = {}
    for client_id, (owner, ticker, is_buy, steps, offset_bp, tif, advance) in enumerate(script):
        market = engine.markets[ticker]
        spt = market.spec.subticks_per_tick
        limit = market.oracle_subticks() * (10_000 + offset_bp) // 10_000 // spt * spt
        order = short_term(
            engine,
            BUY if is_buy else SELL,
            steps * market.spec.step_base_quantums,
            limit,
            tif=tif,
            client_id=client_id,
            owner=owner,
            clob_pair_id=market.clob_pair_id,
        )
        assert engine.place_order(order).code in (0, 2003)
        if engine.state.orders.get((owner, 0, client_id, 0, market.clob_pair_id)) is not None:
            state = engine.state.orders[(owner, 0, client_id, 0, market.clob_pair_id)]
            limits[state.uuid] = (is_buy, market.spec.subticks_to_price(limit))
        if advance:
            engine.advance_block()
    engine.advance_block()  # the indexer shows CheckTx fills once a block includes them

    for owner in start:
        fills = views.fills(engine, owner, 0)["fills"]
        position: dict[str, Decimal] = defaultdict(Decimal)
        cash = Decimal(start[owner]) / USDC
        filled_by_order: dict[str, Decimal] = defaultdict(Decimal)
        for fill in fills:
            signed = Decimal(fill["size"]) * (1 if fill["side"] == "BUY" else -1)
            position[fill["market"]] += signed
            cash -= signed * Decimal(fill["price"]) + Decimal(fill["fee"])
            filled_by_order[fill["orderId"]] += Decimal(fill["size"])
            is_buy, limit_price = limits[fill["orderId"]]
            price = Decimal(fill["price"])
            assert price <= limit_price if is_buy else price >= limit_price
        account = engine.state.subaccounts[(owner, 0)]
        assert Decimal(account.usdc) / USDC == cash
        for ticker in MARKETS:
            size = Decimal(account.position_quantums(ticker)).scaleb(
                engine.markets[ticker].spec.atomic_resolution
            )
            assert size == position[ticker]
        for row in views.orders(engine, owner, 0):
            if row["status"] == "BEST_EFFORT_OPENED":  # resting in Redis: no fill yet
                assert row["id"] not in filled_by_order
                continue
            assert Decimal(row["totalFilled"]) == filled_by_order[row["id"]]
            assert Decimal(row["totalFilled"]) <= Decimal(row["size"])
