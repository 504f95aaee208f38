"""The PositionSizer: from a signal's side, confidence and stop to an order size.

The :class:`~dydx_trader.domain.sizing_policy.SizingPolicy` turns the account's
equity into a target size; the
:class:`~dydx_trader.domain.pre_trade.RiskLimits` then cap it (free collateral
after a buffer, the user's and the market's maximum leverage, portfolio
exposure, per-market notional); the result is floored to the market's step and
proved against the pre-trade check (:func:`~dydx_trader.domain.pre_trade.evaluate_order`),
stepping back one step at a time where the chain's integer rounding bites. The
answer is a :class:`Sized` with the arithmetic that produced it and the cap
that bound it, or a :class:`Refused` with the reason.

The account is given as one or more *worst cases* (see
:mod:`~dydx_trader.domain.reservation`): with orders in flight the sizer holds
the order to every one of them, so it fits whichever of them comes true.

A trade against an existing position needs margin only for the part that
opens: closing is always within the caps, the caps bound what is added after.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from dydx_trader.domain.arithmetic import (
    QUOTE_QUANTUMS,
    USDC,
    Step,
    money,
    plain,
)
from dydx_trader.domain.errors import (
    BelowMinimumOrderSize,
    ExposureLimitExceeded,
    InsufficientFreeCollateral,
    InvalidInput,
    LeverageLimitExceeded,
    MarketNotTradable,
    NotionalLimitExceeded,
    Refusal,
)
from dydx_trader.domain.margin import MarginState, MarketMath
from dydx_trader.domain.market import MarketStatus
from dydx_trader.domain.pre_trade import RiskLimits, evaluate_order
from dydx_trader.domain.proposal import OrderProposal
from dydx_trader.domain.side import Side
from dydx_trader.domain.sizing_policy import PolicyKind, SizingPolicy, SizingRequest
from dydx_trader.domain.sizing_result import Bound, Refused, Sized
from dydx_trader.domain.units import PPM, usdc

__all__ = ("Bound", "PositionSizer", "Refused", "Sized")

_ZERO: Final = Decimal(0)
_PPM: Final = Decimal(PPM)
# The linear caps miss the chain's integer rounding (notional truncation, IMR
# ceiling, fill floor, fee ceiling: each under one quote quantum); the exact
# check catches it within a step or two.
_MAX_STEP_BACK: Final = 4


_CAP_LABELS: Final = MappingProxyType({bound: f"cap: {bound.value}" for bound in Bound})
_BOUND_LABELS: Final = MappingProxyType(
    {bound: f"bound by {bound.value}, floored to the step" for bound in Bound}
)
_BOUND_ERRORS: Final[MappingProxyType[Bound, type[Refusal]]] = MappingProxyType(
    {
        Bound.POLICY: BelowMinimumOrderSize,
        Bound.FREE_COLLATERAL: InsufficientFreeCollateral,
        Bound.USER_LEVERAGE: LeverageLimitExceeded,
        Bound.OTHER_LEVERAGE: LeverageLimitExceeded,
        Bound.MARKET_LEVERAGE: LeverageLimitExceeded,
        Bound.EXPOSURE: ExposureLimitExceeded,
        Bound.MARKET_NOTIONAL: NotionalLimitExceeded,
    }
)


class PositionSizer:
    """Sizes orders under one policy and one set of limits (pure)."""

    def __init__(self, policy: SizingPolicy, limits: RiskLimits) -> None:
        self.policy = policy
        self.limits = limits

    def size(
        self, request: SizingRequest, worst_cases: Sequence[MarginState], math: MarketMath
    ) -> Sized | Refused:
        """The order size for ``request`` in ``math``'s market, or why there is none.

        ``worst_cases`` are the account valued as each outcome of the orders in
        flight may leave it (one state when nothing is in flight); the size fits
        every one of them.
        """
        steps: list[Step] = []
        try:
            return self._size(request, tuple(worst_cases), math, steps)
        except Refusal as error:
            return Refused(request.market, request.side, error, tuple(steps))

    def _size(
        self,
        request: SizingRequest,
        states: tuple[MarginState, ...],
        math: MarketMath,
        steps: list[Step],
    ) -> Sized | Refused:
        spec = math.spec
        if spec.status is not MarketStatus.ACTIVE:
            raise MarketNotTradable(
                f"{spec.ticker} is {spec.status.value}, only ACTIVE markets are traded",
                market=spec.ticker,
                status=spec.status.value,
            )
        # Worst cases share their net collateral; their free collateral may differ.
        net_collateral = states[0].net_collateral
        equity = usdc(net_collateral)
        steps.append(("equity (chain net collateral)", equity, USDC))
        if net_collateral <= 0:
            raise InsufficientFreeCollateral(
                f"equity is {money(equity)} USDC; nothing can be opened", equity=equity
            )
        reserve = self.limits.buffer_quantums(net_collateral)
        free = min([state.sizing_free_collateral for state in states])
        steps.append(("free collateral (most conservative view)", free, QUOTE_QUANTUMS))
        steps.append(("kept free (buffer)", reserve, QUOTE_QUANTUMS))
        asset = spec.base_asset
        target = self._target(request, equity, asset, steps)
        rule = request.position_rule
        if rule is not None:
            target = rule.order_size(request.market, request.side, request.position, target)
            steps.append((f"order size ({rule.mode.value} mode)", target, asset))
        bound, size = Bound.POLICY, target
        for cap_bound, cap in self._caps(request, math, states):
            steps.append((_CAP_LABELS[cap_bound], cap, asset))
            if cap < size:
                bound, size = cap_bound, cap
        quantums = math.whole_step_quantums(size)
        quantized = math.size_of(quantums)
        steps.append((_BOUND_LABELS[bound], quantized, asset))
        refusal: Refusal | None = None
        for _ in range(_MAX_STEP_BACK):
            if quantums <= 0:
                break
            refusal = self._check(request, quantized, states, math)
            if refusal is None:
                notional = quantized * request.price
                steps.append(("notional at price", notional, USDC))
                return Sized(
                    spec.ticker, request.side, quantized, quantums, notional, bound, tuple(steps)
                )
            quantums -= spec.step_base_quantums
            quantized = math.size_of(quantums)
            steps.append(("one step back (exact check)", quantized, asset))
        else:
            # Still refused after every step back: the caps and the exact check
            # disagree by more than rounding; the check's own reason stands.
            assert refusal is not None
            return Refused(spec.ticker, request.side, refusal, tuple(steps), bound)
        error = self._below_step(request, states, math, bound, target)
        return Refused(spec.ticker, request.side, error, tuple(steps), bound)

    def _check(
        self,
        request: SizingRequest,
        size: Decimal,
        states: tuple[MarginState, ...],
        math: MarketMath,
    ) -> Refusal | None:
        order = OrderProposal(request.market, request.side, size, request.price, request.fee_ppm)
        for state in states:
            refusal = evaluate_order(state, math, order, self.limits)
            if refusal is not None:
                return refusal
        return None

    def _target(
        self, request: SizingRequest, equity: Decimal, asset: str, steps: list[Step]
    ) -> Decimal:
        """The policy's size (base units) before caps."""
        policy = self.policy
        price = request.price
        if request.notional_hint is not None:
            steps.append(("signal's notional hint", request.notional_hint, USDC))
            return request.notional_hint / price
        if request.equity_fraction_hint is not None:
            notional = equity * request.equity_fraction_hint
            steps.append(("signal's hint: fraction of equity", notional, USDC))
            return notional / price
        kind = policy.kind
        if kind is PolicyKind.FIXED_NOTIONAL:
            assert policy.notional is not None
            steps.append(("policy: fixed notional", policy.notional, USDC))
            size = policy.notional / price
        elif kind is PolicyKind.EQUITY_FRACTION:
            assert policy.equity_fraction is not None
            notional = equity * policy.equity_fraction
            steps.append(("policy: fraction of equity", notional, USDC))
            size = notional / price
        else:
            assert policy.risk_fraction is not None
            risk = equity * policy.risk_fraction
            steps.append(("policy: risk fraction of equity", risk, USDC))
            if kind is PolicyKind.FIXED_RISK:
                distance = _stop_distance(request)
                steps.append(("stop distance |price - stop|", distance, USDC))
            else:
                if request.atr is None:
                    raise InvalidInput(
                        f"a volatility-target policy needs the ATR of {request.market}"
                    )
                distance = request.atr * policy.atr_multiple
                steps.append(("ATR x multiple", distance, USDC))
            size = risk / distance
        steps.append(("target size", size, asset))
        if policy.scale_by_confidence:
            size *= request.confidence
            steps.append(("confidence", request.confidence, ""))
            steps.append(("target x confidence", size, asset))
        return size

    def _caps(
        self, request: SizingRequest, math: MarketMath, states: tuple[MarginState, ...]
    ) -> list[tuple[Bound, Decimal]]:
        """The largest trade (base units, unquantized) each cap allows: the
        tightest over the worst cases."""
        if len(states) == 1:
            return _caps_of(request, math, states[0], self.limits)
        caps: dict[Bound, Decimal] = {}
        for state in states:
            for bound, cap in _caps_of(request, math, state, self.limits):
                if bound not in caps or cap < caps[bound]:
                    caps[bound] = cap
        return list(caps.items())

    def _below_step(
        self,
        request: SizingRequest,
        states: tuple[MarginState, ...],
        math: MarketMath,
        bound: Bound,
        target: Decimal,
    ) -> Refusal:
        """Why not even one step fits: the binding cap's own error, with its numbers."""
        spec = math.spec
        if bound is Bound.POLICY:
            return BelowMinimumOrderSize(
                f"the policy sizes {plain(target)} {spec.base_asset}, below one step "
                f"({spec.step_size}) of {spec.ticker}",
                market=spec.ticker,
                size=target,
                step_size=spec.step_size,
            )
        error_class = _BOUND_ERRORS[bound]
        refusal = self._check(request, spec.step_size, states, math)
        if isinstance(refusal, error_class):
            return refusal
        return error_class(
            f"{bound.value} leaves room for less than one step ({spec.step_size} "
            f"{spec.base_asset}) of {spec.ticker}",
            market=spec.ticker,
            step_size=spec.step_size,
        )


