"""The dYdX chain's integer margin math, function for function.

Each function mirrors one in ``dydxprotocol/v4-chain`` (``protocol/lib/quantums.go``,
``protocol/x/perpetuals/types/liquidity_tier.go``, ``protocol/x/subaccounts/lib/updates.go``)
so that a check we pass is a check the chain passes. This module is the reference
the faster :class:`~dydx_trader.domain.margin.MarginState` is tested against, and
the one the shared chain vectors check. Every argument and result is an ``int``:

* quote quantums: USDC x 10^6 (the chain's ``QuoteCurrencyAtomicResolution = -6``);
* base quantums: base asset x 10^(-atomic_resolution);
* ppm: parts per million (1_000_000 = 100 %);
* an oracle price is ``price_value x 10^price_exponent`` USDC per base unit.
"""

from __future__ import annotations

from typing import Final

__all__ = (
    "NEWLY_UNDERCOLLATERALIZED",
    "ONE_MILLION",
    "QUOTE_ATOMIC_RESOLUTION",
    "STILL_UNDERCOLLATERALIZED",
    "SUCCESS",
    "adjusted_initial_margin_ppm",
    "base_to_quote_quantums",
    "big_mul_ppm",
    "fill_amount_to_quote_quantums",
    "initial_margin_quote_quantums",
    "is_valid_state_transition",
    "maintenance_margin_ppm",
    "margin_requirements",
    "quote_to_base_quantums",
)

QUOTE_ATOMIC_RESOLUTION: Final = -6
ONE_MILLION: Final = 1_000_000

SUCCESS: Final = "Success"
NEWLY_UNDERCOLLATERALIZED: Final = "NewlyUndercollateralized"
STILL_UNDERCOLLATERALIZED: Final = "StillUndercollateralized"


def _ten_to(exponent: int) -> int:
    """10^exponent for exponent >= 0, as an int."""
    if exponent < 0:
        raise ValueError(f"_ten_to: negative exponent {exponent}")
    return int(10**exponent)


def _quo(numerator: int, denominator: int) -> int:
    """Integer division truncating toward zero, as Go's ``big.Int.Quo``."""
    quotient = abs(numerator) // abs(denominator)
    return quotient if (numerator >= 0) == (denominator > 0) else -quotient


