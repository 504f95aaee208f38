"""Orders as the devnet keeps them, their identities and the chain's stateless checks.

An order's on-chain identity is ``(owner, subaccount number, client id,
order flags, clob pair id)``. The indexer names orders, subaccounts and fills
by UUIDv5s of those identities under its own namespace; the devnet derives
them the same way, so its ids are the real indexer's.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final

from v4_proto.dydxprotocol.clob.order_pb2 import Order

SHORT_TERM: Final = 0
CONDITIONAL: Final = 32
LONG_TERM: Final = 64
TWAP: Final = 128
MAX_SUBACCOUNT_NUMBER: Final = 128_000

CONDITION_STOP_LOSS: Final = Order.ConditionType.CONDITION_TYPE_STOP_LOSS
CONDITION_TAKE_PROFIT: Final = Order.ConditionType.CONDITION_TYPE_TAKE_PROFIT
TIF_UNSPECIFIED: Final = Order.TimeInForce.TIME_IN_FORCE_UNSPECIFIED
TIF_IOC: Final = Order.TimeInForce.TIME_IN_FORCE_IOC
TIF_POST_ONLY: Final = Order.TimeInForce.TIME_IN_FORCE_POST_ONLY
TIF_FOK: Final = Order.TimeInForce.TIME_IN_FORCE_FILL_OR_KILL
SIDE_BUY: Final = Order.Side.SIDE_BUY
SIDE_SELL: Final = Order.Side.SIDE_SELL

# The indexer's own UUIDv5 namespace (indexer/packages/postgres/src/helpers/uuid.ts), so
# subaccount, order and fill ids are the ones the real indexer would give.
_NAMESPACE: Final = uuid.UUID("0f9da948-a6fb-4c45-9edc-4685c3f3317d")

OrderKey = tuple[str, int, int, int, int]
"""(owner, subaccount number, client id, order flags, clob pair id)."""

# Indexer status and removal-reason strings.
OPEN: Final = "OPEN"
UNTRIGGERED: Final = "UNTRIGGERED"
FILLED: Final = "FILLED"
CANCELED: Final = "CANCELED"
BEST_EFFORT_CANCELED: Final = "BEST_EFFORT_CANCELED"
EXPIRED: Final = "ORDER_REMOVAL_REASON_EXPIRED"
USER_CANCELED: Final = "ORDER_REMOVAL_REASON_USER_CANCELED"
UNDERCOLLATERALIZED: Final = "ORDER_REMOVAL_REASON_UNDERCOLLATERALIZED"
SELF_TRADE: Final = "ORDER_REMOVAL_REASON_SELF_TRADE_ERROR"
POST_ONLY_CROSSED: Final = "ORDER_REMOVAL_REASON_POST_ONLY_WOULD_CROSS_MAKER_ORDER"
IOC_WOULD_REST: Final = "ORDER_REMOVAL_REASON_IMMEDIATE_OR_CANCEL_WOULD_REST_ON_BOOK"
REDUCE_ONLY_RESIZE: Final = "ORDER_REMOVAL_REASON_REDUCE_ONLY_RESIZE"
REPLACED: Final = "ORDER_REMOVAL_REASON_REPLACED"
FULLY_FILLED: Final = "ORDER_REMOVAL_REASON_FULLY_FILLED"
VIOLATES_ISOLATED: Final = "ORDER_REMOVAL_REASON_VIOLATES_ISOLATED_SUBACCOUNT_CONSTRAINTS"
MATCH_FAILURES: Final = (UNDERCOLLATERALIZED, VIOLATES_ISOLATED)


def removal_reason_for(verdict: str) -> str:
    """The indexer removal reason of an order whose match failed with ``verdict``."""
    if verdict == "ViolatesIsolatedSubaccountConstraints":
        return VIOLATES_ISOLATED
    return UNDERCOLLATERALIZED


@lru_cache(maxsize=65_536)
def subaccount_uuid(address: str, number: int) -> str:
    """The devnet's UUIDv5 of a subaccount (the indexer's ``subaccountId``)."""
    return str(uuid.uuid5(_NAMESPACE, f"{address}-{number}"))


def order_uuid(key: OrderKey) -> str:
    """The devnet's UUIDv5 of an on-chain OrderId (the indexer's order ``id``)."""
    owner, number, client_id, flags, clob_pair_id = key
    return str(
        uuid.uuid5(
            _NAMESPACE, f"{subaccount_uuid(owner, number)}-{client_id}-{clob_pair_id}-{flags}"
        )
    )


def indexer_uuid(name: str) -> str:
    """The indexer's ``getUuid``: a UUIDv5 of ``name`` in its namespace."""
    return str(uuid.uuid5(_NAMESPACE, name))


