"""What is sent: an order's intent, exactly as it goes on the wire.

:class:`OrderIntent` is the order's quantums, subticks, flags and good-til
(plus, for a conditional order, its condition and trigger), checked against
the chain's stateless rules, and the signal it serves. Its ``client_id`` is
derived from the signal id (:func:`derive_client_id`), so the same intent
carries the same id across retries and restarts, and the venue's dedupe
(OrderId = owner, subaccount, client id, flags, clob pair) turns a resend into
a no-op instead of a second position.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Final

from dydx_trader.domain.errors import InvalidInput
from dydx_trader.domain.side import Side

MAX_CLIENT_ID: Final = 2**32 - 1
MAX_SUBACCOUNT_NUMBER: Final = 128_000
UINT64_MAX: Final = 2**64 - 1
UINT32_MAX: Final = 2**32 - 1


class TimeInForce(StrEnum):
    """dYdX time in force. Fill-or-kill is deprecated on chain and not offered."""

    IOC = "IOC"
    GTT = "GTT"
    POST_ONLY = "POST_ONLY"


class OrderFlags(IntEnum):
    """The chain's order flags: short-term (good-til-block), conditional or long-term
    (both good-til-time, stateful)."""

    SHORT_TERM = 0
    CONDITIONAL = 32
    LONG_TERM = 64


class ConditionType(StrEnum):
    """A conditional order's condition: the chain triggers a stop-loss sell (take-profit
    buy) when the oracle falls to its trigger, a stop-loss buy (take-profit sell) when
    it rises to it."""

    STOP_LOSS = "STOP_LOSS"
    TAKE_PROFIT = "TAKE_PROFIT"


def derive_client_id(address: str, subaccount_number: int, signal_id: str, nonce: int = 0) -> int:
    """The order's 32-bit client id for a signal: deterministic, never random.

    It is the first 4 bytes (big-endian) of SHA-256 over
    ``"<address>|<subaccount_number>|<signal_id>"`` (``"|<nonce>"`` appended when
    ``nonce`` > 0). The journal is the final word: once an intent is recorded its
    id is read back from there; a clash with another signal's id (about 1 in
    4 billion per pair) is reported by the journal, and the caller then derives
    again with the next nonce.
    """
    if not isinstance(signal_id, str) or not signal_id:
        raise InvalidInput("signal id must be a non-empty string", field="signal_id")
    if isinstance(nonce, bool) or not isinstance(nonce, int) or nonce < 0:
        raise InvalidInput(f"nonce {nonce!r} must be a non-negative int", field="nonce")
    _check_subaccount(address, subaccount_number)
    key = f"{address}|{subaccount_number}|{signal_id}"
    if nonce:
        key += f"|{nonce}"
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big")


def _check_subaccount(address: object, subaccount_number: object) -> None:
    if not isinstance(address, str) or not address or not address.isascii() or " " in address:
        raise InvalidInput("address must be a non-empty ASCII string", field="address")
    if (
        isinstance(subaccount_number, bool)
        or not isinstance(subaccount_number, int)
        or not 0 <= subaccount_number <= MAX_SUBACCOUNT_NUMBER
    ):
        raise InvalidInput(
            f"subaccount number {subaccount_number!r} must be an int "
            f"in [0, {MAX_SUBACCOUNT_NUMBER}]",
            field="subaccount_number",
        )


def check_uint(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{name} {value!r} must be an int in [{low}, {high}]", field=name)


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """One order exactly as it will be sent, checked against the chain's stateless rules.

    ``quantums`` base quantums and ``subticks`` (the limit, or the worst price of
    an IOC) are positive ints already on the market's step and tick. Short-term
    orders (flags 0) carry ``good_til_block`` (a block height); stateful ones
    (conditional 32, long-term 64) carry ``good_til_block_time`` (unix seconds); a
    long-term order cannot be IOC. A conditional order carries its
    ``condition_type`` and ``trigger_subticks`` (no other order does). Reduce-only
    is only allowed on IOC orders, short-term or conditional (chain error 9003).
    """

    signal_id: str
    address: str
    subaccount_number: int
    market: str
    clob_pair_id: int
    side: Side
    quantums: int
    subticks: int
    time_in_force: TimeInForce
    reduce_only: bool
    order_flags: OrderFlags
    client_id: int
    good_til_block: int | None = None
    good_til_block_time: int | None = None
    condition_type: ConditionType | None = None
    trigger_subticks: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.signal_id, str) or not self.signal_id:
            raise InvalidInput("signal id must be a non-empty string", field="signal_id")
        _check_subaccount(self.address, self.subaccount_number)
        if not isinstance(self.market, str) or not self.market:
            raise InvalidInput("market must be a non-empty string", field="market")
        if not isinstance(self.side, Side):
            raise InvalidInput(f"side {self.side!r} must be BUY or SELL", field="side")
        if not isinstance(self.time_in_force, TimeInForce):
            raise InvalidInput(f"time in force {self.time_in_force!r} is unknown", field="tif")
        if not isinstance(self.order_flags, OrderFlags):
            raise InvalidInput(
                f"order flags {self.order_flags!r} must be 0 (short-term) or 64 (long-term)",
                field="order_flags",
            )
        if not isinstance(self.reduce_only, bool):
            raise InvalidInput("reduce_only must be a bool", field="reduce_only")
        check_uint("clob_pair_id", self.clob_pair_id, 0, UINT32_MAX)
        check_uint("quantums", self.quantums, 1, UINT64_MAX)
        check_uint("subticks", self.subticks, 1, UINT64_MAX)
        check_uint("client_id", self.client_id, 0, MAX_CLIENT_ID)
        self._check_good_til()
        self._check_condition()
        if self.reduce_only and not (
            self.order_flags is not OrderFlags.LONG_TERM and self.time_in_force is TimeInForce.IOC
        ):
            raise InvalidInput(
                "reduce-only orders must be IOC orders, short-term or conditional",
                field="reduce_only",
            )

    def _check_condition(self) -> None:
        if self.order_flags is not OrderFlags.CONDITIONAL:
            if self.condition_type is not None or self.trigger_subticks is not None:
                raise InvalidInput(
                    "only a conditional order carries a condition and a trigger",
                    field="condition_type",
                )
            return
        if not isinstance(self.condition_type, ConditionType):
            raise InvalidInput(
                f"a conditional order needs a condition type, not {self.condition_type!r}",
                field="condition_type",
            )
        check_uint("trigger_subticks", self.trigger_subticks, 1, UINT64_MAX)

    @property
    def is_stateful(self) -> bool:
        """Stateful orders (conditional, long-term) use and consume the account sequence."""
        return self.order_flags is not OrderFlags.SHORT_TERM

    def _check_good_til(self) -> None:
        if self.order_flags is OrderFlags.SHORT_TERM:
            if self.good_til_block_time is not None:
                raise InvalidInput(
                    "a short-term order uses good_til_block, not good_til_block_time",
                    field="good_til_block_time",
                )
            check_uint("good_til_block", self.good_til_block, 1, UINT32_MAX)
        else:
            if self.good_til_block is not None:
                raise InvalidInput(
                    "a stateful order uses good_til_block_time, not good_til_block",
                    field="good_til_block",
                )
            check_uint("good_til_block_time", self.good_til_block_time, 1, UINT32_MAX)
            if self.order_flags is OrderFlags.LONG_TERM and self.time_in_force is TimeInForce.IOC:
                raise InvalidInput("long-term orders cannot be IOC (chain error 3002)", field="tif")

    def to_dict(self) -> dict[str, str | int | bool | None]:
        """A JSON-ready view (every value exact); a conditional order's condition and
        trigger are included only for it."""
        view: dict[str, str | int | bool | None] = {
            "signal_id": self.signal_id,
            "address": self.address,
            "subaccount_number": self.subaccount_number,
            "market": self.market,
            "clob_pair_id": self.clob_pair_id,
            "side": self.side.value,
            "quantums": self.quantums,
            "subticks": self.subticks,
            "time_in_force": self.time_in_force.value,
            "reduce_only": self.reduce_only,
            "order_flags": int(self.order_flags),
            "client_id": self.client_id,
            "good_til_block": self.good_til_block,
            "good_til_block_time": self.good_til_block_time,
        }
        if self.condition_type is not None:
            view["condition_type"] = self.condition_type.value
            view["trigger_subticks"] = self.trigger_subticks
        return view

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> OrderIntent:
        """The intent :meth:`to_dict` produced (raises :class:`InvalidInput` on bad data)."""
        try:
            condition = data.get("condition_type")
            return cls(
                signal_id=data["signal_id"],  # type: ignore[arg-type]
                address=data["address"],  # type: ignore[arg-type]
                subaccount_number=data["subaccount_number"],  # type: ignore[arg-type]
                market=data["market"],  # type: ignore[arg-type]
                clob_pair_id=data["clob_pair_id"],  # type: ignore[arg-type]
                side=Side(str(data["side"])),
                quantums=data["quantums"],  # type: ignore[arg-type]
                subticks=data["subticks"],  # type: ignore[arg-type]
                time_in_force=TimeInForce(str(data["time_in_force"])),
                reduce_only=data["reduce_only"],  # type: ignore[arg-type]
                order_flags=OrderFlags(int(str(data["order_flags"]))),
                client_id=data["client_id"],  # type: ignore[arg-type]
                good_til_block=data.get("good_til_block"),  # type: ignore[arg-type]
                good_til_block_time=data.get("good_til_block_time"),  # type: ignore[arg-type]
                condition_type=None if condition is None else ConditionType(str(condition)),
                trigger_subticks=data.get("trigger_subticks"),  # type: ignore[arg-type]
            )
        except (KeyError, ValueError) as error:
            raise InvalidInput(f"stored order intent is malformed: {error!r}") from None
