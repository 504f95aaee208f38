"""Funding rates that move with the premium (``x/perpetuals/keeper/perpetual.go``).

Each minute of chain time (the ``funding-sample`` epoch) every market gets a
premium sample: the devnet book's impact bid above the oracle, or its impact
ask below it, in ppm of the oracle (0 otherwise), clamped to
``60 x (IMF - MMF)``, on top of the market's own premium outside the devnet
(the captured ``nextFundingRate``, an hourly rate, times 8). The impact
notional is 500 USDC / base IMF (the chain's tiers: 10 000 USDC at 5 %). At
each hour (``funding-tick``) the 8-hour rate is the average of the hour's
samples, counting missing minutes as 0, clamped to ``6 x (IMF - MMF)``
(``GetMaxAbsFundingClampPpm``); the hour is paid at an eighth of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from dydx_devnet.book import Book
from dydx_devnet.chain.big_math import quo
from dydx_devnet.markets import MarketState

MINUTE_MS = 60_000
SAMPLES_PER_HOUR = 60
FUNDING_CLAMP_FACTOR_PPM = 6_000_000
PREMIUM_VOTE_CLAMP_FACTOR_PPM = 60_000_000
_PPM = 1_000_000


def _clamp_ppm(market: MarketState, factor_ppm: int) -> int:
    tier = market.spec.liquidity_tier
    return factor_ppm * (tier.initial_margin_ppm - tier.maintenance_margin_ppm()) // _PPM


def impact_notional_quote_quantums(market: MarketState) -> int:
    """500 USDC / base IMF, in quote quantums (the chain's tiers' impact notionals)."""
    return 500 * _PPM * _PPM // max(1, market.spec.liquidity_tier.initial_margin_ppm)


def _impact_price(book: Book, market: MarketState, *, bids: bool) -> int | None:
    """The price (subticks) at which the book absorbs the impact notional, if it can."""
    wanted = impact_notional_quote_quantums(market)
    qce = market.spec.quantum_conversion_exponent
    for subticks, quantums in book.aggregated(bids=bids, limit=1_000):
        wanted -= subticks * quantums * 10**qce if qce >= 0 else subticks * quantums // 10**-qce
        if wanted <= 0:
            return subticks
    return None


def book_premium_ppm(book: Book, market: MarketState) -> int:
    """The book's premium over the oracle, ppm (positive: buyers pay up)."""
    oracle = market.oracle_subticks()
    bid = _impact_price(book, market, bids=True)
    ask = _impact_price(book, market, bids=False)
    if bid is not None and bid > oracle:
        return (bid - oracle) * _PPM // oracle
    if ask is not None and ask < oracle:
        return -((oracle - ask) * _PPM // oracle)
    return 0


@dataclass
class _Samples:
    total_ppm: int = 0
    count: int = 0


class FundingSampler:
    """Premium samples per market, turned into each hour's funding rate."""

    def __init__(self) -> None:
        self._samples: dict[str, _Samples] = {}

    def sample(self, market: MarketState, book: Book, minutes: int) -> None:
        """Record ``minutes`` samples of ``market``'s premium as the book stands."""
        if minutes <= 0:
            return
        limit = _clamp_ppm(market, PREMIUM_VOTE_CLAMP_FACTOR_PPM)
        premium = market.baseline_premium_ppm + book_premium_ppm(book, market)
        premium = min(max(premium, -limit), limit)
        samples = self._samples.setdefault(market.ticker, _Samples())
        samples.total_ppm += premium * minutes
        samples.count += minutes

    def close_hour(self, market: MarketState) -> int:
        """The hour's 8-hour funding rate (ppm), and a fresh hour of samples."""
        samples = self._samples.pop(market.ticker, _Samples())
        average = quo(samples.total_ppm, max(samples.count, SAMPLES_PER_HOUR))  # Go: truncated
        limit = _clamp_ppm(market, FUNDING_CLAMP_FACTOR_PPM)
        return min(max(average, -limit), limit)
