"""The soak's venue: a devnet on its own thread, and what it saw.

The devnet runs on its own thread and event loop, as the network would: a
trader whose loop freezes (a journal write waiting on another process's lock)
does not stop the chain. :class:`VenueWatch` records, from the engine itself,
every order placement the chain was asked for (its verdict, height and wall
time) and each market's oracle range, and reads a subaccount's state as the
chain holds it (:class:`VenueState`). Nothing here asks the trader anything.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from v4_proto.dydxprotocol.clob.order_pb2 import Order as ProtoOrder

from dydx_devnet import orders as o
from dydx_devnet.engine import Engine
from dydx_devnet.faults import INDEXER_ROUTES
from dydx_devnet.server import Devnet, DevnetConfig
from dydx_devnet.subaccounts import risk

# The network latency every schedule runs under (``SOAK_LATENCY_MS``, milliseconds):
# the devnet adds it to every gRPC call, indexer answer and WebSocket message.
BASE_LATENCY_MS = int(os.environ.get("SOAK_LATENCY_MS", "0"))
# Everything off: what a schedule starts from and ends with (POST /devnet/faults).
HEALED: dict[str, Any] = {
    "drop_next_broadcast_responses": 0,
    "fail_next_broadcasts": 0,
    "delay_next_broadcast_responses": {"count": 0, "seconds": 1},
    "hold_indexer": 0,
    "delay_fills_blocks": 0,
    "latency": {"ms": BASE_LATENCY_MS},
}


class DevnetThread:
    """``with DevnetThread(config) as devnet``: a running devnet on a thread of its own."""

    def __init__(self, config: DevnetConfig) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="soak-devnet")
        self.devnet = Devnet(config)

    def __enter__(self) -> Devnet:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.devnet.start(), self._loop).result(timeout=120)
        return self.devnet

    def __exit__(self, *exc: object) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self.devnet.stop(), self._loop).result(timeout=60)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=60)
            self._loop.close()


def heal(devnet: Devnet) -> None:
    """Every fault off and every oracle price free again."""
    devnet.faults.apply(HEALED)
    for route in INDEXER_ROUTES:
        devnet.faults.fail_next_indexer_requests(0, route)
    engine = devnet.engine
    assert engine is not None
    for ticker in list(engine.state.pinned_prices):
        engine.set_oracle_price(ticker, None)


def gap(devnet: Devnet, ticker: str, bps: int) -> None:
    """``ticker``'s oracle jumps by ``bps`` and stays there until :func:`heal`."""
    engine = devnet.engine
    assert engine is not None
    with engine.lock:
        price = engine.markets[ticker].oracle_price
        engine.set_oracle_price(ticker, price * (1 + Decimal(bps) / 10_000))


@dataclass(frozen=True, slots=True)
class Placement:
    """One ``MsgPlaceOrder`` the chain was asked to place, and its CheckTx verdict."""

    address: str
    number: int
    client_id: int
    accepted: bool
    code: int
    height: int
    at: float  # wall seconds (time.time()) when the chain answered
    reduce_only: bool


@dataclass(frozen=True, slots=True)
class VenueOrder:
    """An order as the engine holds it now (the last placement of its id)."""

    client_id: int
    ticker: str
    status: str
    quantums: int
    filled: int


@dataclass(frozen=True, slots=True)
class VenueFill:
    fill_id: str
    client_id: int | None  # None: not from an order (a liquidation)
    quantums: int
    quote_qq: int  # price x size, quote quantums (rounded up)
    height: int


@dataclass(frozen=True, slots=True)
class VenueState:
    """One subaccount as the chain holds it: net collateral and signed notionals at
    the current oracle (quote quantums), its orders, fills and placements."""

    equity_qq: int
    notionals_qq: dict[str, int]
    orders: dict[int, VenueOrder]
    fills: dict[str, VenueFill]
    placements: tuple[Placement, ...]

    @property
    def gross_qq(self) -> int:
        return sum(abs(n) for n in self.notionals_qq.values())


@dataclass
class _Range:
    low: int
    high: int

    def add(self, value: int) -> None:
        self.low, self.high = min(self.low, value), max(self.high, value)


