"""``x/sending`` and ``x/bank`` as the chain executes them: money in, out and between.

* ``MsgDepositToSubaccount``: the sender's bank USDC into a subaccount;
* ``MsgWithdrawFromSubaccount``: a subaccount's USDC to a bank address;
* ``MsgCreateTransfer``: USDC from one subaccount to another (any owner);
* ``MsgSend``: bank coins between addresses.

Subaccount updates pass the chain's ``CanUpdateSubaccounts`` for transfers
(``x/subaccounts/keeper/subaccount.go``): withdrawals, deposits and transfers
are blocked for 50 blocks after a negative-TNC subaccount in the pool
(:mod:`dydx_devnet.gating`), and the new state must be initially
collateralized or, if not, no riskier than before
(``IsValidStateTransitionForUndercollateralizedSubaccount``). Each move is
indexed (:mod:`dydx_devnet.transfers`) and sent on ``v4_subaccounts``.

Like the authenticator changes, these run when CheckTx accepts them (the chain
runs them in the block): a refusal is answered at once, never as code 0.
Call under the engine lock; the engine flushes after.
"""

from __future__ import annotations

from google.protobuf.message import Message
from v4_proto.cosmos.bank.v1beta1.tx_pb2 import MsgSend
from v4_proto.dydxprotocol.sending.transfer_pb2 import (
    MsgDepositToSubaccount,
    MsgWithdrawFromSubaccount,
)
from v4_proto.dydxprotocol.sending.tx_pb2 import MsgCreateTransfer

from dydx_devnet import codes, gating
from dydx_devnet.bank import (
    FAUCET_ADDRESS,
    USDC_DENOM,
    Bank,
    BankError,
    require_receivable,
)
from dydx_devnet.chain import margin
from dydx_devnet.codes import SUBACCOUNTS, TxResult
from dydx_devnet.sending_msgs import send_coins
from dydx_devnet.state import EngineState
from dydx_devnet.subaccounts import Subaccount, risk
from dydx_devnet.transfers import Side

WITHDRAWALS_BLOCKED = "WithdrawalsAndTransfersBlocked"


