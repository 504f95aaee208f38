"""The node's gRPC services that the official ``NodeClient`` calls.

A threaded ``grpc.server``: the official client makes *synchronous* stub calls
inside its async methods, so a test running the devnet on the same event loop
must not need the loop to answer them. Handlers touch only thread-safe parts
(the engine's RLock, the account registry's lock, :class:`Faults`).

Services: cosmos auth ``Account``; tendermint ``GetLatestBlock`` and
``GetNodeInfo``; tx ``BroadcastTx`` and ``Simulate``; bank balances (the devnet
has no bank module: balances are empty); dydx clob ``ClobPair(All)`` and
``EquityTierLimitConfiguration``; perpetuals ``Perpetual``/``AllPerpetuals``;
prices ``MarketPrice``/``AllMarketPrices``; feetiers ``PerpetualFeeParams`` and
``UserFeeTier``; accountplus ``GetAuthenticators`` and friends. Anything else
answers UNIMPLEMENTED, as a node without that module would.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from concurrent import futures
from datetime import UTC, datetime
from typing import Any, Protocol

import grpc
from google.protobuf.any_pb2 import Any as AnyProto
from google.protobuf.timestamp_pb2 import Timestamp
from v4_proto.cosmos.auth.v1beta1 import query_pb2 as auth_query
from v4_proto.cosmos.auth.v1beta1 import query_pb2_grpc as auth_grpc
from v4_proto.cosmos.auth.v1beta1.auth_pb2 import BaseAccount
from v4_proto.cosmos.bank.v1beta1 import query_pb2 as bank_query
from v4_proto.cosmos.bank.v1beta1 import query_pb2_grpc as bank_grpc
from v4_proto.cosmos.base.abci.v1beta1.abci_pb2 import GasInfo, Result, TxResponse
from v4_proto.cosmos.base.tendermint.v1beta1 import query_pb2 as tm_query
from v4_proto.cosmos.base.tendermint.v1beta1 import query_pb2_grpc as tm_grpc
from v4_proto.cosmos.base.v1beta1.coin_pb2 import Coin
from v4_proto.cosmos.crypto.secp256k1.keys_pb2 import PubKey
from v4_proto.cosmos.tx.v1beta1 import service_pb2 as tx_service
from v4_proto.cosmos.tx.v1beta1 import service_pb2_grpc as tx_grpc
from v4_proto.cosmos.tx.v1beta1.tx_pb2 import Tx
from v4_proto.dydxprotocol.clob import clob_pair_pb2, equity_tier_limit_config_pb2
from v4_proto.dydxprotocol.clob import query_pb2 as clob_query
from v4_proto.dydxprotocol.clob import query_pb2_grpc as clob_grpc
from v4_proto.dydxprotocol.feetiers import params_pb2 as fee_params
from v4_proto.dydxprotocol.feetiers import query_pb2 as fee_query
from v4_proto.dydxprotocol.feetiers import query_pb2_grpc as fee_grpc
from v4_proto.dydxprotocol.perpetuals import perpetual_pb2
from v4_proto.dydxprotocol.perpetuals import query_pb2 as perp_query
from v4_proto.dydxprotocol.perpetuals import query_pb2_grpc as perp_grpc
from v4_proto.dydxprotocol.prices import market_price_pb2
from v4_proto.dydxprotocol.prices import query_pb2 as prices_query
from v4_proto.dydxprotocol.prices import query_pb2_grpc as prices_grpc

from dydx_devnet.accountplus import AccountPlus, add_query_servicer
from dydx_devnet.auth import AccountRegistry, is_valid_address
from dydx_devnet.faults import Faults
from dydx_devnet.markets import MarketState, load_genesis_params
from dydx_devnet.tx import OrderEngine, TxProcessor, tx_hash

log = logging.getLogger(__name__)

APP_NAME = "dydxprotocold"
APP_VERSION = "devnet"
# The chain runs CLOB transactions on a free, infinite gas meter; a devnet
# transaction reports this fixed gas use (the client's fee math only needs a number).
_CLOB_GAS_USED = 80_000


class NodeEngine(OrderEngine, Protocol):
    """What the node services read from the engine."""

    @property
    def chain_id(self) -> str: ...

    @property
    def block_time(self) -> Any: ...

    @property
    def markets(self) -> dict[str, MarketState]: ...


def block_time_datetime(value: Any) -> datetime:
    """The engine's block time (aware datetime or integer ms since the epoch) as a datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    raise TypeError(f"unsupported block time {value!r}")