def _ceil_div(numerator: int, denominator: int) -> int:
    """Ceiling division for a positive denominator."""
    return -((-numerator) // denominator)


def _mul_ppm(value: int, ppm: int, *, round_up: bool) -> int:
    """``value x ppm / 1e6`` rounded up or down (``lib.BigMulPpm``)."""
    product = value * ppm
    return _ceil_div(product, ONE_MILLION) if round_up else product // ONE_MILLION


def big_mul_ppm(value: int, ppm: int, *, round_up: bool) -> int:
    """``value x ppm / 1e6`` rounded up (toward +inf) or down (``lib.BigMulPpm``)."""
    return _mul_ppm(value, ppm, round_up=round_up)


def _scale_by_power_of_ten(value: int, exponent: int) -> int:
    """``value x 10^exponent``, truncating toward zero for negative exponents."""
    if exponent >= 0:
        return value * _ten_to(exponent)
    return _quo(value, _ten_to(-exponent))


def base_to_quote_quantums(
    base_quantums: int, atomic_resolution: int, price_value: int, price_exponent: int
) -> int:
    """Notional in quote quantums of ``base_quantums`` at the given oracle price.

    ``lib.BaseToQuoteQuantums``: signed, truncated toward zero.
    """
    exponent = price_exponent + atomic_resolution - QUOTE_ATOMIC_RESOLUTION
    return _scale_by_power_of_ten(base_quantums * price_value, exponent)


def quote_to_base_quantums(
    quote_quantums: int, atomic_resolution: int, price_value: int, price_exponent: int
) -> int:
    """Base quantums worth ``quote_quantums`` at the given oracle price.

    ``lib.QuoteToBaseQuantums``: signed, truncated toward zero.
    """
    if price_value == 0:
        raise ZeroDivisionError("quote_to_base_quantums: price_value is 0")
    exponent = price_exponent + atomic_resolution - QUOTE_ATOMIC_RESOLUTION
    if exponent >= 0:
        return _quo(quote_quantums, price_value * _ten_to(exponent))
    return _quo(quote_quantums * _ten_to(-exponent), price_value)


def fill_amount_to_quote_quantums(
    subticks: int, base_quantums: int, quantum_conversion_exponent: int
) -> int:
    """Quote quantums paid for ``base_quantums`` at ``subticks``.

    ``types.FillAmountToQuoteQuantums``: ``floor(subticks x bq x 10^qce)``.
    Subticks and quantums are unsigned on the chain.
    """
    if subticks < 0 or base_quantums < 0:
        raise ValueError("fill_amount_to_quote_quantums: subticks and quantums are unsigned")
    product = subticks * base_quantums
    if quantum_conversion_exponent >= 0:
        return product * _ten_to(quantum_conversion_exponent)
    return product // _ten_to(-quantum_conversion_exponent)


def maintenance_margin_ppm(initial_margin_ppm: int, maintenance_fraction_ppm: int) -> int:
    """Maintenance margin fraction in ppm (``LiquidityTier.GetMaintenanceMarginPpm``, floor)."""
    return _mul_ppm(initial_margin_ppm, maintenance_fraction_ppm, round_up=False)


def adjusted_initial_margin_ppm(
    initial_margin_ppm: int,
    open_interest_lower_cap: int,
    open_interest_upper_cap: int,
    open_interest_notional: int,
) -> int:
    """The open-interest-scaled initial margin fraction in ppm.

    ``LiquidityTier.GetAdjustedInitialMarginPpm``. Caps and the open-interest
    notional are in quote quantums; an upper cap of 0 turns scaling off.
    Between the caps the IMF rises linearly from the base value to 100 %.
    """
    if open_interest_upper_cap == 0 or open_interest_notional <= open_interest_lower_cap:
        return initial_margin_ppm
    if open_interest_notional >= open_interest_upper_cap:
        return ONE_MILLION
    scaled = (
        (ONE_MILLION - initial_margin_ppm)
        * (open_interest_notional - open_interest_lower_cap)
        // (open_interest_upper_cap - open_interest_lower_cap)
    )
    return initial_margin_ppm + scaled


def initial_margin_quote_quantums(
    notional: int,
    initial_margin_ppm: int,
    open_interest_lower_cap: int,
    open_interest_upper_cap: int,
    open_interest_notional: int,
    custom_imf_ppm: int = 0,
) -> int:
    """Initial margin in quote quantums for ``|notional|``, rounded up.

    ``LiquidityTier.GetInitialMarginQuoteQuantums`` with the open-interest
    scaling of :func:`adjusted_initial_margin_ppm`, raised to the subaccount's
    own ``custom_imf_ppm`` when that is higher (per-market leverage, chain v9.4+;
    0 = none).
    """
    adjusted_ppm = adjusted_initial_margin_ppm(
        initial_margin_ppm, open_interest_lower_cap, open_interest_upper_cap, open_interest_notional
    )
    if custom_imf_ppm > adjusted_ppm:
        adjusted_ppm = custom_imf_ppm
    return _mul_ppm(abs(notional), adjusted_ppm, round_up=True)


def margin_requirements(
    position_base_quantums: int,
    atomic_resolution: int,
    price_value: int,
    price_exponent: int,
    initial_margin_ppm: int,
    maintenance_fraction_ppm: int,
    open_interest_base_quantums: int = 0,
    open_interest_lower_cap: int = 0,
    open_interest_upper_cap: int = 0,
    custom_imf_ppm: int = 0,
) -> tuple[int, int]:
    """(initial, maintenance) margin of one position, in quote quantums.

    ``LiquidityTier.GetMarginRequirementsInQuoteQuantums``: the initial part
    uses the open-interest-scaled IMF, or the subaccount's ``custom_imf_ppm``
    when higher; the maintenance part is the *base* initial margin times the
    maintenance fraction, both rounded up, and ignores open-interest scaling
    and the custom setting.
    """
    notional = base_to_quote_quantums(
        abs(position_base_quantums), atomic_resolution, price_value, price_exponent
    )
    open_interest_notional = base_to_quote_quantums(
        open_interest_base_quantums, atomic_resolution, price_value, price_exponent
    )
    initial = initial_margin_quote_quantums(
        notional,
        initial_margin_ppm,
        open_interest_lower_cap,
        open_interest_upper_cap,
        open_interest_notional,
        custom_imf_ppm,
    )
    base_initial = _mul_ppm(notional, initial_margin_ppm, round_up=True)
    maintenance = _mul_ppm(base_initial, maintenance_fraction_ppm, round_up=True)
    return initial, maintenance


def is_valid_state_transition(
    old_net_collateral: int,
    old_initial: int,
    old_maintenance: int,
    new_net_collateral: int,
    new_maintenance: int,
) -> str:
    """Whether an update may leave a subaccount below initial margin.

    ``IsValidStateTransitionForUndercollateralizedSubaccount``: called only
    when the new state fails ``NC >= IMR``. The move passes if it is not
    riskier: maintenance does not grow and the NC / MMR ratio does not worsen.
    Returns the chain's ``UpdateResult`` name.
    """
    was_collateralized = old_initial <= old_net_collateral
    failure = NEWLY_UNDERCOLLATERALIZED if was_collateralized else STILL_UNDERCOLLATERALIZED
    if new_maintenance > old_maintenance:
        return failure
    if new_maintenance == 0 or old_maintenance == 0:
        both_flat = new_maintenance == 0 and old_maintenance == 0
        if both_flat and new_net_collateral > old_net_collateral:
            return SUCCESS
        return failure
    if old_net_collateral * new_maintenance > new_net_collateral * old_maintenance:
        return failure
    return SUCCESS