class Sending:
    """Bank balances, subaccount money movement and the transfers the indexer shows."""

    def __init__(self, state: EngineState) -> None:
        self._state = state
        self.bank = Bank()
        self.transfers = state.transfers
        # Collateral pool -> height a negative-TNC subaccount was last seen there.
        self.negative_tnc_seen = state.negative_tnc_seen

    # -- messages ---------------------------------------------------------------------

    def execute(self, message: Message, tx_hash: str, *, apply: bool) -> TxResult:
        """Run one validated message; with ``apply=False`` (Simulate) change nothing."""
        try:
            if isinstance(message, MsgSend):
                return self._send(message, apply=apply)
            if isinstance(message, MsgDepositToSubaccount):
                return self._deposit(message, tx_hash, apply=apply)
            if isinstance(message, MsgWithdrawFromSubaccount):
                return self._withdraw(message, tx_hash, apply=apply)
            if isinstance(message, MsgCreateTransfer):
                return self._transfer(message, tx_hash, apply=apply)
        except BankError as refused:
            return TxResult(refused.code, refused.codespace, refused.log)
        raise TypeError(f"not a money message: {type(message).__name__}")  # pragma: no cover

    def _send(self, message: MsgSend, *, apply: bool) -> TxResult:
        coins = send_coins(message)
        sender, recipient = str(message.from_address), str(message.to_address)
        require_receivable(recipient)
        if apply:
            self.bank.send(sender, recipient, coins)
        else:
            self.bank.require_funds(sender, coins)
        return codes.OK

    def _deposit(self, message: MsgDepositToSubaccount, tx_hash: str, *, apply: bool) -> TxResult:
        owner, number = str(message.recipient.owner), int(message.recipient.number)
        account = self._state.account_or_new(owner, number)
        refused = self._can_update(account, message.quantums)
        if refused is not None:
            return refused
        sender = str(message.sender)
        if not apply:
            self.bank.require_funds(sender, [(USDC_DENOM, message.quantums)])
            return codes.OK
        self.bank.spend(sender, [(USDC_DENOM, message.quantums)])
        self._move(Side(sender), Side(owner, number), message.quantums, tx_hash)
        return codes.OK

    def _withdraw(
        self, message: MsgWithdrawFromSubaccount, tx_hash: str, *, apply: bool
    ) -> TxResult:
        owner, number = str(message.sender.owner), int(message.sender.number)
        account = self._state.account_or_new(owner, number)
        refused = self._can_update(account, -message.quantums)
        if refused is not None:
            return refused
        recipient = str(message.recipient)
        require_receivable(recipient)
        if apply:
            self._move(Side(owner, number), Side(recipient), message.quantums, tx_hash)
            self.bank.mint(recipient, USDC_DENOM, message.quantums)
        return codes.OK

    def _transfer(self, message: MsgCreateTransfer, tx_hash: str, *, apply: bool) -> TxResult:
        transfer = message.transfer
        sender = Side(str(transfer.sender.owner), int(transfer.sender.number))
        recipient = Side(str(transfer.recipient.owner), int(transfer.recipient.number))
        state = self._state
        assert sender.number is not None and recipient.number is not None
        source = state.account_or_new(sender.address, sender.number)
        target = state.account_or_new(recipient.address, recipient.number)
        refused = self._can_update(source, -transfer.amount) or self._can_update(
            target, transfer.amount
        )
        if refused is not None:
            return refused
        if apply:
            self._move(sender, recipient, transfer.amount, tx_hash)
        return codes.OK

    # -- the faucet ----------------------------------------------------------------------

    def faucet_deposit(self, address: str, number: int, quantums: int) -> None:
        """The testnet faucet: minted USDC deposited from its wallet into a subaccount."""
        state = self._state
        tx_hash = state.tx_hash_for("faucet", address, number, state.next_sequence())
        self._move(Side(FAUCET_ADDRESS), Side(address, number), quantums, tx_hash)

    # -- helpers -------------------------------------------------------------------------

    def _can_update(self, account: Subaccount, delta_usdc: int) -> TxResult | None:
        """``CanUpdateSubaccounts`` of a USDC-only update (update type Transfer)."""
        state = self._state
        pool = gating.collateral_pool(account, state.markets)
        if gating.is_blocked(self.negative_tnc_seen, pool, state.height):
            return self._failed(account, WITHDRAWALS_BLOCKED)
        current = risk(account, state.markets).chain_risk
        new = margin.Risk(current.nc + delta_usdc, current.imr, current.mmr)
        if new.is_initial_collateralized():
            return None
        verdict = margin.is_valid_state_transition(current, new)
        return None if verdict == margin.SUCCESS else self._failed(account, verdict)

    @staticmethod
    def _failed(account: Subaccount, result: str) -> TxResult:
        return TxResult(
            102,
            SUBACCOUNTS,
            f"Subaccount with id {{{account.address} {account.number}}} failed with "
            f"UpdateResult: {result}: failed to apply subaccount updates",
        )

    def _move(self, sender: Side, recipient: Side, quantums: int, tx_hash: str) -> None:
        """Move USDC between the sides, index the transfer, tell both subaccounts.

        Done in CheckTx, it is the next block's (the indexer shows it then), as fills are."""
        state = self._state
        height = state.stamp_height
        record = self.transfers.record(
            sender,
            recipient,
            quantums,
            height=height,
            ms=state.block_time_ms,
            tx_hash=tx_hash,
            dated=state.committing,
        )
        for side, delta in ((sender, -quantums), (recipient, quantums)):
            if side.number is None:
                continue
            account = state.account_or_new(side.address, side.number)
            state.register(account)
            account.usdc += delta
            account.updated_at_height = height
            state.asset_changed(account)
            message = record.ws_object(side.address, side.number)
            record.ws_messages.append(message)
            state.transfer_recorded(account, message)