class VenueWatch:
    """What the devnet's engine saw; install once per devnet (:meth:`attach`)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._placements: list[Placement] = []
        self._ranges: dict[str, _Range] = {}
        self._original_place: Callable[..., Any] = engine.place_order

    @classmethod
    def attach(cls, devnet: Devnet) -> VenueWatch:
        engine = devnet.engine
        assert engine is not None, "start the devnet first"
        watch = cls(engine)
        # The transport calls engine.place_order: record each call's verdict there.
        engine.place_order = watch._place  # type: ignore[method-assign]
        engine.add_listener(watch._on_event)
        return watch

    # -- recording (under the engine lock) ----------------------------------------------

    def _place(self, order: ProtoOrder, tx_hash: str | None = None) -> Any:
        engine = self._engine
        with engine.lock:
            result = self._original_place(order, tx_hash)
            key = o.order_key(order)
            self._placements.append(
                Placement(
                    address=key[0],
                    number=key[1],
                    client_id=key[2],
                    accepted=bool(result.code == 0),
                    code=int(result.code),
                    height=engine.height,
                    at=time.time(),
                    reduce_only=bool(order.reduce_only),
                )
            )
            return result

    def _on_event(self, _event: object) -> None:
        for ticker, market in self._engine.markets.items():
            found = self._ranges.get(ticker)
            if found is not None:
                found.add(market.price_value)

    # -- reading ----------------------------------------------------------------------

    def mark(self) -> None:
        """Start the oracle ranges anew: from every price the indexer may still serve
        (the history ring), so a lagging view is inside them too."""
        engine = self._engine
        with engine.lock:
            state = engine.state
            ranges = {t: _Range(m.price_value, m.price_value) for t, m in engine.markets.items()}
            for height in range(state.height - state.history.capacity - 1, state.height + 1):
                record = state.history.block(height)
                for ticker, value in (record.prices if record else {}).items():
                    if ticker in ranges:
                        ranges[ticker].add(value)
            self._ranges = ranges

    def price_moves(self) -> dict[str, Fraction]:
        """Each market's largest relative oracle move since :meth:`mark`: high / low - 1."""
        with self._engine.lock:
            return {t: Fraction(r.high, r.low) - 1 for t, r in self._ranges.items()}

    def state(self, address: str, number: int) -> VenueState:
        """The subaccount as the chain holds it now (all of it read under one lock)."""
        engine = self._engine
        with engine.lock:
            state = engine.state
            markets = engine.markets
            account = state.subaccounts.get((address, number))
            equity = 0 if account is None else risk(account, markets).net_collateral
            notionals = (
                {}
                if account is None
                else {t: markets[t].notional(p.quantums) for t, p in account.positions.items()}
            )
            orders = {
                order.client_id: VenueOrder(
                    order.client_id, order.ticker, order.status, order.quantums, order.filled
                )
                for order in state.subaccount_orders.get((address, number), ())
            }
            fills: dict[str, VenueFill] = {}
            for fill in state.fills.get((address, number), ()):
                placed = state.orders_by_uuid.get(fill.get("orderId", ""))
                spec = markets[fill["market"]].spec
                size = Decimal(fill["size"])
                fills[fill["id"]] = VenueFill(
                    fill["id"],
                    None if placed is None else placed.client_id,
                    int(size.scaleb(-spec.atomic_resolution)),
                    math.ceil((size * Decimal(fill["price"])).scaleb(6)),
                    int(fill["createdAtHeight"]),
                )
            placements = tuple(
                p for p in self._placements if (p.address, p.number) == (address, number)
            )
        return VenueState(equity, notionals, orders, fills, placements)

    def taker_fee_ppm(self, address: str) -> int:
        """The taker fee (ppm of a fill's notional) the devnet charges ``address`` now
        (read under the engine's lock: its fills change while blocks are made)."""
        with self._engine.lock:
            return self._engine.state.fee_ppm(address, taker=True)

    @property
    def block_time_s(self) -> float:
        return float(self._engine.config.block_time_s)
