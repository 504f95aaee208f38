"""A market that trades without us: other participants' market orders hit the book.

Each market gets a stream of taker orders, drawn for every hour of *market*
time (data time, so a replay draws the same hour alike however fast it runs
and whichever day it started on) from a generator seeded by
``(seed, ticker, hour)``: arrivals at Poisson times, ``background_flow`` per
minute on average, scaled by that hour's candle volume against the market's
average hour (0.1x to 5x; 1x for markets without bundled candles); each buys
or sells with equal odds some notional drawn from an exponential of mean half
a synthetic level (``depth_per_level_usdc / 2``).

A block executes the orders that arrived since the previous block, in time
order, against its book: the synthetic liquidity (what the flow takes stays
taken until the next block re-centres the book: passive orders refresh) and
the users' resting orders, best price first. Queue position: a user order
resting at the price of a synthetic level waits behind that level's depth
(``queue_ahead``, set when the flow first reaches it) and fills only once
the flow has traded through it; one that improves on the synthetic price is
first in line. User fills settle as maker fills (collateral check, maker
fee); every trade is public (``v4_trades``, 24-hour statistics).
Deterministic for a seed and a block schedule: no wall clock, no unordered
iteration.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Final

from dydx_devnet.chain.quantums import fill_amount_to_quote_quantums, quote_to_base_quantums
from dydx_devnet.markets import MarketState
from dydx_devnet.matching import Matcher
from dydx_devnet.orders import OrderState
from dydx_devnet.replay import HOUR_MS, PricePath
from dydx_devnet.settlement import Settlement
from dydx_devnet.state import EngineState

QUEUE_AHEAD: Final = "queue_ahead"
_MIN_VOLUME_FACTOR: Final = Decimal("0.1")
_MAX_VOLUME_FACTOR: Final = Decimal(5)


@dataclass(frozen=True, slots=True)
class FlowOrder:
    """One taker order of the flow: data time (ms), side, notional in USDC."""

    data_ms: int
    is_buy: bool
    notional_usdc: float


@lru_cache(maxsize=64)
def _mean_hourly_volume(path: PricePath) -> Decimal:
    volumes = [candle.base_volume for candle in path.candles]
    return sum(volumes, Decimal(0)) / max(1, len(volumes))


def _volume_factor(path: PricePath | None, data_ms: int) -> Decimal:
    """This hour's candle volume against the market's average hour, bounded."""
    if path is None:
        return Decimal(1)
    mean = _mean_hourly_volume(path)
    if mean <= 0:
        return Decimal(1)
    volume = path.candles[path.index_at(data_ms)].base_volume
    return min(max(volume / mean, _MIN_VOLUME_FACTOR), _MAX_VOLUME_FACTOR)


def hour_orders(
    seed: int, ticker: str, hour: int, per_minute: float, mean_usdc: float, factor: Decimal
) -> tuple[FlowOrder, ...]:
    """The flow of ``ticker`` in data hour ``hour`` (hours since the epoch), in time order."""
    rng = random.Random(f"{seed}:{ticker}:flow:{hour}")
    rate_per_ms = per_minute * float(factor) / 60_000
    orders: list[FlowOrder] = []
    offset = rng.expovariate(rate_per_ms)
    while offset < HOUR_MS:
        is_buy = rng.random() < 0.5
        # The float draw only shapes the flow; sizes become integer quantums below.
        notional = min(rng.expovariate(1 / mean_usdc), 20 * mean_usdc)
        orders.append(FlowOrder(hour * HOUR_MS + int(offset), is_buy, notional))
        offset += rng.expovariate(rate_per_ms)
    return tuple(orders)


def _better(price: int, other: int, *, taker_buys: bool) -> bool:
    """Whether a maker at ``price`` is a better fill for the taker than one at ``other``."""
    return price < other if taker_buys else price > other


class BackgroundFlow:
    """Draws the flow and executes it at each block (caller holds the engine lock)."""

    def __init__(self, state: EngineState, matcher: Matcher, settlement: Settlement) -> None:
        self._state = state
        self._matcher = matcher
        self._settlement = settlement
        self._hours: dict[tuple[str, int], tuple[FlowOrder, ...]] = {}

    def replace_captured_statistics(self) -> None:
        """The flow stands for the rest of the market: the real market's captured
        24-hour volume and trade count no longer add to the devnet's own."""
        for market in self._state.markets.values():
            market.payload = {**market.payload, "volume24H": "0", "trades24H": 0}

    def run_block(self, previous_ms: int) -> None:
        """Execute every market's flow that arrived in ``(previous_ms, block time]``."""
        state = self._state
        per_minute = state.config.background_flow
        if per_minute <= 0 or state.replay is None:
            return
        shift = state.replay.shift_ms
        start, end = previous_ms - shift, state.block_time_ms - shift
        for ticker, market in state.markets.items():
            if not market.is_active:
                continue
            for order in self._arrivals(ticker, start, end, per_minute):
                self.execute(market, order)
        # Only the current and the previous hour can still be needed.
        current = end // HOUR_MS
        for key in [k for k in self._hours if k[1] < current - 1]:
            del self._hours[key]

    def _arrivals(self, ticker: str, start: int, end: int, per_minute: float) -> list[FlowOrder]:
        state = self._state
        assert state.replay is not None
        path = state.replay.paths.get(ticker)
        arrived: list[FlowOrder] = []
        for hour in range(start // HOUR_MS, end // HOUR_MS + 1):
            key = (ticker, hour)
            orders = self._hours.get(key)
            if orders is None:
                factor = _volume_factor(path, hour * HOUR_MS)
                mean_usdc = state.config.depth_per_level_usdc / 2
                orders = hour_orders(state.config.seed, ticker, hour, per_minute, mean_usdc, factor)
                self._hours[key] = orders
            arrived += [o for o in orders if start < o.data_ms <= end]
        return arrived

    def execute(self, market: MarketState, flow: FlowOrder) -> None:
        """One taker order against the book: users and synthetic liquidity, best first."""
        state = self._state
        spec = market.spec
        notional_qq = int(Decimal(flow.notional_usdc) * 1_000_000)
        raw = quote_to_base_quantums(
            notional_qq, spec.atomic_resolution, market.price_value, market.price_exponent
        )
        remaining = raw // spec.step_base_quantums * spec.step_base_quantums
        book = state.books[market.ticker]
        users = book.user_side(bids=not flow.is_buy)
        synthetic = book.synthetic(bids=not flow.is_buy)
        while remaining > 0:
            level = synthetic.best()
            maker = users.best_order()
            if maker is not None and (
                level is None or not _better(level[1], maker.subticks, taker_buys=flow.is_buy)
            ):
                if level is not None and level[1] == maker.subticks:
                    ahead = self._queue_ahead(maker, book.depth_bq)
                    take = min(remaining, ahead, synthetic.available[level[0]])
                    if take > 0:
                        synthetic.available[level[0]] -= take
                        self._advance_queue(users.orders_from_best(), maker.subticks, take)
                        self._public_trade(market, flow.is_buy, take, level[1])
                        remaining -= take
                        continue
                amount = min(remaining, maker.remaining)
                tx_hash = state.tx_hash_for("flow", market.ticker, state.height, state.sequence)
                state.next_sequence()
                if self._matcher.fill_maker(maker, market, amount, maker.subticks, tx_hash):
                    self._settlement.record_trade(market, flow.is_buy, amount, maker.subticks)
                    remaining -= amount
            elif level is not None:
                take = min(remaining, synthetic.available[level[0]])
                synthetic.available[level[0]] -= take
                self._public_trade(market, flow.is_buy, take, level[1])
                remaining -= take
            else:
                break  # the book is empty on that side: the rest of the order lapses
        state.touched_books.add(market.ticker)

    @staticmethod
    def _queue_ahead(order: OrderState, depth_bq: int) -> int:
        """How much synthetic liquidity is ahead of ``order`` at its price."""
        ahead = order.extra.get(QUEUE_AHEAD)
        if not isinstance(ahead, int):
            ahead = depth_bq  # it joined the queue behind the level's depth
            order.extra[QUEUE_AHEAD] = ahead
        return ahead

    @staticmethod
    def _advance_queue(orders: Iterator[OrderState], price: int, traded: int) -> None:
        """The flow traded ``traded`` ahead of the orders resting at ``price``."""
        for order in orders:
            if order.subticks != price:
                break
            ahead = order.extra.get(QUEUE_AHEAD)
            if isinstance(ahead, int):
                order.extra[QUEUE_AHEAD] = max(0, ahead - traded)

    def _public_trade(self, market: MarketState, is_buy: bool, quantums: int, price: int) -> None:
        """A trade between the flow and the synthetic liquidity (no user involved)."""
        state = self._state
        state.next_event_id()  # a trade id of its own
        self._settlement.record_trade(market, is_buy, quantums, price)
        market.volume_24h_qq += fill_amount_to_quote_quantums(
            price, quantums, market.spec.quantum_conversion_exponent
        )
        state.trading_changed.add(market.ticker)
