"""Protection as pure values: levels on the tick, the stop's worst exit, the orders a
position needs, the plan from live to wanted, and decide() with a protection policy."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from dydx_trader.domain.account import Subaccount
from dydx_trader.domain.decide import decide
from dydx_trader.domain.decision import Decision, Outcome
from dydx_trader.domain.errors import InvalidInput
from dydx_trader.domain.order import ConditionType
from dydx_trader.domain.order_params import OrderParams
from dydx_trader.domain.pre_trade import RiskLimits
from dydx_trader.domain.protection import (
    ExitRule,
    ExitRuleKind,
    ProtectionLevels,
    ProtectionOrderType,
    ProtectionPolicy,
    check_entry,
    entry_levels,
    protective_orders,
    stop_exit_price,
)
from dydx_trader.domain.protection_plan import LiveProtection, plan_protection
from dydx_trader.domain.side import Side
from dydx_trader.domain.signal import Signal, SignalSource
from dydx_trader.domain.sizing_policy import SizingPolicy
from dydx_trader.domain.trading_state import TradingState
from kit.markets import flat_account, make_market, valued
from kit.orders import ADDRESS

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
# ETH: tick $0.1 (subticks per tick 100_000 at qce -9, atomic resolution -9).
ETH = make_market("ETH-USD", oracle_price=Decimal(2000), imf=Decimal("0.05"), clob_pair_id=1)
MARKETS = {"ETH-USD": ETH}
POLICY = ProtectionPolicy()


def _price(subticks: int) -> Decimal:
    return ETH.subticks_to_price(subticks)


def test_entry_levels_when_off_the_tick_then_rounded_toward_the_passive_side_of_the_exit() -> None:
    levels = entry_levels(
        ETH, Side.BUY, Decimal(2000), POLICY,
        stop_loss=Decimal("1900.04"), take_profit=Decimal("2100.06"), atr=None,
    )  # fmt: skip
    short = entry_levels(
        ETH, Side.SELL, Decimal(2000), POLICY,
        stop_loss=Decimal("2100.06"), take_profit=Decimal("1900.04"), atr=None,
    )  # fmt: skip

    # A long exits by selling: both triggers round up; a short exits by buying: down.
    assert (levels.stop_loss, levels.take_profit) == (Decimal("1900.1"), Decimal("2100.1"))
    assert (short.stop_loss, short.take_profit) == (Decimal("2100.0"), Decimal("1900.0"))


def test_entry_levels_when_signal_has_none_then_defaults_by_percent_or_atr() -> None:
    policy = ProtectionPolicy(
        default_stop=ExitRule(ExitRuleKind.PERCENT, Decimal("0.05")),
        default_take_profit=ExitRule(ExitRuleKind.ATR, Decimal(3)),
    )

    with_atr = entry_levels(
        ETH, Side.BUY, Decimal(2000), policy, stop_loss=None, take_profit=None, atr=Decimal(40)
    )
    without_atr = entry_levels(
        ETH, Side.BUY, Decimal(2000), policy, stop_loss=None, take_profit=None, atr=None
    )

    assert (with_atr.stop_loss, with_atr.take_profit) == (Decimal(1900), Decimal(2120))
    assert (without_atr.stop_loss, without_atr.take_profit) == (Decimal(1900), None)


@pytest.mark.parametrize(
    ("order_type", "exit_price"),
    [(ProtectionOrderType.MARKET, Decimal("1862")), (ProtectionOrderType.LIMIT, Decimal(1900))],
)
def test_stop_exit_price_when_market_or_limit_then_slippage_below_trigger_or_the_trigger(
    order_type: ProtectionOrderType, exit_price: Decimal
) -> None:
    policy = ProtectionPolicy(order_type=order_type, slippage=Decimal("0.02"))
    levels = ProtectionLevels(Side.BUY, Decimal(1900), None)

    assert stop_exit_price(ETH, levels, policy) == exit_price


def test_protective_orders_when_long_then_reduce_side_sells_for_the_whole_position() -> None:
    levels = ProtectionLevels(Side.BUY, Decimal(1900), Decimal(2100))

    stop, take = protective_orders(ETH, 3_000_000_000, levels, POLICY)

    assert (stop.kind, take.kind) == (ConditionType.STOP_LOSS, ConditionType.TAKE_PROFIT)
    assert stop.side is Side.SELL and take.side is Side.SELL
    assert stop.quantums == take.quantums == 3_000_000_000
    assert (_price(stop.trigger_subticks), _price(stop.subticks)) == (Decimal(1900), Decimal(1862))
    assert (_price(take.trigger_subticks), _price(take.subticks)) == (Decimal(2100), Decimal(2058))


@pytest.mark.parametrize("position", [0, -3_000_000_000])
def test_protective_orders_when_flat_or_on_the_other_side_then_none(position: int) -> None:
    levels = ProtectionLevels(Side.BUY, Decimal(1900), Decimal(2100))

    assert protective_orders(ETH, position, levels, POLICY) == ()


def _live(client_id: int, wanted: Any, **changes: Any) -> LiveProtection:
    fields = {
        "client_id": client_id,
        "market": wanted.market,
        "kind": wanted.kind,
        "side": wanted.side,
        "quantums": wanted.quantums,
        "trigger_subticks": wanted.trigger_subticks,
        "subticks": wanted.subticks,
        "good_til_block_time": 10_000_000,
    }
    fields.update(changes)
    return LiveProtection(**fields)


def test_plan_when_live_orders_fit_then_idle() -> None:
    wanted = protective_orders(ETH, 10**9, ProtectionLevels(Side.BUY, Decimal(1900), None), POLICY)

    plan = plan_protection(wanted, [_live(1, wanted[0])], now_s=0, refresh_before_s=100)

    assert plan.idle and [o.client_id for o in plan.keep] == [1]


def test_plan_when_position_grew_then_cancel_the_old_stop_and_place_the_new_size() -> None:
    levels = ProtectionLevels(Side.BUY, Decimal(1900), None)
    old = protective_orders(ETH, 10**9, levels, POLICY)[0]
    wanted = protective_orders(ETH, 2 * 10**9, levels, POLICY)

    plan = plan_protection(wanted, [_live(1, old)], now_s=0, refresh_before_s=100)

    assert [o.client_id for o in plan.cancel] == [1]
    assert [o.quantums for o in plan.place] == [2 * 10**9]


def test_plan_when_flat_then_cancel_both_one_cancels_other() -> None:
    levels = ProtectionLevels(Side.BUY, Decimal(1900), Decimal(2100))
    stop, take = protective_orders(ETH, 10**9, levels, POLICY)

    plan = plan_protection((), [_live(1, stop), _live(2, take)], now_s=0, refresh_before_s=1)

    assert sorted(o.client_id for o in plan.cancel) == [1, 2] and not plan.place


def test_plan_when_cancel_pending_or_expiring_then_neither_kept_nor_cancelled_again() -> None:
    wanted = protective_orders(ETH, 10**9, ProtectionLevels(Side.BUY, Decimal(1900), None), POLICY)
    pending = _live(1, wanted[0], cancel_pending=True)
    expiring = _live(2, wanted[0], good_til_block_time=150)

    plan = plan_protection(wanted, [pending, expiring], now_s=100, refresh_before_s=100)

    assert [o.client_id for o in plan.cancel] == [2]
    assert len(plan.place) == 1 and not plan.keep


def test_check_entry_when_stop_already_reached_then_refused() -> None:
    levels = ProtectionLevels(Side.BUY, Decimal(2000), None)

    refusal = check_entry(levels, Decimal(2000), None)

    assert refusal is not None and "trigger at once" in refusal.message


def test_check_entry_when_stop_beyond_liquidation_then_refused() -> None:
    levels = ProtectionLevels(Side.SELL, Decimal(2200), None)

    refusal = check_entry(levels, Decimal(2000), Decimal(2150))

    assert refusal is not None and "liquidated before the stop" in refusal.message


def test_policy_when_slippage_or_lifetime_out_of_range_then_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="slippage"):
        ProtectionPolicy(slippage=Decimal("0.6"))
    with pytest.raises(InvalidInput, match="good_til_s"):
        ProtectionPolicy(good_til_s=96 * 86_400)
    with pytest.raises(InvalidInput, match="below 1"):
        ExitRule(ExitRuleKind.PERCENT, Decimal(1))


# -- decide() with a protection policy -------------------------------------------------


def _signal(action: str = "BUY", **fields: Any) -> Signal:
    return Signal.create(
        market="ETH-USD",
        action=action,
        created_at=NOW,
        source=SignalSource.CLI,
        strategy="test",
        id=fields.pop("id", f"{action}-ETH"),
        **fields,
    )


def _decide(sig: Signal, policy: ProtectionPolicy | None, sizing: SizingPolicy) -> Decision:
    return decide(
        sig,
        valued(flat_account(Decimal(10_000)), MARKETS),
        MARKETS,
        owner=Subaccount(ADDRESS, 0),
        policy=sizing,
        limits=RiskLimits(max_leverage=Decimal(10), max_exposure=Decimal(10)),
        order_params=OrderParams(),
        trading_state=TradingState.ACTIVE,
        height=1000,
        now=NOW,
        protection=policy,
    )


def test_decide_when_required_and_no_stop_then_refused_unprotected() -> None:
    decision = _decide(
        _signal(), ProtectionPolicy(required=True), SizingPolicy.of_equity(Decimal("0.1"))
    )

    assert decision.outcome is Outcome.REFUSED
    assert decision.error_code == "UnprotectedEntry"


def test_decide_when_fixed_risk_then_sized_to_the_stops_worst_exit_not_the_signals_stop() -> None:
    risk = SizingPolicy.fixed_risk(Decimal("0.01"), scale_by_confidence=False)
    sig = _signal(stop_loss="1900")

    protected = _decide(sig, ProtectionPolicy(slippage=Decimal("0.02")), risk)
    unprotected = _decide(sig, None, risk)

    assert protected.outcome is Outcome.ACCEPTED and unprotected.outcome is Outcome.ACCEPTED
    assert protected.protection == ProtectionLevels(Side.BUY, Decimal(1900), None)
    assert unprotected.protection is None
    # 1 % of 10,000 over |2020 (worst entry) - 1862 (stop's worst exit)| vs over |2020 - 1900|
    assert protected.size is not None and unprotected.size is not None
    assert protected.size < unprotected.size
    assert protected.size * (Decimal(2020) - Decimal(1862)) <= Decimal(100)


def test_decide_when_stop_at_the_oracle_then_refused_invalid_protection() -> None:
    decision = _decide(
        _signal(stop_loss="2000", reference_price="2001"),
        POLICY,
        SizingPolicy.of_equity(Decimal("0.1")),
    )

    assert decision.outcome is Outcome.REFUSED
    assert decision.error_code == "InvalidProtection"


def test_decide_when_stop_beyond_liquidation_then_refused() -> None:
    # 9 x leverage long: liquidation about 11 % below; a stop 20 % below never fires first.
    decision = _decide(_signal(stop_loss="1600"), POLICY, SizingPolicy.of_equity(Decimal(9)))

    assert decision.outcome is Outcome.REFUSED
    assert decision.message is not None and "liquidation price" in decision.message


def test_decide_when_accepted_then_levels_journaled_with_the_decision() -> None:
    decision = _decide(
        _signal(stop_loss="1900", take_profit="2100"),
        POLICY,
        SizingPolicy.of_equity(Decimal("0.1")),
    )

    restored = Decision.from_dict(decision.to_dict())

    assert restored.protection == ProtectionLevels(Side.BUY, Decimal(1900), Decimal(2100))
    assert any(label.startswith("stop-loss trigger") for label, _ in decision.arithmetic)
