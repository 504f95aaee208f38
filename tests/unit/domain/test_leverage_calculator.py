"""LeverageCalculator: protocol reference 2.10 H and L, 2.6 and the real fixture accounts."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

import pytest
from domain_testdata import (
    HTTP,
    WS,
    account_from_indexer,
    flat_account,
    make_market,
    markets_2024,
    needs_fixtures,
    sample_markets,
    subaccount_payload,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from dydx_trader.domain import chain_math
from dydx_trader.domain.account import AccountSnapshot, PerpetualPosition
from dydx_trader.domain.errors import InvalidInput, MarketNotTradable, UnknownMarket
from dydx_trader.domain.margin import LeverageCalculator, collateral_check, liquidation_price
from dydx_trader.domain.market import MarketSpec, price_parts
from dydx_trader.domain.side import Side

CENT = Decimal("0.01")

# -- H. indexer equity and free collateral ---------------------------------------------


def test_assess_when_reference_example_h_then_equity_159500_free_collateral_152000() -> None:
    btc = make_market(
        "BTC-USD",
        oracle_price=Decimal(15000),
        imf=Decimal("0.05"),
        atomic_resolution=-10,
        quantum_conversion_exponent=-9,
    )
    account = flat_account(Decimal(9500), PerpetualPosition("BTC-USD", Decimal(10)))
    risk = LeverageCalculator({"BTC-USD": btc}).assess(account)
    assert risk.indexer_equity == Decimal(159500)
    assert risk.indexer_free_collateral == Decimal(152000)
    assert risk.equity == Decimal(159500)
    assert risk.free_collateral == Decimal(152000)
    assert risk.equity_quantums == 159_500_000_000


@needs_fixtures
def test_assess_when_real_subaccount_fixture_then_matches_the_indexer_figures() -> None:
    account, prices = account_from_indexer(subaccount_payload(HTTP / "nt2024_subaccount.json"))
    assert prices["ETH-USD"] == Decimal("2914.962518")
    risk = LeverageCalculator(markets_2024()).assess(account, prices)
    assert risk.indexer_equity == Decimal("99.206819554")
    assert risk.indexer_free_collateral == Decimal("98.7695751763")
    # The chain truncates the position's notional to whole quote quantums.
    assert risk.equity == Decimal("99.206819")
    assert risk.equity_quantums == 90_461_932 + 8_744_887
    assert risk.reported_free_collateral == Decimal("98.769575")
    position = risk.position("ETH-USD")
    assert position is not None
    assert position.unrealized_pnl == Decimal("-0.78841244600000000000001")
    assert position.max_leverage == 20


@needs_fixtures
@pytest.mark.parametrize(
    ("name", "equity", "free_collateral", "leverage"),
    [
        (
            "nt2024_v4_accounts_subscribed_negative_initial_margin.json",
            "304.384048054",
            "0.1986661447",
            "20.0",
        ),
        ("nt2024_v4_accounts_balance.json", "326.241869692", "20.9475641534", "18.7"),
    ],
)
def test_assess_when_real_leveraged_accounts_then_equity_free_collateral_and_leverage_match(
    name: str, equity: str, free_collateral: str, leverage: str
) -> None:
    account, prices = account_from_indexer(subaccount_payload(WS / name))
    risk = LeverageCalculator(markets_2024()).assess(account, prices)
    assert risk.indexer_equity == Decimal(equity)
    assert risk.indexer_free_collateral == Decimal(free_collateral)
    assert risk.leverage is not None
    assert risk.leverage.quantize(Decimal("0.1")) == Decimal(leverage)
    # Chain figures differ from the indexer's only by quote-quantum truncation.
    assert abs(risk.equity - risk.indexer_equity) < Decimal("0.000002")
    assert abs(risk.free_collateral - risk.indexer_free_collateral) < Decimal("0.000004")
    assert risk.sizing_free_collateral <= min(risk.free_collateral, risk.indexer_free_collateral)
    assert risk.margin_usage is not None and risk.margin_usage > Decimal("0.9")
    assert risk.is_initial_collateralized and not risk.is_liquidatable
    for position in risk.positions:
        assert position.unrealized_pnl == next(
            p.unrealized_pnl for p in account.positions if p.market == position.market
        )


# -- open-interest scaling (2.6 example) ---------------------------------------------------


def test_assess_when_open_interest_between_caps_then_imf_0_10_becomes_0_40() -> None:
    market = make_market(
        "MID-USD",
        oracle_price=Decimal(250),
        imf=Decimal("0.1"),
        open_interest=Decimal(120_000),
        lower_cap=Decimal(20_000_000),
        upper_cap=Decimal(50_000_000),
        atomic_resolution=-6,
        quantum_conversion_exponent=-9,
        step_base_quantums=1_000_000,
        subticks_per_tick=1_000,
    )
    assert market.initial_margin_fraction == Decimal("0.1")  # what the indexer reports
    assert market.effective_initial_margin_fraction() == Decimal("0.4")
    assert market.max_leverage() == Decimal("2.5")
    account = flat_account(Decimal(10_000), PerpetualPosition("MID-USD", Decimal(10)))
    risk = LeverageCalculator({"MID-USD": market}).assess(account)
    position = risk.position("MID-USD")
    assert position is not None
    assert position.effective_imf == Decimal("0.4")
    assert position.max_leverage == Decimal("2.5")
    assert position.initial_margin == Decimal(1000)  # 2,500 notional x 0.40
    assert position.maintenance_margin == Decimal(150)  # base IMF 0.1 x fraction 0.6
    assert risk.indexer_free_collateral - risk.free_collateral == Decimal(750)


# -- L. liquidation price -----------------------------------------------------------------


def test_liquidation_price_when_reference_example_l_then_3174_60() -> None:
    price = liquidation_price(Decimal(1000), Decimal(-3), Decimal(3000), Decimal("0.05"))
    assert price is not None
    assert price.quantize(CENT) == Decimal("3174.60")


def test_assess_when_short_three_eth_with_1000_equity_then_liquidates_at_3174_60() -> None:
    eth = make_market(oracle_price=Decimal(3000), imf=Decimal("0.1"), mmf=Decimal("0.05"))
    account = flat_account(Decimal(10_000), PerpetualPosition("ETH-USD", Decimal(-3)))
    calculator = LeverageCalculator({"ETH-USD": eth})
    risk = calculator.assess(account)
    assert risk.equity == Decimal(1000)
    position = risk.position("ETH-USD")
    assert position is not None and position.liquidation_price is not None
    assert position.liquidation_price.quantize(CENT) == Decimal("3174.60")
    assert position.liquidation_distance_pct is not None
    assert position.liquidation_distance_pct.quantize(CENT) == Decimal("5.82")
    # At that oracle price the account sits on its maintenance requirement.
    at_liquidation = calculator.assess(account, {"ETH-USD": position.liquidation_price})
    assert abs(at_liquidation.equity - at_liquidation.maintenance_margin) < CENT
    assert not at_liquidation.is_initial_collateralized


def test_liquidation_price_when_denominator_zero_or_negative_price_then_none() -> None:
    assert liquidation_price(Decimal(100), Decimal(1), Decimal(10), Decimal(1)) is None
    # A long with more equity than its notional cannot be liquidated: p < 0.
    assert liquidation_price(Decimal(1000), Decimal(1), Decimal(10), Decimal("0.05")) is None


# -- 2.6: the largest order that still fits -------------------------------------------------

ETH = make_market(oracle_price=Decimal("3103.01"), imf=Decimal("0.02"))
FLAT_1000 = flat_account(Decimal(1000))


def test_max_order_size_when_ioc_buy_at_oracle_taker_5bps_then_15_720() -> None:
    size = LeverageCalculator({"ETH-USD": ETH}).max_order_size(
        FLAT_1000, "ETH-USD", Side.BUY, Decimal("3103.01"), fee_ppm=500
    )
    assert size == Decimal("15.720")


def test_max_order_size_when_stateful_buy_one_percent_above_oracle_then_10_706() -> None:
    size = LeverageCalculator({"ETH-USD": ETH}).max_order_size(
        FLAT_1000, "ETH-USD", Side.BUY, Decimal("3134.0401"), fee_ppm=100
    )
    assert size == Decimal("10.706")


def test_max_order_size_when_buy_below_oracle_then_the_discount_is_not_credited() -> None:
    calculator = LeverageCalculator({"ETH-USD": ETH})
    limit = Decimal("3071.9799")
    size = calculator.max_order_size(FLAT_1000, "ETH-USD", Side.BUY, limit, fee_ppm=100)
    # Chain placement would accept 31.910 (the discount counts at oracle), but the
    # match re-checks at the then-current oracle: size as if filled at oracle.
    expected = (Decimal(1000) / (Decimal("3103.01") * Decimal("0.02") + limit / 10_000)).quantize(
        Decimal("0.001"), ROUND_FLOOR
    )
    assert size == expected
    assert calculator.collateral_check(FLAT_1000, "ETH-USD", Decimal("31.910"), limit, 100) == (
        chain_math.SUCCESS
    )
    assert calculator.collateral_check(FLAT_1000, "ETH-USD", Decimal("31.920"), limit, 100) == (
        chain_math.NEWLY_UNDERCOLLATERALIZED
    )


def test_max_order_size_when_short_held_then_buy_closes_it_and_opens_with_freed_margin() -> None:
    account = flat_account(
        Decimal(1000) + Decimal("3103.01") * 5, PerpetualPosition("ETH-USD", Decimal(-5))
    )
    calculator = LeverageCalculator({"ETH-USD": ETH})
    size = calculator.max_order_size(account, "ETH-USD", Side.BUY, Decimal("3103.01"))
    # Closing 5 frees their margin: the long side then has the whole $1,000 to use.
    assert size == Decimal(5) + Decimal("16.113")


def test_max_order_size_when_buffer_exceeds_free_collateral_then_zero() -> None:
    size = LeverageCalculator({"ETH-USD": ETH}).max_order_size(
        FLAT_1000, "ETH-USD", Side.SELL, Decimal("3103.01"), buffer=Decimal(1000)
    )
    assert size == 0


# -- what if and the chain's collateral check --------------------------------------------------


def test_what_if_when_buying_above_oracle_with_fee_then_equity_drops_by_slippage_and_fee() -> None:
    calculator = LeverageCalculator({"ETH-USD": ETH})
    after = calculator.what_if(FLAT_1000, "ETH-USD", Decimal(1), Decimal("3113.01"), fee_ppm=500)
    fee = Decimal("3113.01") * Decimal("0.0005")
    assert after.equity == Decimal(1000) - Decimal(10) - fee.quantize(Decimal("0.000001"))
    position = after.position("ETH-USD")
    assert position is not None
    assert position.size == 1 and position.entry_price == Decimal("3113.01")
    assert after.initial_margin == Decimal("62.0602")
    assert after.leverage is not None and after.leverage > Decimal("3.1")


def test_what_if_when_adding_then_entry_is_averaged_and_when_flipping_then_entry_is_fill() -> None:
    account = flat_account(Decimal(5000), PerpetualPosition("ETH-USD", Decimal(1), Decimal(3000)))
    calculator = LeverageCalculator({"ETH-USD": ETH})
    added = calculator.what_if(account, "ETH-USD", Decimal(1), Decimal(3200)).position("ETH-USD")
    assert added is not None and added.entry_price == Decimal(3100)
    reduced = calculator.what_if(account, "ETH-USD", Decimal("-0.5"), Decimal(3200))
    assert reduced.position("ETH-USD") is not None
    assert reduced.position("ETH-USD").entry_price == Decimal(3000)  # type: ignore[union-attr]
    flipped = calculator.what_if(account, "ETH-USD", Decimal(-3), Decimal(3200))
    position = flipped.position("ETH-USD")
    assert position is not None and position.size == -2 and position.entry_price == 3200
    closed = calculator.what_if(account, "ETH-USD", Decimal(-1), Decimal(3200))
    assert closed.positions == () and closed.initial_margin == 0


def test_collateral_check_when_order_fits_then_success_else_newly_undercollateralized() -> None:
    markets = {"ETH-USD": ETH}
    assert collateral_check(FLAT_1000, markets, "ETH-USD", Decimal(15), Decimal("3103.01")) == (
        chain_math.SUCCESS
    )
    assert collateral_check(FLAT_1000, markets, "ETH-USD", Decimal(17), Decimal("3103.01")) == (
        chain_math.NEWLY_UNDERCOLLATERALIZED
    )


def test_collateral_check_when_undercollateralized_account_reduces_then_success() -> None:
    # 20 ETH long on $1,000 of equity at 2 % IMF: IMR 1,241 > NC 1,000.
    usdc = Decimal(1000) - Decimal("3103.01") * 20
    account = flat_account(usdc, PerpetualPosition("ETH-USD", Decimal(20)))
    calculator = LeverageCalculator({"ETH-USD": ETH})
    assert not calculator.assess(account).is_initial_collateralized
    assert calculator.collateral_check(account, "ETH-USD", Decimal(-5), Decimal("3103.01")) == (
        chain_math.SUCCESS
    )
    assert calculator.collateral_check(account, "ETH-USD", Decimal(1), Decimal("3103.01")) == (
        chain_math.STILL_UNDERCOLLATERALIZED
    )


# -- refusals ---------------------------------------------------------------------------------


def test_assess_when_position_in_unknown_market_then_unknown_market() -> None:
    account = flat_account(Decimal(100), PerpetualPosition("DOGE-USD", Decimal(1)))
    with pytest.raises(UnknownMarket):
        LeverageCalculator({"ETH-USD": ETH}).assess(account)


def test_assess_when_market_has_no_oracle_price_then_not_tradable() -> None:
    unpriced = make_market(oracle_price=None)
    account = flat_account(Decimal(100), PerpetualPosition("ETH-USD", Decimal(1)))
    with pytest.raises(MarketNotTradable):
        LeverageCalculator({"ETH-USD": unpriced}).assess(account)
    risk = LeverageCalculator({"ETH-USD": unpriced}).assess(account, {"ETH-USD": Decimal(100)})
    assert risk.gross_notional == 100


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("-1"), Decimal("Infinity"), Decimal(0)])
def test_what_if_and_max_order_size_when_price_not_finite_positive_then_invalid_input(
    bad: Decimal,
) -> None:
    calculator = LeverageCalculator({"ETH-USD": ETH})
    with pytest.raises(InvalidInput):
        calculator.what_if(FLAT_1000, "ETH-USD", Decimal(1), bad)
    with pytest.raises(InvalidInput):
        calculator.max_order_size(FLAT_1000, "ETH-USD", Side.BUY, bad)


@pytest.mark.parametrize("bad", [Decimal("sNaN"), Decimal("NaN"), Decimal("-3"), Decimal(0)])
def test_assess_when_oracle_override_is_not_a_positive_number_then_invalid_input(
    bad: Decimal,
) -> None:
    account = flat_account(Decimal(100), PerpetualPosition("ETH-USD", Decimal(1)))
    calculator = LeverageCalculator({"ETH-USD": ETH})
    calculator.assess(account)  # a valid valuation first, so a cached one exists
    with pytest.raises(InvalidInput):
        calculator.assess(account, {"ETH-USD": bad})


def test_max_order_size_when_fee_is_not_an_int_then_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        LeverageCalculator({"ETH-USD": ETH}).max_order_size(
            FLAT_1000,
            "ETH-USD",
            Side.BUY,
            Decimal(3000),
            fee_ppm=0.5,  # type: ignore[arg-type]
        )


# -- properties: agreement with the chain's reference implementation ------------------------

MARKETS = sample_markets()
MARKET_CHOICES = list(MARKETS.values())


def _reference(account: AccountSnapshot, markets: dict[str, MarketSpec]) -> tuple[int, int, int]:
    """NC, IMR, MMR straight from chain_math (protocol reference 2.11)."""
    net = int(account.usdc_balance.scaleb(6).to_integral_value(ROUND_FLOOR))
    initial = maintenance = 0
    for position in account.open_positions:
        spec = markets[position.market]
        assert spec.oracle_price is not None
        value, exponent = price_parts(spec.oracle_price)
        quantums = int(position.size.scaleb(-spec.atomic_resolution))
        net += chain_math.base_to_quote_quantums(quantums, spec.atomic_resolution, value, exponent)
        imr, mmr = chain_math.margin_requirements(
            quantums,
            spec.atomic_resolution,
            value,
            exponent,
            spec.initial_margin_ppm,
            spec.maintenance_fraction_ppm,
            spec.open_interest_base_quantums,
            spec.open_interest_lower_cap_quantums,
            spec.open_interest_upper_cap_quantums,
        )
        initial += imr
        maintenance += mmr
    return net, initial, maintenance


@st.composite
def accounts(draw: st.DrawFn) -> AccountSnapshot:
    chosen = draw(st.lists(st.sampled_from(MARKET_CHOICES), unique_by=lambda m: m.ticker))
    positions = []
    for spec in chosen:
        steps = draw(st.integers(min_value=-(10**6), max_value=10**6).filter(bool))
        positions.append(PerpetualPosition(spec.ticker, spec.step_size * steps))
    usdc = draw(st.decimals(min_value=-(10**7), max_value=10**7, places=6))
    return flat_account(usdc, *positions)


@settings(max_examples=150)
@given(account=accounts())
def test_assess_when_any_account_then_equals_the_chain_reference_implementation(
    account: AccountSnapshot,
) -> None:
    risk = LeverageCalculator(MARKETS).assess(account)
    assert (
        risk.equity_quantums,
        risk.initial_margin_quantums,
        risk.maintenance_margin_quantums,
    ) == _reference(account, MARKETS)
    assert (
        risk.sizing_free_collateral
        <= risk.free_collateral
        <= risk.indexer_free_collateral + (Decimal(len(account.open_positions)) / 1_000_000)
    )


@settings(max_examples=100)
@given(
    account=accounts(),
    market=st.sampled_from(MARKET_CHOICES),
    side=st.sampled_from(Side),
    fee_ppm=st.integers(min_value=0, max_value=1000),
    buffer=st.decimals(min_value=0, max_value=1000, places=2),
)
def test_max_order_size_when_any_account_then_it_fits_and_one_more_step_does_not(
    account: AccountSnapshot, market: MarketSpec, side: Side, fee_ppm: int, buffer: Decimal
) -> None:
    calculator = LeverageCalculator(MARKETS)
    price = market.oracle_price
    assert price is not None
    size = calculator.max_order_size(account, market.ticker, side, price, fee_ppm, buffer)
    assert size >= 0 and market.quantize_size(size) == size
    state = calculator.state(account)
    held = account.position_size(market.ticker) * side.sign
    reserve = int((buffer * 1_000_000).to_integral_value())
    if size > max(-held, Decimal(0)):  # it opens: free collateral must stay above the buffer
        after = calculator.what_if(account, market.ticker, size * side.sign, price, fee_ppm)
        assert after.sizing_free_collateral >= buffer
        assert (
            calculator.collateral_check(account, market.ticker, size * side.sign, price, fee_ppm)
            == chain_math.SUCCESS
        )
    more = (size + market.step_size) * side.sign
    if abs(account.position_size(market.ticker) + more) > abs(account.position_size(market.ticker)):
        after_more = calculator.what_if(account, market.ticker, more, price, fee_ppm)
        slack = Decimal(5) / 1_000_000
        assert after_more.sizing_free_collateral < buffer + slack or (
            state.sizing_free_collateral < reserve
        )


# -- memoized valuations never go stale ----------------------------------------------------------


def test_assess_when_a_market_is_replaced_in_the_same_mapping_then_the_new_price_is_used() -> None:
    markets = {"ETH-USD": make_market(oracle_price=Decimal(2000))}
    account = flat_account(Decimal(0), PerpetualPosition("ETH-USD", Decimal(1)))
    calculator = LeverageCalculator(markets)
    assert calculator.assess(account).equity == Decimal(2000)
    markets["ETH-USD"] = make_market(oracle_price=Decimal(2100))  # mutated in place
    assert calculator.assess(account).equity == Decimal(2100)


def test_assess_when_an_override_mapping_changes_in_place_then_the_new_price_is_used() -> None:
    markets = {"ETH-USD": make_market(oracle_price=Decimal(2000))}
    account = flat_account(Decimal(0), PerpetualPosition("ETH-USD", Decimal(1)))
    calculator = LeverageCalculator(markets)
    prices = {"ETH-USD": Decimal(1900)}
    assert calculator.assess(account, prices).equity == Decimal(1900)
    prices["ETH-USD"] = Decimal(1800)
    assert calculator.assess(account, prices).equity == Decimal(1800)
    assert calculator.assess(account).equity == Decimal(2000)  # back to the spec's own


def test_assess_when_same_size_in_two_snapshots_then_each_values_its_own_market() -> None:
    cheap = {"ETH-USD": make_market(oracle_price=Decimal(1000))}
    dear = {"ETH-USD": make_market(oracle_price=Decimal(3000))}
    first = flat_account(Decimal(0), PerpetualPosition("ETH-USD", Decimal(2)))
    second = flat_account(Decimal(0), PerpetualPosition("ETH-USD", Decimal(2)))
    assert LeverageCalculator(cheap).assess(first).equity == Decimal(2000)
    assert LeverageCalculator(dear).assess(second).equity == Decimal(6000)
    assert LeverageCalculator(cheap).assess(second).equity == Decimal(2000)


def test_max_order_size_when_indexer_reports_less_free_collateral_then_that_view_binds() -> None:
    # The chain sees 1,000 free; the (lagging) indexer reported only 500.
    account = AccountSnapshot("dydx1test", 0, Decimal(1000), indexer_free_collateral=Decimal(500))
    calculator = LeverageCalculator({"ETH-USD": ETH})
    risk = calculator.assess(account)
    assert risk.free_collateral == 1000 and risk.reported_free_collateral == 500
    assert risk.sizing_free_collateral == 500
    size = calculator.max_order_size(account, "ETH-USD", Side.BUY, Decimal("3103.01"))
    assert size == (Decimal(500) / (Decimal("3103.01") * Decimal("0.02"))).quantize(
        Decimal("0.001"), ROUND_FLOOR
    )
    after = calculator.what_if(account, "ETH-USD", size, Decimal("3103.01"))
    assert after.reported_free_collateral is not None
    assert Decimal(0) <= after.reported_free_collateral < Decimal("0.07")  # less than one step
