"""Fee tiers by 30-day volume, per address, and the test overrides."""

from __future__ import annotations

from decimal import Decimal

import pytest
from devnet_helpers import ALICE, BOB, BUY, GTT, SELL, USDC, make_engine, on_tick, short_term

from dydx_devnet.engine import Engine
from dydx_devnet.fees import STATS_WINDOW_MS, FeeSchedule, FeeTier

DAY_MS = 24 * 3600 * 1000
STEP = 1_000_000  # BTC-USD


def _schedule(market_volume_30d: int = 10**15) -> FeeSchedule:
    engine = make_engine()
    return FeeSchedule(engine.fee_tiers(), market_volume_30d)


def test_tier_when_no_volume_then_standard_tier_1_taker_5_bp_maker_1_bp() -> None:
    schedule = _schedule()

    index, tier = schedule.tier_of(ALICE, now_ms=0)

    assert (index, tier.name, tier.taker_fee_ppm, tier.maker_fee_ppm) == (0, "1", 500, 100)
    assert schedule.fee_ppm(ALICE, taker=False, now_ms=0) == 100


def test_tier_when_30_day_volume_reaches_1m_usdc_then_tier_2_until_it_ages_out() -> None:
    schedule = _schedule()
    schedule.record_fill(ALICE, 600_000 * USDC, taker=True, at_ms=0)
    schedule.record_fill(ALICE, 400_000 * USDC, taker=False, at_ms=DAY_MS)

    reached = schedule.tier_of(ALICE, now_ms=2 * DAY_MS)
    aged = schedule.tier_of(ALICE, now_ms=STATS_WINDOW_MS + DAY_MS // 2)

    assert (reached[0], reached[1].taker_fee_ppm) == (1, 450)
    assert aged[0] == 0  # the first fill left the 30-day window
    assert schedule.tier_of(BOB, now_ms=2 * DAY_MS)[0] == 0  # volume is per address


def test_tier_when_share_of_market_volume_too_small_then_capped_below_share_tiers() -> None:
    schedule = _schedule(market_volume_30d=10**20)  # the market dwarfs any devnet account
    schedule.record_fill(ALICE, 200_000_000 * USDC, taker=True, at_ms=0)

    index, tier = schedule.tier_of(ALICE, now_ms=1)

    assert (index, tier.name) == (4, "5")  # tier 6 needs 0.5 % of all volume


def test_override_when_set_then_charged_and_answered_as_override_tier() -> None:
    schedule = _schedule()

    schedule.override(ALICE, 0, -50)

    assert schedule.fee_ppm(ALICE, taker=True, now_ms=0) == 0
    assert schedule.fee_ppm(ALICE, taker=False, now_ms=0) == -50
    assert schedule.answered_tier(ALICE, 0)[1].name == "override"
    schedule.override(ALICE, None, None)
    assert schedule.fee_ppm(ALICE, taker=False, now_ms=0) == 100


@pytest.mark.parametrize(("taker", "maker"), [(1_000_000, 0), (500, None), (True, 0)])
def test_override_when_invalid_then_value_error(taker: object, maker: object) -> None:
    with pytest.raises(ValueError, match=r"ppm|both"):
        _schedule().override(ALICE, taker, maker)  # type: ignore[arg-type]


def test_maker_fill_when_resting_order_taken_then_maker_pays_plus_1_bp(engine: Engine) -> None:
    engine.deposit(ALICE, 0, 10_000 * USDC)
    engine.deposit(BOB, 0, 10_000 * USDC)
    price = on_tick(engine, "BTC-USD", -3)  # inside the synthetic spread: rests
    engine.place_order(short_term(engine, BUY, STEP, price, tif=GTT, client_id=1))
    before = engine.state.subaccounts[(ALICE, 0)].usdc

    engine.place_order(short_term(engine, SELL, STEP, price, owner=BOB, client_id=2))

    (maker_fill,) = engine.state.fills[(ALICE, 0)]
    quote = price * STEP // 10**9  # BTC: quantum conversion exponent -9
    fee = -(-quote * 100 // 10**6)  # 100 ppm, rounded up
    assert fee > 0
    assert maker_fill["liquidity"] == "MAKER"
    assert Decimal(maker_fill["fee"]) == Decimal(fee).scaleb(-6)
    assert engine.state.subaccounts[(ALICE, 0)].usdc == before - quote - fee


def test_engine_when_configured_with_fees_then_every_account_pays_them() -> None:
    engine = make_engine(taker_fee_ppm=0, maker_fee_ppm=0)

    assert engine.user_fee_tier(ALICE)[1].name == "override"
    assert engine.state.fee_ppm(ALICE, taker=True) == 0


def test_fee_tier_when_listed_then_nine_standard_tiers() -> None:
    tiers = make_engine().fee_tiers()

    assert [t.name for t in tiers] == [str(i) for i in range(1, 10)]
    assert isinstance(tiers[0], FeeTier)
    assert [(t.taker_fee_ppm, t.maker_fee_ppm) for t in tiers[:3]] == [
        (500, 100),
        (450, 100),
        (400, 50),
    ]