def _timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _abort(context: grpc.ServicerContext, code: grpc.StatusCode, details: str) -> Any:
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
        self.processor = TxProcessor(engine, accounts, engine.chain_id, accountplus)
        params = load_genesis_params()
        self.fee_tiers = [
            fee_params.PerpetualFeeTier(
                name=str(tier["name"]),
                absolute_volume_requirement=int(tier["absolute_volume_requirement"]),
                total_volume_share_requirement_ppm=int(tier["total_volume_share_requirement_ppm"]),
                maker_volume_share_requirement_ppm=int(tier["maker_volume_share_requirement_ppm"]),
                maker_fee_ppm=int(tier["maker_fee_ppm"]),
                taker_fee_ppm=int(tier["taker_fee_ppm"]),
            )
            for tier in params["feetiers"]
        ]
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
            usd_tnc_required=_serializable_int(int(row["usd_tnc_required"])),
        )
        for row in rows
    ]


def _serializable_int(value: int) -> bytes:
    """dydx ``SerializableInt`` bytes (big.Int GobEncode: version/sign byte + magnitude)."""
    sign = 1 if value < 0 else 0
    magnitude = abs(value)
    body = magnitude.to_bytes((magnitude.bit_length() + 7) // 8, "big") if magnitude else b""
    return bytes([(1 << 1) | sign]) + body


# --- auth ------------------------------------------------------------------


class AuthQuery(auth_grpc.QueryServicer):  # type: ignore[misc]
    def __init__(self, services: NodeServices) -> None:
        self._s = services

    def Account(self, request: Any, context: grpc.ServicerContext) -> Any:
        address = str(request.address)
        if not is_valid_address(address):
            return _abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"decoding bech32 failed: invalid address {address!r}",
            )
        snapshot = self._s.accounts.snapshot(address, self._s.engine.height)
        account = self._s.accounts.get(address)
        if snapshot is None or account is None:
            return _abort(
                context, grpc.StatusCode.NOT_FOUND, f"account {address} not found: key not found"
            )
        number, sequence = snapshot
        base = BaseAccount(address=address, account_number=number, sequence=sequence)
        if account.public_key is not None:
            packed_key = AnyProto()
            packed_key.Pack(PubKey(key=account.public_key), type_url_prefix="/")
            base.pub_key.CopyFrom(packed_key)
        packed = AnyProto()
        packed.Pack(base, type_url_prefix="/")
        return auth_query.QueryAccountResponse(account=packed)


# --- tendermint ------------------------------------------------------------


class TendermintService(tm_grpc.ServiceServicer):  # type: ignore[misc]
    def __init__(self, services: NodeServices) -> None:
        self._s = services

    def GetLatestBlock(self, request: Any, context: grpc.ServicerContext) -> Any:
        engine = self._s.engine
        response = tm_query.GetLatestBlockResponse()
        moment = _timestamp(block_time_datetime(engine.block_time))
        for header in (response.block.header, response.sdk_block.header):
            header.chain_id = engine.chain_id
            header.height = engine.height
            header.time.CopyFrom(moment)
        return response

    def GetNodeInfo(self, request: Any, context: grpc.ServicerContext) -> Any:
        response = tm_query.GetNodeInfoResponse()
        response.default_node_info.network = self._s.engine.chain_id
        response.default_node_info.moniker = "dydx-devnet"
        response.default_node_info.version = APP_VERSION
        response.application_version.name = "dydxprotocol"
        response.application_version.app_name = APP_NAME
        response.application_version.version = APP_VERSION
        return response

    def GetSyncing(self, request: Any, context: grpc.ServicerContext) -> Any:
        return tm_query.GetSyncingResponse(syncing=False)


