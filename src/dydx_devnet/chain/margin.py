"""Margin requirements and risk: what a collateral check compares.

``protocol/x/perpetuals/lib/lib.go`` (``GetNetNotionalInQuoteQuantums``,
``GetMarginRequirementsInQuoteQuantums``), ``protocol/lib/margin/risk.go``
(``Risk``) and ``protocol/x/subaccounts/lib/updates.go``
(``IsValidStateTransitionForUndercollateralizedSubaccount``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from dydx_devnet.chain.big_math import big_mul_ppm
from dydx_devnet.chain.liquidity_tier import LiquidityTier
from dydx_devnet.chain.quantums import base_to_quote_quantums

# x/subaccounts UpdateResult names.
SUCCESS: Final = "Success"
NEWLY_UNDERCOLLATERALIZED: Final = "NewlyUndercollateralized"
STILL_UNDERCOLLATERALIZED: Final = "StillUndercollateralized"


@dataclass(frozen=True, slots=True)
class Perpetual:
    """What the margin math reads of a perpetual and its oracle price.

    ``open_interest`` is in base quantums; the price is ``price_value x
    10^price_exponent`` USDC per base unit.
    """

    atomic_resolution: int
    price_value: int
    price_exponent: int
    liquidity_tier: LiquidityTier
    open_interest: int = 0

    def net_notional(self, quantums: int) -> int:
        """``GetNetNotionalInQuoteQuantums``: signed notional, truncated toward zero."""
        return base_to_quote_quantums(
            quantums, self.atomic_resolution, self.price_value, self.price_exponent
        )

    def margin_requirements(self, quantums: int, custom_imf_ppm: int = 0) -> tuple[int, int]:
        """``GetMarginRequirementsInQuoteQuantums``: (IMR, MMR) of a position, quote quantums.

        IMR uses the open-interest-scaled IMF, raised to ``custom_imf_ppm`` where
        the subaccount set a lower leverage; MMR is the *base* IMR times the
        maintenance fraction, both rounded up, and ignores both adjustments.
        """
        tier = self.liquidity_tier
        notional = self.net_notional(abs(quantums))
        open_interest_notional = self.net_notional(self.open_interest)
        base_initial = tier.initial_margin_quote_quantums(notional, 0)
        maintenance = big_mul_ppm(base_initial, tier.maintenance_fraction_ppm, round_up=True)
        initial = tier.initial_margin_quote_quantums(
            notional, open_interest_notional, custom_imf_ppm
        )
        return initial, maintenance

    def risk(self, quantums: int, quote_balance: int = 0, custom_imf_ppm: int = 0) -> Risk:
        """``GetNetCollateralAndMarginRequirements`` of one position."""
        initial, maintenance = self.margin_requirements(quantums, custom_imf_ppm)
        return Risk(self.net_notional(quantums) + quote_balance, initial, maintenance)


@dataclass(frozen=True, slots=True)
class Risk:
    """Net collateral and margin requirements (``margin.Risk``), quote quantums."""

    nc: int = 0
    imr: int = 0
    mmr: int = 0

    def __add__(self, other: Risk) -> Risk:
        return Risk(self.nc + other.nc, self.imr + other.imr, self.mmr + other.mmr)

    def is_initial_collateralized(self) -> bool:
        """``NC >= IMR``."""
        return self.nc >= self.imr

    def is_liquidatable(self) -> bool:
        """``MMR > 0 and MMR > NC``."""
        return self.mmr > 0 and self.mmr > self.nc

    def cmp(self, other: Risk) -> int:
        """-1, 0 or 1 as this risk is lower than, equal to or higher than ``other``.

        Compares ``NC / MMR`` without dividing; equal ratios are ordered by MMR,
        or, when both MMRs are zero, by net collateral (less is riskier).
        """
        mine, theirs = self.nc * other.mmr, other.nc * self.mmr
        if mine != theirs:
            return 1 if theirs > mine else -1
        if self.mmr == 0 and other.mmr == 0:
            return (other.nc > self.nc) - (other.nc < self.nc)
        return (self.mmr > other.mmr) - (self.mmr < other.mmr)


def is_valid_state_transition(current: Risk, new: Risk) -> str:
    """``IsValidStateTransitionForUndercollateralizedSubaccount``: the ``UpdateResult``.

    Called only when the new state is not initially collateralized. The update
    passes when it leaves the subaccount no riskier: maintenance margin does
    not grow and ``NC / MMR`` does not fall. With a zero MMR on either side, it
    passes only if both are zero and net collateral grows.
    """
    failure = NEWLY_UNDERCOLLATERALIZED if current.imr <= current.nc else STILL_UNDERCOLLATERALIZED
    if new.mmr > current.mmr:
        return failure
    if new.mmr == 0 or current.mmr == 0:
        if new.mmr == 0 and current.mmr == 0 and new.nc > current.nc:
            return SUCCESS
        return failure
    if new.cmp(current) > 0:
        return failure
    return SUCCESS
