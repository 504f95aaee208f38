"""The devnet's chain math beyond the shared vectors: Risk, BigDivCeil, a subaccount's risk.

Cases from v4-chain ``protocol/v9.6.1``: ``protocol/lib/margin/risk_test.go``
(``TestRisk_Cmp``, ``TestRisk_IsLiquidatable``), ``protocol/lib/big_math_test.go``
(``TestBigDivCeil``) and ``protocol/x/subaccounts/lib/updates_test.go``
(``TestGetRiskForSubaccount``, perpetual infos of ``perp_testutil.CreatePerpInfo``:
IMF 10 %, maintenance fraction 50 %).
"""

from __future__ import annotations

import pytest

from dydx_devnet.chain.big_math import big_div_ceil
from dydx_devnet.chain.liquidity_tier import LiquidityTier
from dydx_devnet.chain.margin import Perpetual, Risk


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ((100, 50), (100, 100), -1),
        ((100, 50), (0, 100), -1),
        ((100, 50), (-100, 100), -1),
        ((-100, 150), (-100, 100), -1),
        ((100, 150), (100, 100), 1),
        ((0, 150), (100, 100), 1),
        ((-100, 150), (100, 100), 1),
        ((-100, 50), (-100, 100), 1),
        ((100, 0), (100, 100), -1),
        ((100, 100), (100, 0), 1),
        ((100, 100), (100, 100), 0),
        ((100, 50), (200, 100), -1),
        ((0, 50), (0, 100), -1),
        ((0, 0), (200, 100), -1),
        ((100, 50), (0, 0), 1),
        ((100, 0), (200, 0), 1),
    ],
)
def test_risk_cmp_when_go_cases_then_same_order(
    first: tuple[int, int], second: tuple[int, int], expected: int
) -> None:
    assert Risk(nc=first[0], mmr=first[1]).cmp(Risk(nc=second[0], mmr=second[1])) == expected


@pytest.mark.parametrize(
    ("nc", "mmr", "expected"),
    [
        (100, 0, False),
        (0, 100, True),
        (0, 0, False),
        (-100, 100, True),
        (-100, 0, False),
        (75, 100, True),
        (100, 100, False),
        (125, 100, False),
    ],
)
def test_risk_is_liquidatable_when_go_cases_then_same_answer(
    nc: int, mmr: int, expected: bool
) -> None:
    assert Risk(nc=nc, mmr=mmr).is_liquidatable() is expected


@pytest.mark.parametrize(
    ("numerator", "denominator", "ceiling"),
    [
        (10, 5, 2),
        (10, 3, 4),
        (-10, 3, -3),
        (-1, 2, 0),
        (10, -3, -3),
        (1, -2, 0),
        (-10, -3, 4),
        (-1, -2, 1),
        (0, 3, 0),
    ],
)
def test_big_div_ceil_when_go_cases_then_the_ceiling(
    numerator: int, denominator: int, ceiling: int
) -> None:
    assert big_div_ceil(numerator, denominator) == ceiling


def test_big_div_ceil_when_dividing_by_zero_then_raises_as_go_panics() -> None:
    with pytest.raises(ZeroDivisionError):
        big_div_ceil(10, 0)


def _test_perpetual(price: int) -> Perpetual:
    # perp_testutil.CreatePerpInfo(id, -6, price, 0)
    return Perpetual(-6, price, 0, LiquidityTier(100_000, 500_000))


def test_subaccount_risk_when_two_positions_then_sum_of_positions_plus_usdc() -> None:
    # TestGetRiskForSubaccount "one update": positions +100 @ 100 and -25 @ 200, USDC 110.
    first, second = _test_perpetual(100), _test_perpetual(200)

    total = Risk(nc=110) + first.risk(100) + second.risk(-25)

    assert total == Risk(
        nc=(100 * 100 + 100) + (-25 * 200 + 10),
        imr=100 * 100 // 10 + 25 * 200 // 10,
        mmr=100 * 100 // 20 + 25 * 200 // 20,
    )


def test_position_risk_when_custom_imf_set_then_only_initial_margin_rises() -> None:
    perpetual = _test_perpetual(100)

    plain, levered = perpetual.risk(100), perpetual.risk(100, custom_imf_ppm=500_000)

    assert (levered.nc, levered.mmr) == (plain.nc, plain.mmr)
    assert (plain.imr, levered.imr) == (1_000, 5_000)


def test_liquidity_tier_when_lower_cap_above_upper_then_refused() -> None:
    with pytest.raises(ValueError, match="lower cap"):
        LiquidityTier(200_000, 500_000, open_interest_lower_cap=2, open_interest_upper_cap=1)