def derived_uuid(*parts: object) -> str:
    """A UUIDv5 of ``parts`` for fills and positions."""
    return str(uuid.uuid5(_NAMESPACE, "-".join(str(p) for p in parts)))


def order_hash(order: Order) -> bytes:
    """``Order.GetOrderHash``: SHA-256 of the order's protobuf bytes (replacement tie-break)."""
    return hashlib.sha256(order.SerializeToString(deterministic=True)).digest()


def order_key(order: Order) -> OrderKey:
    oid = order.order_id
    return (
        oid.subaccount_id.owner,
        oid.subaccount_id.number,
        oid.client_id,
        oid.order_flags,
        oid.clob_pair_id,
    )


@dataclass(slots=True, eq=False)
class OrderState:
    """One order the devnet has seen: its terms and where it stands.

    ``quantums``/``filled`` in base quantums, ``subticks`` the limit price.
    ``good_til_block`` for short-term orders, ``good_til_block_time`` (unix
    seconds) for stateful ones. Times are chain milliseconds.
    """

    key: OrderKey
    uuid: str
    subaccount_uuid: str
    ticker: str
    is_buy: bool
    quantums: int
    subticks: int
    time_in_force: int
    reduce_only: bool
    client_metadata: int
    good_til_block: int | None
    good_til_block_time: int | None
    created_at_height: int
    created_at_ms: int
    sequence: int
    filled: int = 0
    status: str = OPEN
    removal_reason: str | None = None
    updated_at_height: int = 0
    updated_at_ms: int = 0
    resting: bool = False
    recorded_index: int = 0  # when it became the order of its id; later = newer
    order_hash: bytes = b""
    extra: dict[str, object] = field(default_factory=dict)
    # Conditional orders (flags 32): the condition (1 stop-loss, 2 take-profit), the
    # trigger price in subticks, and whether the EndBlocker has triggered it.
    condition_type: int = 0
    trigger_subticks: int = 0
    triggered: bool = False

    @classmethod
    def placed(
        cls, order: Order, ticker: str, height: int, block_time_ms: int, sequence: int
    ) -> OrderState:
        """The devnet's record of ``order``, accepted at ``height`` (chain ms ``block_time_ms``)."""
        key = order_key(order)
        good_til = order.WhichOneof("good_til_oneof")
        return cls(
            key=key,
            uuid=order_uuid(key),
            subaccount_uuid=subaccount_uuid(key[0], key[1]),
            ticker=ticker,
            is_buy=order.side == SIDE_BUY,
            quantums=order.quantums,
            subticks=order.subticks,
            time_in_force=order.time_in_force,
            reduce_only=order.reduce_only,
            client_metadata=order.client_metadata,
            good_til_block=order.good_til_block if good_til == "good_til_block" else None,
            good_til_block_time=(
                order.good_til_block_time if good_til == "good_til_block_time" else None
            ),
            created_at_height=height,
            created_at_ms=block_time_ms,
            sequence=sequence,
            order_hash=order_hash(order),
            condition_type=order.condition_type,
            trigger_subticks=order.conditional_order_trigger_subticks,
        )

    @property
    def address(self) -> str:
        return self.key[0]

    @property
    def subaccount_number(self) -> int:
        return self.key[1]

    @property
    def client_id(self) -> int:
        return self.key[2]

    @property
    def order_flags(self) -> int:
        return self.key[3]

    @property
    def clob_pair_id(self) -> int:
        return self.key[4]

    @property
    def remaining(self) -> int:
        return self.quantums - self.filled

    @property
    def is_stateful(self) -> bool:
        return self.order_flags != SHORT_TERM

    @property
    def is_conditional(self) -> bool:
        return self.order_flags == CONDITIONAL

    @property
    def is_untriggered(self) -> bool:
        """A conditional order waiting for its trigger: in state, not on the book."""
        return self.is_conditional and not self.triggered

    @property
    def triggers_below(self) -> bool:
        """Take-profit buys and stop-loss sells trigger when the price is at or below
        the trigger; take-profit sells and stop-loss buys when at or above it."""
        return bool((self.condition_type == CONDITION_TAKE_PROFIT) == self.is_buy)

    def triggers_at(self, subticks: int) -> bool:
        """``Order.CanTrigger`` at a price of ``subticks``."""
        if self.triggers_below:
            return self.trigger_subticks >= subticks
        return self.trigger_subticks <= subticks

    @property
    def post_only(self) -> bool:
        return bool(self.time_in_force == TIF_POST_ONLY)

    @property
    def is_ioc(self) -> bool:
        return bool(self.time_in_force == TIF_IOC)

    @property
    def canceled_status(self) -> str:
        """The status of this order when the chain removes it: a stateful order is
        CANCELED, a short-term one only BEST_EFFORT_CANCELED (it never was in a block)."""
        return CANCELED if self.is_stateful else BEST_EFFORT_CANCELED
