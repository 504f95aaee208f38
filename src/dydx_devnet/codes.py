"""The chain's transaction results: codes, codespaces and messages.

Codes and registered messages are those of ``x/clob/types/errors.go`` and
``x/subaccounts/types/errors.go`` in ``dydxprotocol/v4-chain`` (protocol
reference section 3.8). A rejected transaction's log reads like the chain's
wrapped error: ``"<detail>: <registered message>"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

CLOB: Final = "clob"
SUBACCOUNTS: Final = "subaccounts"
SDK: Final = "sdk"


@dataclass(frozen=True)
class TxResult:
    """What CheckTx answers for one message: code 0 = accepted.

    ``log`` is the raw log (the wrapped error text when rejected, "" when accepted).
    """

    code: int
    codespace: str
    log: str

    @property
    def ok(self) -> bool:
        return self.code == 0


OK: Final = TxResult(0, "", "")

# (codespace, code) -> registered message
MESSAGES: Final[dict[tuple[str, int], str]] = {
    (CLOB, 4): "Invalid order quantums",
    (CLOB, 5): "Invalid order goodTilBlock",
    (CLOB, 6): "Invalid order subticks",
    (CLOB, 7): "Attempt to place an order that is already canceled",
    (CLOB, 8): "ClobPair ID does not reference a valid CLOB",
    (CLOB, 9): (
        "A cancel already exists in the memclob for this order with a greater than or equal "
        "GoodTilBlock"
    ),
    (CLOB, 10): "The next block height is greater than the GoodTilBlock of the message",
    (CLOB, 11): (
        "The GoodTilBlock of the message is further than ShortBlockWindow blocks into the future"
    ),
    (CLOB, 12): "MsgPlaceOrder is invalid",
    (CLOB, 3): "Invalid order side",
    (CLOB, 20): "Replacing an existing order failed",
    (CLOB, 24): "Order is fully filled",
    (CLOB, 27): "Invalid ClobPair parameter",
    (CLOB, 29): "Invalid stateful order cancellation",
    (CLOB, 32): (
        "Existing stateful order cancellation has higher-or-equal priority than the new one"
    ),
    (CLOB, 34): "Order conflicts with ClobPair status",
    (CLOB, 44): "invalid time in force",
    (CLOB, 45): "Invalid batch cancel message",
    (CLOB, 46): "Batch cancel has failed",
    (CLOB, 48): "This field has been deprecated",
    (CLOB, 2001): "Reduce-only orders cannot increase the position size",
    (CLOB, 2002): "Reduce-only orders cannot change the position side",
    (CLOB, 2003): "Post-only order would cross one or more maker orders",
    (CLOB, 2004): "IOC order is already filled, remaining size is cancelled.",
    (CLOB, 2005): "Order would violate isolated subaccount constraints.",
    (CLOB, 3000): "Invalid order flags",
    (CLOB, 3001): "Invalid order goodTilBlockTime",
    (CLOB, 3002): "Stateful orders cannot require immediate execution",
    (CLOB, 3003): "The block time is greater than the GoodTilBlockTime of the message",
    (CLOB, 3004): (
        "The GoodTilBlockTime of the message is further than StatefulOrderTimeWindow into the "
        "future"
    ),
    (CLOB, 3005): "Existing stateful order has higher-or-equal priority than the new one",
    (CLOB, 3006): "Stateful order does not exist",
    (CLOB, 3007): "Stateful order collateralization check failed",
    (CLOB, 3008): "Stateful order was previously cancelled and therefore cannot be placed",
    (CLOB, 5001): "Block rate limit exceeded",
    (CLOB, 6000): "Conditional type is invalid",
    (CLOB, 6001): "Conditional order trigger subticks is invalid",
    (CLOB, 9002): "This function is not implemented",
    (CLOB, 9003): "Reduce-only is currently disabled for non-IOC orders",
    (CLOB, 10001): "Subaccount cannot open more orders due to equity tier limit.",
    (CLOB, 11002): "Invalid update leverage",
    (SUBACCOUNTS, 200): "subaccount id number cannot exceed 128000",
    (SUBACCOUNTS, 201): "subaccount id owner is an invalid address",
    (SUBACCOUNTS, 701): "leverage exceeds maximum allowed",
    (SUBACCOUNTS, 703): "leverage violates margin requirements",
}

# Names used in the code, so a reader does not have to remember numbers.
INVALID_ORDER_SIDE: Final = 3
INVALID_QUANTUMS: Final = 4
INVALID_GOOD_TIL_BLOCK: Final = 5
INVALID_SUBTICKS: Final = 6
ORDER_IS_CANCELED: Final = 7
INVALID_CLOB: Final = 8
CANCEL_ALREADY_EXISTS: Final = 9
HEIGHT_EXCEEDS_GOOD_TIL_BLOCK: Final = 10
GOOD_TIL_BLOCK_EXCEEDS_WINDOW: Final = 11
INVALID_PLACE_ORDER: Final = 12
INVALID_REPLACEMENT: Final = 20
ORDER_FULLY_FILLED: Final = 24
INVALID_CLOB_PAIR_PARAMETER: Final = 27
INVALID_STATEFUL_CANCELLATION: Final = 29
STATEFUL_CANCELLATION_ALREADY_EXISTS: Final = 32
CONFLICTS_WITH_CLOB_PAIR_STATUS: Final = 34
INVALID_TIME_IN_FORCE: Final = 44
INVALID_BATCH_CANCEL: Final = 45
BATCH_CANCEL_FAILED: Final = 46
DEPRECATED_FIELD: Final = 48
REDUCE_ONLY_WOULD_INCREASE: Final = 2001
POST_ONLY_WOULD_CROSS: Final = 2003
IMMEDIATE_EXECUTION_ALREADY_FILLED: Final = 2004
VIOLATES_ISOLATED: Final = 2005
INVALID_ORDER_FLAG: Final = 3000
INVALID_GOOD_TIL_BLOCK_TIME: Final = 3001
LONG_TERM_IMMEDIATE: Final = 3002
TIME_EXCEEDS_GOOD_TIL_BLOCK_TIME: Final = 3003
GOOD_TIL_BLOCK_TIME_TOO_FAR: Final = 3004
STATEFUL_ORDER_ALREADY_EXISTS: Final = 3005
STATEFUL_ORDER_DOES_NOT_EXIST: Final = 3006
STATEFUL_COLLATERALIZATION_FAILED: Final = 3007
STATEFUL_PREVIOUSLY_CANCELLED: Final = 3008
BLOCK_RATE_LIMIT_EXCEEDED: Final = 5001
INVALID_CONDITION_TYPE: Final = 6000
INVALID_TRIGGER_SUBTICKS: Final = 6001
NOT_IMPLEMENTED: Final = 9002
REDUCE_ONLY_DISABLED: Final = 9003
EQUITY_TIER_LIMIT: Final = 10001
INVALID_LEVERAGE: Final = 11002
INVALID_SUBACCOUNT_NUMBER: Final = 200
INVALID_SUBACCOUNT_OWNER: Final = 201
LEVERAGE_EXCEEDS_MAXIMUM_SUBACCOUNTS: Final = 701
LEVERAGE_VIOLATES_MARGIN: Final = 703


def reject(code: int, detail: str = "", codespace: str = CLOB) -> TxResult:
    """A failed :class:`TxResult` whose log wraps ``detail`` around the registered message."""
    message = MESSAGES.get((codespace, code), "")
    log = f"{detail}: {message}" if detail and message else (detail or message)
    return TxResult(code, codespace, log)
