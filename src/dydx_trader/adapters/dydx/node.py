"""Node gRPC through the official ``NodeClient``, never blocking the event loop.

The client's ``async def`` methods call *synchronous* gRPC stubs with no
deadline (style-and-reliability.md B5): awaited on the loop, a hung node
freezes every task. :class:`NodeGateway` therefore

* runs each client call in a worker thread (``asyncio.to_thread``), under an
  ``asyncio.timeout`` deadline, so the loop stays responsive;
* gives every RPC on its channel a gRPC deadline (a client interceptor), so
  the worker thread itself is freed when the deadline passes;
* maps gRPC status codes into the domain taxonomy, each ``VenueUnavailable``
  classified in ``numbers['failure']`` (transient: UNAVAILABLE,
  DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED and missed deadlines;
  definitive: every other code), and retries only transient reads.

Only reads live here. Orders are broadcast by :mod:`.order_gateway`, which
turns a lost answer into ``OrderOutcomeUnknown``: never retried under a new id,
never reported as a rejection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import grpc
from v4_proto.dydxprotocol.clob import query_pb2 as clob_query
from v4_proto.dydxprotocol.clob import query_pb2_grpc as clob_grpc

from dydx_trader.adapters.dydx.network import USDC_DENOM, NetworkProfile
from dydx_trader.adapters.dydx.retry import RetryPolicy, TransientFailure, retry_read
from dydx_trader.domain.account_terms import FeeTier
from dydx_trader.domain.errors import (
    DydxTraderError,
    InvalidInput,
    MalformedPayload,
    VenueFailure,
    VenueUnavailable,
)

if TYPE_CHECKING:
    from dydx_v4_client.node.client import NodeClient

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 5.0
_TRANSIENT_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
    }
)


class _CallDetails(NamedTuple):
    method: str
    timeout: float | None
    metadata: Any
    credentials: Any
    wait_for_ready: Any
    compression: Any


class _DeadlineInterceptor(grpc.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """Give every unary RPC a deadline when its caller gave none (the client never does)."""

    def __init__(self, timeout_s: float) -> None:
        self._timeout_s = timeout_s

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        if details.timeout is None:
            details = _CallDetails(
                details.method,
                self._timeout_s,
                details.metadata,
                details.credentials,
                getattr(details, "wait_for_ready", None),
                getattr(details, "compression", None),
            )
        return continuation(details, request)


def open_channel(profile: NetworkProfile, timeout_s: float) -> grpc.Channel:
    """A gRPC channel to the profile's node with a default deadline on every RPC.

    TLS (with certificate verification) unless the node is on loopback.
    """
    if profile.grpc_secure:
        channel = grpc.secure_channel(profile.grpc_address, grpc.ssl_channel_credentials())
    else:
        channel = grpc.insecure_channel(profile.grpc_address)
    return grpc.intercept_channel(channel, _DeadlineInterceptor(timeout_s))


class NodeGateway:
    """Bounded, classified calls to one dYdX node.

    ``timeout_s`` is the deadline of one call (seconds); ``retry`` bounds a
    whole read. Build it with :meth:`connect`, or pass a ``NodeClient`` (tests).
    """

    def __init__(
        self,
        client: NodeClient,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy | None = None,
        channel: grpc.Channel | None = None,
    ) -> None:
        if not 0 < timeout_s <= 120:
            raise InvalidInput(f"node timeout {timeout_s} s is outside (0, 120]")
        self._client = client
        self._timeout_s = timeout_s
        self._retry = retry or RetryPolicy()
        self._channel = channel

    @classmethod
    async def connect(
        cls,
        profile: NetworkProfile,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy | None = None,
    ) -> NodeGateway:
        """A gateway to the profile's node. Opens the channel; does not call it."""
        _quiet_client_import()
        from dydx_v4_client.network import NodeConfig
        from dydx_v4_client.node.client import NodeClient

        channel = open_channel(profile, timeout_s)
        config = NodeConfig(
            chain_id=profile.chain_id,
            chaintoken_denom="adydx" if profile.name == "mainnet" else "adv4tnt",
            usdc_denom=USDC_DENOM,
            channel=channel,
        )
        client = await NodeClient.connect(config)
        return cls(client, timeout_s=timeout_s, retry=retry, channel=channel)

    async def close(self) -> None:
        """Close the gRPC channel (idempotent)."""
        if self._channel is not None:
            channel, self._channel = self._channel, None
            await asyncio.to_thread(channel.close)

    async def __aenter__(self) -> NodeGateway:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- reads ------------------------------------------------------------------------

    async def latest_block_height(self) -> int:
        """The chain's latest block height (``GetLatestBlock``), from the node."""
        height = await self._read("latest block height", self._client.latest_block_height)
        if isinstance(height, bool) or not isinstance(height, int) or height < 0:
            raise MalformedPayload(f"node reported block height {height!r}", field="height")
        return height

    async def chain_id(self) -> str:
        """The chain id the node reports (``GetNodeInfo``); a signer must use this one."""
        info = await self._read("node info", self._client.get_node_info)
        network = getattr(getattr(info, "default_node_info", None), "network", None)
        if not isinstance(network, str) or not network:
            raise MalformedPayload("node info carries no chain id", field="network")
        return network

    async def account_numbers(self, address: str) -> tuple[int, int]:
        """``(account_number, sequence)`` of ``address`` (cosmos auth ``Account``)."""
        account = await self._read("account", lambda: self._client.get_account(address))
        return int(account.account_number), int(account.sequence)

    async def authenticators(self, address: str) -> tuple[tuple[int, str, bytes], ...]:
        """``(id, type, config)`` of each authenticator of ``address`` (accountplus
        ``GetAuthenticators``; see :mod:`.authenticators` to decode them)."""
        response = await self._read(
            "authenticators", lambda: self._client.get_authenticators(address)
        )
        return tuple(
            (int(found.id), str(found.type), bytes(found.config))
            for found in response.account_authenticators
        )

    async def subaccount_leverage(self, address: str, subaccount_number: int) -> dict[int, int]:
        """The subaccount's leverage settings: custom IMF (ppm) by clob pair id (the
        clob ``Leverage`` query, chain v9.4+). Empty when none is set, or when the
        node predates the setting (it answers UNIMPLEMENTED: no setting can exist)."""
        stub = clob_grpc.QueryStub(self._client.channel)
        request = clob_query.QueryLeverageRequest(owner=address, number=subaccount_number)

        async def leverage() -> Any:
            return stub.Leverage(request)

        try:
            response = await self._read("leverage settings", leverage)
        except VenueUnavailable as error:
            if error.numbers.get("grpc_code") == grpc.StatusCode.UNIMPLEMENTED.name:
                return {}
            raise
        settings: dict[int, int] = {}
        for entry in response.clob_pair_leverage:
            clob_pair_id, ppm = int(entry.clob_pair_id), int(entry.custom_imf_ppm)
            if not 0 < ppm <= 1_000_000:
                raise MalformedPayload(
                    f"node reported a leverage setting of {ppm} ppm for clob pair {clob_pair_id}",
                    field="custom_imf_ppm",
                )
            settings[clob_pair_id] = ppm
        return settings

    async def user_fee_tier(self, address: str) -> FeeTier:
        """The fee tier ``address`` pays (feetiers ``UserFeeTier``): taker and maker ppm."""
        response = await self._read(
            "user fee tier", lambda: self._client.get_user_fee_tier(address)
        )
        tier = response.tier
        try:
            return FeeTier(
                str(tier.name) or str(response.index),
                int(tier.taker_fee_ppm),
                int(tier.maker_fee_ppm),
                "chain",
            )
        except InvalidInput as error:
            raise MalformedPayload(f"node reported an impossible fee tier: {error}") from None

    @property
    def channel(self) -> grpc.Channel:
        """The deadline-carrying channel to the node (for the order gateway)."""
        if self._channel is None:
            raise VenueUnavailable("the node channel is closed")
        return self._channel

    # -- bounded calls -----------------------------------------------------------------

    async def _read(self, what: str, call: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """A read: bounded, classified, retried when the failure is transient."""

        def unavailable() -> DydxTraderError:
            return VenueUnavailable(f"node did not answer {what} within {self._timeout_s} s")

        async def attempt() -> T:
            try:
                return await self._call_once(what, call, on_timeout=unavailable)
            except VenueUnavailable as error:
                if error.numbers.get("failure") == VenueFailure.TRANSIENT:
                    raise TransientFailure(error) from None
                raise

        return await retry_read(attempt, self._retry)

    async def _call_once(
        self,
        what: str,
        call: Callable[[], Coroutine[Any, Any, T]],
        *,
        on_timeout: Callable[[], DydxTraderError],
    ) -> T:
        """One client call in a worker thread under a deadline.

        ``on_timeout`` builds the error for a missed deadline: a read is
        ``VenueUnavailable``; a write must be ``OrderOutcomeUnknown``.
        """
        try:
            async with asyncio.timeout(self._timeout_s):
                return await asyncio.to_thread(_run_in_thread, call)
        except TimeoutError:
            error = on_timeout()
            if isinstance(error, VenueUnavailable):
                raise VenueUnavailable(
                    error.message, failure=VenueFailure.TRANSIENT.value
                ) from None
            raise error from None
        except grpc.RpcError as rpc_error:
            raise _classify(what, rpc_error) from None


def _quiet_client_import() -> None:
    # dydx_v4_client.network builds a LOCAL profile when first imported and warns
    # about its own "http://" node URL; that line is noise for our users.
    logging.getLogger("dydx_v4_client.network").setLevel(logging.ERROR)


def _run_in_thread(call: Callable[[], Coroutine[Any, Any, T]]) -> T:
    # The client's coroutines only wrap blocking stubs; a private loop in this
    # worker thread runs one to completion without touching the caller's loop.
    return asyncio.run(call())


def _classify(what: str, error: grpc.RpcError) -> VenueUnavailable:
    code = error.code() if hasattr(error, "code") else None
    name = code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN"
    details = error.details() if hasattr(error, "details") else None
    text = f": {details[:200]}" if isinstance(details, str) and details else ""
    failure = VenueFailure.TRANSIENT if code in _TRANSIENT_CODES else VenueFailure.DEFINITIVE
    return VenueUnavailable(
        f"node failed {what} (gRPC {name}){text}", grpc_code=name, failure=failure.value
    )
