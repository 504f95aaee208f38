"""Orders in flight reserve their worst case: an order that opens counts as filled,
an order that reduces counts as not filled, and equity pays every order's slippage
and fee either way."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from dydx_trader.domain.account import PerpetualPosition
from dydx_trader.domain.proposal import OrderProposal
from dydx_trader.domain.reservation import ReservationCache, reserve
from dydx_trader.domain.side import Side
from dydx_trader.domain.units import quote_quantums_floor
from kit.markets import flat_account, make_market, valued

ETH = make_market("ETH-USD", oracle_price=Decimal(2000), imf=Decimal("0.05"))
BTC = make_market(
    "BTC-USD", oracle_price=Decimal(50_000), imf=Decimal("0.05"), atomic_resolution=-10
)
MARKETS = {"ETH-USD": ETH, "BTC-USD": BTC}
LONG_ETH = flat_account(Decimal(0), PerpetualPosition("ETH-USD", Decimal("0.5"), Decimal(2000)))
STATE = valued(LONG_ETH, MARKETS)  # NC 1,000 USDC


def usdc(amount: str) -> int:
    return quote_quantums_floor(Decimal(amount))


def test_reserve_when_nothing_in_flight_then_the_account_itself() -> None:
    reserved = reserve(STATE, (), MARKETS, "BTC-USD")
    assert reserved.worst_cases == (STATE,) and reserved.expected is STATE


def test_reserve_when_a_buy_in_flight_then_counted_as_filled_with_its_cost() -> None:
    buy = OrderProposal("BTC-USD", Side.BUY, Decimal("0.01"), Decimal(50_500), fee_ppm=500)

    (worst,) = reserve(STATE, (buy,), MARKETS, "ETH-USD").worst_cases

    assert worst.lines["BTC-USD"].size == Decimal("0.01")
    # 0.01 x 500 USDC of slippage past the oracle, a 5 bps fee on 505 USDC, one quantum.
    assert worst.net_collateral == STATE.net_collateral - usdc("5") - usdc("0.2525") - 1
    assert worst.initial == STATE.initial + usdc("25")


def test_reserve_when_a_reducing_sell_in_flight_then_the_position_it_reduces_is_kept() -> None:
    close = OrderProposal(
        "ETH-USD", Side.SELL, Decimal("0.5"), Decimal(1980), fee_ppm=500, reduce_only=True
    )

    reserved = reserve(STATE, (close,), MARKETS, "BTC-USD")

    (worst,) = reserved.worst_cases
    assert worst.lines["ETH-USD"].size == Decimal("0.5")  # it may not fill
    assert worst.gross_notional == STATE.gross_notional
    # ...but if it fills, equity pays 10 USDC of slippage and a 0.495 USDC fee.
    assert worst.net_collateral == STATE.net_collateral - usdc("10.495") - 1
    assert "ETH-USD" not in reserved.expected.lines  # as if it filled


def test_reserve_when_orders_in_flight_in_the_traded_market_then_both_ends_are_held() -> None:
    close = OrderProposal("ETH-USD", Side.SELL, Decimal("0.5"), Decimal(1980), reduce_only=True)

    reserved = reserve(STATE, (close,), MARKETS, "ETH-USD")

    held, closed = reserved.worst_cases
    assert held.lines["ETH-USD"].size == Decimal("0.5")
    assert "ETH-USD" not in closed.lines
    assert held.net_collateral == closed.net_collateral


def test_reserve_when_a_flip_in_flight_elsewhere_then_the_larger_end_counts() -> None:
    flip = OrderProposal("ETH-USD", Side.SELL, Decimal(2), Decimal(2000))

    (worst,) = reserve(STATE, (flip,), MARKETS, "BTC-USD").worst_cases

    assert worst.lines["ETH-USD"].size == Decimal("-1.5")


def test_reserve_when_orders_both_ways_in_one_market_then_each_end_sums_its_side() -> None:
    orders = (
        OrderProposal("ETH-USD", Side.BUY, Decimal(1), Decimal(2000)),
        OrderProposal("ETH-USD", Side.SELL, Decimal(3), Decimal(2000)),
    )

    (worst,) = reserve(STATE, orders, MARKETS, "BTC-USD").worst_cases

    # Ends: 0.5 + 1 = 1.5 (only the buy fills) or 0.5 - 3 = -2.5 (only the sell).
    assert worst.lines["ETH-USD"].size == Decimal("-2.5")


SOL = make_market("SOL-USD", oracle_price=Decimal(150), imf=Decimal("0.1"), clob_pair_id=5)
THREE = {**MARKETS, "SOL-USD": SOL}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(("ETH-USD", "BTC-USD", "SOL-USD")),
            st.sampled_from((Side.BUY, Side.SELL)),
            st.integers(min_value=1, max_value=30),
        ),
        min_size=1,
        max_size=8,
    ),
    st.sampled_from(("ETH-USD", "BTC-USD", "SOL-USD")),
)
def test_reserve_when_a_burst_adds_orders_one_by_one_then_the_cache_changes_nothing(
    drawn: list[tuple[str, Side, int]], market: str
) -> None:
    orders = [
        OrderProposal(ticker, side, Decimal(tenths) / 10, THREE[ticker].require_oracle_price())
        for ticker, side, tenths in drawn
    ]
    cache = ReservationCache()
    for count in range(1, len(orders) + 1):
        in_flight = tuple(orders[:count])
        for traded in (market, orders[count - 1].market):
            assert reserve(STATE, in_flight, THREE, traded, cache) == reserve(
                STATE, in_flight, THREE, traded
            )
    # An order settled (the prefix changed): folded again from the start, still the same.
    rest = tuple(orders[1:])
    assert reserve(STATE, rest, THREE, market, cache) == reserve(STATE, rest, THREE, market)
