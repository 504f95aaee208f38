"""Builders for the devnet engine tests: a small deterministic engine, orders, cancels."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from v4_proto.dydxprotocol.clob import tx_pb2
from v4_proto.dydxprotocol.clob.order_pb2 import Order, OrderId
from v4_proto.dydxprotocol.subaccounts.subaccount_pb2 import SubaccountId

from dydx_devnet.engine import Engine, EngineConfig

ALICE = "dydx1alice000000000000000000000000000000"
BOB = "dydx1bob0000000000000000000000000000000000"
GENESIS = datetime(2026, 1, 1, tzinfo=UTC)
TEST_MARKETS = ("BTC-USD", "ETH-USD", "SOL-USD", "ADA-USD", "AGIX-USD", "AKT-USD")
BUY = Order.Side.SIDE_BUY
SELL = Order.Side.SIDE_SELL
IOC = Order.TimeInForce.TIME_IN_FORCE_IOC
GTT = Order.TimeInForce.TIME_IN_FORCE_UNSPECIFIED
POST_ONLY = Order.TimeInForce.TIME_IN_FORCE_POST_ONLY
FOK = Order.TimeInForce.TIME_IN_FORCE_FILL_OR_KILL
USDC = 1_000_000


def make_engine(**overrides: Any) -> Engine:
    settings: dict[str, Any] = {"seed": 7, "markets": TEST_MARKETS, "genesis_time": GENESIS}
    settings.update(overrides)
    return Engine.create(EngineConfig(**settings))


def order_id(
    owner: str = ALICE, client_id: int = 1, flags: int = 0, clob_pair_id: int = 0, number: int = 0
) -> OrderId:
    return OrderId(
        subaccount_id=SubaccountId(owner=owner, number=number),
        client_id=client_id,
        order_flags=flags,
        clob_pair_id=clob_pair_id,
    )


def short_term(
    engine: Engine,
    side: int,
    quantums: int,
    subticks: int,
    *,
    tif: int = IOC,
    client_id: int = 1,
    owner: str = ALICE,
    clob_pair_id: int = 0,
    good_til_block: int | None = None,
    reduce_only: bool = False,
    number: int = 0,
) -> Order:
    return Order(
        order_id=order_id(owner, client_id, 0, clob_pair_id, number),
        side=side,
        quantums=quantums,
        subticks=subticks,
        time_in_force=tif,
        reduce_only=reduce_only,
        good_til_block=engine.height + 5 if good_til_block is None else good_til_block,
    )


def long_term(
    engine: Engine,
    side: int,
    quantums: int,
    subticks: int,
    *,
    tif: int = GTT,
    client_id: int = 1,
    owner: str = ALICE,
    clob_pair_id: int = 0,
    seconds: int = 3600,
) -> Order:
    return Order(
        order_id=order_id(owner, client_id, 64, clob_pair_id),
        side=side,
        quantums=quantums,
        subticks=subticks,
        time_in_force=tif,
        good_til_block_time=int(engine.block_time.timestamp()) + seconds,
    )


def cancel(
    engine: Engine, oid: OrderId, good_til_block: int | None = None
) -> tx_pb2.MsgCancelOrder:
    return tx_pb2.MsgCancelOrder(
        order_id=oid,
        good_til_block=engine.height + 5 if good_til_block is None else good_til_block,
    )


def on_tick(engine: Engine, ticker: str, ticks_from_oracle: int) -> int:
    """Subticks ``ticks_from_oracle`` whole ticks from the oracle (rounded down to a tick)."""
    market = engine.markets[ticker]
    return market.oracle_subticks() + ticks_from_oracle * market.spec.subticks_per_tick


def usdc_of(engine: Engine, owner: str = ALICE, number: int = 0) -> int:
    return engine.state.subaccounts[(owner, number)].usdc


def position_of(engine: Engine, ticker: str, owner: str = ALICE, number: int = 0) -> int:
    account = engine.state.subaccounts.get((owner, number))
    return 0 if account is None else account.position_quantums(ticker)


STOP_LOSS = Order.ConditionType.CONDITION_TYPE_STOP_LOSS
TAKE_PROFIT = Order.ConditionType.CONDITION_TYPE_TAKE_PROFIT


def conditional(
    engine: Engine,
    side: int,
    quantums: int,
    subticks: int,
    trigger_subticks: int,
    *,
    condition: int = STOP_LOSS,
    tif: int = IOC,
    reduce_only: bool = True,
    client_id: int = 1,
    owner: str = ALICE,
    clob_pair_id: int = 0,
    seconds: int = 3600,
) -> Order:
    """A conditional (flags 32) order: a stop-loss or take-profit, reduce-only IOC by default."""
    return Order(
        order_id=order_id(owner, client_id, 32, clob_pair_id),
        side=side,
        quantums=quantums,
        subticks=subticks,
        time_in_force=tif,
        reduce_only=reduce_only,
        good_til_block_time=int(engine.block_time.timestamp()) + seconds,
        condition_type=condition,
        conditional_order_trigger_subticks=trigger_subticks,
    )
