"""A small dYdX for tests of a whole trader: indexer, node and order sender in one.

:class:`FakeExchange` keeps one subaccount's USDC and positions, the markets,
candles, a block height, and the orders and fills it made. What it does with an
order it is sent is set by ``mode``:

* ``"fill"``: an IOC fills in full at the oracle price (never past its limit),
  paying ``fee_ppm``; a resting order fills too when its limit is through the oracle;
* ``"rest"``: accepted, rests unfilled until its good-til-block passes;
* ``"reject"``: refused by CheckTx with a definitive code;
* ``"lose"``: the answer is lost and the order never lands.

Its node answers the subaccount's leverage settings (``leverage``: custom IMF
ppm by clob pair id) and its fee tier (taker ``fee_ppm``, ``maker_fee_ppm``).

Every accepted order advances the chain by one block, as a block that includes it
would. Nothing here is clever: it is a fake with dYdX's shape, not a matcher.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from dydx_trader.domain.account import AccountSnapshot, PerpetualPosition
from dydx_trader.domain.account_terms import FeeTier
from dydx_trader.domain.broadcast import (
    Accepted,
    BroadcastOutcome,
    Rejected,
    SignedOrder,
    Unknown,
)
from dydx_trader.domain.errors import OrderOutcomeUnknown, UnknownMarket, VenueRejected
from dydx_trader.domain.market import MarketSpec
from dydx_trader.domain.order import OrderIntent, TimeInForce
from dydx_trader.domain.side import Side
from dydx_trader.domain.venue import (
    Candle,
    CandleResolution,
    IndexerFill,
    IndexerHeight,
    IndexerOrder,
    IndexerOrderStatus,
)
from kit.clock import T0
from kit.orders import ADDRESS

Mode = Literal["fill", "rest", "reject", "lose"]


class FakeExchange:
    """One subaccount on a pretend chain; see the module docstring."""

    def __init__(
        self,
        markets: Mapping[str, MarketSpec],
        *,
        address: str = ADDRESS,
        usdc: Decimal = Decimal(10_000),
        height: int = 100,
        fee_ppm: int = 500,
        now: datetime = T0,
    ) -> None:
        self.markets = dict(markets)
        self.address = address
        self.usdc = usdc
        self.positions: dict[str, Decimal] = {}
        self.height = height
        self.fee_ppm = fee_ppm
        self.now = now
        self.mode: Mode = "fill"
        self.candles: dict[tuple[str, CandleResolution], list[Candle]] = {}
        self.sent: list[OrderIntent] = []
        self.orders: list[IndexerOrder] = []
        self.fills: list[IndexerFill] = []
        self.account_reads = 0
        # The subaccount's terms on the chain: custom IMF ppm by clob pair id, the maker fee.
        self.leverage: dict[int, int] = {}
        self.maker_fee_ppm = 100
        self.terms_reads = 0
        self._signed: dict[str, OrderIntent] = {}
        self._resting: dict[str, int] = {}  # order id -> good-til-block

    # -- set-up ------------------------------------------------------------------------

    def hold(self, market: str, size: Decimal) -> None:
        """Hold ``size`` (signed) of ``market``, bought at the oracle with this account's USDC."""
        price = self.markets[market].require_oracle_price()
        self.positions[market] = self.positions.get(market, Decimal(0)) + size
        self.usdc -= size * price

    def add_candles(self, market: str, resolution: CandleResolution, closes: Sequence[str]) -> None:
        """Candles of ``resolution`` closing at ``closes``, each spanning 1 % around its close."""
        step = timedelta(seconds=resolution.seconds)
        series = []
        start = self.now - step * len(closes)
        for index, text in enumerate(closes):
            close = Decimal(text)
            series.append(
                Candle(
                    ticker=market,
                    resolution=resolution,
                    started_at=start + step * index,
                    open=close,
                    high=close * Decimal("1.005"),
                    low=close * Decimal("0.995"),
                    close=close,
                    base_volume=Decimal(1),
                    usd_volume=close,
                    trades=1,
                )
            )
        self.candles[(market, resolution)] = series

    def advance(self, blocks: int = 1) -> None:
        """Produce ``blocks`` blocks: resting orders past their good-til-block are removed."""
        self.height += blocks
        self.now += timedelta(seconds=blocks)
        for order_id, good_til_block in list(self._resting.items()):
            if self.height > good_til_block:
                del self._resting[order_id]
                self.orders = [o for o in self.orders if o.order_id != order_id]

    # -- the indexer ---------------------------------------------------------------------

    async def get_account(self, address: str, subaccount_number: int) -> AccountSnapshot:
        self.account_reads += 1
        positions = tuple(
            PerpetualPosition(market, size) for market, size in self.positions.items() if size
        )
        return AccountSnapshot(
            address,
            subaccount_number,
            self.usdc,
            positions,
            updated_at_height=self.height,
            latest_processed_block_height=self.height,
        )

    async def get_markets(self) -> Mapping[str, MarketSpec]:
        return dict(self.markets)

    async def get_candles(
        self, ticker: str, resolution: CandleResolution, *, limit: int | None = None
    ) -> Sequence[Candle]:
        if ticker not in self.markets:
            raise UnknownMarket(f"no market {ticker}", market=ticker)
        series = self.candles.get((ticker, CandleResolution(resolution)), [])
        return series[-limit:] if limit else list(series)

    async def get_height(self) -> IndexerHeight:
        return IndexerHeight(self.height, self.now)

    async def get_orders(
        self,
        address: str,
        subaccount_number: int,
        *,
        ticker: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        good_til_block_before_or_at: int | None = None,
        good_til_block_after: int | None = None,
    ) -> tuple[IndexerOrder, ...]:
        found = [
            o
            for o in self.orders
            if (ticker is None or o.ticker == ticker)
            and (status is None or o.status == status)
            and (
                good_til_block_before_or_at is None
                or (o.good_til_block or 0) <= good_til_block_before_or_at
            )
            and (good_til_block_after is None or (o.good_til_block or 0) > good_til_block_after)
        ]
        return tuple(found[:limit] if limit else found)

    async def get_order(self, order_id: str) -> IndexerOrder | None:
        return next((o for o in self.orders if o.order_id == order_id), None)

    async def get_fills(
        self,
        address: str,
        subaccount_number: int,
        *,
        market: str | None = None,
        limit: int | None = None,
        created_before_or_at_height: int | None = None,
    ) -> tuple[IndexerFill, ...]:
        found = [
            f
            for f in self.fills
            if (market is None or f.ticker == market)
            and (
                created_before_or_at_height is None
                or f.created_at_height <= created_before_or_at_height
            )
        ]
        return tuple(found[:limit] if limit else found)

    # -- the node ------------------------------------------------------------------------

    async def latest_block_height(self) -> int:
        return self.height

    async def chain_id(self) -> str:
        return "fake-dydx"

    async def account_numbers(self, address: str) -> tuple[int, int]:
        return 0, 0

    async def subaccount_leverage(self, address: str, subaccount_number: int) -> dict[int, int]:
        self.terms_reads += 1
        return dict(self.leverage)

    async def user_fee_tier(self, address: str) -> FeeTier:
        return FeeTier("1", self.fee_ppm, self.maker_fee_ppm)

    async def close(self) -> None:
        """Nothing to close (the trader closes its indexer and its node: both are this)."""

    # -- the order sender ------------------------------------------------------------------

    def sign(self, intent: OrderIntent) -> SignedOrder:
        tx_hash = hashlib.sha256(repr(intent).encode()).hexdigest().upper()
        self._signed[tx_hash] = intent
        return SignedOrder(f"tx-{intent.client_id}".encode(), tx_hash)

    async def broadcast(self, signed: SignedOrder) -> BroadcastOutcome:
        intent = self._signed[signed.tx_hash]
        self.sent.append(intent)
        if self.mode == "reject":
            return Rejected(VenueRejected("insufficient collateral", chain_code=3007))
        if self.mode == "lose":
            return Unknown(OrderOutcomeUnknown("the answer to the broadcast was lost"))
        self.advance()
        self._place(intent)
        return Accepted(signed.tx_hash)

    def _place(self, intent: OrderIntent) -> None:
        spec = self.markets[intent.market]
        oracle = spec.require_oracle_price()
        limit = spec.subticks_to_price(intent.subticks)
        size = spec.quantums_to_size(intent.quantums)
        crosses = (limit - oracle) * intent.side.sign >= 0
        fills = self.mode == "fill" and crosses
        order_id = f"order-{intent.client_id}"
        status = IndexerOrderStatus.FILLED if fills else IndexerOrderStatus.OPEN
        if not fills and intent.time_in_force is TimeInForce.IOC:
            status = IndexerOrderStatus.BEST_EFFORT_CANCELED
        self.orders.append(
            IndexerOrder(
                order_id=order_id,
                client_id=intent.client_id,
                ticker=intent.market,
                clob_pair_id=intent.clob_pair_id,
                side=intent.side,
                size=size,
                total_filled=size if fills else Decimal(0),
                price=limit,
                order_type="LIMIT",
                status=status,
                time_in_force=intent.time_in_force.value,
                reduce_only=intent.reduce_only,
                post_only=intent.time_in_force is TimeInForce.POST_ONLY,
                order_flags=int(intent.order_flags),
                good_til_block=intent.good_til_block,
                created_at_height=self.height,
                updated_at_height=self.height,
            )
        )
        if status is IndexerOrderStatus.OPEN:
            self._resting[order_id] = intent.good_til_block or self.height
        if fills:
            self._fill(intent, order_id, size, oracle)

    def _fill(self, intent: OrderIntent, order_id: str, size: Decimal, price: Decimal) -> None:
        fee = size * price * self.fee_ppm / 1_000_000
        signed = size if intent.side is Side.BUY else -size
        self.positions[intent.market] = self.positions.get(intent.market, Decimal(0)) + signed
        self.usdc -= signed * price + fee
        self.fills.append(
            IndexerFill(
                fill_id=f"fill-{intent.client_id}",
                ticker=intent.market,
                side=intent.side,
                liquidity="TAKER",
                fill_type="LIMIT",
                price=price,
                size=size,
                fee=fee,
                created_at=self.now,
                created_at_height=self.height,
                order_id=order_id,
            )
        )
