"""The indexer's transfers: every deposit, withdrawal and subaccount-to-subaccount move.

One :class:`Transfer` per ``TransferEventV1``; a side is a subaccount
(``number`` set) or a wallet (``number`` ``None``). The indexer types a
transfer relative to the subaccount asking (``getTransferType``): the sender
sees ``TRANSFER_OUT`` or ``WITHDRAWAL``, the recipient ``TRANSFER_IN`` or
``DEPOSIT``. The log is append-only and in event order; each record carries
its height, so a lagging indexer shows only those it has reached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dydx_devnet import shapes
from dydx_devnet.orders import derived_uuid

PARENT_MULTIPLIER = 128  # MAX_PARENT_SUBACCOUNTS: child n belongs to parent n % 128


@dataclass(frozen=True, slots=True)
class Side:
    """One end of a transfer: a subaccount (``number``) or a wallet (``number`` is None)."""

    address: str
    number: int | None = None

    def body(self) -> dict[str, Any]:
        if self.number is None:
            return {"address": self.address}
        return {"address": self.address, "subaccountNumber": self.number}

    def parent_body(self) -> dict[str, Any]:
        if self.number is None:
            return {"address": self.address}
        return {"address": self.address, "parentSubaccountNumber": self.number % PARENT_MULTIPLIER}


@dataclass(slots=True)
class Transfer:
    """A transfer of ``quantums`` of USDC (quote quantums) in block ``height`` (chain ``ms``).

    ``ws_messages`` are its ``v4_subaccounts`` contents, dated with ``ms`` once known.
    """

    id: str
    sender: Side
    recipient: Side
    quantums: int
    height: int
    ms: int
    tx_hash: str
    sequence: int
    ws_messages: list[dict[str, Any]] = field(default_factory=list, compare=False, repr=False)

    def involves(self, address: str, number: int) -> bool:
        return Side(address, number) in (self.sender, self.recipient)

    def type_for(self, address: str, number: int) -> str:
        """``getTransferType`` for subaccount ``(address, number)``."""
        if self.sender == Side(address, number):
            return "TRANSFER_OUT" if self.recipient.number is not None else "WITHDRAWAL"
        return "TRANSFER_IN" if self.sender.number is not None else "DEPOSIT"

    def type_for_parent(self, address: str, parent: int) -> str:
        """``transferToParentSubaccountResponseObject``'s type for a parent subaccount."""
        sender = self.sender
        if (
            sender.address == address
            and sender.number is not None
            and (sender.number % PARENT_MULTIPLIER == parent)
        ):
            return "TRANSFER_OUT" if self.recipient.number is not None else "WITHDRAWAL"
        return "TRANSFER_IN" if sender.number is not None else "DEPOSIT"

    def within_parent(self) -> bool:
        """Both ends are subaccounts of the same parent (the parent views hide these)."""
        sender, recipient = self.sender, self.recipient
        return (
            sender.address == recipient.address
            and sender.number is not None
            and recipient.number is not None
            and sender.number % PARENT_MULTIPLIER == recipient.number % PARENT_MULTIPLIER
        )

    def signed_for(self, address: str, number: int) -> int:
        """Quantums into (+) or out of (-) subaccount ``(address, number)``."""
        if self.recipient == Side(address, number):
            return self.quantums
        if self.sender == Side(address, number):
            return -self.quantums
        return 0

    def _common(self) -> dict[str, Any]:
        return {
            "size": shapes.usdc(self.quantums),
            "createdAt": shapes.iso(self.ms),
            "createdAtHeight": str(self.height),
            "symbol": "USDC",
        }

    def rest_object(self, address: str, number: int) -> dict[str, Any]:
        """``TransferResponseObject`` as subaccount ``(address, number)`` sees it."""
        common = self._common()
        return {
            "id": self.id,
            "sender": self.sender.body(),
            "recipient": self.recipient.body(),
            "size": common["size"],
            "createdAt": common["createdAt"],
            "createdAtHeight": common["createdAtHeight"],
            "symbol": "USDC",
            "type": self.type_for(address, number),
            "transactionHash": self.tx_hash,
        }

    def parent_object(self, address: str, parent: int) -> dict[str, Any]:
        """``ParentSubaccountTransferResponseObject`` for parent ``(address, parent)``."""
        body = self.rest_object(address, parent)
        body["sender"] = self.sender.parent_body()
        body["recipient"] = self.recipient.parent_body()
        body["type"] = self.type_for_parent(address, parent)
        return body

    def ws_object(self, address: str, number: int) -> dict[str, Any]:
        """The ``transfers`` contents of a ``v4_subaccounts`` message (ender's shape)."""
        common = self._common()
        return {
            "sender": self.sender.body(),
            "recipient": self.recipient.body(),
            "symbol": "USDC",
            "size": common["size"],
            "type": self.type_for(address, number),
            "createdAt": common["createdAt"],
            "createdAtHeight": common["createdAtHeight"],
            "transactionHash": self.tx_hash,
        }


class TransferLog:
    """Every transfer, oldest first.

    A transfer made in CheckTx belongs to the next block: its time is known only
    when that block is produced (:meth:`date_pending`).
    """

    def __init__(self) -> None:
        self.transfers: list[Transfer] = []
        self._undated: list[Transfer] = []

    def record(
        self,
        sender: Side,
        recipient: Side,
        quantums: int,
        *,
        height: int,
        ms: int,
        tx_hash: str,
        dated: bool = True,
    ) -> Transfer:
        """Record a transfer in block ``height``; ``dated=False``: ``ms`` is provisional."""
        sequence = len(self.transfers)
        transfer_id = derived_uuid("transfer", sender, recipient, height, sequence, tx_hash)
        transfer = Transfer(transfer_id, sender, recipient, quantums, height, ms, tx_hash, sequence)
        self.transfers.append(transfer)
        if not dated:
            self._undated.append(transfer)
        return transfer

    def date_pending(self, ms: int) -> None:
        """The block holding the CheckTx transfers is produced at chain time ``ms``."""
        for transfer in self._undated:
            transfer.ms = ms
            for message in transfer.ws_messages:
                message["createdAt"] = shapes.iso(ms)
        self._undated.clear()

    def visible(self, height: int) -> list[Transfer]:
        """Transfers the indexer has processed at ``height``, newest first."""
        return [t for t in reversed(self.transfers) if t.height <= height]

    def net_quantums(self, address: str, number: int, *, up_to_height: int) -> int:
        """Net USDC transferred into a subaccount up to ``up_to_height`` (quote quantums)."""
        return sum(
            t.signed_for(address, number) for t in self.transfers if t.height <= up_to_height
        )


def usdc_text(quantums: int) -> str:
    """USDC with six decimals, as the indexer's ``toFixed(6)`` prints pnl figures."""
    return f"{Decimal(quantums).scaleb(-6):.6f}"
