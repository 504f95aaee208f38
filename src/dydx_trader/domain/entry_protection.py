"""An entry's protection, decided with the entry: the levels, the stop the size
is measured to, and the checks that refuse a protection that cannot work.

:func:`decide <dydx_trader.domain.decide.decide>` calls :func:`levels_for`
before sizing (a fixed-risk size is measured to the stop that will actually be
placed: its worst exit price, on the tick) and :func:`verify` once the size is
known (the stop must not trigger at once, nor lie beyond the liquidation price
of the position the entry leaves).
"""

from __future__ import annotations

from decimal import Decimal

from dydx_trader.domain.arithmetic import Line
from dydx_trader.domain.errors import UnprotectedEntry
from dydx_trader.domain.margin import MarginState, MarketMath, fill_cash_flow, liquidation_price
from dydx_trader.domain.proposal import OrderProposal
from dydx_trader.domain.protection import (
    ProtectionLevels,
    ProtectionPolicy,
    check_entry,
    entry_levels,
    stop_exit_price,
)
from dydx_trader.domain.side import Side
from dydx_trader.domain.signal import Signal
from dydx_trader.domain.units import usdc


def levels_for(
    signal: Signal,
    math: MarketMath,
    policy: ProtectionPolicy | None,
    atr: Decimal | None,
) -> ProtectionLevels | None:
    """The levels protecting ``signal``'s entry (``None`` for CLOSE and HOLD, or when
    protection is off). Raises :class:`UnprotectedEntry` when protection is required
    and there would be no stop."""
    side = signal.side
    if side is None or policy is None or not policy.enabled:
        return None
    oracle = math.oracle_price
    levels = entry_levels(
        math.spec,
        side,
        signal.reference_price or oracle,
        policy,
        stop_loss=signal.stop_loss,
        take_profit=signal.take_profit,
        atr=atr,
    )
    if policy.required and levels.stop_loss is None:
        rule = "an ATR default needs the market's ATR" if policy.default_stop else "none is set"
        raise UnprotectedEntry(
            f"protection.required: the {side.value} {signal.market} entry would have no "
            f"stop-loss (the signal carries none and the default stop: {rule})",
            market=signal.market,
        )
    return levels


def sizing_stop(
    signal: Signal,
    math: MarketMath,
    levels: ProtectionLevels | None,
    policy: ProtectionPolicy | None,
) -> Decimal | None:
    """The stop a fixed-risk size is measured to: the worst price the stop that will be
    placed can exit at, or, without protection, the signal's own stop."""
    if levels is None or policy is None or levels.stop_loss is None:
        return signal.stop_loss
    return stop_exit_price(math.spec, levels, policy)


def verify(
    levels: ProtectionLevels | None,
    state: MarginState,
    math: MarketMath,
    order: OrderProposal,
) -> ProtectionLevels | None:
    """The levels the filled ``order`` leaves to protect, checked; ``None`` when the
    order leaves no position on its own side (it only reduces the other one).

    ``state`` is the account as if every order in flight filled. Raises
    :class:`~dydx_trader.domain.errors.InvalidProtection`.
    """
    if levels is None or levels.empty:
        return None
    delta = math.base_quantums(order.position_delta)
    after = state.after(
        math, delta, fill_cash_flow(order.position_delta, order.price, order.fee_ppm)
    )
    line = after.lines.get(math.ticker)
    if line is None or (line.size > 0) != (order.side is Side.BUY):
        return None
    other = usdc(after.maintenance - line.maintenance)
    liquidation = liquidation_price(
        usdc(after.net_collateral),
        line.size,
        math.oracle_price,
        math.spec.maintenance_margin_fraction,
        other,
    )
    refusal = check_entry(levels, math.oracle_price, liquidation)
    if refusal is not None:
        raise refusal
    return levels


def protection_lines(levels: ProtectionLevels | None) -> list[Line]:
    """The decision's arithmetic lines for the protection it will place."""
    if levels is None:
        return []
    return [
        (f"{label} trigger (placed once filled)", "none" if price is None else f"{price} USDC")
        for label, price in (("stop-loss", levels.stop_loss), ("take-profit", levels.take_profit))
    ]
