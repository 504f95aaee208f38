"""The whole devnet in one object: engine, block clock, indexer REST/WS and node gRPC.

In-process use (tests, the paper-trading CLI)::

    async with Devnet(DevnetConfig(indexer_port=0, grpc_port=0, block_time=0.05)) as dn:
        network = dn.network()                # the official client's Network
        dn.fund(DEMO_ADDRESS, Decimal(10_000))  # what POST /faucet/tokens does
        ...

Ports 0 pick free loopback ports (read them back from ``dn.indexer_url``,
``dn.websocket_url``, ``dn.grpc_address``). With ``auto_blocks=False`` no timer
runs and the caller produces blocks with :meth:`Devnet.advance_blocks`. With a
manual clock (``EngineConfig(clock="manual")``) the chain runs in the data's
own time and moves only through ``await dn.clock.advance_to(...)`` /
``advance_blocks(...)`` or ``POST /devnet/clock`` (:mod:`dydx_devnet.clock`).
The gRPC server runs on its own threads, so the official ``NodeClient`` (whose
stubs are synchronous calls inside async methods) may be used from the same
event loop that runs the devnet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import partial
from types import TracebackType
from typing import Any

from aiohttp import web
from dydx_v4_client.network import Network, NodeConfig, make_insecure

from dydx_devnet import indexer_api, indexer_ws
from dydx_devnet.accountplus import AccountPlus
from dydx_devnet.auth import AccountRegistry, is_valid_address
from dydx_devnet.bank import NATIVE_DENOM, USDC_DENOM
from dydx_devnet.clock import ClockState, ManualClock
from dydx_devnet.control_api import parse_usdc_amount
from dydx_devnet.demo import DEMO_ADDRESS
from dydx_devnet.engine import Engine, EngineConfig
from dydx_devnet.faults import Faults
from dydx_devnet.indexer_limits import IndexerLimits
from dydx_devnet.latency import Latency, check_latency
from dydx_devnet.node_grpc import NodeServer, NodeServices

log = logging.getLogger(__name__)

# The demo wallet's own USDC (besides its subaccount), for the gas of transfers and
# authenticator changes; CLOB transactions are free.
DEMO_GAS_USDC = Decimal(100)


@dataclass(frozen=True)
class DevnetConfig:
    """How to run the devnet.

    * ``host``: bind address (loopback by default; the devnet has no auth).
    * ``indexer_port`` (REST + ``/v4/ws`` + faucet) and ``grpc_port``: 0 = free port.
    * ``block_time``: wall seconds between blocks; ``speed``: chain seconds per
      wall second (replay faster than real time).
    * ``auto_blocks``: False = no clock; the caller advances blocks.
    * ``markets``: tickers to list (``None`` = every bundled market).
    * ``engine``: full engine settings; when given, ``seed``/``block_time``/
      ``speed``/``markets``/``background_flow`` here are ignored.
    * ``background_flow``: other participants' market orders per market per minute of
      market time (0 = a quiet book; :mod:`dydx_devnet.background_flow`).
    * ``latency_ms`` / ``latency_jitter_ms``: network latency added to every gRPC
      call, indexer REST answer and WebSocket message (seeded uniform jitter);
      ``POST /devnet/faults {"latency": ...}`` changes it while running.
    * ``indexer_limits``: the indexer's rate limits (REST 429s, WebSocket
      subscription limits; :mod:`dydx_devnet.indexer_limits`), on by default.
    """

    host: str = "127.0.0.1"
    indexer_port: int = 8080
    grpc_port: int = 9090
    block_time: float = 0.5
    seed: int = 1
    speed: float = 1.0
    auto_blocks: bool = True
    markets: tuple[str, ...] | None = None
    engine: EngineConfig | None = None
    background_flow: float = 0.0
    latency_ms: int = 0
    latency_jitter_ms: int = 0
    indexer_limits: IndexerLimits = field(default_factory=IndexerLimits)

    def __post_init__(self) -> None:
        check_latency(self.latency_ms, self.latency_jitter_ms)

    def engine_config(self) -> EngineConfig:
        if self.engine is not None:
            return self.engine
        return EngineConfig(
            seed=self.seed,
            block_time_s=self.block_time,
            speed=self.speed,
            markets=self.markets,
            background_flow=self.background_flow,
        )


class Devnet:
    """A running devnet; use as ``async with Devnet(config) as dn``."""

    def __init__(self, config: DevnetConfig | None = None) -> None:
        self.config = config or DevnetConfig()
        if not self.config.block_time > 0:
            raise ValueError(f"block_time must be positive seconds, got {self.config.block_time}")
        self.engine: Engine | None = None
        self.accounts = AccountRegistry()
        self.accountplus = AccountPlus()  # authenticators (permissioned keys)
        self.faults: Faults = Faults()
        self._runner: web.AppRunner | None = None
        self._node: NodeServer | None = None
        self._hub: indexer_ws.WsHub | None = None
        self._clock: asyncio.Task[None] | None = None
        self.indexer_url = ""
        self.websocket_url = ""
        self.grpc_address = ""

    # -- lifecycle --

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        # Loading the bundled candles takes a second or two: keep the loop free meanwhile.
        engine = await asyncio.to_thread(Engine.create, self.config.engine_config())
        self.engine = engine
        latency = Latency(
            self.config.latency_ms, self.config.latency_jitter_ms, seed=engine.config.seed
        )
        self.faults = Faults(
            engine, max_lag_blocks=engine.config.indexer_history_blocks, latency=latency
        )
        try:
            self._node = NodeServer(
                NodeServices(engine, self.accounts, self.faults, self.accountplus),
                host=self.config.host,
                port=self.config.grpc_port,
            )
            self._node.start()
            self.grpc_address = self._node.address

            limits = self.config.indexer_limits
            app = indexer_api.make_app(engine, self.accounts, self.faults, limits)
            self._hub = indexer_ws.WsHub(engine, loop, latency, limits)
            indexer_ws.install(app, self._hub)
            engine.add_listener(self._hub.on_event)
            self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.config.host, self.config.indexer_port)
            await site.start()
            port = _bound_port(site)
            self.indexer_url = f"http://{self.config.host}:{port}"
            self.websocket_url = f"ws://{self.config.host}:{port}/v4/ws"
        except BaseException:
            await self.stop()
            raise
        if self.config.auto_blocks and not engine.config.manual:
            self._clock = asyncio.create_task(self._run_clock(), name="devnet-block-clock")

    async def stop(self) -> None:
        if self._clock is not None:
            self._clock.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._clock
            self._clock = None
        if self._hub is not None:
            await self._hub.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._node is not None:
            await asyncio.to_thread(self._node.stop)
            self._node = None

    async def __aenter__(self) -> Devnet:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _run_clock(self) -> None:
        """One block every ``block_time`` wall seconds, without drift."""
        engine = self._require_engine()
        # The engine's own setting: it is what chain time advances by per block.
        interval = engine.config.block_time_s
        next_at = time.monotonic() + interval
        while True:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            try:
                # Off the loop: a block over many markets takes milliseconds.
                await asyncio.to_thread(engine.advance_block)
            except Exception:  # a bad block must not stop the chain
                log.exception("devnet block %s failed", engine.height + 1)
            next_at += interval
            if next_at < time.monotonic():  # fell behind (slow machine): do not burst
                next_at = time.monotonic() + interval

    # -- helpers --

    def _require_engine(self) -> Engine:
        if self.engine is None:
            raise RuntimeError("the devnet is not running; use 'async with Devnet(...)'")
        return self.engine

    @property
    def clock(self) -> AsyncClock:
        """The manual clock, awaitable (``await devnet.clock.advance_to(...)``)."""
        return AsyncClock(self._require_engine().clock)

    async def advance_blocks(self, count: int = 1) -> int:
        """Produce ``count`` blocks now (manual mode, or to hurry); returns the new height."""
        engine = self._require_engine()
        for _ in range(count):
            await asyncio.to_thread(engine.advance_block)
        return int(engine.height)

    async def wait_blocks(self, count: int = 1, timeout: float = 10.0) -> int:
        """Wait until the clock has produced ``count`` more blocks; returns the height."""
        engine = self._require_engine()
        target = engine.height + count
        deadline = time.monotonic() + timeout
        while engine.height < target:
            if time.monotonic() > deadline:
                raise TimeoutError(f"height {engine.height} did not reach {target} in {timeout}s")
            await asyncio.sleep(min(0.01, engine.config.block_time_s / 4))
        return int(engine.height)

    def fund(self, address: str, usdc: Decimal | int, subaccount_number: int = 0) -> None:
        """Credit ``usdc`` (whole or fractional USDC, at most 6 decimals) to a subaccount and
        create the address's auth account, as ``POST /faucet/tokens`` does."""
        if not is_valid_address(address):
            raise ValueError(f"not a dydx address: {address!r}")
        amount = parse_usdc_amount(str(usdc))
        self.accounts.ensure(address)
        self._require_engine().deposit(address, subaccount_number, int(amount * 1_000_000))

    def fund_wallet(self, address: str, usdc: Decimal | int) -> None:
        """Credit ``usdc`` to the address's bank balance (its wallet, not a subaccount),
        e.g. to pay the gas of non-trading transactions; creates the auth account."""
        if not is_valid_address(address):
            raise ValueError(f"not a dydx address: {address!r}")
        amount = parse_usdc_amount(str(usdc))
        self.accounts.ensure(address)
        self._require_engine().mint(address, USDC_DENOM, int(amount * 1_000_000))

    def fund_demo(self, usdc: Decimal | int = 10_000, subaccount_number: int = 0) -> str:
        """Fund the well-known demo account (:mod:`dydx_devnet.demo`): ``usdc`` in the
        subaccount and :data:`DEMO_GAS_USDC` in its wallet for gas; returns its address.

        Then ``await Wallet.from_mnemonic(node, DEMO_MNEMONIC, DEMO_ADDRESS)``.
        """
        self.fund(DEMO_ADDRESS, usdc, subaccount_number)
        self.fund_wallet(DEMO_ADDRESS, DEMO_GAS_USDC)
        return DEMO_ADDRESS

    @property
    def faucet_url(self) -> str:
        """Base URL for the official ``FaucetClient`` (the indexer host serves the faucet)."""
        return self.indexer_url

    @property
    def chain_id(self) -> str:
        return str(self._require_engine().chain_id)

    def network(self) -> Network:
        """The official client's network config for this devnet (insecure loopback channel).

        Each call opens a new gRPC channel; keep the result for the client's lifetime.
        """
        node = partial(
            NodeConfig, self.chain_id, chaintoken_denom=NATIVE_DENOM, usdc_denom=USDC_DENOM
        )
        network: Network = make_insecure(
            node,
            rest_indexer=self.indexer_url,
            websocket_indexer=self.websocket_url,
            node_url=self.grpc_address,
        )
        return network


class AsyncClock:
    """:class:`~dydx_devnet.clock.ManualClock` for the event loop: blocks are
    produced in a worker thread, so the devnet keeps serving meanwhile."""

    def __init__(self, clock: ManualClock) -> None:
        self._clock = clock

    async def advance_to(
        self, when: datetime | int, *, block_seconds: int | None = None
    ) -> ClockState:
        """Blocks up to market time ``when`` (see :meth:`ManualClock.advance_to`)."""
        return await asyncio.to_thread(self._clock.advance_to, when, block_seconds=block_seconds)

    async def advance_blocks(self, count: int, block_seconds: float = 1.0) -> ClockState:
        """``count`` blocks ``block_seconds`` apart (see :meth:`ManualClock.advance_blocks`)."""
        return await asyncio.to_thread(self._clock.advance_blocks, count, block_seconds)

    def status(self) -> dict[str, Any]:
        """What ``GET /devnet/clock`` answers."""
        return self._clock.status()


def _bound_port(site: web.TCPSite) -> int:
    server: Any = site._server  # aiohttp exposes the bound sockets only here
    if server is None or not server.sockets:
        raise OSError("the indexer site has no listening socket")
    return int(server.sockets[0].getsockname()[1])
