"""A trader built through the composition root on a :class:`~kit.exchange.FakeExchange`.

The very ``build_trader`` that ``dydx-trader run`` calls, with the exchange as
indexer, node and order sender, a real journal in a temporary folder, and a
:class:`~kit.clock.FakeClock` (move it to let a TTL or the height cache expire).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

from dydx_trader.adapters.dydx.network import NetworkProfile, network_profile
from dydx_trader.adapters.journal import Journal
from dydx_trader.app.executor import Settlement
from dydx_trader.app.foreign_activity import ForeignActivity
from dydx_trader.bootstrap import Trader, build_trader
from dydx_trader.config import Settings
from kit.clock import FakeClock
from kit.exchange import FakeExchange

# Never dialled: every adapter that would use it is the fake exchange.
UNUSED_PROFILE = network_profile(
    "devnet",
    indexer_url="http://127.0.0.1:9",
    websocket_url="ws://127.0.0.1:9",
    grpc_address="127.0.0.1:9",
)


class DevnetEndpoints(Protocol):
    """Where a running devnet listens (``dydx_devnet.server.Devnet`` is one)."""

    indexer_url: str
    websocket_url: str
    grpc_address: str


def profile_of(devnet: DevnetEndpoints) -> NetworkProfile:
    """The network profile of a running devnet (indexer, WebSocket and node on loopback)."""
    return network_profile(
        "devnet",
        indexer_url=devnet.indexer_url,
        websocket_url=devnet.websocket_url,
        grpc_address=devnet.grpc_address,
    )


def kit_settings(journal: Path, **sections: dict[str, Any]) -> Settings:
    """Settings with a journal at ``journal``, no cooldown and no rate limit to speak
    of, so a test can fire signals back to back; ``sections`` override the rest."""
    data: dict[str, Any] = {
        "journal": {"path": str(journal)},
        "validation": {
            "cooldown_s": 0,
            "rate_limit_per_minute": 100_000,
            "rate_limit_burst": 10_000,
        },
    }
    for section, values in sections.items():
        data.setdefault(section, {}).update(values)
    return Settings.model_validate(data)


@asynccontextmanager
async def started_trader(
    exchange: FakeExchange,
    settings: Settings,
    *,
    clock: FakeClock | None = None,
    journal: Journal | None = None,
    on_settled: Callable[[Settlement], None] | None = None,
    on_foreign: Callable[[ForeignActivity], None] | None = None,
) -> AsyncIterator[Trader]:
    """A started trader on ``exchange`` (stopped on the way out)."""
    trader = await build_trader(
        settings,
        UNUSED_PROFILE,
        address=exchange.address,
        mnemonic=None,
        clock=clock or FakeClock(),
        indexer=exchange,
        node=exchange,
        sender=exchange,
        journal=journal or Journal.open(settings.journal.resolved_path(), fsync=False),
        on_settled=on_settled,
        on_foreign=on_foreign,
        settle_poll_s=0.001,
    )
    await trader.start(follow_streams=False)
    try:
        yield trader
    finally:
        await trader.stop()
