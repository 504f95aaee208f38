"""Risk limits and the pre-trade check every order passes before it is sent.

The same rules bound the PositionSizer (which searches the largest size that
passes them) and the trade flow (which runs :func:`check_order` on the final
order), so a sized order always passes its check.

Leverage words, as in the protocol reference section 2.5:

* **position leverage** = ``|position notional| / account equity`` (cross
  margin). Capped by the user's ``max_leverage`` and by the market's own
  ``1 / effective IMF``;
* **exposure** (account leverage) = ``gross notional / equity``, capped by
  ``max_exposure``;
* **market notional** = ``|position notional|`` in USDC, capped by
  ``max_market_notional``.

Notionals are at the oracle price, equity is the chain's net collateral after
the fill (price and fee included). Only a trade that *opens* risk (grows a
position or flips it) is held to the caps; a pure reduction passes if the
chain would accept it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Final

from dydx_trader.domain import chain_math
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
    ReduceOnlyViolation,
)
from dydx_trader.domain.margin import chain_outcome
from dydx_trader.domain.margin_state import (
    MarginState,
    TradeOutcome,
    fill_cash_flow,
    margin_state,
    quote_quantums_ceil,
    require_fee_ppm,
    usdc,
)
from dydx_trader.domain.market import MarketSpec, MarketStatus
from dydx_trader.domain.market_math import MarketMath, lookup
from dydx_trader.domain.numbers import require_finite, require_non_negative, require_positive
from dydx_trader.domain.side import Side

_CENT: Final = Decimal("0.01")
_MILLION: Final = 1_000_000


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """The user's caps. USDC amounts, leverage as multiples of equity.

    ``max_leverage``: position leverage cap (the market's own maximum applies
    too, whichever is lower). ``max_exposure``: gross notional / equity cap.
    ``max_market_notional``: USDC cap on one market's position, ``None`` = none.
    The free-collateral buffer kept unused is
    ``free_collateral_buffer + free_collateral_buffer_fraction x equity``.
    Invalid values (NaN, infinite, negative, a fraction >= 1) raise
    :class:`InvalidInput`.
    """

    max_leverage: Decimal = Decimal(5)
    max_exposure: Decimal = Decimal(10)
    max_market_notional: Decimal | None = None
    free_collateral_buffer: Decimal = Decimal(0)
    free_collateral_buffer_fraction: Decimal = Decimal("0.05")
    # Derived once: the buffer in quote quantums and the fraction as an exact ratio.
    _buffer_quantums: int = field(init=False, repr=False, compare=False, default=0)
    _fraction_ratio: tuple[int, int] = field(init=False, repr=False, compare=False, default=(0, 1))
    _leverage_ratio: tuple[int, int] = field(init=False, repr=False, compare=False, default=(0, 1))
    _exposure_ratio: tuple[int, int] = field(init=False, repr=False, compare=False, default=(0, 1))

    def __post_init__(self) -> None:
        require_positive("max leverage", self.max_leverage)
        require_positive("max exposure", self.max_exposure)
        if self.max_market_notional is not None:
            require_positive("max market notional", self.max_market_notional)
        require_non_negative("free collateral buffer", self.free_collateral_buffer)
        require_non_negative(
            "free collateral buffer fraction", self.free_collateral_buffer_fraction
        )
        if self.free_collateral_buffer_fraction >= 1:
            raise InvalidInput(
                f"free collateral buffer fraction {self.free_collateral_buffer_fraction} "
                "must be below 1",
                value=self.free_collateral_buffer_fraction,
            )
        object.__setattr__(
            self, "_buffer_quantums", quote_quantums_ceil(self.free_collateral_buffer)
        )
        object.__setattr__(
            self, "_fraction_ratio", self.free_collateral_buffer_fraction.as_integer_ratio()
        )
        object.__setattr__(self, "_leverage_ratio", self.max_leverage.as_integer_ratio())
        object.__setattr__(self, "_exposure_ratio", self.max_exposure.as_integer_ratio())

    def buffer_quantums(self, net_collateral_quantums: int) -> int:
        """The free collateral kept unused, quote quantums (rounded up)."""
        numerator, denominator = self._fraction_ratio
        if net_collateral_quantums <= 0 or not numerator:
            return self._buffer_quantums
        return self._buffer_quantums - ((-net_collateral_quantums * numerator) // denominator)


def check_order(
    account: AccountSnapshot,
    markets: Mapping[str, MarketSpec],
    market: str,
    side: Side,
    size: Decimal,
    price: Decimal,
    limits: RiskLimits,
    *,
    fee_ppm: int = 0,
    reduce_only: bool = False,
    oracle_prices: Mapping[str, Decimal] | None = None,
) -> DydxTraderError | None:
    """The pre-trade check: ``None`` if the order may be sent, else the reason.

    ``size`` is base units (whole steps), ``price`` the expected fill (or
    worst) price in USDC, ``fee_ppm`` the fee rate that applies. Checks, in
    order: the numbers, the market is ACTIVE and priced, reduce-only
    consistency (it must shrink an existing position and never exceed it),
    then for a trade that opens risk: position leverage <= min(user cap,
    market max), exposure, per-market notional and the free collateral after
    the buffer; for a pure reduction: the chain's collateral check.
    Never raises for a domain reason; the reason is the return value.
    """
    try:
        math = lookup(markets, market, oracle_prices)
        state = margin_state(account, markets, oracle_prices)
        return evaluate_order(
            state, math, side, size, price, limits, fee_ppm=fee_ppm, reduce_only=reduce_only
        )
    except DydxTraderError as error:
        return error


# The trade flow checks the very order the sizer has just proved; the last
# verdict is kept, keyed by every input (the state by identity: it is immutable).
_last_verdict: tuple[tuple[object, ...], DydxTraderError | None] | None = None


def evaluate_order(
    state: MarginState,
    math: MarketMath,
    side: Side,
    size: Decimal,
    price: Decimal,
    limits: RiskLimits,
    *,
    fee_ppm: int = 0,
    reduce_only: bool = False,
) -> DydxTraderError | None:
    """:func:`check_order` on an already valued account (``state``).

    Raises :class:`InvalidInput` for a non-finite or non-positive price or a
    bad fee; every other reason is returned.
    """
    global _last_verdict
    key = (state, math, side, size, price, limits, fee_ppm, reduce_only)
    last = _last_verdict
    if last is not None and _same_key(last[0], key):
        return last[1]
    verdict = _evaluate(state, math, side, size, price, limits, fee_ppm, reduce_only)
    _last_verdict = (key, verdict)
    return verdict


def _same_key(old: tuple[object, ...], new: tuple[object, ...]) -> bool:
    # Identity for the state, market and limits; value for the numbers.
    return (
        old[0] is new[0]
        and old[1] is new[1]
        and old[2] is new[2]
        and old[3] == new[3]
        and old[4] == new[4]
        and old[5] is new[5]
        and old[6] == new[6]
        and old[7] == new[7]
    )


def _evaluate(
    state: MarginState,
    math: MarketMath,
    side: Side,
    size: Decimal,
    price: Decimal,
    limits: RiskLimits,
    fee_ppm: int,
    reduce_only: bool,
) -> DydxTraderError | None:
    spec = math.spec
    require_positive("price", price)
    require_fee_ppm(fee_ppm)
    require_finite("size", size)
    if size <= 0:
        return InvalidInput(f"order size {size} must be positive", size=size)
    quantums = math.exact_base_quantums(size)
    if quantums is None or quantums % spec.step_base_quantums:
        if size < spec.step_size:
            return BelowMinimumOrderSize(
                f"{_plain(size)} {spec.base_asset} is below the minimum order size "
                f"{spec.step_size} of {spec.ticker}",
                market=spec.ticker,
                size=size,
                step_size=spec.step_size,
            )
        return InvalidInput(
            f"{_plain(size)} {spec.base_asset} is not a whole number of {spec.ticker} steps "
            f"({spec.step_size})",
            market=spec.ticker,
            size=size,
        )
    if spec.status is not MarketStatus.ACTIVE:
        return MarketNotTradable(
            f"{spec.ticker} is {spec.status.value}, only ACTIVE markets are traded",
            market=spec.ticker,
            status=spec.status.value,
        )
    line = state.lines.get(spec.ticker)
    held = line.base_quantums if line is not None else 0
    delta = quantums if side is Side.BUY else -quantums
    if reduce_only:
        refusal = _reduce_only_refusal(spec, side, size, line.size if line else Decimal(0))
        if refusal is not None:
            return refusal
    after = state.after_trade(
        math, delta, fill_cash_flow(size if delta > 0 else -size, price, fee_ppm)
    )
    if held and (held > 0) != (delta > 0) and abs(delta) <= abs(held):
        # A pure reduction: held to the chain's own rule, not to the caps.
        outcome = chain_outcome(state, after)
        if outcome != chain_math.SUCCESS:
            return InsufficientFreeCollateral(
                f"the chain would refuse this reduction of {spec.ticker} ({outcome}): "
                f"equity {_money(usdc(after.net_collateral))} USDC, maintenance "
                f"{_money(usdc(after.maintenance))} USDC",
                market=spec.ticker,
                outcome=outcome,
            )
        return None
    return _cap_refusal(state, after, math, side, size, limits)


def _reduce_only_refusal(
    spec: MarketSpec, side: Side, size: Decimal, held: Decimal
) -> DydxTraderError | None:
    if held == 0:
        return ReduceOnlyViolation(
            f"reduce-only {side.value} in {spec.ticker}: there is no position to reduce",
            market=spec.ticker,
        )
    if (held > 0) == (side is Side.BUY):
        return ReduceOnlyViolation(
            f"reduce-only {side.value} of {_plain(size)} {spec.base_asset} would grow the "
            f"{_plain(held)} {spec.base_asset} position in {spec.ticker}",
            market=spec.ticker,
            size=size,
            position=held,
        )
    if size > abs(held):
        return ReduceOnlyViolation(
            f"reduce-only {side.value} of {_plain(size)} {spec.base_asset} exceeds the "
            f"{_plain(abs(held))} {spec.base_asset} position in {spec.ticker}",
            market=spec.ticker,
            size=size,
            position=held,
        )
    return None


def _cap_refusal(
    before: MarginState,
    after: TradeOutcome,
    math: MarketMath,
    side: Side,
    size: Decimal,
    limits: RiskLimits,
) -> DydxTraderError | None:
    # Compared in quote quantums (an int against a Decimal multiple is exact);
    # the messages are only written when a cap is actually broken.
    equity_quantums = after.net_collateral
    new_line = after.line
    notional_quantums = abs(new_line.notional) if new_line is not None else 0
    if equity_quantums <= 0:
        equity = usdc(equity_quantums)
        return InsufficientFreeCollateral(
            f"a {_what(math, side, size)} would leave equity at {_money(equity)} USDC",
            market=math.spec.ticker,
            equity=equity,
        )
    numerator, denominator = limits._leverage_ratio
    if notional_quantums * denominator > numerator * equity_quantums:
        leverage = Decimal(notional_quantums) / equity_quantums
        return LeverageLimitExceeded(
            f"a {_what(math, side, size)} would take its leverage to {_ratio(leverage)}x, "
            f"above your cap of {limits.max_leverage}x",
            market=math.spec.ticker,
            leverage=leverage,
            cap=limits.max_leverage,
        )
    # notional x IMF_eff > equity, exactly in integers.
    if notional_quantums * math.initial_margin_ppm > equity_quantums * _MILLION:
        leverage = Decimal(notional_quantums) / equity_quantums
        return LeverageLimitExceeded(
            f"a {_what(math, side, size)} would take its leverage to {_ratio(leverage)}x, "
            f"above the market's maximum of {_ratio(math.max_leverage)}x",
            market=math.spec.ticker,
            leverage=leverage,
            cap=math.max_leverage,
        )
    numerator, denominator = limits._exposure_ratio
    if after.gross_notional * denominator > numerator * equity_quantums:
        gross = usdc(after.gross_notional)
        exposure = Decimal(after.gross_notional) / equity_quantums
        return ExposureLimitExceeded(
            f"a {_what(math, side, size)} would take gross exposure to {_money(gross)} USDC "
            f"= {_ratio(exposure)}x equity, above your cap of {limits.max_exposure}x",
            market=math.spec.ticker,
            exposure=exposure,
            cap=limits.max_exposure,
        )
    cap = limits.max_market_notional
    if cap is not None and notional_quantums > cap * _MILLION:
        notional = usdc(notional_quantums)
        return NotionalLimitExceeded(
            f"a {_what(math, side, size)} would take its notional to {_money(notional)} USDC, "
            f"above the per-market cap of {_money(cap)} USDC",
            market=math.spec.ticker,
            notional=notional,
            cap=cap,
        )
    buffer = limits.buffer_quantums(before.net_collateral)
    if after.sizing_free_collateral < buffer:
        needed = usdc(before.sizing_free_collateral - after.sizing_free_collateral)
        free = usdc(before.sizing_free_collateral - buffer)
        return InsufficientFreeCollateral(
            f"a {_what(math, side, size)} needs {_money(needed, up=True)} USDC initial margin, "
            f"{_money(free)} free after the {_money(usdc(buffer), up=True)} USDC buffer",
            market=math.spec.ticker,
            needed=needed,
            free=free,
            buffer=usdc(buffer),
        )
    return None


def _what(math: MarketMath, side: Side, size: Decimal) -> str:
    spec = math.spec
    return f"{side.value.lower()} of {_plain(size)} {spec.base_asset} in {spec.ticker}"


def _money(amount: Decimal, *, up: bool = False) -> str:
    """``1,250.00``: USDC to the cent, rounded toward the safe side for the reader."""
    return f"{amount.quantize(_CENT, ROUND_CEILING if up else ROUND_FLOOR):,}"


def _plain(value: Decimal) -> str:
    """``0.0001`` rather than ``0.0001000000`` or ``1E-4``."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _ratio(value: Decimal) -> str:
    return f"{value.quantize(_CENT, ROUND_CEILING):,}"
