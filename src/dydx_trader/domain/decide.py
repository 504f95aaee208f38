"""The decision: one signal, one account, one answer. A pure function.

:func:`decide` takes everything it needs as arguments (the account valued at
oracle prices, the markets, the orders still in flight, the rules, the
trading state, the chain height and the time) and returns a
:class:`~dydx_trader.domain.decision.Decision`: ACCEPTED with the order to send
and the worst case it reserves, or REFUSED with the reason, the arithmetic that
led there and the cap that bound the size. Nothing is raised for a domain
reason and nothing is read from outside: the account actor does the I/O around it.

The steps, in order: the market must be known, ACTIVE and priced, and cross
(an ISOLATED market is refused except for a CLOSE); the orders in
flight are reserved at their worst case (:mod:`~dydx_trader.domain.reservation`);
a CLOSE takes the whole expected position, reduce-only; a BUY or SELL is priced
(an IOC at the oracle +/- slippage, a resting order at the signal's price within
that bound), sized under every worst case, and read in the position mode
(:mod:`~dydx_trader.domain.position_mode`: in ``target`` mode a BUY while long
does nothing and a BUY while short closes it and opens a long); the trading state may refuse it
(HALTED refuses everything; REDUCING and FLATTENING let through only an order
that shrinks a position in every outcome, and send it reduce-only IOC); a
reduce-only order is checked against the chain's rules; an entry's protection
(:mod:`~dydx_trader.domain.entry_protection`) is chosen before sizing (a
fixed-risk size is measured to the stop that will be placed) and checked after;
the intent gets its deterministic client id and a good-til-block past ``height``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from dydx_trader.domain.account import Subaccount
from dydx_trader.domain.arithmetic import Line
from dydx_trader.domain.decision import Decision
from dydx_trader.domain.entry_protection import levels_for, sizing_stop, verify
from dydx_trader.domain.errors import (
    InvalidInput,
    IsolatedMarketNotTraded,
    NothingToTrade,
    Refusal,
    TradingHalted,
)
from dydx_trader.domain.margin import MarginState, MarketMath, lookup
from dydx_trader.domain.market import MarketSpec, MarketType
from dydx_trader.domain.order import OrderFlags, OrderIntent, TimeInForce, derive_client_id
from dydx_trader.domain.order_params import OrderParams
from dydx_trader.domain.pre_trade import RiskLimits, evaluate_order
from dydx_trader.domain.proposal import OrderProposal
from dydx_trader.domain.protection import ProtectionPolicy
from dydx_trader.domain.reservation import ReservationCache, Reserved, reserve
from dydx_trader.domain.side import Side
from dydx_trader.domain.signal import Action, HintKind, Signal
from dydx_trader.domain.sizing import PositionSizer, Refused
from dydx_trader.domain.sizing_policy import SizingPolicy, SizingRequest
from dydx_trader.domain.trading_state import TradingState, may_trade
from dydx_trader.domain.units import PPM, usdc


def decide(
    signal: Signal,
    account: MarginState,
    markets: Mapping[str, MarketSpec],
    *,
    owner: Subaccount,
    policy: SizingPolicy,
    limits: RiskLimits,
    order_params: OrderParams,
    trading_state: TradingState,
    height: int,
    now: datetime,
    in_flight: Sequence[OrderProposal] = (),
    atr: Decimal | None = None,
    trading_reason: str = "",
    protection: ProtectionPolicy | None = None,
    reservations: ReservationCache | None = None,
) -> Decision:
    """The decision on ``signal`` for ``owner``'s subaccount (see the module docstring).

    ``account`` is the subaccount valued at ``markets``' oracle prices (before
    the orders ``in_flight``); ``markets`` holds the signal's market and every
    market the account or an order in flight trades. ``limits`` are the caps of
    the signal's market; ``atr`` its average true range in USDC (for a
    volatility-target policy, and for ATR protection defaults);
    ``trading_state`` (with the reason it was set, ``trading_reason``) gates what
    may be sent; ``height`` is the chain's latest block height; ``now`` (aware)
    stamps the decision; ``protection`` the stop-loss / take-profit policy.
    ``reservations`` keeps the last folding of the orders in flight (the
    caller's, only for speed).
    """
    lines: list[Line] = _account_lines(account, len(in_flight))
    bound_by: str | None = None
    try:
        if signal.action is Action.HOLD:
            raise NothingToTrade("a HOLD signal asks for nothing")
        math = lookup(markets, signal.market)
        math.spec.require_tradable()
        if trading_state is TradingState.HALTED:
            # Nothing goes out: say so first, not what the position mode or sizing thinks.
            _halt(trading_state, trading_reason)
        if signal.action is not Action.CLOSE:
            _require_cross(math.spec)
        reserved = reserve(account, in_flight, markets, signal.market, reservations)
        # In REDUCING an order may only go out as a reduce-only IOC: price it as one.
        time_in_force = (
            TimeInForce.IOC if trading_state in _REDUCE_ONLY else order_params.time_in_force
        )
        levels = levels_for(signal, math, protection, atr)
        stop = sizing_stop(signal, math, levels, protection)
        planned = _order(
            signal, math, reserved, policy, limits, order_params, time_in_force, atr, lines, stop
        )
        if isinstance(planned, Refused):
            bound = None if planned.bound_by is None else planned.bound_by.value
            return _refused(signal, planned.error, lines, now, bound)
        order, bound_by = planned
        order = _gate(order, reserved, trading_state, trading_reason)
        if order.reduce_only:
            refusal = evaluate_order(reserved.expected, math, order, limits)
            if refusal is not None:
                raise refusal
        if order.reduce_only:
            levels = None
        else:
            levels, protected = verify(levels, reserved.expected, math, order, stop)
            lines.extend(protected)
        lines.append(("pre-trade checks", "passed"))
        intent = _intent(signal, owner, math, order, order_params, height)
    except Refusal as error:
        return _refused(signal, error, lines, now, bound_by)
    lines.append(("good-til-block", f"{intent.good_til_block} (height {height})"))
    return Decision.accepted(
        signal_id=signal.id,
        market=signal.market,
        side=order.side,
        size=_on_grid(order.size, math.spec.step_size),
        quantums=intent.quantums,
        price=_on_grid(order.price, math.spec.tick_size),
        decided_at=now,
        arithmetic=lines,
        bound_by=bound_by,
        intent=intent,
        reservation=order,
        protection=levels,
    )


_REDUCE_ONLY = (TradingState.REDUCING, TradingState.FLATTENING)


def _require_cross(spec: MarketSpec) -> None:
    """Refuse to open or add to a position in an ISOLATED market.

    On dYdX an isolated position must live alone in its own (child) subaccount,
    funded by a transfer, and is sized against that subaccount's collateral. The
    trader trades one subaccount and never moves collateral, so it would place
    the order beside its cross positions, where the chain removes it (2005).
    """
    if spec.market_type is MarketType.ISOLATED:
        raise IsolatedMarketNotTraded(
            f"{spec.ticker} is an ISOLATED market: dydx-trader opens positions in cross "
            "markets only (an isolated position needs its own child subaccount, funded by "
            "a transfer); trade it by hand or drop it from the strategies",
            market=spec.ticker,
        )


def _order(
    signal: Signal,
    math: MarketMath,
    reserved: Reserved,
    policy: SizingPolicy,
    limits: RiskLimits,
    params: OrderParams,
    time_in_force: TimeInForce,
    atr: Decimal | None,
    lines: list[Line],
    stop: Decimal | None,
) -> tuple[OrderProposal, str | None] | Refused:
    """The order the signal asks for, priced and sized, and the cap that bound it;
    or the sizer's refusal."""
    spec = math.spec
    oracle = math.oracle_price
    _terms_lines(reserved.expected, math, lines)
    if signal.action is Action.CLOSE:
        fee = _fee(params, TimeInForce.IOC, lines)
        line = reserved.expected.lines.get(spec.ticker)
        if line is None:
            raise NothingToTrade(f"no open position in {signal.market} to close")
        side = Side.SELL if line.size > 0 else Side.BUY
        size = abs(line.size)
        lines.append(("close", f"{size} {spec.base_asset} reduce-only"))
        lines.append(("oracle price", f"{oracle} USDC"))
        price = _worst_price(spec, side, oracle, params)
        lines.append(("worst price (slippage bound)", f"{price} USDC"))
        return OrderProposal(spec.ticker, side, size, price, fee, reduce_only=True), None
    side = Side.BUY if signal.action is Action.BUY else Side.SELL
    fee = _fee(params, time_in_force, lines)
    lines.append(("oracle price", f"{oracle} USDC"))
    if time_in_force is TimeInForce.IOC:
        price = _worst_price(spec, side, oracle, params)
        lines.append(("worst price (slippage bound)", f"{price} USDC"))
    else:
        price = _limit_price(spec, side, oracle, signal, params)
        lines.append((f"limit price ({time_in_force.value})", f"{price} USDC"))
    held = reserved.expected.lines.get(spec.ticker)
    request = _request(signal, side, price, fee, atr, stop)
    request = replace(
        request,
        position=Decimal(0) if held is None else held.size,
        position_rule=params.position,
    )
    sized = PositionSizer(policy, limits).size(request, reserved.worst_cases, math)
    lines.extend(sized.lines)
    if isinstance(sized, Refused):
        return sized
    return OrderProposal(spec.ticker, side, sized.size, price, fee), sized.bound_by.value


def _terms_lines(account: MarginState, math: MarketMath, lines: list[Line]) -> None:
    """The subaccount's own leverage setting in the market, when it has one."""
    custom = account.custom_imf_ppm.get(math.ticker, 0)
    if custom:
        lines.append(
            ("your leverage setting (chain)", f"{PPM / Decimal(custom):.4g}x (IMF {custom} ppm)")
        )


def _fee(params: OrderParams, time_in_force: TimeInForce, lines: list[Line]) -> int:
    """The fee rate (ppm) an order of ``time_in_force`` is sized with, and its line."""
    fees = params.fees
    fee = fees.fee_ppm(time_in_force)
    lines.append(("fee rate", f"{fee} ppm ({fees.describe()})"))
    return fee


def _refused(
    signal: Signal, error: Refusal, lines: list[Line], now: datetime, bound_by: str | None
) -> Decision:
    return Decision.refused(
        signal_id=signal.id,
        market=signal.market,
        error=error,
        decided_at=now,
        arithmetic=lines,
        bound_by=bound_by,
    )


def _gate(
    order: OrderProposal, reserved: Reserved, state: TradingState, reason: str
) -> OrderProposal:
    """``order`` as the trading state lets it go out, or :class:`TradingHalted`.

    In REDUCING, an order that shrinks the position in every outcome of the
    orders in flight goes out reduce-only (as an IOC: the chain allows no other),
    so the chain itself stops it from ever growing a position.
    """
    reduces = order.reduce_only or all(
        _reduces(state_, order) for state_ in (*reserved.worst_cases, reserved.expected)
    )
    _halt(state, reason, reduces=reduces)
    if state in _REDUCE_ONLY and not order.reduce_only:
        return OrderProposal(
            order.market, order.side, order.size, order.price, order.fee_ppm, reduce_only=True
        )
    return order


def _halt(state: TradingState, reason: str, *, reduces: bool = False) -> None:
    """Raise :class:`TradingHalted` when ``state`` refuses an order (that ``reduces``
    a position or not), naming why the state was set."""
    refusal = may_trade(state, reduces)
    if refusal is not None:
        message = f"{refusal.message} ({reason})" if reason else refusal.message
        raise TradingHalted(message, **refusal.numbers)


def _reduces(state: MarginState, order: OrderProposal) -> bool:
    line = state.lines.get(order.market)
    if line is None:
        return False
    return (line.size > 0) != (order.side is Side.BUY) and order.size <= abs(line.size)


def _intent(
    signal: Signal,
    owner: Subaccount,
    math: MarketMath,
    order: OrderProposal,
    params: OrderParams,
    height: int,
) -> OrderIntent:
    spec = math.spec
    reduce_only = order.reduce_only
    return OrderIntent(
        signal_id=signal.id,
        address=owner.address,
        subaccount_number=owner.number,
        market=spec.ticker,
        clob_pair_id=spec.clob_pair_id,
        side=order.side,
        quantums=spec.size_to_quantums(order.size),
        subticks=spec.price_to_subticks(order.price, order.side),
        time_in_force=TimeInForce.IOC if reduce_only else params.time_in_force,
        reduce_only=reduce_only,
        order_flags=OrderFlags.SHORT_TERM,
        client_id=derive_client_id(owner.address, owner.number, signal.id),
        good_til_block=height + params.good_til_block_offset,
    )


def _request(
    signal: Signal,
    side: Side,
    price: Decimal,
    fee_ppm: int,
    atr: Decimal | None,
    stop: Decimal | None,
) -> SizingRequest:
    hint = signal.sizing
    return SizingRequest(
        market=signal.market,
        side=side,
        price=price,
        confidence=signal.confidence,
        stop_price=stop,
        atr=atr,
        notional_hint=hint.value if hint and hint.kind is HintKind.NOTIONAL_USDC else None,
        equity_fraction_hint=hint.value if hint and hint.kind is HintKind.EQUITY_FRACTION else None,
        fee_ppm=fee_ppm,
    )


def _worst_price(spec: MarketSpec, side: Side, oracle: Decimal, params: OrderParams) -> Decimal:
    """The IOC limit: oracle +/- slippage, on a tick, rounded to the passive side
    (a BUY never pays more, a SELL never takes less, than the bound)."""
    subticks = spec.price_to_subticks(oracle * (1 + params.slippage * side.sign), side)
    return spec.subticks_to_price(subticks)


def _limit_price(
    spec: MarketSpec, side: Side, oracle: Decimal, signal: Signal, params: OrderParams
) -> Decimal:
    """A resting order's limit: the signal's price (or the oracle), on a tick,
    rounded to the passive side; refused when beyond the slippage bound."""
    wanted = signal.reference_price or oracle
    bound = oracle * (1 + params.slippage * side.sign)
    if (wanted - bound) * side.sign > 0:
        raise InvalidInput(
            f"limit price {wanted} is beyond the slippage bound {bound:.6f} "
            f"around the oracle {oracle}",
            price=wanted,
            oracle_price=oracle,
        )
    return spec.subticks_to_price(spec.price_to_subticks(wanted, side))


def _account_lines(account: MarginState, in_flight: int) -> list[Line]:
    lines = [
        ("equity", f"{usdc(account.net_collateral):.2f} USDC"),
        ("free collateral (most conservative)", f"{usdc(account.sizing_free_collateral):.2f} USDC"),
    ]
    if in_flight:
        lines.append(("orders in flight (reserved at their worst case)", str(in_flight)))
    return lines


def _on_grid(value: Decimal, grid: Decimal) -> Decimal:
    """``value`` written at the precision of its market's ``grid`` (tick or step
    size): 3742.0, not 3742.000000. The same value, never a rounded one."""
    exponent = grid.normalize().as_tuple().exponent
    places = min(0, exponent) if isinstance(exponent, int) else 0
    shown = value.quantize(Decimal(1).scaleb(places))
    return shown if shown == value else value