def _stop_distance(request: SizingRequest) -> Decimal:
    stop = request.stop_price
    if stop is None:
        raise InvalidInput("a fixed-risk policy needs the signal's stop price")
    distance = request.price - stop if request.side is Side.BUY else stop - request.price
    if distance <= 0:
        raise InvalidInput(
            f"a {request.side.value} stop at {stop} is not on the losing side of "
            f"the price {request.price}",
            price=request.price,
            stop=stop,
        )
    return distance


def _caps_of(
    request: SizingRequest, math: MarketMath, state: MarginState, limits: RiskLimits
) -> list[tuple[Bound, Decimal]]:
    """Each cap's largest trade on one state.

    With ``u`` the position signed in the trade's direction, ``r = max(0, -u)``
    the part that closes, ``P`` the oracle and ``k`` the equity a unit costs
    (an adverse fill against the oracle, plus the fee), a cap
    ``|u + q| P <= C x (E - q k)`` gives ``q <= (C E - u P) / (P + C k)``;
    closing (``q <= r``) is always allowed. The costs lower the equity every
    other position is measured against too: the largest, ``N``, stays within
    your leverage cap ``L`` while ``q <= (E - N / L) / k``.

    In a market whose IMF scales with open interest, the two caps the IMF sets
    (free collateral, the market's maximum leverage) are taken again at the IMF
    the largest cap would bring (the trade raises open interest by what it
    opens): no smaller size brings a higher one, so the caps hold for whatever
    size is chosen under them.
    """
    oracle = math.oracle_price
    price = request.price
    line = state.lines.get(math.ticker)
    toward = _ZERO if line is None else (line.size if request.side is Side.BUY else -line.size)
    closing = -toward if toward < 0 else _ZERO
    adverse = (price - oracle) * request.side.sign
    cost = adverse if adverse > 0 else _ZERO
    if request.fee_ppm > 0:
        cost += price * request.fee_ppm / _PPM
    equity = usdc(state.net_collateral)
    held_value = toward * oracle
    reserve = limits.buffer_quantums(state.net_collateral)

    def room(multiple: Decimal, other: Decimal) -> Decimal:
        cap = (multiple * equity - other - held_value) / (oracle + multiple * cost)
        return cap if cap > closing else closing

    def margin_caps(imf_ppm: int) -> tuple[Decimal, Decimal]:
        """(free collateral, market leverage) caps with the position at ``imf_ppm``."""
        free = state.net_collateral - state.initial - reserve
        if line is not None and imf_ppm > line.imf_ppm:
            # The position held pays the higher IMF too.
            free -= -((-abs(line.notional) * imf_ppm) // PPM) - line.initial
        capacity = _fill_capacity(free, math.margin_per_unit(imf_ppm), closing, cost)
        if state.reported_free_collateral is not None:
            # The local indexer view (base IMF) never binds: its free collateral and
            # its per-unit margin are both no tighter than the chain view's.
            reported = _fill_capacity(
                state.reported_free_collateral - reserve, math.base_margin_per_unit, closing, cost
            )
            capacity = min(capacity, reported)
        return capacity, room(_PPM / imf_ppm, _ZERO)

    imf_ppm = state.imf_ppm(math)
    free_cap, market_cap = margin_caps(imf_ppm)
    other_gross = usdc(state.gross_notional - (abs(line.notional) if line is not None else 0))
    caps = [
        (Bound.FREE_COLLATERAL, free_cap),
        (Bound.USER_LEVERAGE, room(limits.max_leverage, _ZERO)),
        (Bound.MARKET_LEVERAGE, market_cap),
        (Bound.EXPOSURE, room(limits.max_exposure, other_gross)),
    ]
    largest_other = state.largest_line_except(math.ticker)
    if largest_other is not None and cost > 0:
        held_elsewhere = usdc(abs(largest_other.notional))
        other_room = (equity - held_elsewhere / limits.max_leverage) / cost
        caps.append((Bound.OTHER_LEVERAGE, other_room if other_room > closing else closing))
    if limits.max_market_notional is not None:
        notional_room = limits.max_market_notional / oracle - toward
        caps.append((Bound.MARKET_NOTIONAL, notional_room if notional_room > closing else closing))
    if math.open_interest_headroom is not None:
        largest = min(cap for _, cap in caps) - closing
        scaled = state.imf_ppm(math, math.base_quantums(largest)) if largest > 0 else imf_ppm
        if scaled > imf_ppm:
            free_cap, market_cap = margin_caps(scaled)
            caps[0] = (Bound.FREE_COLLATERAL, free_cap)
            caps[2] = (Bound.MARKET_LEVERAGE, market_cap)
    return caps


def _fill_capacity(free_quantums: int, margin: Decimal, closing: Decimal, cost: Decimal) -> Decimal:
    """The free-collateral capacity (base units): the closing part, plus what the
    free collateral left after closing opens at ``margin + cost`` USDC a unit."""
    free = usdc(free_quantums)
    if closing:
        free += closing * (margin - cost)
    return closing + free / (margin + cost) if free > 0 else closing
