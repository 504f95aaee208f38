"""One market's order book: resting user orders plus synthetic liquidity.

User orders rest in price levels (subticks) in time priority. The synthetic
liquidity stands for the rest of the market: ``levels`` price levels on each
side, the best ones ``spread_ppm / 2`` away from the oracle and each further
one ``level_spacing_ppm`` out, each holding ``depth`` base quantums. What a
taker consumes stays consumed until the next block re-centres the book on the
new oracle price, so a large order walks the book and pays slippage, and
repeating it in the same block costs more.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterator

from dydx_devnet.orders import OrderState


class SideBook:
    """Resting user orders of one side, price levels in subticks."""

    __slots__ = ("_levels", "_prices", "is_bid")

    def __init__(self, *, is_bid: bool) -> None:
        self.is_bid = is_bid
        self._prices: list[int] = []  # ascending
        self._levels: dict[int, list[OrderState]] = {}

    def __len__(self) -> int:
        return sum(len(level) for level in self._levels.values())

    def empty(self) -> bool:
        return not self._prices

    def add(self, order: OrderState) -> None:
        level = self._levels.get(order.subticks)
        if level is None:
            level = self._levels[order.subticks] = []
            insort(self._prices, order.subticks)
        level.append(order)

    def remove(self, order: OrderState) -> None:
        level = self._levels.get(order.subticks)
        if level is None:
            return
        try:
            level.remove(order)
        except ValueError:
            return
        if not level:
            del self._levels[order.subticks]
            index = bisect_left(self._prices, order.subticks)
            del self._prices[index]

    def best_price(self) -> int | None:
        if not self._prices:
            return None
        return self._prices[-1] if self.is_bid else self._prices[0]

    def best_order(self) -> OrderState | None:
        price = self.best_price()
        return None if price is None else self._levels[price][0]

    def orders_from_best(self) -> Iterator[OrderState]:
        prices = reversed(self._prices) if self.is_bid else iter(self._prices)
        for price in list(prices):
            yield from list(self._levels.get(price, ()))

    def levels(self) -> list[tuple[int, int]]:
        """``(subticks, remaining base quantums)`` from the best price out."""
        prices = reversed(self._prices) if self.is_bid else iter(self._prices)
        return [(p, sum(o.remaining for o in self._levels[p])) for p in prices]


class SyntheticSide:
    """The synthetic liquidity of one side, rebuilt lazily at each re-centre."""

    __slots__ = ("available", "prices")

    def __init__(self) -> None:
        self.prices: list[int] = []
        self.available: list[int] = []

    def best(self) -> tuple[int, int] | None:
        """``(level index, subticks)`` of the best level with depth left."""
        for index, amount in enumerate(self.available):
            if amount > 0:
                return index, self.prices[index]
        return None


class Book:
    """A market's book: user sides and synthetic sides.

    ``recentre`` takes the oracle price in subticks (rounded down and up to a
    tick) and the synthetic parameters; levels are built on first use.
    """

    __slots__ = (
        "_centre",
        "_dirty",
        "asks",
        "bids",
        "depth_bq",
        "levels",
        "spacing_ppm",
        "spread_ppm",
        "subticks_per_tick",
        "synthetic_asks",
        "synthetic_bids",
    )

    def __init__(
        self, subticks_per_tick: int, spread_ppm: int, spacing_ppm: int, levels: int
    ) -> None:
        self.bids = SideBook(is_bid=True)
        self.asks = SideBook(is_bid=False)
        self.synthetic_bids = SyntheticSide()
        self.synthetic_asks = SyntheticSide()
        self.subticks_per_tick = subticks_per_tick
        self.spread_ppm = spread_ppm
        self.spacing_ppm = spacing_ppm
        self.levels = levels
        self.depth_bq = 0
        self._centre = 0
        self._dirty = True

    def recentre(self, oracle_subticks: int, depth_bq: int) -> None:
        """Move the synthetic liquidity around a new oracle price (subticks)."""
        self._centre = oracle_subticks
        self.depth_bq = depth_bq
        self._dirty = True

    def _build(self) -> None:
        spt = self.subticks_per_tick
        centre = self._centre
        step = max(spt, centre * self.spacing_ppm // 1_000_000 // spt * spt)
        best_ask = self._best_ask()
        best_bid = self._best_bid() or 0
        self.synthetic_asks.prices = [best_ask + k * step for k in range(self.levels)]
        self.synthetic_bids.prices = [
            p for p in (best_bid - k * step for k in range(self.levels)) if p > 0
        ]
        self.synthetic_asks.available = [self.depth_bq] * len(self.synthetic_asks.prices)
        self.synthetic_bids.available = [self.depth_bq] * len(self.synthetic_bids.prices)
        self._dirty = False

    def best_synthetic_price(self, *, bids: bool) -> int | None:
        """The best synthetic price of a side with depth left, without building the side."""
        if not self._dirty:
            best = self.synthetic(bids=bids).best()
            return None if best is None else best[1]
        return self._best_bid() if bids else self._best_ask()

    def _best_ask(self) -> int:
        spt = self.subticks_per_tick
        centre = self._centre
        best_ask = -(-(centre + centre * self.spread_ppm // 2_000_000) // spt) * spt
        return best_ask + spt if best_ask <= centre else best_ask

    def _best_bid(self) -> int | None:
        spt = self.subticks_per_tick
        centre = self._centre
        best_bid = (centre - centre * self.spread_ppm // 2_000_000) // spt * spt
        best_bid = best_bid - spt if best_bid >= centre else best_bid
        return best_bid if best_bid > 0 else None

    def synthetic(self, *, bids: bool) -> SyntheticSide:
        if self._dirty:
            self._build()
        return self.synthetic_bids if bids else self.synthetic_asks

    def user_side(self, *, bids: bool) -> SideBook:
        return self.bids if bids else self.asks

    def aggregated(self, *, bids: bool, limit: int = 100) -> list[tuple[int, int]]:
        """``(subticks, base quantums)`` levels, user and synthetic merged, best first."""
        merged: dict[int, int] = {}
        synthetic = self.synthetic(bids=bids)
        for price, amount in zip(synthetic.prices, synthetic.available, strict=True):
            if amount > 0:
                merged[price] = merged.get(price, 0) + amount
        for price, amount in self.user_side(bids=bids).levels():
            if amount > 0:
                merged[price] = merged.get(price, 0) + amount
        ordered = sorted(merged.items(), reverse=bids)
        return ordered[:limit]