# --- tx --------------------------------------------------------------------


class TxService(tx_grpc.ServiceServicer):  # type: ignore[misc]
    def __init__(self, services: NodeServices) -> None:
        self._s = services

    def BroadcastTx(self, request: Any, context: grpc.ServicerContext) -> Any:
        mode = int(request.mode)
        if mode not in (tx_service.BROADCAST_MODE_SYNC, tx_service.BROADCAST_MODE_ASYNC):
            return _abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"unsupported return type {tx_service.BroadcastMode.Name(mode)}; "
                "supported types: sync, async",
            )
        if self._s.faults.consume_failed_broadcast():
            return _abort(context, grpc.StatusCode.UNAVAILABLE, "devnet fault: connection lost")
        tx_bytes = bytes(request.tx_bytes)
        result = self._s.processor.check(tx_bytes)
        if self._s.faults.consume_dropped_broadcast_response():
            # The node applied the transaction; the answer never reaches the client.
            return _abort(context, grpc.StatusCode.UNAVAILABLE, "devnet fault: response dropped")
        delay = self._s.faults.consume_response_delay()
        if delay > 0:
            time.sleep(delay)  # a slow node: applied, answered late (this worker thread only)
        response = TxResponse(txhash=tx_hash(tx_bytes))
        if mode == tx_service.BROADCAST_MODE_SYNC:
            # SYNC returns after CheckTx: code, codespace and log, no height yet.
            response.code = result.code
            response.codespace = result.codespace
            response.raw_log = result.log
        return tx_service.BroadcastTxResponse(tx_response=response)

    def GetTx(self, request: Any, context: grpc.ServicerContext) -> Any:
        found = self._s.processor.included(str(request.hash))
        if found is None:
            return _abort(context, grpc.StatusCode.NOT_FOUND, f"tx not found: {request.hash}")
        tx = Tx.FromString(found.tx_bytes)
        response = TxResponse(
            height=found.height,
            txhash=tx_hash(found.tx_bytes),
            gas_used=_CLOB_GAS_USED,
        )
        response.tx.Pack(tx, type_url_prefix="/")
        return tx_service.GetTxResponse(tx=tx, tx_response=response)

    def Simulate(self, request: Any, context: grpc.ServicerContext) -> Any:
        if request.tx_bytes:
            tx_bytes = bytes(request.tx_bytes)
        elif request.HasField("tx"):
            tx_bytes = request.tx.SerializeToString()
        else:
            return _abort(context, grpc.StatusCode.INVALID_ARGUMENT, "empty txBytes is not allowed")
        result = self._s.processor.check(tx_bytes, apply=False)
        if result.code != 0:
            return _abort(context, grpc.StatusCode.UNKNOWN, result.log)
        return tx_service.SimulateResponse(
            gas_info=GasInfo(gas_wanted=0, gas_used=_CLOB_GAS_USED), result=Result()
        )


# --- bank ------------------------------------------------------------------


class BankQuery(bank_grpc.QueryServicer):  # type: ignore[misc]
    """The devnet funds subaccounts directly; no address holds bank coins."""

    def AllBalances(self, request: Any, context: grpc.ServicerContext) -> Any:
        if not is_valid_address(str(request.address)):
            return _abort(context, grpc.StatusCode.INVALID_ARGUMENT, "invalid address")
        return bank_query.QueryAllBalancesResponse()

    def Balance(self, request: Any, context: grpc.ServicerContext) -> Any:
        if not is_valid_address(str(request.address)):
            return _abort(context, grpc.StatusCode.INVALID_ARGUMENT, "invalid address")
        if not request.denom:
            return _abort(context, grpc.StatusCode.INVALID_ARGUMENT, "invalid denom")
        return bank_query.QueryBalanceResponse(balance=Coin(denom=request.denom, amount="0"))


