"""Property: the devnet's equity and free collateral are the LeverageCalculator's,
to the last quote quantum, on randomized accounts."""

from __future__ import annotations

from decimal import Decimal

from devnet_helpers import ALICE, BUY, SELL, USDC, make_engine, short_term
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dydx_devnet import views
from dydx_trader.adapters.dydx.mapping import parse_market
from dydx_trader.domain.account import AccountSnapshot, PerpetualPosition
from dydx_trader.domain.margin import assess

TRADED = ("BTC-USD", "ETH-USD", "SOL-USD", "ADA-USD")

trades = st.lists(
    st.tuples(
        st.sampled_from(TRADED),
        st.booleans(),
        st.integers(min_value=1, max_value=400),
    ),
    min_size=1,
    max_size=6,
)
moves = st.lists(
    st.tuples(st.sampled_from(TRADED), st.integers(min_value=-80, max_value=80)),
    max_size=3,
)


def _snapshot(body: dict[str, object]) -> AccountSnapshot:
    account = body["subaccount"]
    assert isinstance(account, dict)
    usdc = account["assetPositions"].get("USDC")
    balance = Decimal(0) if usdc is None else Decimal(usdc["size"])
    if usdc is not None and usdc["side"] == "SHORT":
        balance = -balance
    positions = tuple(
        PerpetualPosition(ticker, Decimal(p["size"]), Decimal(p["entryPrice"]))
        for ticker, p in account["openPerpetualPositions"].items()
    )
    return AccountSnapshot(ALICE, 0, balance, positions)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    deposit=st.integers(min_value=50, max_value=200_000),
    orders=trades,
    price_moves=moves,
)
def test_devnet_equity_and_free_collateral_when_randomized_then_equal_leverage_calculator(
    deposit: int, orders: list[tuple[str, bool, int]], price_moves: list[tuple[str, int]]
) -> None:
    engine = make_engine(markets=TRADED)
    engine.deposit(ALICE, 0, deposit * USDC)
    for client_id, (ticker, is_buy, steps) in enumerate(orders, start=1):
        market = engine.markets[ticker]
        spt = market.spec.subticks_per_tick
        limit = market.oracle_subticks() * (110 if is_buy else 90) // 100 // spt * spt
        engine.place_order(
            short_term(
                engine,
                BUY if is_buy else SELL,
                steps * market.spec.step_base_quantums,
                limit,
                client_id=client_id,
                clob_pair_id=market.clob_pair_id,
            )
        )
    for ticker, permille in price_moves:
        market = engine.markets[ticker]
        engine.set_oracle_price(ticker, market.oracle_price * (1000 + permille) / 1000)

    body = views.subaccount(engine, ALICE, 0)
    markets_body = views.perpetual_markets(engine)
    assert body is not None and markets_body is not None
    specs = {t: parse_market(payload) for t, payload in markets_body["markets"].items()}
    assessed = assess(_snapshot(body), specs)

    equity = Decimal(body["subaccount"]["equity"])
    free = Decimal(body["subaccount"]["freeCollateral"])
    assert int(equity * USDC) == assessed.equity_quantums
    assert int(free * USDC) == assessed.free_collateral_quantums
    assert equity == assessed.equity
