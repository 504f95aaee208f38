"""The decision as a pure function: every "no" is a refused Decision with the cap
that bound it, every "yes" carries the intent and the worst case it reserves."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from dydx_trader.domain.account import AccountSnapshot, PerpetualPosition, Subaccount
from dydx_trader.domain.decide import decide
from dydx_trader.domain.decision import Decision, Outcome
from dydx_trader.domain.margin import MarginState
from dydx_trader.domain.order import TimeInForce, derive_client_id
from dydx_trader.domain.order_params import OrderParams
from dydx_trader.domain.position_mode import PositionMode, PositionRule
from dydx_trader.domain.pre_trade import RiskLimits
from dydx_trader.domain.proposal import OrderProposal
from dydx_trader.domain.side import Side
from dydx_trader.domain.signal import Signal, SignalSource
from dydx_trader.domain.sizing_policy import SizingPolicy
from dydx_trader.domain.trading_state import TradingState
from dydx_trader.domain.units import usdc
from kit.markets import flat_account, make_market, valued
from kit.orders import ADDRESS

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
OWNER = Subaccount(ADDRESS, 0)
BTC = make_market(
    "BTC-USD", oracle_price=Decimal(50_000), imf=Decimal("0.05"), atomic_resolution=-10
)
ETH = make_market("ETH-USD", oracle_price=Decimal(2000), imf=Decimal("0.05"), clob_pair_id=1)
MARKETS = {"BTC-USD": BTC, "ETH-USD": ETH}
ONE_X = RiskLimits(max_leverage=Decimal(1), max_exposure=Decimal(1))
NINE_TENTHS = SizingPolicy.of_equity(Decimal("0.9"), scale_by_confidence=False)
PARAMS = OrderParams()  # IOC, 1 % slippage, 500 ppm fee, good-til-block + 10, target mode
# Every signal adds to (or takes from) the position, as before position modes.
ACCUMULATE = OrderParams(position=PositionRule(PositionMode.ACCUMULATE))


def signal(action: str, market: str = "ETH-USD", **fields: Any) -> Signal:
    return Signal.create(
        market=market,
        action=action,
        created_at=NOW,
        source=SignalSource.CLI,
        strategy="test",
        id=fields.pop("id", f"{action}-{market}"),
        **fields,
    )


def decide_on(
    sig: Signal,
    account: AccountSnapshot | MarginState,
    *,
    in_flight: tuple[OrderProposal, ...] = (),
    state: TradingState = TradingState.ACTIVE,
    limits: RiskLimits = ONE_X,
    policy: SizingPolicy = NINE_TENTHS,
    params: OrderParams = PARAMS,
    atr: Decimal | None = None,
) -> Decision:
    margin = account if isinstance(account, MarginState) else valued(account, MARKETS)
    return decide(
        sig,
        margin,
        MARKETS,
        owner=OWNER,
        policy=policy,
        limits=limits,
        order_params=params,
        trading_state=state,
        height=1000,
        now=NOW,
        in_flight=in_flight,
        atr=atr,
    )


def btc_at(leverage: str) -> AccountSnapshot:
    """10,000 USDC of equity with ``leverage`` x of it long in BTC."""
    size = Decimal(10_000) * Decimal(leverage) / 50_000
    return flat_account(Decimal(10_000) - size * 50_000, PerpetualPosition("BTC-USD", size))


def close_of(account: AccountSnapshot) -> OrderProposal:
    """The CLOSE in flight for the BTC position: a reduce-only IOC at the 1 % bound."""
    size = account.position_size("BTC-USD")
    return OrderProposal("BTC-USD", Side.SELL, size, Decimal(49_500), 500, reduce_only=True)


# -- F1: a reducing order in flight is reserved as if it may not fill -----------------------


def test_decide_when_close_in_flight_then_buy_sized_as_if_the_close_may_not_fill() -> None:
    account = btc_at("0.9")

    decision = decide_on(signal("BUY"), account, in_flight=(close_of(account),))

    # Counting the CLOSE as filled would size 0.9 x equity of ETH (1.8x if it does
    # not fill); held to the position it may leave, ETH gets only what 1x leaves.
    assert decision.outcome is Outcome.ACCEPTED and decision.bound_by == "max exposure"
    assert decision.size is not None and decision.size * 2000 < Decimal(1000)
    worst_gross = 9000 + decision.size * 2000
    equity_if_close_fills = Decimal(10_000) - 90 - Decimal("4.455")
    assert worst_gross <= equity_if_close_fills


def test_decide_when_close_in_flight_and_little_room_then_refused_by_the_exposure_cap() -> None:
    account = btc_at("0.99")

    decision = decide_on(signal("BUY"), account, in_flight=(close_of(account),))

    assert decision.outcome is Outcome.REFUSED
    assert decision.error_code == "ExposureLimitExceeded"
    assert decision.bound_by == "max exposure"
    assert decision.intent is None and decision.reservation is None


def test_decide_when_nothing_in_flight_then_buy_takes_its_policy_size() -> None:
    decision = decide_on(signal("BUY"), flat_account(Decimal(10_000)))

    assert decision.outcome is Outcome.ACCEPTED and decision.bound_by == "policy"
    assert decision.size == Decimal("4.455")  # 0.9 x 10,000 / 2,020 (the worst price)


# -- what an accepted decision carries ------------------------------------------------------


def test_decide_when_accepted_then_intent_and_reservation_are_the_decided_order() -> None:
    decision = decide_on(signal("BUY"), flat_account(Decimal(10_000)))

    intent, reservation = decision.intent, decision.reservation
    assert intent is not None and reservation is not None
    assert intent.client_id == derive_client_id(ADDRESS, 0, "BUY-ETH-USD")
    assert intent.good_til_block == 1010
    assert intent.time_in_force is TimeInForce.IOC and not intent.reduce_only
    assert intent.quantums == ETH.size_to_quantums(Decimal("4.455"))
    assert reservation == OrderProposal("ETH-USD", Side.BUY, Decimal("4.455"), Decimal(2020), 500)
    assert decision.price == Decimal(2020)  # the oracle + 1 %, on a tick
    assert ("pre-trade checks", "passed") in decision.arithmetic


def test_decide_when_accepted_then_reason_writes_size_and_price_at_market_precision() -> None:
    decision = decide_on(signal("BUY"), flat_account(Decimal(10_000)))

    assert ETH.tick_size == Decimal("0.1")
    assert decision.reason == "BUY 4.455 ETH-USD at 2020.0"


def test_decide_when_close_then_reduce_only_ioc_of_the_whole_position() -> None:
    account = flat_account(Decimal(5000), PerpetualPosition("ETH-USD", Decimal("-1.5")))

    decision = decide_on(signal("CLOSE"), account)

    assert decision.outcome is Outcome.ACCEPTED and decision.bound_by is None
    assert decision.side is Side.BUY and decision.size == Decimal("1.5")
    assert decision.intent is not None and decision.intent.reduce_only
    assert decision.intent.time_in_force is TimeInForce.IOC
    assert decision.price == Decimal(2020)


def test_decide_when_close_and_flat_then_nothing_to_trade() -> None:
    decision = decide_on(signal("CLOSE"), flat_account(Decimal(5000)))

    assert decision.error_code == "NothingToTrade"


def test_decide_when_limit_price_beyond_the_slippage_bound_then_refused() -> None:
    params = OrderParams(time_in_force=TimeInForce.GTT)

    far = decide_on(
        signal("BUY", reference_price="2100"), flat_account(Decimal(10**4)), params=params
    )
    near = decide_on(
        signal("BUY", reference_price="1990"), flat_account(Decimal(10**4)), params=params
    )

    assert far.error_code == "InvalidInput" and "slippage bound" in (far.message or "")
    assert near.outcome is Outcome.ACCEPTED and near.price == Decimal(1990)
    assert near.intent is not None and near.intent.time_in_force is TimeInForce.GTT


def test_decide_when_market_unknown_then_refused_naming_it() -> None:
    decision = decide_on(signal("BUY", "SOL-USD"), flat_account(Decimal(10_000)))

    assert decision.error_code == "UnknownMarket" and decision.market == "SOL-USD"


def test_decide_when_volatility_target_then_sized_by_the_atr() -> None:
    policy = SizingPolicy.volatility_target(Decimal("0.01"), Decimal(2), scale_by_confidence=False)
    wide = RiskLimits(max_leverage=Decimal(10), max_exposure=Decimal(10))

    sized = decide_on(
        signal("BUY"), flat_account(Decimal(10_000)), policy=policy, limits=wide, atr=Decimal(25)
    )
    missing = decide_on(signal("BUY"), flat_account(Decimal(10_000)), policy=policy, limits=wide)

    assert sized.size == Decimal(2)  # 100 USDC of risk / (25 x 2)
    assert missing.error_code == "InvalidInput" and "ATR" in (missing.message or "")


# -- the trading state -------------------------------------------------------------------------

LONG_ETH = flat_account(Decimal(8000), PerpetualPosition("ETH-USD", Decimal(1)))


def test_decide_when_halted_then_even_a_close_is_refused() -> None:
    decision = decide_on(signal("CLOSE"), LONG_ETH, state=TradingState.HALTED)

    assert decision.error_code == "TradingHalted"


def test_decide_when_reducing_then_an_opening_buy_is_refused() -> None:
    decision = decide_on(signal("BUY"), LONG_ETH, state=TradingState.REDUCING, params=ACCUMULATE)

    assert decision.error_code == "TradingHalted" and "REDUCING" in (decision.message or "")


def test_decide_when_reducing_then_a_reducing_sell_goes_out_reduce_only_ioc() -> None:
    small = SizingPolicy.fixed_notional(Decimal(1000), scale_by_confidence=False)
    params = OrderParams(time_in_force=TimeInForce.GTT, position=ACCUMULATE.position)

    decision = decide_on(
        signal("SELL"), LONG_ETH, state=TradingState.REDUCING, policy=small, params=params
    )

    assert decision.outcome is Outcome.ACCEPTED
    assert decision.price == Decimal(1980)  # priced as the IOC it is sent as
    assert decision.size == Decimal("0.505")  # 1,000 USDC at 1,980
    assert decision.intent is not None and decision.intent.reduce_only
    assert decision.intent.time_in_force is TimeInForce.IOC
    assert decision.reservation is not None and decision.reservation.reduce_only


def test_decide_when_reducing_and_the_sell_would_flip_if_a_buy_does_not_fill_then_refused() -> None:
    small = SizingPolicy.fixed_notional(Decimal(3000), scale_by_confidence=False)
    wide = RiskLimits(max_leverage=Decimal(5), max_exposure=Decimal(5))
    pending_buy = OrderProposal("ETH-USD", Side.BUY, Decimal(1), Decimal(2020), 500)

    decision = decide_on(
        signal("SELL"),
        LONG_ETH,
        state=TradingState.REDUCING,
        policy=small,
        limits=wide,
        in_flight=(pending_buy,),
    )

    # 1.5 ETH would reduce the 2 ETH held if the buy fills, and flip the 1 ETH if not.
    assert decision.error_code == "TradingHalted"


def test_decide_when_the_account_is_valued_then_equity_and_in_flight_lines_come_first() -> None:
    account = btc_at("0.5")
    decision = decide_on(signal("BUY"), account, in_flight=(close_of(account),))

    assert decision.arithmetic[0] == ("equity", f"{usdc(10_000_000_000):.2f} USDC")
    assert ("orders in flight (reserved at their worst case)", "1") in decision.arithmetic


def test_decide_when_target_mode_and_long_then_buy_refused_and_sell_flips() -> None:
    small = SizingPolicy.fixed_notional(Decimal(1000), scale_by_confidence=False)
    wide = RiskLimits(max_leverage=Decimal(5), max_exposure=Decimal(5))

    buy = decide_on(signal("BUY"), LONG_ETH, policy=small, limits=wide)
    sell = decide_on(signal("SELL"), LONG_ETH, policy=small, limits=wide)

    assert buy.error_code == "NothingToTrade" and "already long" in (buy.message or "")
    # Closes the 1 ETH long and opens 1,000 USDC short at the 1,980 worst price.
    assert sell.outcome is Outcome.ACCEPTED and sell.size == Decimal("1.505")
    assert sell.intent is not None and not sell.intent.reduce_only
