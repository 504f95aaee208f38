"""The PositionSizer: from a signal's side, confidence and stop to an order size.

A :class:`SizingPolicy` turns the account's equity into a target size; the
:class:`~dydx_trader.domain.pre_trade.RiskLimits` then cap it (free collateral
after a buffer, the user's and the market's maximum leverage, portfolio
exposure, per-market notional); the result is floored to the market's step and
proved against the same pre-trade check the trade flow runs
(:func:`~dydx_trader.domain.pre_trade.check_order`). The answer is a
:class:`Sized` with the arithmetic that produced it, or a :class:`Refused`
with the reason.

A trade against an existing position needs margin only for the part that
opens: closing is always within the caps, the caps bound what is added after.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum
from typing import Final

from dydx_trader.domain.account import AccountSnapshot
from dydx_trader.domain.errors import (
    BelowMinimumOrderSize,
    DydxTraderError,
    ExposureLimitExceeded,
    InsufficientFreeCollateral,
    InvalidInput,
    LeverageLimitExceeded,
    MarketNotTradable,
    NotionalLimitExceeded,
)
from dydx_trader.domain.margin import free_collateral_capacity
from dydx_trader.domain.margin_state import MarginState, margin_state, require_fee_ppm, usdc
from dydx_trader.domain.market import MarketSpec, MarketStatus
from dydx_trader.domain.market_math import MarketMath, lookup
from dydx_trader.domain.numbers import require_fraction, require_positive
from dydx_trader.domain.pre_trade import RiskLimits, check_order, evaluate_order
from dydx_trader.domain.side import Side

_ZERO: Final = Decimal(0)
_CENT: Final = Decimal("0.01")
_MAX_EQUITY_FRACTION: Final = Decimal(100)
_MAX_STEP_BACK: Final = 4
_PPM: Final = Decimal(1_000_000)

__all__ = [
    "Bound",
    "PositionSizer",
    "Refused",
    "RiskLimits",
    "Sized",
    "SizingKind",
    "SizingPolicy",
    "SizingRequest",
    "Step",
    "check_order",
]


class SizingKind(StrEnum):
    """How a policy turns equity into a target size."""

    FIXED_NOTIONAL = "fixed_notional"  # a fixed USDC notional
    EQUITY_FRACTION = "equity_fraction"  # notional = fraction x equity
    FIXED_RISK = "fixed_risk"  # lose risk_fraction x equity if the stop is hit
    VOLATILITY_TARGET = "volatility_target"  # risk_fraction x equity per ATR x multiple


@dataclass(frozen=True, slots=True)
class SizingPolicy:
    """A sizing rule and its parameters (validated at construction).

    * ``FIXED_NOTIONAL``: ``notional`` USDC;
    * ``EQUITY_FRACTION``: ``equity_fraction`` x equity USDC of notional (> 1 is leverage);
    * ``FIXED_RISK``: size = ``risk_fraction`` x equity / |entry - stop| (needs a stop);
    * ``VOLATILITY_TARGET``: size = ``risk_fraction`` x equity / (ATR x ``atr_multiple``)
      (needs an ATR in USDC).

    With ``scale_by_confidence`` the target is multiplied by the signal's confidence.
    Prefer the named constructors (:meth:`fixed_notional`, ...).
    """

    kind: SizingKind
    notional: Decimal | None = None
    equity_fraction: Decimal | None = None
    risk_fraction: Decimal | None = None
    atr_multiple: Decimal = Decimal(2)
    scale_by_confidence: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.kind, SizingKind):
            # Config hands over the kind's name; anything else is refused.
            try:
                object.__setattr__(self, "kind", SizingKind(self.kind))
            except ValueError:
                known = ", ".join(kind.value for kind in SizingKind)
                raise InvalidInput(f"unknown sizing kind {self.kind!r} (known: {known})") from None
        required = {
            SizingKind.FIXED_NOTIONAL: ("notional", self.notional),
            SizingKind.EQUITY_FRACTION: ("equity fraction", self.equity_fraction),
            SizingKind.FIXED_RISK: ("risk fraction", self.risk_fraction),
            SizingKind.VOLATILITY_TARGET: ("risk fraction", self.risk_fraction),
        }[self.kind]
        name, value = required
        if value is None:
            raise InvalidInput(f"a {self.kind.value} policy needs a {name}", kind=self.kind.value)
        for label, given in (
            ("notional", self.notional),
            ("equity fraction", self.equity_fraction),
        ):
            if given is not None:
                require_positive(label, given)
        if self.equity_fraction is not None and self.equity_fraction > _MAX_EQUITY_FRACTION:
            raise InvalidInput(
                f"equity fraction {self.equity_fraction} is absurd (max {_MAX_EQUITY_FRACTION})",
                value=self.equity_fraction,
            )
        if self.risk_fraction is not None:
            require_positive("risk fraction", self.risk_fraction)
            require_fraction("risk fraction", self.risk_fraction)
        require_positive("ATR multiple", self.atr_multiple)

    @classmethod
    def fixed_notional(cls, notional: Decimal, *, scale_by_confidence: bool = True) -> SizingPolicy:
        return cls(
            SizingKind.FIXED_NOTIONAL, notional=notional, scale_by_confidence=scale_by_confidence
        )

    @classmethod
    def of_equity(cls, fraction: Decimal, *, scale_by_confidence: bool = True) -> SizingPolicy:
        return cls(
            SizingKind.EQUITY_FRACTION,
            equity_fraction=fraction,
            scale_by_confidence=scale_by_confidence,
        )

    @classmethod
    def fixed_risk(
        cls, risk_fraction: Decimal, *, scale_by_confidence: bool = True
    ) -> SizingPolicy:
        return cls(
            SizingKind.FIXED_RISK,
            risk_fraction=risk_fraction,
            scale_by_confidence=scale_by_confidence,
        )

    @classmethod
    def volatility_target(
        cls,
        risk_fraction: Decimal,
        atr_multiple: Decimal = Decimal(2),
        *,
        scale_by_confidence: bool = True,
    ) -> SizingPolicy:
        return cls(
            SizingKind.VOLATILITY_TARGET,
            risk_fraction=risk_fraction,
            atr_multiple=atr_multiple,
            scale_by_confidence=scale_by_confidence,
        )


@dataclass(frozen=True, slots=True)
class SizingRequest:
    """What to size: a market, a side and what the signal knows.

    ``price`` is the expected fill (reference/entry) price in USDC,
    ``confidence`` in [0, 1], ``stop_price`` and ``atr`` in USDC. A sizing
    hint, when the signal carries one, replaces the policy's target (and is
    not scaled by confidence): ``notional_hint`` USDC or
    ``equity_fraction_hint`` x equity. ``fee_ppm`` is the fee rate of the fill.
    """

    market: str
    side: Side
    price: Decimal
    confidence: Decimal = Decimal(1)
    stop_price: Decimal | None = None
    atr: Decimal | None = None
    notional_hint: Decimal | None = None
    equity_fraction_hint: Decimal | None = None
    fee_ppm: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.side, Side):
            raise InvalidInput(f"side must be BUY or SELL, not {self.side!r}")
        require_positive("price", self.price)
        require_fraction("confidence", self.confidence)
        if self.stop_price is not None:
            require_positive("stop price", self.stop_price)
        if self.atr is not None:
            require_positive("ATR", self.atr)
        if self.notional_hint is not None:
            require_positive("notional hint", self.notional_hint)
        if self.equity_fraction_hint is not None:
            require_positive("equity fraction hint", self.equity_fraction_hint)
            if self.equity_fraction_hint > _MAX_EQUITY_FRACTION:
                raise InvalidInput(
                    f"equity fraction hint {self.equity_fraction_hint} is absurd",
                    value=self.equity_fraction_hint,
                )
        if self.notional_hint is not None and self.equity_fraction_hint is not None:
            raise InvalidInput("give a notional hint or an equity fraction hint, not both")
        require_fee_ppm(self.fee_ppm)


class Bound(StrEnum):
    """What decided a size: the policy itself or the cap that bound it."""

    POLICY = "policy"
    FREE_COLLATERAL = "free collateral"
    USER_LEVERAGE = "your max leverage"
    MARKET_LEVERAGE = "market max leverage"
    EXPOSURE = "max exposure"
    MARKET_NOTIONAL = "max market notional"


Line = tuple[str, str]
# One step of the arithmetic: (label, value, unit). Kept as numbers and only
# rendered to text when someone reads ``lines``: formatting a dozen Decimals
# would cost more than the sizing itself.
Step = tuple[str, Decimal | int, str]
_USDC: Final = "USDC"
_QQ: Final = "quote quantums"  # an int, shown as USDC
_SIZE_PLACES: Final = Decimal("1e-8")


def _render(steps: tuple[Step, ...]) -> tuple[Line, ...]:
    return tuple((label, _format(value, unit)) for label, value, unit in steps)


def _format(value: Decimal | int, unit: str) -> str:
    if isinstance(value, int):
        return f"{_money(usdc(value))} USDC"
    if unit == _USDC:
        return f"{_money(value)} USDC"
    if value.adjusted() < 16:
        value = value.quantize(_SIZE_PLACES, ROUND_FLOOR)
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} {unit}" if unit else text


@dataclass(frozen=True, slots=True)
class Sized:
    """A size to trade: ``size`` base units (whole steps), ``quantums`` base
    quantums, ``notional`` USDC at the request price, ``bound_by`` what set it,
    ``steps`` the arithmetic in order as numbers and ``lines`` as text."""

    market: str
    side: Side
    size: Decimal
    quantums: int
    notional: Decimal
    bound_by: Bound
    steps: tuple[Step, ...]

    @property
    def lines(self) -> tuple[Line, ...]:
        """The arithmetic, one ``(label, value)`` pair per step, for a person."""
        return _render(self.steps)


@dataclass(frozen=True, slots=True)
class Refused:
    """No trade, because of ``error`` (a domain error carrying its numbers)."""

    market: str
    side: Side
    error: DydxTraderError
    steps: tuple[Step, ...] = ()

    @property
    def reason(self) -> str:
        return str(self.error)

    @property
    def lines(self) -> tuple[Line, ...]:
        """The arithmetic up to the refusal, then the reason."""
        return (*_render(self.steps), ("refused", self.reason))


_CAP_LABELS: Final = {bound: f"cap: {bound.value}" for bound in Bound}
_BOUND_LABELS: Final = {bound: f"bound by {bound.value}, floored to the step" for bound in Bound}


class PositionSizer:
    """Sizes orders under one policy and one set of limits (pure)."""

    def __init__(self, policy: SizingPolicy, limits: RiskLimits) -> None:
        self.policy = policy
        self.limits = limits

    def size(
        self,
        request: SizingRequest,
        account: AccountSnapshot,
        markets: Mapping[str, MarketSpec],
        oracle_prices: Mapping[str, Decimal] | None = None,
    ) -> Sized | Refused:
        """The order size for ``request`` on ``account``, or why there is none."""
        steps: list[Step] = []
        try:
            math = lookup(markets, request.market, oracle_prices)
            state = margin_state(account, markets, oracle_prices)
            return self._size(request, math, state, steps)
        except DydxTraderError as error:
            return Refused(request.market, request.side, error, tuple(steps))

    def _size(
        self, request: SizingRequest, math: MarketMath, state: MarginState, steps: list[Step]
    ) -> Sized | Refused:
        spec = math.spec
        if spec.status is not MarketStatus.ACTIVE:
            raise MarketNotTradable(
                f"{spec.ticker} is {spec.status.value}, only ACTIVE markets are traded",
                market=spec.ticker,
                status=spec.status.value,
            )
        equity = usdc(state.net_collateral)
        steps.append(("equity (chain net collateral)", equity, _USDC))
        if state.net_collateral <= 0:
            raise InsufficientFreeCollateral(
                f"equity is {_money(equity)} USDC; nothing can be opened", equity=equity
            )
        reserve = self.limits.buffer_quantums(state.net_collateral)
        steps.append(
            ("free collateral (most conservative view)", state.sizing_free_collateral, _QQ)
        )
        steps.append(("kept free (buffer)", reserve, _QQ))
        asset = spec.base_asset
        target = self._target(request, equity, asset, steps)
        bound, size = Bound.POLICY, target
        for cap_bound, cap in self._caps(request, math, state, equity, reserve):
            steps.append((_CAP_LABELS[cap_bound], cap, asset))
            if cap < size:
                bound, size = cap_bound, cap
        quantums = math.whole_step_quantums(size)
        quantized = math.size_of(quantums)
        steps.append((_BOUND_LABELS[bound], quantized, asset))
        refusal: DydxTraderError | None = None
        for _ in range(_MAX_STEP_BACK):
            if quantums <= 0:
                break
            refusal = evaluate_order(
                state,
                math,
                request.side,
                quantized,
                request.price,
                self.limits,
                fee_ppm=request.fee_ppm,
            )
            if refusal is None:
                notional = quantized * request.price
                steps.append(("notional at price", notional, _USDC))
                return Sized(
                    market=spec.ticker,
                    side=request.side,
                    size=quantized,
                    quantums=quantums,
                    notional=notional,
                    bound_by=bound,
                    steps=tuple(steps),
                )
            # Integer rounding the linear caps do not see: one step back.
            quantums -= spec.step_base_quantums
            quantized = math.size_of(quantums)
            steps.append(("one step back (exact check)", quantized, asset))
        else:
            # Still refused after every step back: the caps and the exact check
            # disagree by more than rounding; the check's own reason stands.
            assert refusal is not None
            return Refused(spec.ticker, request.side, refusal, tuple(steps))
        return Refused(
            spec.ticker,
            request.side,
            self._below_step(request, math, state, bound, target),
            tuple(steps),
        )

    def _target(
        self, request: SizingRequest, equity: Decimal, asset: str, steps: list[Step]
    ) -> Decimal:
        """The policy's size (base units) before caps."""
        policy = self.policy
        price = request.price
        if request.notional_hint is not None:
            steps.append(("signal's notional hint", request.notional_hint, _USDC))
            return request.notional_hint / price
        if request.equity_fraction_hint is not None:
            notional = equity * request.equity_fraction_hint
            steps.append(("signal's hint: fraction of equity", notional, _USDC))
            return notional / price
        kind = policy.kind
        if kind is SizingKind.FIXED_NOTIONAL:
            assert policy.notional is not None
            steps.append(("policy: fixed notional", policy.notional, _USDC))
            size = policy.notional / price
        elif kind is SizingKind.EQUITY_FRACTION:
            assert policy.equity_fraction is not None
            notional = equity * policy.equity_fraction
            steps.append(("policy: fraction of equity", notional, _USDC))
            size = notional / price
        else:
            assert policy.risk_fraction is not None
            risk = equity * policy.risk_fraction
            steps.append(("policy: risk fraction of equity", risk, _USDC))
            if kind is SizingKind.FIXED_RISK:
                distance = self._stop_distance(request)
                steps.append(("stop distance |price - stop|", distance, _USDC))
            else:
                if request.atr is None:
                    raise InvalidInput("a volatility-target policy needs the signal's ATR")
                distance = request.atr * policy.atr_multiple
                steps.append(("ATR x multiple", distance, _USDC))
            size = risk / distance
        steps.append(("target size", size, asset))
        if policy.scale_by_confidence:
            size *= request.confidence
            steps.append(("confidence", request.confidence, ""))
            steps.append(("target x confidence", size, asset))
        return size

    @staticmethod
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

    def _caps(
        self,
        request: SizingRequest,
        math: MarketMath,
        state: MarginState,
        equity: Decimal,
        reserve: int,
    ) -> list[tuple[Bound, Decimal]]:
        """The largest trade (base units, unquantized) each cap allows.

        With ``u`` the position signed in the trade's direction, ``r = max(0, -u)``
        the part that closes, ``P`` the oracle and ``k`` the equity a unit costs
        (adverse fill vs oracle + fee), a cap ``|u + q| P <= C x (E - q k)``
        gives ``q <= (C E - u P) / (P + C k)``; closing (``q <= r``) is always allowed.
        """
        limits = self.limits
        oracle = math.oracle_price
        price = request.price
        buying = request.side is Side.BUY
        line = state.lines.get(math.spec.ticker)
        if line is None:
            toward = closing = _ZERO
        else:
            toward = line.size if buying else -line.size
            closing = -toward if toward < 0 else _ZERO
        adverse = price - oracle if buying else oracle - price
        cost = adverse if adverse > 0 else _ZERO
        if request.fee_ppm > 0:
            cost += price * request.fee_ppm / _PPM
        held_value = toward * oracle
        capacity = free_collateral_capacity(
            state, math, request.side, price, request.fee_ppm, reserve
        )
        caps = [(Bound.FREE_COLLATERAL, capacity)]
        other_gross = usdc(state.gross_notional - (abs(line.notional) if line is not None else 0))
        for bound, multiple, other in (
            (Bound.USER_LEVERAGE, limits.max_leverage, _ZERO),
            (Bound.MARKET_LEVERAGE, math.max_leverage, _ZERO),
            (Bound.EXPOSURE, limits.max_exposure, other_gross),
        ):
            room = (multiple * equity - other - held_value) / (oracle + multiple * cost)
            caps.append((bound, room if room > closing else closing))
        if limits.max_market_notional is not None:
            room = limits.max_market_notional / oracle - toward
            caps.append((Bound.MARKET_NOTIONAL, room if room > closing else closing))
        return caps

    def _below_step(
        self,
        request: SizingRequest,
        math: MarketMath,
        state: MarginState,
        bound: Bound,
        target: Decimal,
    ) -> DydxTraderError:
        """Why not even one step fits: the binding cap's own error, with its numbers."""
        spec = math.spec
        if bound is Bound.POLICY:
            return BelowMinimumOrderSize(
                f"the policy sizes {_format(target, spec.base_asset)}, below one step "
                f"({spec.step_size}) of {spec.ticker}",
                market=spec.ticker,
                size=target,
                step_size=spec.step_size,
            )
        error_class = _BOUND_ERRORS[bound]
        refusal = evaluate_order(
            state,
            math,
            request.side,
            spec.step_size,
            request.price,
            self.limits,
            fee_ppm=request.fee_ppm,
        )
        if isinstance(refusal, error_class):
            return refusal
        return error_class(
            f"{bound.value} leaves room for less than one step ({spec.step_size} "
            f"{spec.base_asset}) of {spec.ticker}",
            market=spec.ticker,
            step_size=spec.step_size,
        )


_BOUND_ERRORS: Final[dict[Bound, type[DydxTraderError]]] = {
    Bound.POLICY: BelowMinimumOrderSize,
    Bound.FREE_COLLATERAL: InsufficientFreeCollateral,
    Bound.USER_LEVERAGE: LeverageLimitExceeded,
    Bound.MARKET_LEVERAGE: LeverageLimitExceeded,
    Bound.EXPOSURE: ExposureLimitExceeded,
    Bound.MARKET_NOTIONAL: NotionalLimitExceeded,
}


def _money(amount: Decimal) -> str:
    return f"{amount.quantize(_CENT, ROUND_FLOOR):,}"
