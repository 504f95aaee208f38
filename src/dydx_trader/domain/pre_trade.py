"""Risk limits and the pre-trade check every order passes before it is sent.

The same rules bound the PositionSizer (which searches the largest size that
passes them, and proves it with :func:`evaluate_order`) and the decision
(which holds a CLOSE and every order in flight to them), so a sized order
always passes its check.

Leverage words, as in the protocol reference section 2.5:

* **position leverage** = ``|position notional| / account equity`` (cross
  margin). Capped by the user's ``max_leverage`` and by the market's own
  ``1 / IMF`` (the open-interest-scaled IMF at the open interest after the
  trade, or the subaccount's own leverage setting when higher). The user's cap
  holds for *every* position after the trade: a trade's fee and slippage lower
  the equity the others are measured against;
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

from dataclasses import dataclass, field
from decimal import Decimal

from dydx_trader.domain.arithmetic import money, plain, ratio
from dydx_trader.domain.errors import (
    BelowMinimumOrderSize,
    ExposureLimitExceeded,
    InsufficientFreeCollateral,
    InvalidInput,
    LeverageLimitExceeded,
    MarketNotTradable,
    NotionalLimitExceeded,
    ReduceOnlyViolation,
    Refusal,
)
from dydx_trader.domain.margin import (
    MarginState,
    MarketMath,
    TradeOutcome,
    chain_math,
    chain_outcome,
    fill_cash_flow,
    require_fee_ppm,
)
from dydx_trader.domain.market import MarketSpec, MarketStatus
from dydx_trader.domain.numbers import require_finite, require_non_negative, require_positive
from dydx_trader.domain.proposal import OrderProposal
from dydx_trader.domain.side import Side
from dydx_trader.domain.units import PPM, QUOTE_QUANTUMS_PER_USDC, quote_quantums_ceil, usdc


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
    # Derived once: the buffer in quote quantums and the ratios as exact integer pairs.
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

    def leverage_exceeded(self, notional_quantums: int, equity_quantums: int) -> bool:
        """``|notional| / equity > max_leverage``, exactly (equity > 0)."""
        numerator, denominator = self._leverage_ratio
        return abs(notional_quantums) * denominator > numerator * equity_quantums

    def exposure_exceeded(self, gross_quantums: int, equity_quantums: int) -> bool:
        """``gross notional / equity > max_exposure``, exactly (equity > 0)."""
        numerator, denominator = self._exposure_ratio
        return gross_quantums * denominator > numerator * equity_quantums

    def market_notional_exceeded(self, notional_quantums: int) -> bool:
        """``|notional| > max_market_notional`` (never, without that cap)."""
        cap = self.max_market_notional
        return cap is not None and abs(notional_quantums) > cap * QUOTE_QUANTUMS_PER_USDC


def evaluate_order(
    state: MarginState, math: MarketMath, order: OrderProposal, limits: RiskLimits
) -> Refusal | None:
    """The pre-trade check of ``order`` on an account valued as ``state``:
    ``None`` if it may be sent, else the reason (a value, not raised).

    Checks, in order: the numbers, the market is ACTIVE, reduce-only
    consistency (it must shrink an existing position and never exceed it),
    then for a trade that opens risk: position leverage <= min(user cap,
    market max), exposure, per-market notional and the free collateral after
    the buffer; for a pure reduction: the chain's collateral check.
    Raises :class:`InvalidInput` only for a non-finite or non-positive price or
    a bad fee (a caller's bug, not a market's answer).
    """
    spec = math.spec
    size = order.size
    require_positive("price", order.price)
    require_fee_ppm(order.fee_ppm)
    require_finite("size", size)
    if size <= 0:
        return InvalidInput(f"order size {size} must be positive", size=size)
    quantums = math.exact_base_quantums(size)
    if quantums is None or quantums % spec.step_base_quantums:
        return _off_grid(spec, size)
    if spec.status is not MarketStatus.ACTIVE:
        return MarketNotTradable(
            f"{spec.ticker} is {spec.status.value}, only ACTIVE markets are traded",
            market=spec.ticker,
            status=spec.status.value,
        )
    line = state.lines.get(spec.ticker)
    held = line.base_quantums if line is not None else 0
    delta = quantums if order.side is Side.BUY else -quantums
    if order.reduce_only:
        refusal = _reduce_only_refusal(spec, order, line.size if line else Decimal(0))
        if refusal is not None:
            return refusal
    after = state.after_trade(
        math, delta, fill_cash_flow(size * order.side.sign, order.price, order.fee_ppm)
    )
    if held and (held > 0) != (delta > 0) and abs(delta) <= abs(held):
        # A pure reduction: held to the chain's own rule, not to the caps.
        outcome = chain_outcome(state, after)
        if outcome != chain_math.SUCCESS:
            return InsufficientFreeCollateral(
                f"the chain would refuse this reduction of {spec.ticker} ({outcome}): "
                f"equity {money(usdc(after.net_collateral))} USDC, maintenance "
                f"{money(usdc(after.maintenance))} USDC",
                market=spec.ticker,
                outcome=outcome,
            )
        return None
    return _cap_refusal(state, after, math, order, limits)


def _off_grid(spec: MarketSpec, size: Decimal) -> Refusal:
    if size < spec.step_size:
        return BelowMinimumOrderSize(
            f"{plain(size)} {spec.base_asset} is below the minimum order size "
            f"{spec.step_size} of {spec.ticker}",
            market=spec.ticker,
            size=size,
            step_size=spec.step_size,
        )
    return InvalidInput(
        f"{plain(size)} {spec.base_asset} is not a whole number of {spec.ticker} steps "
        f"({spec.step_size})",
        market=spec.ticker,
        size=size,
    )


def _reduce_only_refusal(spec: MarketSpec, order: OrderProposal, held: Decimal) -> Refusal | None:
    side, size = order.side, order.size
    if held == 0:
        return ReduceOnlyViolation(
            f"reduce-only {side.value} in {spec.ticker}: there is no position to reduce",
            market=spec.ticker,
        )
    if (held > 0) == (side is Side.BUY):
        return ReduceOnlyViolation(
            f"reduce-only {side.value} of {plain(size)} {spec.base_asset} would grow the "
            f"{plain(held)} {spec.base_asset} position in {spec.ticker}",
            market=spec.ticker,
            size=size,
            position=held,
        )
    if size > abs(held):
        return ReduceOnlyViolation(
            f"reduce-only {side.value} of {plain(size)} {spec.base_asset} exceeds the "
            f"{plain(abs(held))} {spec.base_asset} position in {spec.ticker}",
            market=spec.ticker,
            size=size,
            position=held,
        )
    return None


def _cap_refusal(
    before: MarginState,
    after: TradeOutcome,
    math: MarketMath,
    order: OrderProposal,
    limits: RiskLimits,
) -> Refusal | None:
    # Compared in quote quantums (an int against a Decimal multiple is exact);
    # the messages are only written when a cap is actually broken.
    equity_quantums = after.net_collateral
    new_line = after.line
    notional_quantums = abs(new_line.notional) if new_line is not None else 0
    ticker = math.ticker
    if equity_quantums <= 0:
        equity = usdc(equity_quantums)
        return InsufficientFreeCollateral(
            f"a {_what(math, order)} would leave equity at {money(equity)} USDC",
            market=ticker,
            equity=equity,
        )
    if limits.leverage_exceeded(notional_quantums, equity_quantums):
        leverage = Decimal(notional_quantums) / equity_quantums
        return LeverageLimitExceeded(
            f"a {_what(math, order)} would take its leverage to {ratio(leverage)}x, "
            f"above your cap of {limits.max_leverage}x",
            market=ticker,
            leverage=leverage,
            cap=limits.max_leverage,
        )
    other = before.largest_line_except(ticker)
    if other is not None and limits.leverage_exceeded(other.notional, equity_quantums):
        leverage = Decimal(abs(other.notional)) / equity_quantums
        return LeverageLimitExceeded(
            f"after a {_what(math, order)} (its fee and slippage included), "
            f"{other.math.ticker} would be at {ratio(leverage)}x leverage, above your cap "
            f"of {limits.max_leverage}x",
            market=other.math.ticker,
            leverage=leverage,
            cap=limits.max_leverage,
        )
    # The IMF after the trade: its own setting or the market's at the open
    # interest the trade may bring, whichever is higher.
    imf_ppm = new_line.imf_ppm if new_line is not None else before.imf_ppm(math)
    # notional x IMF > equity, exactly in integers: past the market's own maximum.
    if notional_quantums * imf_ppm > equity_quantums * PPM:
        leverage = Decimal(notional_quantums) / equity_quantums
        maximum = Decimal(PPM) / imf_ppm
        return LeverageLimitExceeded(
            f"a {_what(math, order)} would take its leverage to {ratio(leverage)}x, "
            f"above the market's maximum of {ratio(maximum)}x",
            market=ticker,
            leverage=leverage,
            cap=maximum,
        )
    if limits.exposure_exceeded(after.gross_notional, equity_quantums):
        gross = usdc(after.gross_notional)
        exposure = Decimal(after.gross_notional) / equity_quantums
        return ExposureLimitExceeded(
            f"a {_what(math, order)} would take gross exposure to {money(gross)} USDC "
            f"= {ratio(exposure)}x equity, above your cap of {limits.max_exposure}x",
            market=ticker,
            exposure=exposure,
            cap=limits.max_exposure,
        )
    cap = limits.max_market_notional
    if cap is not None and limits.market_notional_exceeded(notional_quantums):
        notional = usdc(notional_quantums)
        return NotionalLimitExceeded(
            f"a {_what(math, order)} would take its notional to {money(notional)} USDC, "
            f"above the per-market cap of {money(cap)} USDC",
            market=ticker,
            notional=notional,
            cap=cap,
        )
    buffer = limits.buffer_quantums(before.net_collateral)
    if after.sizing_free_collateral < buffer:
        needed = usdc(before.sizing_free_collateral - after.sizing_free_collateral)
        free = usdc(before.sizing_free_collateral - buffer)
        return InsufficientFreeCollateral(
            f"a {_what(math, order)} needs {money(needed, up=True)} USDC initial margin, "
            f"{money(free)} free after the {money(usdc(buffer), up=True)} USDC buffer",
            market=ticker,
            needed=needed,
            free=free,
            buffer=usdc(buffer),
        )
    return None


def _what(math: MarketMath, order: OrderProposal) -> str:
    spec = math.spec
    return f"{order.side.value.lower()} of {plain(order.size)} {spec.base_asset} in {spec.ticker}"
