"""build_strategy: config names and parameters to strategies, bad ones refused readably."""

from __future__ import annotations

from decimal import Decimal

import pytest
from strategy_data import NOW, flat_then

from dydx_trader.domain.errors import InvalidInput
from dydx_trader.strategies import (
    STRATEGY_NAMES,
    BollingerBreakout,
    Composite,
    EmaCross,
    MacdCross,
    RsiReversion,
    build_strategy,
    default_strategies,
)
from dydx_trader.strategies.scan import scan, scan_market


def test_build_strategy_when_known_names_then_default_instances() -> None:
    assert build_strategy("ema_cross") == EmaCross()
    assert build_strategy("RSI_Reversion") == RsiReversion()
    assert build_strategy("macd_cross") == MacdCross()
    assert build_strategy("bollinger_breakout") == BollingerBreakout()
    assert isinstance(build_strategy("composite"), Composite)
    assert set(STRATEGY_NAMES) == {
        "ema_cross", "rsi_reversion", "macd_cross", "bollinger_breakout", "composite"
    }  # fmt: skip


def test_build_strategy_when_params_then_applied_with_number_coercion() -> None:
    built = build_strategy("rsi_reversion", {"period": 7, "oversold": "25", "overbought": 80.5})
    assert built == RsiReversion(period=7, oversold=25.0, overbought=80.5)
    assert build_strategy("bollinger_breakout", {"deviations": Decimal("2.5")}) == (
        BollingerBreakout(deviations=2.5)
    )


@pytest.mark.parametrize(
    ("name", "params", "fragment"),
    [
        ("emma", None, "unknown strategy 'emma'; known: bollinger_breakout"),
        ("ema_cross", {"fats": 3}, "unknown parameter 'fats'; known: fast, slow, full_gap"),
        ("ema_cross", {"fast": 30, "slow": 20}, "fast is 30"),
        ("ema_cross", {"fast": 2.5}, "must be an integer"),
        ("ema_cross", {"fast": True}, "must be an integer"),
        ("ema_cross", {"slow": 5000}, r"\[2, 1000\]"),
        ("rsi_reversion", {"oversold": 80}, "must be below overbought"),
        ("rsi_reversion", {"oversold": "nan"}, "must be finite"),
        ("rsi_reversion", {"oversold": "abc"}, "must be a number"),
        ("bollinger_breakout", {"deviations": 0}, "deviations is 0"),
        ("macd_cross", {"signal": 0}, "signal is 0"),
        ("composite", {"members": "ema_cross"}, "list of strategy names"),
        ("composite", {"members": ["composite"]}, "cannot contain a composite"),
        ("composite", {"members": ["ema_cross"], "min_votes": 2}, "min_votes is 2"),
        ("composite", {"members": [{"name": "x", "extra": 1}]}, "a member is a name"),
        ("composite", {"quorum": 2}, "unknown parameter 'quorum'"),
    ],
)
def test_build_strategy_when_bad_config_then_readable_invalid_input(
    name: str, params: dict[str, object] | None, fragment: str
) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        build_strategy(name, params)


def test_build_strategy_when_composite_members_with_params_then_built() -> None:
    built = build_strategy(
        "composite",
        {"members": ["ema_cross", {"name": "rsi_reversion", "params": {"period": 9}}],
         "min_votes": 1},
    )  # fmt: skip
    assert isinstance(built, Composite)
    assert built.members == (EmaCross(), RsiReversion(period=9))
    assert built.min_votes == 1


def test_default_strategies_then_four_and_their_composite() -> None:
    strategies = default_strategies()
    assert [s.name for s in strategies] == [
        "ema_cross", "rsi_reversion", "macd_cross", "bollinger_breakout", "composite"
    ]  # fmt: skip


def test_scan_when_composite_members_scanned_then_same_signal_as_evaluating_it() -> None:
    strategies = default_strategies()
    candles = flat_then(100.0, 80, 110.0)
    results = scan_market(strategies, "BTC-USD", candles, NOW)
    composite = strategies[-1]
    assert results[-1].signal == composite.evaluate("BTC-USD", candles, NOW)
    assert [r.signal.action.value for r in results if r.signal] == [
        "BUY", "SELL", "BUY", "BUY", "BUY"
    ]  # fmt: skip


def test_scan_when_market_has_too_few_candles_then_error_row_and_others_still_scanned() -> None:
    results = scan(
        (EmaCross(),), {"BTC-USD": flat_then(1.0, 5), "ETH-USD": flat_then(100.0, 80, 110.0)}, NOW
    )
    assert results[0].signal is None and "needs at least 27 candles" in (results[0].error or "")
    assert results[1].signal is not None and results[1].signal.market == "ETH-USD"
