"""The node's gRPC services that the official ``NodeClient`` calls.

A threaded ``grpc.server``: the official client makes *synchronous* stub calls
inside its async methods, so a test running the devnet on the same event loop
must not need the loop to answer them. Handlers touch only thread-safe parts
(the engine's RLock, the account registry's lock, :class:`Faults`).

This module holds the tx service (``BroadcastTx``, ``GetTx``, ``Simulate``)
and the server; the queries live in :mod:`dydx_devnet.node_queries`, the
accountplus ones in :mod:`dydx_devnet.accountplus`, the bank, rate-limit,
subaccounts and stats ones in the ``chain_queries_*`` modules. Anything else
(staking, governance, distribution, vaults, affiliates, rewards)
answers UNIMPLEMENTED, as a node without that module would.
"""

from __future__ import annotations

import errno
import logging
import socket
import time
from concurrent import futures
from typing import Any

import grpc
from v4_proto.cosmos.auth.v1beta1 import query_pb2_grpc as auth_grpc
from v4_proto.cosmos.bank.v1beta1 import query_pb2_grpc as bank_grpc
from v4_proto.cosmos.base.abci.v1beta1.abci_pb2 import GasInfo, Result, TxResponse
from v4_proto.cosmos.base.tendermint.v1beta1 import query_pb2_grpc as tm_grpc
from v4_proto.cosmos.tx.v1beta1 import service_pb2 as tx_service
from v4_proto.cosmos.tx.v1beta1 import service_pb2_grpc as tx_grpc
from v4_proto.cosmos.tx.v1beta1.tx_pb2 import Tx
from v4_proto.dydxprotocol.bridge import query_pb2_grpc as bridge_grpc
from v4_proto.dydxprotocol.clob import query_pb2_grpc as clob_grpc
from v4_proto.dydxprotocol.feetiers import query_pb2_grpc as fee_grpc
from v4_proto.dydxprotocol.perpetuals import query_pb2_grpc as perp_grpc
from v4_proto.dydxprotocol.prices import query_pb2_grpc as prices_grpc
from v4_proto.dydxprotocol.ratelimit import query_pb2_grpc as rate_grpc
from v4_proto.dydxprotocol.stats import query_pb2_grpc as stats_grpc
from v4_proto.dydxprotocol.subaccounts import query_pb2_grpc as sa_grpc

from dydx_devnet.accountplus import add_query_servicer
from dydx_devnet.chain_queries_bank import BankQuery, BridgeQuery, RateLimitQuery
from dydx_devnet.chain_queries_stats import StatsQuery
from dydx_devnet.chain_queries_subaccounts import SubaccountsQuery
from dydx_devnet.latency import Latency
from dydx_devnet.node_queries import (
    AuthQuery,
    ClobQuery,
    FeeTiersQuery,
    PerpetualsQuery,
    PricesQuery,
    TendermintService,
)
from dydx_devnet.node_services import NodeServices, abort
from dydx_devnet.tx import decode, tx_hash
from dydx_devnet.tx_fees import gas_used

log = logging.getLogger(__name__)


# --- tx --------------------------------------------------------------------


class TxService(tx_grpc.ServiceServicer):  # type: ignore[misc]
    def __init__(self, services: NodeServices) -> None:
        self._s = services

    def BroadcastTx(self, request: Any, context: grpc.ServicerContext) -> Any:
        mode = int(request.mode)
        if mode not in (tx_service.BROADCAST_MODE_SYNC, tx_service.BROADCAST_MODE_ASYNC):
            return abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"unsupported return type {tx_service.BroadcastMode.Name(mode)}; "
                "supported types: sync, async",
            )
        if self._s.faults.consume_failed_broadcast():
            return abort(context, grpc.StatusCode.UNAVAILABLE, "devnet fault: connection lost")
        tx_bytes = bytes(request.tx_bytes)
        result = self._s.processor.check(tx_bytes)
        if self._s.faults.consume_dropped_broadcast_response():
            # The node applied the transaction; the answer never reaches the client.
            return abort(context, grpc.StatusCode.UNAVAILABLE, "devnet fault: response dropped")
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
            return abort(context, grpc.StatusCode.NOT_FOUND, f"tx not found: {request.hash}")
        tx = Tx.FromString(found.tx_bytes)
        decoded = decode(found.tx_bytes)
        response = TxResponse(
            height=found.height,
            txhash=tx_hash(found.tx_bytes),
            code=0,
            gas_wanted=int(decoded.auth_info.fee.gas_limit),
            gas_used=gas_used(decoded.messages),
        )
        response.tx.Pack(tx, type_url_prefix="/")
        return tx_service.GetTxResponse(tx=tx, tx_response=response)

    def Simulate(self, request: Any, context: grpc.ServicerContext) -> Any:
        if request.tx_bytes:
            tx_bytes = bytes(request.tx_bytes)
        elif request.HasField("tx"):
            tx_bytes = request.tx.SerializeToString()
        else:
            return abort(context, grpc.StatusCode.INVALID_ARGUMENT, "empty txBytes is not allowed")
        result = self._s.processor.check(tx_bytes, apply=False)
        if result.code != 0:
            return abort(context, grpc.StatusCode.UNKNOWN, result.log)
        used = gas_used(decode(tx_bytes).messages)
        return tx_service.SimulateResponse(
            gas_info=GasInfo(gas_wanted=0, gas_used=used), result=Result()
        )


class LatencyInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]
    """Adds the devnet's latency to every unary call: half before, half after the handler.

    It sleeps in the server's worker thread, never under the engine lock.
    """

    def __init__(self, latency: Latency) -> None:
        self._latency = latency

    def intercept_service(self, continuation: Any, handler_call_details: Any) -> Any:
        handler = continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        inner = handler.unary_unary

        def delayed(request: Any, context: grpc.ServicerContext) -> Any:
            delay = self._latency.sample_s()
            time.sleep(delay / 2)
            try:
                return inner(request, context)
            finally:
                time.sleep(delay / 2)

        return grpc.unary_unary_rpc_method_handler(
            delayed,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class NodeServer:
    """The threaded gRPC server on ``host:port`` (0 = a free port).

    ``workers`` threads serve calls (started as needed); many, so that calls
    waiting out the latency do not queue behind each other: a burst of 250
    broadcasts, each held 100 ms, is answered in one round trip, as a node
    behind a real network would answer it. The port is bound exclusively
    (no ``SO_REUSEPORT``): a port already in use raises ``OSError``, where
    gRPC's default would split calls between two chains.
    """

    def __init__(
        self,
        services: NodeServices,
        host: str = "127.0.0.1",
        port: int = 0,
        workers: int = 256,
    ) -> None:
        self.services = services
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="devnet-grpc"),
            interceptors=[LatencyInterceptor(services.faults.latency)],
            options=[("grpc.so_reuseport", 0)],
        )
        auth_grpc.add_QueryServicer_to_server(AuthQuery(services), self._server)
        tm_grpc.add_ServiceServicer_to_server(TendermintService(services), self._server)
        tx_grpc.add_ServiceServicer_to_server(TxService(services), self._server)
        bank_grpc.add_QueryServicer_to_server(BankQuery(services.engine), self._server)
        sa_grpc.add_QueryServicer_to_server(SubaccountsQuery(services.engine), self._server)
        stats_grpc.add_QueryServicer_to_server(StatsQuery(services.engine), self._server)
        rate_grpc.add_QueryServicer_to_server(RateLimitQuery(services.engine), self._server)
        bridge_grpc.add_QueryServicer_to_server(BridgeQuery(), self._server)
        clob_grpc.add_QueryServicer_to_server(ClobQuery(services), self._server)
        perp_grpc.add_QueryServicer_to_server(PerpetualsQuery(services), self._server)
        prices_grpc.add_QueryServicer_to_server(PricesQuery(services), self._server)
        fee_grpc.add_QueryServicer_to_server(FeeTiersQuery(services), self._server)
        add_query_servicer(
            self._server, services.processor.accountplus, lambda: services.engine.height
        )
        if port != 0:
            _require_free(host, port)
        try:
            self.port = self._server.add_insecure_port(f"{host}:{port}")
        except RuntimeError:  # newer grpcio raises where older ones return 0
            self.port = 0
        if self.port == 0:
            raise OSError(f"gRPC port {port} on {host} cannot be bound")
        self.address = f"{host}:{self.port}"

    def start(self) -> None:
        self._server.start()
        log.info("devnet gRPC listening on %s", self.address)

    def stop(self, grace: float = 0.5) -> None:
        self._server.stop(grace).wait()


def _require_free(host: str, port: int) -> None:
    """Raise a one-line ``OSError`` if ``host:port`` is taken (before gRPC logs its own)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise OSError(f"gRPC port {port} on {host} is already in use") from None
            raise OSError(f"gRPC port {port} on {host} cannot be bound: {exc.strerror}") from None


__all__ = ["LatencyInterceptor", "NodeServer", "NodeServices", "TxService"]
