"""``dydx-trader devnet``: the local dYdX stand-in in the foreground.

Serves the indexer REST API, its WebSocket and the faucet on one port and the
node gRPC on another, both on loopback, until Ctrl-C. The well-known demo
account (``dydx_devnet.demo``) is funded at start so that paper trading works
with no configuration. This is the one place ``dydx_trader`` wires the devnet.

``--clock manual`` runs the chain in the bundled data's own time, from
``--from`` (and to ``--to``, or for ``--days``): blocks come only through
``POST /devnet/clock``, for a lockstep replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from dydx_devnet.server import DevnetConfig


def register(app: typer.Typer) -> None:
    @app.command()
    def devnet(
        indexer_port: Annotated[
            int, typer.Option("--indexer-port", min=0, max=65535, help="Indexer REST + WS port.")
        ] = 8080,
        grpc_port: Annotated[
            int, typer.Option("--grpc-port", min=0, max=65535, help="Node gRPC port.")
        ] = 9090,
        block_time: Annotated[
            float,
            typer.Option("--block-time", min=0.01, max=60, help="Wall seconds between blocks."),
        ] = 0.5,
        seed: Annotated[int, typer.Option("--seed", help="Seed of every random choice.")] = 1,
        speed: Annotated[
            float,
            typer.Option(
                "--speed", min=0.01, max=100_000, help="Chain seconds per wall second (replay)."
            ),
        ] = 1.0,
        flow: Annotated[
            float,
            typer.Option(
                "--flow",
                min=0,
                max=60,
                help="Other participants' market orders per market per minute (0 = quiet).",
            ),
        ] = 1.0,
        fund_demo: Annotated[
            str,
            typer.Option(
                "--fund-demo", help="USDC to credit the demo account (0 = none, at most 1e9)."
            ),
        ] = "10000",
        latency_ms: Annotated[
            int,
            typer.Option(
                "--latency-ms",
                min=0,
                max=60_000,
                help="Milliseconds added to every gRPC call, REST answer and WebSocket message.",
            ),
        ] = 0,
        latency_jitter_ms: Annotated[
            int,
            typer.Option(
                "--latency-jitter-ms",
                min=0,
                max=60_000,
                help="Up to this many more milliseconds, uniform and seeded.",
            ),
        ] = 0,
        synthetic_markets: Annotated[
            int,
            typer.Option(
                "--synthetic-markets",
                min=0,
                max=1_000,
                help="List this many more markets (SYN001-USD onwards, ETH-USD's parameters).",
            ),
        ] = 0,
        clock: Annotated[
            str,
            typer.Option(
                "--clock",
                help="timer: a block every --block-time; manual: blocks on POST /devnet/clock, "
                "in the data's own dates.",
            ),
        ] = "timer",
        replay_from: Annotated[
            str | None,
            typer.Option("--from", help="Manual clock: replay start (YYYY-MM-DD[THH:MM], UTC)."),
        ] = None,
        replay_to: Annotated[
            str | None, typer.Option("--to", help="Manual clock: replay end (UTC).")
        ] = None,
        days: Annotated[
            int | None, typer.Option("--days", min=1, help="Manual clock: replay length.")
        ] = None,
    ) -> None:
        """Run the local devnet (indexer REST/WS + faucet, node gRPC) until Ctrl-C."""
        from dydx_devnet.server import DevnetConfig
        from dydx_devnet.state import EngineConfig

        demo_usdc = _demo_funds(fund_demo)
        try:
            engine = EngineConfig(
                seed=seed,
                block_time_s=block_time,
                speed=speed,
                clock=clock,
                replay_start=_utc("--from", replay_from),
                replay_end=_utc("--to", replay_to),
                replay_days=days,
                background_flow=flow,
                synthetic_markets=synthetic_markets,
            )
            config = DevnetConfig(
                indexer_port=indexer_port,
                grpc_port=grpc_port,
                block_time=block_time,
                engine=engine,
                latency_ms=latency_ms,
                latency_jitter_ms=latency_jitter_ms,
            )
            asyncio.run(_serve(config, demo_usdc))
        except ValueError as exc:
            typer.echo(f"devnet: {exc}", err=True)
            raise typer.Exit(2) from None
        except OSError as exc:
            typer.echo(f"devnet: cannot start: {exc}", err=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            pass


def _demo_funds(text: str) -> Decimal:
    """The ``--fund-demo`` amount (0 = none); one line and exit 2 if the faucet would refuse it."""
    from dydx_devnet.control_api import parse_usdc_amount

    with contextlib.suppress(InvalidOperation):  # not a number: parse_usdc_amount says so
        if Decimal(text.strip()) == 0:
            return Decimal(0)
    try:
        return parse_usdc_amount(text)
    except ValueError as exc:
        typer.echo(f"devnet: --fund-demo {text}: {exc}", err=True)
        raise typer.Exit(2) from None


def _utc(option: str, text: str | None) -> datetime | None:
    """A ``--from``/``--to`` date as an aware UTC datetime; ``ValueError`` names the option."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{option} {text!r} is not a date (YYYY-MM-DD[THH:MM])") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def _serve(config: DevnetConfig, demo_usdc: Decimal) -> None:
    # Imported here: only this command needs the devnet.
    from dydx_devnet.demo import DEMO_ADDRESS
    from dydx_devnet.server import Devnet

    engine = config.engine_config()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    async with Devnet(config) as dn:
        if demo_usdc > 0:
            dn.fund_demo(demo_usdc)
        typer.echo(f"indexer REST : {dn.indexer_url}/v4")
        typer.echo(f"indexer WS   : {dn.websocket_url}")
        typer.echo(f"faucet       : {dn.faucet_url}/faucet/tokens")
        typer.echo(f"node gRPC    : {dn.grpc_address} (insecure, chain id {dn.chain_id})")
        if demo_usdc > 0:
            typer.echo(f"demo account : {DEMO_ADDRESS} funded with {demo_usdc} USDC")
        if engine.manual:
            replay = dn.clock.status()["replay"]
            typer.echo(
                f"manual clock : {replay['start']} to {replay['end']} "
                f"(POST {dn.indexer_url}/devnet/clock)"
            )
            pace = "manual clock"
        else:
            pace = f"block time {engine.block_time_s}s speed {engine.speed}x"
        if engine.background_flow > 0:
            pace += f", background flow {engine.background_flow:g}/min"
        if (config.latency_ms, config.latency_jitter_ms) != (0, 0):
            typer.echo(
                f"latency      : {config.latency_ms} ms + up to {config.latency_jitter_ms} ms"
            )
        typer.echo(
            f"devnet ready: indexer {dn.indexer_url} grpc {dn.grpc_address} "
            f"{pace} seed {engine.seed} (Ctrl-C to stop)",
        )
        await stop.wait()
        typer.echo("devnet stopping")
