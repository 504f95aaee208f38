"""What every node gRPC service shares: the engine, the accounts, the faults, genesis tiers.

Handlers touch only thread-safe parts (the engine's RLock, the account
registry's lock, :class:`~dydx_devnet.faults.Faults`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from v4_proto.dydxprotocol.clob import equity_tier_limit_config_pb2

from dydx_devnet.accountplus import AccountPlus
from dydx_devnet.auth import AccountRegistry
from dydx_devnet.faults import Faults
from dydx_devnet.fees import FeeTier
from dydx_devnet.genesis import load_genesis_params
from dydx_devnet.markets import MarketState
from dydx_devnet.sending import Sending
from dydx_devnet.state import EngineState
from dydx_devnet.tx import OrderEngine, TxProcessor

APP_NAME = "dydxprotocold"
APP_VERSION = "devnet"


class NodeEngine(OrderEngine, Protocol):
    """What the node services read from the engine (chain state under its lock)."""

    @property
    def lock(self) -> threading.RLock: ...

    @property
    def state(self) -> EngineState: ...

    @property
    def sending(self) -> Sending: ...

    @property
    def chain_id(self) -> str: ...

    @property
    def block_time(self) -> Any: ...

    @property
    def markets(self) -> dict[str, MarketState]: ...

    def leverage_settings(self, owner: str, number: int) -> Any: ...

    def block_rate_limits(self) -> dict[str, tuple[tuple[int, int], ...]]: ...

    def fee_tiers(self) -> list[FeeTier]: ...

    def user_fee_tier(self, address: str) -> tuple[int, FeeTier]: ...


def block_time_datetime(value: Any) -> datetime:
    """The engine's block time (aware datetime or integer ms since the epoch) as a datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    raise TypeError(f"unsupported block time {value!r}")


def timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def abort(context: grpc.ServicerContext, code: grpc.StatusCode, details: str) -> Any:
    context.abort(code, details)
    raise AssertionError("unreachable")  # pragma: no cover - abort raises


class NodeServices:
    """Shared state of all servicers; one per devnet."""

    def __init__(
        self,
        engine: NodeEngine,
        accounts: AccountRegistry,
        faults: Faults,
        accountplus: AccountPlus | None = None,
    ) -> None:
        self.engine = engine
        self.accounts = accounts
        self.faults = faults
        self.processor = TxProcessor(
            engine,
            accounts,
            engine.chain_id,
            accountplus,
            sequence_fault=faults.consume_sequence_mismatch,
        )
        params = load_genesis_params()
        tiers = params["equity_tier_limit_config"]
        self.equity_tiers = equity_tier_limit_config_pb2.EquityTierLimitConfiguration(
            short_term_order_equity_tiers=_equity_tiers(tiers["short_term_order_equity_tiers"]),
            stateful_order_equity_tiers=_equity_tiers(tiers["stateful_order_equity_tiers"]),
        )

    def market_by_id(self, clob_pair_id: int) -> MarketState | None:
        for market in self.engine.markets.values():
            if market.clob_pair_id == clob_pair_id:
                return market
        return None

    def sorted_markets(self) -> list[MarketState]:
        return sorted(self.engine.markets.values(), key=lambda market: market.clob_pair_id)


def _equity_tiers(rows: Iterable[dict[str, Any]]) -> list[Any]:
    return [
        equity_tier_limit_config_pb2.EquityTierLimit(
            limit=int(row["limit"]),
            usd_tnc_required=serializable_int(int(row["usd_tnc_required"])),
        )
        for row in rows
    ]


def serializable_int(value: int) -> bytes:
    """dydx ``SerializableInt`` bytes (big.Int GobEncode: version/sign byte + magnitude)."""
    sign = 1 if value < 0 else 0
    magnitude = abs(value)
    body = magnitude.to_bytes((magnitude.bit_length() + 7) // 8, "big") if magnitude else b""
    return bytes([(1 << 1) | sign]) + body
