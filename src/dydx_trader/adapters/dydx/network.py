"""Where the venue lives: indexer REST/WebSocket and node gRPC, per network.

``devnet`` (the default) is the embedded local stand-in on loopback;
``testnet`` and ``mainnet`` are the official endpoints (protocol reference
section 5). Every endpoint can be overridden. Hosts other than loopback must
use TLS (``https``/``wss``, secure gRPC): account data and orders never travel
in clear text, and certificates are always verified.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from enum import StrEnum
from urllib.parse import urlsplit

from dydx_trader.domain.errors import InvalidInput


def _check_url(what: str, url: str, *, secure: str, plain: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in (secure, plain) or not parts.hostname:
        raise InvalidInput(f"{what} {url!r} must be {secure}://host or {plain}://host", field=what)
    if parts.scheme == plain and not _is_loopback(parts.hostname):
        raise InvalidInput(
            f"{what} {url!r} must use {secure}:// ({plain}:// is only for loopback)", field=what
        )


def _is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class NetworkName(StrEnum):
    DEVNET = "devnet"
    TESTNET = "testnet"
    MAINNET = "mainnet"


@dataclass(frozen=True, slots=True)
class NetworkProfile:
    """Endpoints of one network.

    ``indexer_url`` has no ``/v4`` suffix (the client adds it, trap T12);
    ``grpc_address`` is ``host:port`` without a scheme; ``grpc_secure`` says
    whether the channel uses TLS.
    """

    name: NetworkName
    chain_id: str
    indexer_url: str
    websocket_url: str
    grpc_address: str
    grpc_secure: bool

    def __post_init__(self) -> None:
        _check_url("indexer URL", self.indexer_url, secure="https", plain="http")
        _check_url("websocket URL", self.websocket_url, secure="wss", plain="ws")
        host, sep, port = self.grpc_address.rpartition(":")
        if not sep or not host or not port.isdigit() or "/" in self.grpc_address:
            raise InvalidInput(
                f"gRPC address {self.grpc_address!r} must be host:port (no scheme)",
                field="grpc_address",
            )
        if not self.grpc_secure and not _is_loopback(host):
            raise InvalidInput(
                f"gRPC to {host} must use TLS; plain gRPC is only for loopback",
                field="grpc_address",
            )


USDC_DENOM = "ibc/8E27BA2D5493AF5636760E354E46004562C46AB7EC0CC4C1CA14E9E20E2545B5"

PROFILES: dict[NetworkName, NetworkProfile] = {
    NetworkName.DEVNET: NetworkProfile(
        name=NetworkName.DEVNET,
        chain_id="dydx-devnet-1",  # the devnet engine's default (dydx_devnet.state)
        indexer_url="http://127.0.0.1:8080",
        websocket_url="ws://127.0.0.1:8080/v4/ws",
        grpc_address="127.0.0.1:9090",
        grpc_secure=False,
    ),
    NetworkName.TESTNET: NetworkProfile(
        name=NetworkName.TESTNET,
        chain_id="dydx-testnet-4",
        indexer_url="https://indexer.v4testnet.dydx.exchange",
        websocket_url="wss://indexer.v4testnet.dydx.exchange/v4/ws",
        grpc_address="oegs-testnet.dydx.exchange:443",
        grpc_secure=True,
    ),
    NetworkName.MAINNET: NetworkProfile(
        name=NetworkName.MAINNET,
        chain_id="dydx-mainnet-1",
        indexer_url="https://indexer.dydx.trade",
        websocket_url="wss://indexer.dydx.trade/v4/ws",
        grpc_address="oegs.dydx.trade:443",
        grpc_secure=True,
    ),
}


def network_profile(
    name: str | NetworkName = NetworkName.DEVNET,
    *,
    indexer_url: str | None = None,
    websocket_url: str | None = None,
    grpc_address: str | None = None,
) -> NetworkProfile:
    """The profile called ``name`` with any endpoint overridden.

    An overridden gRPC address on loopback is used without TLS; any other host
    uses TLS. A trailing ``/`` or ``/v4`` on the indexer URL is removed.
    """
    try:
        network = NetworkName(name)
    except ValueError:
        known = ", ".join(n.value for n in NetworkName)
        raise InvalidInput(f"unknown network {name!r}; choose one of {known}") from None
    profile = PROFILES[network]
    changes: dict[str, object] = {}
    if indexer_url is not None:
        trimmed = indexer_url.rstrip("/")
        changes["indexer_url"] = trimmed.removesuffix("/v4")
    if websocket_url is not None:
        changes["websocket_url"] = websocket_url
    if grpc_address is not None:
        address = grpc_address.split("://", 1)[-1]
        changes["grpc_address"] = address
        changes["grpc_secure"] = not _is_loopback(address.rpartition(":")[0])
    return replace(profile, **changes)  # type: ignore[arg-type]
