"""``dydx-trader devnet``: the local dYdX stand-in in the foreground.

Serves the indexer REST API, its WebSocket and the faucet on one port and the
node gRPC on another, both on loopback, until Ctrl-C. The well-known demo
account (``dydx_devnet.demo``) is funded at start so that paper trading works
with no configuration. This is the one place ``dydx_trader`` wires the devnet.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer


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
    ) -> None:
        """Run the local devnet (indexer REST/WS + faucet, node gRPC) until Ctrl-C."""
        demo_usdc = _demo_funds(fund_demo)
        try:
            asyncio.run(
                _serve(
                    indexer_port,
                    grpc_port,
                    block_time,
                    seed,
                    speed,
                    demo_usdc,
                    (latency_ms, latency_jitter_ms),
                )
            )
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


async def _serve(
    indexer_port: int,
    grpc_port: int,
    block_time: float,
    seed: int,
    speed: float,
    demo_usdc: Decimal,
    latency: tuple[int, int],
) -> None:
    # Imported here: only this command needs the devnet.
    from dydx_devnet.demo import DEMO_ADDRESS
    from dydx_devnet.server import Devnet, DevnetConfig

    config = DevnetConfig(
        indexer_port=indexer_port,
        grpc_port=grpc_port,
        block_time=block_time,
        seed=seed,
        speed=speed,
        latency_ms=latency[0],
        latency_jitter_ms=latency[1],
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    async with Devnet(config) as dn:
        if demo_usdc > 0:
            dn.fund(DEMO_ADDRESS, demo_usdc)
        typer.echo(f"indexer REST : {dn.indexer_url}/v4")
        typer.echo(f"indexer WS   : {dn.websocket_url}")
        typer.echo(f"faucet       : {dn.faucet_url}/faucet/tokens")
        typer.echo(f"node gRPC    : {dn.grpc_address} (insecure, chain id {dn.chain_id})")
        if demo_usdc > 0:
            typer.echo(f"demo account : {DEMO_ADDRESS} funded with {demo_usdc} USDC")
        typer.echo(
            f"devnet ready: indexer {dn.indexer_url} grpc {dn.grpc_address} "
            f"block time {block_time}s speed {speed}x seed {seed} (Ctrl-C to stop)",
        )
        if latency != (0, 0):
            typer.echo(f"latency      : {latency[0]} ms + up to {latency[1]} ms jitter")
        await stop.wait()
        typer.echo("devnet stopping")
