"""An entry's protection, decided with the entry: the levels, the stop the size
is measured to, and the checks that refuse a protection that cannot work.

:func:`decide <dydx_trader.domain.decide.decide>` calls :func:`levels_for`
before sizing (a fixed-risk size is measured to the stop that will actually be
placed: its worst exit price, on the tick) and :func:`verify` once the size is
known (the stop must not trigger at once, nor lie beyond the liquidation price
of the position the entry leaves).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_UP, Decimal

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

_CENT = Decimal("0.01")


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
    stop_exit: Decimal | None = None,
) -> tuple[ProtectionLevels | None, list[Line]]:
    """The levels the filled ``order`` leaves to protect, checked, and the decision's
    lines for them; ``None`` (no lines) when the order leaves no position on its own
    side (it only reduces the other one).

    ``state`` is the account as if every order in flight filled; ``stop_exit`` the
    worst price the stop can exit at (USDC), for the loss at the stop. Raises
    :class:`~dydx_trader.domain.errors.InvalidProtection`.
    """
    if levels is None or levels.empty:
        return None, []
    delta = math.base_quantums(order.position_delta)
    after = state.after(
        math, delta, fill_cash_flow(order.position_delta, order.price, order.fee_ppm)
    )
    line = after.lines.get(math.ticker)
    if line is None or (line.size > 0) != (order.side is Side.BUY):
        return None, []
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
    lines = protection_lines(levels)
    shown = "none (the account cannot be liquidated by it)"
    if liquidation is not None:
        # Shown on the tick toward the position: never further away than it is.
        toward = ROUND_CEILING if line.size > 0 else ROUND_FLOOR
        shown = f"{liquidation.quantize(math.spec.tick_size, toward)} USDC"
    lines.append(("liquidation price after the fill", shown))
    if levels.stop_loss is not None and stop_exit is not None:
        # Worst entry to the stop's worst exit, for this order's size (before fees),
        # rounded up to the cent.
        loss = (order.size * abs(order.price - stop_exit)).quantize(_CENT, ROUND_UP)
        lines.append(("loss at the stop", f"{loss} USDC (exit at worst {stop_exit} USDC)"))
    return levels, lines


def protection_lines(levels: ProtectionLevels | None) -> list[Line]:
    """The decision's arithmetic lines for the protection it will place."""
    if levels is None:
        return []
    return [
        (f"{label} trigger (placed once filled)", "none" if price is None else f"{price} USDC")
        for label, price in (("stop-loss", levels.stop_loss), ("take-profit", levels.take_profit))
    ]
