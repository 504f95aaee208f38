"""The devnet's market table: real dYdX market parameters, live devnet state.

Parameters come from real indexer payloads bundled in ``data/`` (see its
README): every market of the Aug-2024 ``/v4/perpetualMarkets`` list, with BTC,
ETH and SOL taken from the Dec-2025 capture (their newer margin fractions).
:class:`MarketState` adds what the devnet changes while it runs: the oracle
price (an integer ``value x 10^exponent`` as the chain's x/prices keeps it),
open interest moved by devnet trades, and 24-hour statistics.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dydx_devnet.chain.margin import Perpetual
from dydx_devnet.chain.quantums import base_to_quote_quantums
from dydx_devnet.genesis import PerpetualMarket, load_market_payloads, parse_perpetual_market

REPLAYED_TICKERS = ("BTC-USD", "ETH-USD", "SOL-USD", "AVAX-USD", "DOGE-USD", "LINK-USD", "XRP-USD")

# Oracle prices carry about this many significant digits (the chain's market
# exponents give BTC 1e-5, ETH 1e-6: nine to ten digits).
_ORACLE_DIGITS = 9


def oracle_exponent(price: Decimal) -> int:
    """The price exponent the devnet uses for a market first priced at ``price``."""
    return price.adjusted() - (_ORACLE_DIGITS - 1)


def to_price_value(price: Decimal, exponent: int) -> int:
    """``price`` as an integer count of ``10^exponent`` (rounded half-even, at least 1)."""
    return max(1, int(price.scaleb(-exponent).to_integral_value()))


@dataclass(slots=True)
class MarketState:
    """One devnet market: fixed parameters plus the state the devnet moves.

    Prices are oracle integers ``price_value x 10^price_exponent`` USDC per base
    unit. ``funding_rate_ppb`` is the hourly funding rate in parts per billion
    (the real market's ``nextFundingRate`` at capture). ``base_open_interest_bq``
    is the real market's one-sided open interest at capture time; devnet trades
    add to it (the synthetic liquidity provider is the other side of every
    devnet position, see :attr:`open_interest_bq`).
    """

    spec: PerpetualMarket
    payload: dict[str, Any]
    price_exponent: int
    price_value: int
    base_open_interest_bq: int
    user_long_bq: int = 0
    user_short_bq: int = 0
    volume_24h_qq: int = 0
    trades_24h: int = 0
    open_price_value: int = 0
    hourly_prices: deque[int] = field(default_factory=lambda: deque(maxlen=24))
    funding_rate_ppb: int = 0
    # The market's premium outside the devnet (8-hour ppm): the captured rate.
    baseline_premium_ppm: int = 0
    recent_trades: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ticker(self) -> str:
        return self.spec.ticker

    @property
    def clob_pair_id(self) -> int:
        return self.spec.clob_pair_id

    @property
    def is_active(self) -> bool:
        return self.spec.is_active

    @property
    def oracle_price(self) -> Decimal:
        """Oracle price in USDC per base unit (exact)."""
        return Decimal(self.price_value).scaleb(self.price_exponent)

    @property
    def open_interest_bq(self) -> int:
        """One-sided open interest in base quantums: longs equal shorts once the
        synthetic provider's net position is counted."""
        return self.base_open_interest_bq + max(self.user_long_bq, self.user_short_bq)

    def open_interest_after(self, old_bq: int, new_bq: int) -> int:
        """Open interest (base quantums) if one user position moves ``old_bq -> new_bq``."""
        longs = self.user_long_bq - max(old_bq, 0) + max(new_bq, 0)
        shorts = self.user_short_bq - max(-old_bq, 0) + max(-new_bq, 0)
        return self.base_open_interest_bq + max(longs, shorts)

    def record_hour(self) -> None:
        """Remember the price at an hour boundary; the oldest of the last 24 is
        the base of ``priceChange24H``."""
        self.hourly_prices.append(self.price_value)
        self.open_price_value = self.hourly_prices[0]

    def record_position_change(self, old_bq: int, new_bq: int) -> None:
        self.user_long_bq += max(new_bq, 0) - max(old_bq, 0)
        self.user_short_bq += max(-new_bq, 0) - max(-old_bq, 0)

    def perpetual(
        self, open_interest_bq: int | None = None, price_value: int | None = None
    ) -> Perpetual:
        """The chain's view of this market, for the margin math.

        ``open_interest_bq`` (base quantums) and ``price_value`` (oracle
        integer) default to the current ones.
        """
        return Perpetual(
            atomic_resolution=self.spec.atomic_resolution,
            price_value=self.price_value if price_value is None else price_value,
            price_exponent=self.price_exponent,
            liquidity_tier=self.spec.liquidity_tier,
            open_interest=self.open_interest_bq if open_interest_bq is None else open_interest_bq,
        )

    def notional(self, base_quantums: int, price_value: int | None = None) -> int:
        """Signed notional in quote quantums at the oracle (or ``price_value``),
        truncated toward zero."""
        price = self.price_value if price_value is None else price_value
        return base_to_quote_quantums(
            base_quantums, self.spec.atomic_resolution, price, self.price_exponent
        )

    def requirements(
        self,
        base_quantums: int,
        open_interest_bq: int | None = None,
        custom_imf_ppm: int = 0,
        price_value: int | None = None,
    ) -> tuple[int, int, int]:
        """(initial, base initial, maintenance) margin of a position, quote quantums.

        Initial uses the open-interest-scaled IMF (``open_interest_bq`` defaults
        to the current open interest), raised to ``custom_imf_ppm`` where the
        subaccount set one; base initial is the tier's IMF alone (the indexer's
        free collateral); maintenance the base initial times the maintenance fraction.
        ``price_value`` (oracle integer) defaults to the current price.
        """
        perpetual = self.perpetual(open_interest_bq, price_value)
        initial, maintenance = perpetual.margin_requirements(base_quantums, custom_imf_ppm)
        notional = abs(perpetual.net_notional(base_quantums))
        base_initial = self.spec.liquidity_tier.initial_margin_quote_quantums(notional, 0)
        return initial, base_initial, maintenance

    def subticks_for(self, price_value: int, price_exponent: int, *, round_up: bool) -> int:
        """Subticks of a price ``value x 10^exponent``, on a whole tick."""
        spec = self.spec
        # subticks = price x 10^(ar - qce + 6)
        shift = price_exponent + spec.atomic_resolution - spec.quantum_conversion_exponent + 6
        if shift >= 0:
            raw_num, raw_den = price_value * int(10**shift), 1
        else:
            raw_num, raw_den = price_value, int(10**-shift)
        tick_den = raw_den * spec.subticks_per_tick
        ticks = -((-raw_num) // tick_den) if round_up else raw_num // tick_den
        return max(ticks, 1) * spec.subticks_per_tick

    def oracle_subticks(self, *, round_up: bool = False) -> int:
        """The oracle price in subticks, on a whole tick."""
        return self.subticks_for(self.price_value, self.price_exponent, round_up=round_up)


SYNTHETIC_TEMPLATE = "ETH-USD"


def synthetic_ticker(index: int) -> str:
    """The ticker of the ``index``-th synthetic market (1-based): ``SYN001-USD``."""
    return f"SYN{index:03d}-USD"


def build_markets(
    tickers: tuple[str, ...] | None = None, synthetic: int = 0
) -> dict[str, MarketState]:
    """The devnet markets (all bundled ones, or ``tickers`` in that order), then
    ``synthetic`` copies of ETH-USD's parameters under their own tickers
    (:func:`synthetic_ticker`) and clob pair ids (after the highest bundled one).

    Raises ``KeyError`` naming an unknown ticker.
    """
    payloads = dict(load_market_payloads())  # a copy: synthetic markets join it
    wanted = tuple(payloads) if tickers is None else tickers
    if synthetic:
        next_id = max(int(p["clobPairId"]) for p in payloads.values()) + 1
        template = payloads[SYNTHETIC_TEMPLATE]
        added = []
        for index in range(1, synthetic + 1):
            ticker = synthetic_ticker(index)
            clob_pair_id = str(next_id + index - 1)
            payloads[ticker] = {**template, "ticker": ticker, "clobPairId": clob_pair_id}
            added.append(ticker)
        wanted = (*wanted, *added)
    markets: dict[str, MarketState] = {}
    for ticker in wanted:
        if ticker not in payloads:
            raise KeyError(f"no bundled market {ticker!r}; known: {len(payloads)} markets")
        payload = payloads[ticker]
        spec = parse_perpetual_market(payload)
        price = spec.oracle_price if spec.oracle_price is not None else spec.tick_size
        exponent = oracle_exponent(price)
        value = to_price_value(price, exponent)
        oi_bq = spec.open_interest_base_quantums
        markets[ticker] = MarketState(
            spec=spec,
            payload=payload,
            price_exponent=exponent,
            price_value=value,
            base_open_interest_bq=oi_bq,
            open_price_value=value,
            funding_rate_ppb=int(spec.next_funding_rate.scaleb(9).to_integral_value()),
            baseline_premium_ppm=int((spec.next_funding_rate * 8).scaleb(6).to_integral_value()),
        )
    return markets


__all__ = [
    "REPLAYED_TICKERS",
    "MarketState",
    "build_markets",
    "oracle_exponent",
    "synthetic_ticker",
    "to_price_value",
]
