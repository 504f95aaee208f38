"""Signed order transactions, built from our exact integers with the official client.

We build the ``Order`` protobuf ourselves from quantums and subticks computed
in ``Decimal`` (never the client's float helpers, trap 3.1) and set
``client_metadata`` ourselves (its ``message.order()`` ignores the argument,
trap T10). Signing goes through the official ``Builder``, so the bytes are
exactly what ``NodeClient.place_order`` would broadcast, but we hold them
before sending: the intent is journaled first, and a lost answer can be
settled by the transaction hash.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from dydx_v4_client.node.builder import Builder, TxOptions
from dydx_v4_client.node.message import cancel_order, place_order
from v4_proto.dydxprotocol.clob.order_pb2 import Order, OrderId
from v4_proto.dydxprotocol.subaccounts.subaccount_pb2 import SubaccountId

from dydx_trader.domain.broadcast import SignedOrder
from dydx_trader.domain.order import ConditionType, OrderIntent, TimeInForce
from dydx_trader.domain.side import Side

if TYPE_CHECKING:
    from dydx_v4_client.wallet import Wallet

# Marks our orders in the indexer's ``clientMetadata`` (the official client
# always sends 2).
CLIENT_METADATA = 7

_TIME_IN_FORCE = {
    TimeInForce.GTT: Order.TimeInForce.TIME_IN_FORCE_UNSPECIFIED,
    TimeInForce.IOC: Order.TimeInForce.TIME_IN_FORCE_IOC,
    TimeInForce.POST_ONLY: Order.TimeInForce.TIME_IN_FORCE_POST_ONLY,
}
# Passed explicitly: the client's helper answers UNSPECIFIED for stop orders (trap T10).
_CONDITION = {
    ConditionType.STOP_LOSS: Order.ConditionType.CONDITION_TYPE_STOP_LOSS,
    ConditionType.TAKE_PROFIT: Order.ConditionType.CONDITION_TYPE_TAKE_PROFIT,
}


def order_id_proto(intent: OrderIntent) -> OrderId:
    """The on-chain identity of the intent's order."""
    return OrderId(
        subaccount_id=SubaccountId(owner=intent.address, number=intent.subaccount_number),
        client_id=intent.client_id,
        order_flags=intent.order_flags,
        clob_pair_id=intent.clob_pair_id,
    )


def order_proto(intent: OrderIntent) -> Order:
    """The ``Order`` message for ``intent``, with its exact quantums and subticks."""
    fields: dict[str, object] = {
        "order_id": order_id_proto(intent),
        "side": Order.Side.SIDE_BUY if intent.side is Side.BUY else Order.Side.SIDE_SELL,
        "quantums": intent.quantums,
        "subticks": intent.subticks,
        "time_in_force": _TIME_IN_FORCE[intent.time_in_force],
        "reduce_only": intent.reduce_only,
        "client_metadata": CLIENT_METADATA,
    }
    if intent.good_til_block is not None:
        fields["good_til_block"] = intent.good_til_block
    else:
        fields["good_til_block_time"] = intent.good_til_block_time
    if intent.condition_type is not None:
        fields["condition_type"] = _CONDITION[intent.condition_type]
        fields["conditional_order_trigger_subticks"] = intent.trigger_subticks
    return Order(**fields)


def sign_place_order(
    builder: Builder, wallet: Wallet, intent: OrderIntent, tx_options: TxOptions | None = None
) -> SignedOrder:
    """Sign a ``MsgPlaceOrder`` for ``intent`` with the official builder.

    With ``tx_options`` the wallet holds a bot key that signs for the owner's
    account through the authenticators ``tx_options`` selects (the owner's
    account number and sequence).
    """
    tx = builder.build(wallet, place_order(order_proto(intent)), tx_options=tx_options)
    return _signed(tx.SerializeToString())


def sign_stateful_cancel(
    builder: Builder, wallet: Wallet, intent: OrderIntent, tx_options: TxOptions | None = None
) -> SignedOrder:
    """Sign a ``MsgCancelOrder`` of ``intent``'s stateful order, good until the order's
    own good-til-block-time (the chain wants the cancel's at least as late, 29)."""
    message = cancel_order(
        order_id_proto(intent), good_til_block_time=intent.good_til_block_time
    )
    tx = builder.build(wallet, message, tx_options=tx_options)
    return _signed(tx.SerializeToString())


def _signed(tx_bytes: bytes) -> SignedOrder:
    return SignedOrder(tx_bytes, hashlib.sha256(tx_bytes).hexdigest().upper())
