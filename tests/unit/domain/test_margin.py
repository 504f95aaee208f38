"""The margin package: the account report against protocol reference 2.10 H and L,
the real fixture accounts and the chain's reference functions; the chain's
collateral rule; the subaccount's own leverage setting."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dydx_trader.domain.account import AccountSnapshot, PerpetualPosition
from dydx_trader.domain.errors import InvalidInput, MarketNotTradable, UnknownMarket
from dydx_trader.domain.margin import (
    AccountRisk,
    MarginState,
    assess,
    chain_math,
    chain_outcome,
    fill_cash_flow,
    liquidation_price,
    margin_state,
    report,
)
from dydx_trader.domain.market import MarketSpec
from dydx_trader.domain.numbers import price_parts
from kit.fixtures import (
    HTTP,
    WS,
    account_from_indexer,
    markets_2024,
    needs_fixtures,
    subaccount_payload,
)
from kit.markets import flat_account, make_market, priced, sample_markets

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
    risk = assess(account, {"BTC-USD": btc})
    assert risk.indexer_equity == Decimal(159500)
    assert risk.indexer_free_collateral == Decimal(152000)
    assert risk.equity == Decimal(159500)
    assert risk.free_collateral == Decimal(152000)
    assert risk.equity_quantums == 159_500_000_000


@needs_fixtures
def test_assess_when_real_subaccount_fixture_then_matches_the_indexer_figures() -> None:
    account, prices = account_from_indexer(subaccount_payload(HTTP / "nt2024_subaccount.json"))
    assert prices["ETH-USD"] == Decimal("2914.962518")
    risk = assess(account, priced(markets_2024(), prices))
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
    risk = assess(account, priced(markets_2024(), prices))
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
    risk = assess(account, {"MID-USD": market})
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
    risk = assess(account, {"ETH-USD": eth})
    assert risk.equity == Decimal(1000)
    position = risk.position("ETH-USD")
    assert position is not None and position.liquidation_price is not None
    assert position.liquidation_price.quantize(CENT) == Decimal("3174.60")
    assert position.liquidation_distance_pct is not None
    assert position.liquidation_distance_pct.quantize(CENT) == Decimal("5.82")
    # At that oracle price the account sits on its maintenance requirement.
    at_price = priced({"ETH-USD": eth}, {"ETH-USD": position.liquidation_price})
    at_liquidation = assess(account, at_price)
    assert abs(at_liquidation.equity - at_liquidation.maintenance_margin) < CENT
    assert not at_liquidation.is_initial_collateralized


def test_liquidation_price_when_denominator_zero_or_negative_price_then_none() -> None:
    assert liquidation_price(Decimal(100), Decimal(1), Decimal(10), Decimal(1)) is None
    # A long with more equity than its notional cannot be liquidated: p < 0.
    assert liquidation_price(Decimal(1000), Decimal(1), Decimal(10), Decimal("0.05")) is None


# -- a trade valued in the chain's integers, and the chain's collateral rule ---------------

ETH = make_market(oracle_price=Decimal("3103.01"), imf=Decimal("0.02"))
FLAT_1000 = flat_account(Decimal(1000))


def after_fill(
    account: AccountSnapshot, size_delta: Decimal, price: Decimal, fee_ppm: int = 0
) -> tuple[MarginState, MarginState]:
    """The account valued before and after ``size_delta`` ETH fills at ``price``."""
    before = margin_state(account, {"ETH-USD": ETH})
    delta = ETH.math.base_quantums(size_delta)
    return before, before.after(ETH.math, delta, fill_cash_flow(size_delta, price, fee_ppm))


def test_after_when_buying_above_oracle_with_fee_then_equity_drops_by_slippage_and_fee() -> None:
    _, after = after_fill(FLAT_1000, Decimal(1), Decimal("3113.01"), fee_ppm=500)
    fee = Decimal("3113.01") * Decimal("0.0005")
    risk = report_of(after)
    assert risk.equity == Decimal(1000) - Decimal(10) - fee.quantize(Decimal("0.000001"))
    assert risk.initial_margin == Decimal("62.0602")
    assert risk.leverage is not None and risk.leverage > Decimal("3.1")


def test_after_when_the_trade_closes_the_position_then_no_line_and_no_margin() -> None:
    account = flat_account(Decimal(5000), PerpetualPosition("ETH-USD", Decimal(1), Decimal(3000)))
    _, closed = after_fill(account, Decimal(-1), Decimal(3200))
    assert closed.lines == {} and closed.initial == 0


def test_chain_outcome_when_order_fits_then_success_else_newly_undercollateralized() -> None:
    before, fits = after_fill(FLAT_1000, Decimal(15), Decimal("3103.01"))
    assert chain_outcome(before, fits) == chain_math.SUCCESS
    before, too_big = after_fill(FLAT_1000, Decimal(17), Decimal("3103.01"))
    assert chain_outcome(before, too_big) == chain_math.NEWLY_UNDERCOLLATERALIZED


def test_chain_outcome_when_buy_below_oracle_then_placement_counts_the_discount() -> None:
    # Placement values the fill at oracle: a limit below it leaves more equity.
    limit = Decimal("3071.9799")
    before, fits = after_fill(FLAT_1000, Decimal("31.910"), limit, fee_ppm=100)
    assert chain_outcome(before, fits) == chain_math.SUCCESS
    before, too_big = after_fill(FLAT_1000, Decimal("31.920"), limit, fee_ppm=100)
    assert chain_outcome(before, too_big) == chain_math.NEWLY_UNDERCOLLATERALIZED


def test_chain_outcome_when_undercollateralized_account_reduces_then_success() -> None:
    # 20 ETH long on $1,000 of equity at 2 % IMF: IMR 1,241 > NC 1,000.
    usdc = Decimal(1000) - Decimal("3103.01") * 20
    account = flat_account(usdc, PerpetualPosition("ETH-USD", Decimal(20)))
    assert not assess(account, {"ETH-USD": ETH}).is_initial_collateralized
    before, reduced = after_fill(account, Decimal(-5), Decimal("3103.01"))
    assert chain_outcome(before, reduced) == chain_math.SUCCESS
    before, added = after_fill(account, Decimal(1), Decimal("3103.01"))
    assert chain_outcome(before, added) == chain_math.STILL_UNDERCOLLATERALIZED


def report_of(state: MarginState) -> AccountRisk:
    return report(state, flat_account(Decimal(0)))


# -- refusals ---------------------------------------------------------------------------------


def test_assess_when_position_in_unknown_market_then_unknown_market() -> None:
    account = flat_account(Decimal(100), PerpetualPosition("DOGE-USD", Decimal(1)))
    with pytest.raises(UnknownMarket):
        assess(account, {"ETH-USD": ETH})


def test_assess_when_market_has_no_oracle_price_then_not_tradable() -> None:
    unpriced = make_market(oracle_price=None)
    account = flat_account(Decimal(100), PerpetualPosition("ETH-USD", Decimal(1)))
    with pytest.raises(MarketNotTradable):
        assess(account, {"ETH-USD": unpriced})
    risk = assess(account, priced({"ETH-USD": unpriced}, {"ETH-USD": Decimal(100)}))
    assert risk.gross_notional == 100


@pytest.mark.parametrize("bad", [Decimal("sNaN"), Decimal("NaN"), Decimal("-3"), Decimal(0)])
def test_assess_when_oracle_price_is_not_a_positive_number_then_invalid_input(
    bad: Decimal,
) -> None:
    account = flat_account(Decimal(100), PerpetualPosition("ETH-USD", Decimal(1)))
    with pytest.raises(InvalidInput):
        assess(account, priced({"ETH-USD": ETH}, {"ETH-USD": bad}))


@pytest.mark.parametrize("bad", [-1, 1_000_001, True])
def test_margin_state_when_custom_imf_is_not_ppm_then_invalid_input(bad: int) -> None:
    with pytest.raises(InvalidInput, match="custom initial margin fraction"):
        margin_state(FLAT_1000, {"ETH-USD": ETH}, custom_imf_ppm={"ETH-USD": bad})


# -- the subaccount's own leverage setting (chain v9.4+) ---------------------------------------


def test_assess_when_custom_imf_above_the_market_then_initial_margin_uses_it() -> None:
    # 10 ETH at 3,103.01 = 31,030.10 notional; the market's IMF 2 %, the setting 10 % (10x).
    account = flat_account(
        Decimal(5000) - Decimal("31030.1"), PerpetualPosition("ETH-USD", Decimal(10))
    )
    plain = assess(account, {"ETH-USD": ETH})
    custom = assess(account, {"ETH-USD": ETH}, custom_imf_ppm={"ETH-USD": 100_000})
    assert plain.initial_margin == Decimal("620.602")
    assert custom.initial_margin == Decimal("3103.01")
    position = custom.position("ETH-USD")
    assert position is not None
    assert position.effective_imf == Decimal("0.1") and position.max_leverage == 10
    # Maintenance and the indexer's formula ignore the setting.
    assert custom.maintenance_margin == plain.maintenance_margin
    assert custom.indexer_free_collateral == plain.indexer_free_collateral


def test_assess_when_custom_imf_below_the_market_then_the_market_imf_stands() -> None:
    account = flat_account(Decimal(0), PerpetualPosition("ETH-USD", Decimal(1)))
    plain = assess(account, {"ETH-USD": ETH})
    lower = assess(account, {"ETH-USD": ETH}, custom_imf_ppm={"ETH-USD": 10_000})
    assert lower.initial_margin_quantums == plain.initial_margin_quantums


def test_after_when_custom_imf_set_then_a_new_position_pays_it_too() -> None:
    state = margin_state(FLAT_1000, {"ETH-USD": ETH}, custom_imf_ppm={"ETH-USD": 200_000})
    after = state.after(ETH.math, ETH.math.base_quantums(Decimal(1)), 0)
    # 1 ETH at 3,103.01 x 20 %.
    assert after.initial == 620_602_000


# -- properties: agreement with the chain's reference implementation ------------------------

MARKETS = sample_markets()
MARKET_CHOICES = list(MARKETS.values())


def _reference(
    account: AccountSnapshot, markets: dict[str, MarketSpec], custom: dict[str, int]
) -> tuple[int, int, int]:
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
            custom.get(position.market, 0),
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


custom_imfs = st.dictionaries(
    st.sampled_from(list(MARKETS)), st.integers(min_value=0, max_value=1_000_000), max_size=4
)


@settings(max_examples=150)
@given(account=accounts(), custom=custom_imfs)
def test_assess_when_any_account_then_equals_the_chain_reference_implementation(
    account: AccountSnapshot, custom: dict[str, int]
) -> None:
    risk = assess(account, MARKETS, custom_imf_ppm=custom)
    assert (
        risk.equity_quantums,
        risk.initial_margin_quantums,
        risk.maintenance_margin_quantums,
    ) == _reference(account, MARKETS, custom)
    assert (
        risk.sizing_free_collateral
        <= risk.free_collateral
        <= risk.indexer_free_collateral + (Decimal(len(account.open_positions)) / 1_000_000)
    )


@settings(max_examples=100)
@given(first=accounts(), second=accounts())
def test_margin_state_when_reusing_an_earlier_valuation_then_same_figures(
    first: AccountSnapshot, second: AccountSnapshot
) -> None:
    earlier = margin_state(first, MARKETS)
    assert margin_state(second, MARKETS, reuse=earlier) == margin_state(second, MARKETS)


# -- valuations follow the markets they are given ------------------------------------------------


def test_margin_state_when_reused_after_a_new_price_then_the_new_price_is_used() -> None:
    account = flat_account(Decimal(0), PerpetualPosition("ETH-USD", Decimal(1)))
    earlier = margin_state(account, {"ETH-USD": make_market(oracle_price=Decimal(2000))})
    later = margin_state(
        account, {"ETH-USD": make_market(oracle_price=Decimal(2100))}, reuse=earlier
    )
    assert later.net_collateral == 2_100_000_000


def test_assess_when_same_size_in_two_snapshots_then_each_values_its_own_market() -> None:
    cheap = {"ETH-USD": make_market(oracle_price=Decimal(1000))}
    dear = {"ETH-USD": make_market(oracle_price=Decimal(3000))}
    first = flat_account(Decimal(0), PerpetualPosition("ETH-USD", Decimal(2)))
    second = flat_account(Decimal(0), PerpetualPosition("ETH-USD", Decimal(2)))
    assert assess(first, cheap).equity == Decimal(2000)
    assert assess(second, dear).equity == Decimal(6000)
    assert assess(second, cheap).equity == Decimal(2000)


def test_market_spec_when_asked_twice_then_its_math_is_derived_once() -> None:
    spec = make_market(oracle_price=Decimal(2000))
    assert spec.math is spec.math
    assert make_market(oracle_price=Decimal(2001)).math.oracle_price == Decimal(2001)


def test_assess_when_indexer_reports_less_free_collateral_then_that_view_is_the_sizing_one() -> (
    None
):
    # The chain sees 1,000 free; the (lagging) indexer reported only 500.
    account = AccountSnapshot("dydx1test", 0, Decimal(1000), indexer_free_collateral=Decimal(500))
    risk = assess(account, {"ETH-USD": ETH})
    assert risk.free_collateral == 1000 and risk.reported_free_collateral == 500
    assert risk.sizing_free_collateral == 500
    state = margin_state(account, {"ETH-USD": ETH})
    cash = fill_cash_flow(Decimal(8), Decimal("3103.01"), 0)
    after = state.after(ETH.math, ETH.math.base_quantums(Decimal(8)), cash)
    # 8 ETH bought at oracle: 496.48 USDC of base margin comes off the reported view.
    assert after.reported_free_collateral == 500_000_000 - 496_481_600