# --- dydx modules ----------------------------------------------------------


def _clob_pair(market: MarketState) -> Any:
    spec = market.spec
    return clob_pair_pb2.ClobPair(
        id=spec.clob_pair_id,
        perpetual_clob_metadata=clob_pair_pb2.PerpetualClobMetadata(perpetual_id=spec.clob_pair_id),
        step_base_quantums=spec.step_base_quantums,
        subticks_per_tick=spec.subticks_per_tick,
        quantum_conversion_exponent=spec.quantum_conversion_exponent,
        status=_clob_status(str(spec.status)),
    )


def _clob_status(status: str) -> int:
    names = {
        "ACTIVE": clob_pair_pb2.ClobPair.STATUS_ACTIVE,
        "PAUSED": clob_pair_pb2.ClobPair.STATUS_PAUSED,
        "CANCEL_ONLY": clob_pair_pb2.ClobPair.STATUS_CANCEL_ONLY,
        "POST_ONLY": clob_pair_pb2.ClobPair.STATUS_POST_ONLY,
        "INITIALIZING": clob_pair_pb2.ClobPair.STATUS_INITIALIZING,
        "FINAL_SETTLEMENT": clob_pair_pb2.ClobPair.STATUS_FINAL_SETTLEMENT,
    }
    return int(names.get(status, clob_pair_pb2.ClobPair.STATUS_UNSPECIFIED))


class ClobQuery(clob_grpc.QueryServicer):  # type: ignore[misc]
    def __init__(self, services: NodeServices) -> None:
        self._s = services

    def ClobPair(self, request: Any, context: grpc.ServicerContext) -> Any:
        market = self._s.market_by_id(int(request.id))
        if market is None:
            return _abort(context, grpc.StatusCode.NOT_FOUND, "not found")
        return clob_query.QueryClobPairResponse(clob_pair=_clob_pair(market))

    def ClobPairAll(self, request: Any, context: grpc.ServicerContext) -> Any:
        return clob_query.QueryClobPairAllResponse(
            clob_pair=[_clob_pair(market) for market in self._s.sorted_markets()]
        )

    def EquityTierLimitConfiguration(self, request: Any, context: grpc.ServicerContext) -> Any:
        return clob_query.QueryEquityTierLimitConfigurationResponse(
            equity_tier_limit_config=self._s.equity_tiers
        )


def _perpetual(market: MarketState, tiers: dict[tuple[int, int], int]) -> Any:
    spec = market.spec
    initial_ppm = int(spec.initial_margin_fraction * 1_000_000)
    key = (initial_ppm, int(spec.maintenance_margin_fraction * 1_000_000))
    market_type = (
        perpetual_pb2.PERPETUAL_MARKET_TYPE_ISOLATED
        if str(spec.market_type) == "ISOLATED"
        else perpetual_pb2.PERPETUAL_MARKET_TYPE_CROSS
    )
    open_interest = market.open_interest_bq
    return perpetual_pb2.Perpetual(
        params=perpetual_pb2.PerpetualParams(
            id=spec.clob_pair_id,
            ticker=spec.ticker,
            market_id=spec.clob_pair_id,
            atomic_resolution=spec.atomic_resolution,
            default_funding_ppm=0,
            liquidity_tier=tiers.setdefault(key, len(tiers)),
            market_type=market_type,
        ),
        funding_index=_serializable_int(0),
        open_interest=_serializable_int(open_interest),
    )


