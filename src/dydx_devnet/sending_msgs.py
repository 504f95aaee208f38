"""``ValidateBasic`` of the money-moving messages: ``x/sending`` and bank ``MsgSend``.

Each check returns the chain's rejection (codespace, code and text of
``x/sending/types/errors.go``, ``x/subaccounts/types/errors.go`` and the SDK's
``ErrInvalidAddress`` / ``ErrInvalidCoins``) or ``None``.
"""

from __future__ import annotations

from typing import Any, Final

from google.protobuf.message import Message
from v4_proto.cosmos.bank.v1beta1.tx_pb2 import MsgSend
from v4_proto.dydxprotocol.sending.transfer_pb2 import (
    MsgDepositToSubaccount,
    MsgWithdrawFromSubaccount,
)
from v4_proto.dydxprotocol.sending.tx_pb2 import MsgCreateTransfer

from dydx_devnet.auth import is_valid_address
from dydx_devnet.bank import INVALID_ADDRESS, INVALID_COINS, coins_text, is_valid_denom
from dydx_devnet.codes import SDK, SUBACCOUNTS, TxResult
from dydx_devnet.orders import MAX_SUBACCOUNT_NUMBER

SENDING: Final = "sending"
SENDING_MESSAGES: Final = (
    MsgSend,
    MsgCreateTransfer,
    MsgWithdrawFromSubaccount,
    MsgDepositToSubaccount,
)
USDC_ASSET_ID: Final = 0


def sending_error(code: int, text: str) -> TxResult:
    return TxResult(code, SENDING, text)


def subaccount_id_error(subaccount_id: Any) -> TxResult | None:
    """``SubaccountId.Validate``: a bech32 owner and a number up to 128000."""
    if not is_valid_address(str(subaccount_id.owner)):
        return TxResult(201, SUBACCOUNTS, "subaccount id owner is an invalid address")
    if subaccount_id.number > MAX_SUBACCOUNT_NUMBER:
        return TxResult(
            200, SUBACCOUNTS, f"subaccount id number cannot exceed {MAX_SUBACCOUNT_NUMBER}"
        )
    return None


def parse_coins(coins: Any) -> list[tuple[str, int]] | None:
    """``(denom, amount)`` of proto coins, or ``None`` if ``Coins.Validate`` would fail:
    sorted, unique, valid denoms, positive integer amounts."""
    parsed: list[tuple[str, int]] = []
    for coin in coins:
        denom, text = str(coin.denom), str(coin.amount)
        if not is_valid_denom(denom) or not text.isdigit() or len(text) > 77:
            return None
        amount = int(text)
        if amount <= 0 or (parsed and parsed[-1][0] >= denom):
            return None
        parsed.append((denom, amount))
    return parsed


def _coins_error(coins: Any) -> TxResult:
    shown = ",".join(f"{coin.amount}{coin.denom}" for coin in coins)
    return TxResult(INVALID_COINS, SDK, f"{shown}: invalid coins")


def validate_basic(message: Message) -> TxResult | None:
    """The chain's ``ValidateBasic`` of one money-moving message; ``None`` = valid."""
    if isinstance(message, MsgSend):
        return _validate_send(message)
    if isinstance(message, MsgDepositToSubaccount):
        if not is_valid_address(str(message.sender)):
            return sending_error(6, "Account address is invalid")
        return subaccount_id_error(message.recipient) or _asset_and_amount(
            message.asset_id, message.quantums
        )
    if isinstance(message, MsgWithdrawFromSubaccount):
        rejected = subaccount_id_error(message.sender)
        if rejected is not None:
            return rejected
        if not is_valid_address(str(message.recipient)):
            return sending_error(6, "Account address is invalid")
        return _asset_and_amount(message.asset_id, message.quantums)
    if isinstance(message, MsgCreateTransfer):
        transfer = message.transfer
        rejected = subaccount_id_error(transfer.sender) or subaccount_id_error(transfer.recipient)
        if rejected is not None:
            return rejected
        if transfer.sender == transfer.recipient:
            owner, number = transfer.sender.owner, transfer.sender.number
            return sending_error(
                1,
                f"Sender is the same as recipient ({owner}/{number}): Sender is the same as "
                "recipient",
            )
        return _asset_and_amount(transfer.asset_id, transfer.amount)
    return None


def _asset_and_amount(asset_id: int, quantums: int) -> TxResult | None:
    if asset_id != USDC_ASSET_ID:
        return sending_error(1101, "Non-USDC asset transfer not implemented")
    if quantums == 0:
        return sending_error(2, "Invalid transfer amount")
    return None


def _validate_send(message: MsgSend) -> TxResult | None:
    for field, address in (("from", message.from_address), ("to", message.to_address)):
        if not is_valid_address(str(address)):
            return TxResult(
                INVALID_ADDRESS,
                SDK,
                f"invalid {field} address: decoding bech32 failed: {address!r}: invalid address",
            )
    coins = parse_coins(message.amount)
    if coins is None or not coins:
        return _coins_error(message.amount)
    return None


def send_coins(message: MsgSend) -> list[tuple[str, int]]:
    """The coins of a valid ``MsgSend`` (after :func:`validate_basic`)."""
    coins = parse_coins(message.amount)
    assert coins is not None
    return coins


__all__ = ["SENDING_MESSAGES", "coins_text", "send_coins", "validate_basic"]
