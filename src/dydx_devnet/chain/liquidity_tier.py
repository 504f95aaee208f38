"""``protocol/x/perpetuals/types/liquidity_tier.go``: a market's margin fractions.

The initial margin fraction rises linearly from its base value to 100 % as the
market's open interest notional moves from the lower to the upper cap
(open-interest-scaled IMF), and a subaccount's own leverage setting can only
raise it further (``custom_imf_ppm``, chain v9.4+).
"""

from __future__ import annotations

from dataclasses import dataclass

from dydx_devnet.chain.big_math import ONE_MILLION, big_int_mul_ppm, big_mul_ppm


@dataclass(frozen=True, slots=True)
class LiquidityTier:
    """A liquidity tier: fractions in ppm, open interest caps in quote quantums.

    An upper cap of 0 turns open interest scaling off.
    """

    initial_margin_ppm: int
    maintenance_fraction_ppm: int
    open_interest_lower_cap: int = 0
    open_interest_upper_cap: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.initial_margin_ppm <= ONE_MILLION:
            raise ValueError(f"initial margin {self.initial_margin_ppm} ppm is outside 0..1e6")
        if not 0 <= self.maintenance_fraction_ppm <= ONE_MILLION:
            raise ValueError(
                f"maintenance fraction {self.maintenance_fraction_ppm} ppm is outside 0..1e6"
            )
        if self.open_interest_lower_cap > self.open_interest_upper_cap:
            raise ValueError("open interest lower cap is above the upper cap")

    def maintenance_margin_ppm(self) -> int:
        """``GetMaintenanceMarginPpm``: initial margin x maintenance fraction, floored."""
        return big_int_mul_ppm(self.initial_margin_ppm, self.maintenance_fraction_ppm)

    def adjusted_initial_margin_ppm(self, open_interest_quote_quantums: int) -> int:
        """``GetAdjustedInitialMarginPpm``: the IMF scaled by the open interest notional."""
        lower, upper = self.open_interest_lower_cap, self.open_interest_upper_cap
        if upper == 0 or open_interest_quote_quantums <= lower:
            return self.initial_margin_ppm
        if open_interest_quote_quantums >= upper:
            return ONE_MILLION
        rise = (ONE_MILLION - self.initial_margin_ppm) * (open_interest_quote_quantums - lower)
        return self.initial_margin_ppm + rise // (upper - lower)

    def initial_margin_quote_quantums(
        self, quote_quantums: int, open_interest_quote_quantums: int, custom_imf_ppm: int = 0
    ) -> int:
        """``GetInitialMarginQuoteQuantums``: IMR of a notional, rounded up.

        The fraction is the open-interest-scaled IMF, or the subaccount's
        ``custom_imf_ppm`` where that is higher (0 = no leverage setting).
        """
        imf_ppm = self.adjusted_initial_margin_ppm(open_interest_quote_quantums)
        if custom_imf_ppm > 0:
            imf_ppm = max(imf_ppm, custom_imf_ppm)
        return big_mul_ppm(quote_quantums, imf_ppm, round_up=True)