class PerpetualsQuery(perp_grpc.QueryServicer):  # type: ignore[misc]
    def __init__(self, services: NodeServices) -> None:
        self._s = services
        self._tiers: dict[tuple[int, int], int] = {}

    def Perpetual(self, request: Any, context: grpc.ServicerContext) -> Any:
        market = self._s.market_by_id(int(request.id))
        if market is None:
            return _abort(
                context, grpc.StatusCode.NOT_FOUND, f"Perpetual id {request.id} not found."
            )
        return perp_query.QueryPerpetualResponse(perpetual=_perpetual(market, self._tiers))

    def AllPerpetuals(self, request: Any, context: grpc.ServicerContext) -> Any:
        return perp_query.QueryAllPerpetualsResponse(
            perpetual=[_perpetual(market, self._tiers) for market in self._s.sorted_markets()]
        )


def _market_price(market: MarketState) -> Any:
    return market_price_pb2.MarketPrice(
        id=market.clob_pair_id, exponent=market.price_exponent, price=market.price_value
    )


class PricesQuery(prices_grpc.QueryServicer):  # type: ignore[misc]
    def __init__(self, services: NodeServices) -> None:
        self._s = services

    def MarketPrice(self, request: Any, context: grpc.ServicerContext) -> Any:
        market = self._s.market_by_id(int(request.id))
        if market is None:
            return _abort(context, grpc.StatusCode.NOT_FOUND, f"market price {request.id}")
        return prices_query.QueryMarketPriceResponse(market_price=_market_price(market))

    def AllMarketPrices(self, request: Any, context: grpc.ServicerContext) -> Any:
        return prices_query.QueryAllMarketPricesResponse(
            market_prices=[_market_price(market) for market in self._s.sorted_markets()]
        )


class FeeTiersQuery(fee_grpc.QueryServicer):  # type: ignore[misc]
    def __init__(self, services: NodeServices) -> None:
        self._s = services

    def PerpetualFeeParams(self, request: Any, context: grpc.ServicerContext) -> Any:
        return fee_query.QueryPerpetualFeeParamsResponse(
            params=fee_params.PerpetualFeeParams(tiers=self._s.fee_tiers)
        )

    def UserFeeTier(self, request: Any, context: grpc.ServicerContext) -> Any:
        if not is_valid_address(str(request.user)):
            return _abort(context, grpc.StatusCode.INVALID_ARGUMENT, "invalid bech32 address")
        # Devnet accounts have no 30-day volume: everyone is on the first tier.
        return fee_query.QueryUserFeeTierResponse(index=0, tier=self._s.fee_tiers[0])


class NodeServer:
    """The threaded gRPC server on ``host:port`` (0 = a free port)."""

    def __init__(
        self, services: NodeServices, host: str = "127.0.0.1", port: int = 0, workers: int = 8
    ) -> None:
        self.services = services
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="devnet-grpc")
        )
        auth_grpc.add_QueryServicer_to_server(AuthQuery(services), self._server)
        tm_grpc.add_ServiceServicer_to_server(TendermintService(services), self._server)
        tx_grpc.add_ServiceServicer_to_server(TxService(services), self._server)
        bank_grpc.add_QueryServicer_to_server(BankQuery(), self._server)
        clob_grpc.add_QueryServicer_to_server(ClobQuery(services), self._server)
        perp_grpc.add_QueryServicer_to_server(PerpetualsQuery(services), self._server)
        prices_grpc.add_QueryServicer_to_server(PricesQuery(services), self._server)
        fee_grpc.add_QueryServicer_to_server(FeeTiersQuery(services), self._server)
        add_query_servicer(
            self._server, services.processor.accountplus, lambda: services.engine.height
        )
        self.port = self._server.add_insecure_port(f"{host}:{port}")
        if self.port == 0:
            raise OSError(f"cannot bind gRPC on {host}:{port}")
        self.address = f"{host}:{self.port}"

    def start(self) -> None:
        self._server.start()
        log.info("devnet gRPC listening on %s", self.address)

    def stop(self, grace: float = 0.5) -> None:
        self._server.stop(grace).wait()
