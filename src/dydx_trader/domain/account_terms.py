"""What the chain applies to one subaccount on top of each market's own parameters.

Two settings live on the chain and nowhere on the indexer:

* the subaccount's **leverage** per market (``MsgUpdateLeverage``, chain v9.4+):
  a custom initial margin fraction in ppm. The chain then holds every order and
  match to IMF = max(open-interest-scaled IMF, custom IMF): an order sized to the
  market's own IMF is refused (3007) or cancelled at match;
* the address's **fee tier** (``x/feetiers``, by 30-day volume): the taker and
  maker rates in ppm of a fill's notional (a negative maker rate is a rebate).

:class:`AccountTerms` carries both, read together and cached with the balance,
so no decision waits on the chain for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from dydx_trader.domain.errors import InvalidInput
from dydx_trader.domain.order import TimeInForce
from dydx_trader.domain.units import PPM

__all__ = ("STANDARD_FEE_TIER", "AccountTerms", "FeeTier", "leverage_of")

# A fee above 10 % of notional is no fee tier dYdX has ever had: a misread, not a rate.
MAX_FEE_PPM: Final = 100_000


@dataclass(frozen=True, slots=True)
class FeeTier:
    """A fee tier: ``taker_fee_ppm`` and ``maker_fee_ppm`` of a fill's notional
    (ppm; a negative maker rate is a rebate), its ``name`` on the chain, and
    ``source``: ``"chain"`` (read from the node), ``"config"`` (overridden in the
    configuration) or ``"assumed"`` (neither: the chain's standard tier 1).
    Rates outside -10 %..+10 % raise :class:`InvalidInput`.
    """

    name: str
    taker_fee_ppm: int
    maker_fee_ppm: int
    source: str = "chain"

    def __post_init__(self) -> None:
        for what, ppm in (("taker", self.taker_fee_ppm), ("maker", self.maker_fee_ppm)):
            if isinstance(ppm, bool) or not isinstance(ppm, int):
                raise InvalidInput(f"{what} fee must be an int number of ppm, not {ppm!r}")
            if not -MAX_FEE_PPM <= ppm <= MAX_FEE_PPM:
                raise InvalidInput(
                    f"{what} fee {ppm} ppm is outside -{MAX_FEE_PPM}..{MAX_FEE_PPM}",
                    fee_ppm=ppm,
                )
        if self.taker_fee_ppm < 0:
            raise InvalidInput(f"taker fee {self.taker_fee_ppm} ppm cannot be a rebate")

    def fee_ppm(self, time_in_force: TimeInForce) -> int:
        """The rate (ppm, >= 0) an order with ``time_in_force`` is sized and checked with.

        A post-only order only ever makes: the maker rate. An IOC takes, and a
        limit order takes when it crosses at placement: the larger of the two.
        A rebate is never counted on (0): it is paid only if the order fills.
        """
        if time_in_force is TimeInForce.POST_ONLY:
            rate = self.maker_fee_ppm
        else:
            rate = max(self.taker_fee_ppm, self.maker_fee_ppm)
        return rate if rate > 0 else 0

    def describe(self) -> str:
        """``tier 1 (chain): taker 500 ppm, maker 100 ppm``."""
        return (
            f"tier {self.name} ({self.source}): taker {self.taker_fee_ppm} ppm, "
            f"maker {self.maker_fee_ppm} ppm"
        )


STANDARD_FEE_TIER: Final = FeeTier("1", 500, 100, "assumed")
"""``StandardParams`` tier 1 of ``x/feetiers`` (taker 5 bps, maker 1 bp): what is
assumed until the chain's answer is known."""

_NONE: Final[Mapping[str, int]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class AccountTerms:
    """A subaccount's leverage settings and fee tier, as the chain holds them.

    ``custom_imf_ppm`` maps a ticker to the custom initial margin fraction (ppm,
    1..1_000_000) set for it; markets without a setting are absent.
    ``fee_tier`` is the address's tier. Out-of-range fractions raise
    :class:`InvalidInput`.
    """

    custom_imf_ppm: Mapping[str, int] = field(default_factory=lambda: _NONE)
    fee_tier: FeeTier = STANDARD_FEE_TIER

    def __post_init__(self) -> None:
        settings = self.custom_imf_ppm
        for ticker, ppm in settings.items():
            if isinstance(ppm, bool) or not isinstance(ppm, int) or not 0 < ppm <= PPM:
                raise InvalidInput(
                    f"leverage setting of {ticker} must be an IMF of 1..{PPM} ppm, not {ppm!r}",
                    market=ticker,
                )
        if not isinstance(settings, MappingProxyType):
            frozen = MappingProxyType(dict(settings)) if settings else _NONE
            object.__setattr__(self, "custom_imf_ppm", frozen)

    def leverage(self, ticker: str) -> Decimal | None:
        """The leverage set for ``ticker`` (``1 / custom IMF``), ``None`` when none is set."""
        return leverage_of(self.custom_imf_ppm.get(ticker, 0))


def leverage_of(imf_ppm: int) -> Decimal | None:
    """``1 / IMF`` for an IMF in ppm (``None`` for 0: no setting)."""
    return Decimal(PPM) / imf_ppm if imf_ppm > 0 else None
