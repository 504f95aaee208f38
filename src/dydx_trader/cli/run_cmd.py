"""``dydx-trader run``: the main job.

With no configuration it paper-trades: it starts the devnet in this process,
funds the demo subaccount, replays the bundled market data faster than real
time, trades with the configured (default) strategies through exactly the code
that trades live, shows what happens, and ends with a summary and an
equity-curve image in the run's folder when the data ends.

With ``--network testnet`` or ``mainnet`` it trades live until SIGINT/SIGTERM:
no new orders, wait for in-flight outcomes, close the journal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal as os_signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer
from aiohttp import web
from rich.console import Console
from rich.live import Live

from dydx_trader.adapters.dydx.network import NetworkName, network_profile
from dydx_trader.adapters.webhook import (
    SECRET_ENV_VAR,
    SignalIntake,
    WebhookSecret,
    create_webhook_app,
)
from dydx_trader.app.executor import Settlement
from dydx_trader.app.session import SessionStats
from dydx_trader.app.strategy_runner import StrategyAssignment, StrategyRunner
from dydx_trader.bootstrap import Trader, build_trader
from dydx_trader.cli.keys_cmd import demo_bot_key
from dydx_trader.cli.run_view import live_view, summary_table, write_report
from dydx_trader.config import Settings, load_config
from dydx_trader.domain.errors import DydxTraderError
from dydx_trader.domain.signal import Signal
from dydx_trader.domain.venue import CandleResolution
from dydx_trader.secrets import Secret, install_log_redaction, load_bot_key, load_mnemonic

log = logging.getLogger(__name__)

# The paper session: 50 ms blocks; the replay speed is chosen so that the
# replayed days take about ``PAPER_WALL_S`` seconds.
PAPER_BLOCK_TIME_S = 0.05
PAPER_WALL_S = 100
PAPER_DAYS = 45
PAPER_FUNDS_USDC = Decimal(10_000)
TICK_S = 0.1


@dataclass(frozen=True, slots=True)
class _Clock:
    """Where "now" comes from: the chain's block time in paper mode (the replay
    runs faster than the wall), the wall clock live."""

    now: Callable[[], datetime]
    speed: float


def register(app: typer.Typer) -> None:
    @app.command()
    def run(
        network: str = typer.Option("devnet", help="devnet (paper, default), testnet or mainnet."),
        config: Path | None = typer.Option(None, help="dydx-trader.toml (default: discovered)."),
        address: str | None = typer.Option(None, help="Account address (live networks)."),
        days: int = typer.Option(PAPER_DAYS, min=1, max=300, help="Paper: days of data replayed."),
        speed: float | None = typer.Option(
            None, help="Paper: market seconds per wall second (default: fits ~100 s)."
        ),
        seed: int = typer.Option(1, help="Paper: devnet seed (prices, book)."),
        run_dir: Path | None = typer.Option(None, help="Folder for the journal and the report."),
        http_port: int | None = typer.Option(
            None, min=1, max=65_535, help="Webhook port (default: http.port, 8000)."
        ),
        live: bool | None = typer.Option(
            None, "--live/--plain", help="Live view (default: when the output is a terminal)."
        ),
    ) -> None:
        """Trade: paper on the embedded devnet by default, or live on testnet/mainnet."""
        install_log_redaction()
        console = Console()
        try:
            settings = load_config(config)
            if http_port is not None:
                http = settings.http.model_copy(update={"port": http_port})
                settings = settings.model_copy(update={"http": http})
            folder = run_dir or Path("runs") / datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
            show_live = console.is_terminal if live is None else live
            if NetworkName(network) is NetworkName.DEVNET:
                code = asyncio.run(_paper(settings, folder, days, speed, seed, show_live, console))
            else:
                code = asyncio.run(_live(settings, network, address, folder, show_live, console))
        except (DydxTraderError, ValueError) as error:
            console.print(f"[red]dydx-trader run: {error}[/]")
            raise typer.Exit(2) from None
        raise typer.Exit(code)


# -- paper ------------------------------------------------------------------------------


async def _paper(
    settings: Settings,
    folder: Path,
    days: int,
    speed: float | None,
    seed: int,
    show_live: bool,
    console: Console,
) -> int:
    # The CLI is the one place allowed to wire the devnet into the same process.
    from dydx_devnet.demo import DEMO_MNEMONIC
    from dydx_devnet.replay import load_hourly
    from dydx_devnet.server import Devnet, DevnetConfig
    from dydx_devnet.state import EngineConfig

    strategies = settings.build_strategies()
    markets = tuple(dict.fromkeys(m for _, entry in strategies for m in entry.markets))
    first, last = _data_span(markets, load_hourly)
    total_days = (last - first).days
    days = min(days, total_days - 30)  # keep a month of candles before genesis for warm-up
    speed = speed or days * 86_400 / PAPER_WALL_S
    engine = EngineConfig(
        seed=seed,
        markets=markets,
        block_time_s=PAPER_BLOCK_TIME_S,
        speed=speed,
        warmup_days=total_days - days,
    )
    folder.mkdir(parents=True, exist_ok=True)
    settings = _paper_settings(settings, folder, speed)
    console.print(
        f"dydx-trader paper session: {', '.join(markets)}, {days} days of bundled data "
        f"at {speed:,.0f}x, {PAPER_FUNDS_USDC:,} USDC on the devnet demo account"
    )
    async with Devnet(DevnetConfig(indexer_port=0, grpc_port=0, engine=engine)) as devnet:
        address = devnet.fund_demo(PAPER_FUNDS_USDC)
        profile = network_profile(
            "devnet",
            indexer_url=devnet.indexer_url,
            websocket_url=devnet.websocket_url,
            grpc_address=devnet.grpc_address,
        )
        engine_state = devnet.engine
        assert engine_state is not None
        clock = _Clock(lambda: engine_state.block_time, speed)
        mnemonic: Secret | None = Secret(DEMO_MNEMONIC)
        bot_key = None
        if settings.account.authenticator_id is not None:
            # Configured for a bot key: paper trading signs the same way, with the
            # devnet's demo bot key through an authenticator added on this devnet.
            bot_key, authenticator_id = await demo_bot_key(
                profile, address, settings.account.subaccount_number
            )
            account = settings.account.model_copy(update={"authenticator_id": authenticator_id})
            settings = settings.model_copy(update={"account": account})
            mnemonic = None
            console.print(f"the demo bot key signs through authenticator {authenticator_id}")
        return await _session(
            settings,
            lambda on_settled: build_trader(
                settings,
                profile,
                address=address,
                mnemonic=mnemonic,
                bot_key=bot_key,
                on_settled=on_settled,
                # Blocks come every 50 ms here: a good-til-block from a height
                # a second old would already be in the past.
                height_max_age_s=2 * PAPER_BLOCK_TIME_S,
                settle_poll_s=0.25,
            ),
            clock,
            finished=lambda: bool(engine_state.replay_finished),
            folder=folder,
            show_live=show_live,
            console=console,
            title="paper trading on the devnet",
        )


def _data_span(
    markets: tuple[str, ...], load: Callable[[str], Sequence[Any]]
) -> tuple[datetime, datetime]:
    """The span every market's bundled candles cover (latest start, earliest end)."""
    starts, ends = [], []
    for market in markets:
        candles = load(market)
        if not candles:
            raise ValueError(f"no bundled candles for {market}")
        starts.append(datetime.fromtimestamp(candles[0].started_ms / 1000, UTC))
        ends.append(datetime.fromtimestamp(candles[-1].started_ms / 1000, UTC))
    return max(starts), min(ends)


def _paper_settings(settings: Settings, folder: Path, speed: float) -> Settings:
    """The user's settings, with what a replay at ``speed`` x needs: a fresh journal
    in the run's folder, and the validator's wall-clock limits (cooldown, rate)
    scaled to market time."""
    validation = settings.validation.model_copy(
        update={
            "cooldown_s": settings.validation.cooldown_s / speed,
            "rate_limit_per_minute": settings.validation.rate_limit_per_minute
            * Decimal(str(round(speed))),
        }
    )
    journal = settings.journal.model_copy(update={"path": folder / "journal.sqlite3"})
    return settings.model_copy(update={"validation": validation, "journal": journal})


# -- live --------------------------------------------------------------------------------


async def _live(
    settings: Settings,
    network: str,
    address: str | None,
    folder: Path,
    show_live: bool,
    console: Console,
) -> int:
    profile = network_profile(
        network,
        indexer_url=settings.network.indexer_url,
        websocket_url=settings.network.websocket_url,
        grpc_address=settings.network.grpc_address,
    )
    address = address or settings.account.address
    if not address:
        raise ValueError(f"trading on {network} needs an address (--address or account.address)")
    # With a bot key the owner's mnemonic stays off this host.
    bot_key = None if settings.account.authenticator_id is None else load_bot_key()
    mnemonic = load_mnemonic() if bot_key is None else None
    console.print(f"dydx-trader live on {network}: {address}/{settings.account.subaccount_number}")
    return await _session(
        settings,
        lambda on_settled: build_trader(
            settings,
            profile,
            address=address,
            mnemonic=mnemonic,
            bot_key=bot_key,
            on_settled=on_settled,
        ),
        _Clock(lambda: datetime.now(UTC), 1.0),
        finished=lambda: False,
        folder=folder,
        show_live=show_live,
        console=console,
        title=f"live on {network}",
    )


# -- the session ---------------------------------------------------------------------------


async def _session(
    settings: Settings,
    build: Callable[[Callable[[Settlement], None]], Awaitable[Trader]],
    clock: _Clock,
    *,
    finished: Callable[[], bool],
    folder: Path,
    show_live: bool,
    console: Console,
    title: str,
) -> int:
    stats = SessionStats()
    trader = await build(stats.on_settled)
    assignments = [
        StrategyAssignment(strategy, market, CandleResolution(entry.resolution))
        for strategy, entry in settings.build_strategies()
        for market in entry.markets
    ]

    async def submit(signal: Signal) -> None:
        stats.on_result(await trader.submit(signal))

    runner = StrategyRunner(
        assignments, trader.market_data.candles, submit, clock=lambda: datetime.now(UTC)
    )
    stop = asyncio.Event()
    _on_stop_signals(stop)
    await trader.start(candle_series=runner.series)
    http = await _serve_webhook(settings, submit, console)
    last_sample = datetime.min.replace(tzinfo=UTC)
    try:
        with (
            Live(console=console, refresh_per_second=4, transient=False)
            if show_live
            else (contextlib.nullcontext()) as screen
        ):
            last_line = 0.0
            while not stop.is_set() and not finished():
                if trader.supervisor.failed:
                    break
                await runner.tick()
                now = clock.now()
                if now - last_sample >= timedelta(hours=1):
                    last_sample = await _sample(trader, stats, now) or last_sample
                if screen is not None:
                    screen.update(
                        live_view(stats, chain_time=now, state=trader.risk_guard.state, title=title)
                    )
                elif asyncio.get_running_loop().time() - last_line > 5:
                    last_line = asyncio.get_running_loop().time()
                    _progress_line(console, stats, now)
                await asyncio.sleep(TICK_S)
    finally:
        if http is not None:
            await http.cleanup()  # no new signals from outside
        await trader.stop()  # no new orders; in-flight outcomes settle first
    await _sample_final(trader, stats, clock.now())
    code = trader.supervisor.exit_code
    console.print(summary_table(stats))
    summary, image = write_report(stats, folder)
    console.print(f"journal: {trader.settings.journal.path or 'default'}")
    console.print(f"summary: {summary}")
    if image is not None:
        console.print(f"equity curve: {image}")
    if code:
        console.print(f"[red]stopped because an actor failed: {trader.supervisor.failure!r}[/]")
    return code


async def _serve_webhook(
    settings: Settings, submit: Callable[[Signal], Awaitable[None]], console: Console
) -> web.AppRunner | None:
    """Serve ``POST /webhook/signals`` on the HTTP port when a webhook secret is set.

    An accepted body is answered 202 at once; its signal then goes through the
    same flow as a strategy's (validated, sized, checked, journaled).
    """
    if not os.environ.get(SECRET_ENV_VAR):
        return None
    secret = WebhookSecret.from_environ(os.environ)
    pending: set[asyncio.Task[None]] = set()

    async def sink(signal: Signal) -> None:
        task = asyncio.ensure_future(submit(signal))
        pending.add(task)
        task.add_done_callback(pending.discard)

    app = create_webhook_app(SignalIntake(secret, sink))
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, settings.http.host, settings.http.port).start()
    console.print(f"webhook: POST http://{settings.http.host}:{settings.http.port}/webhook/signals")
    return runner


async def _sample(trader: Trader, stats: SessionStats, now: datetime) -> datetime | None:
    """Record the account's figures (from the BalanceManager) at ``now``."""
    try:
        snapshot = trader.balance.cached() or await trader.balance.get_snapshot()
    except DydxTraderError as error:
        log.info("no equity sample at %s: %s", now, error)
        return None
    stats.on_risk(now, snapshot.risk)
    return now


async def _sample_final(trader: Trader, stats: SessionStats, now: datetime) -> None:
    # The trader is stopped; read the account once more for the closing figures.
    from dydx_trader.domain.margin import LeverageCalculator

    with contextlib.suppress(DydxTraderError):
        account = await trader.indexer.get_account(trader.address, trader.actor.subaccount_number)
        markets = await trader.indexer.get_markets()
        stats.on_risk(now, LeverageCalculator(markets).assess(account))


def _progress_line(console: Console, stats: SessionStats, now: datetime) -> None:
    risk = stats.last_risk
    equity = f"{risk.equity:,.2f}" if risk else "-"
    console.print(
        f"{now:%Y-%m-%d %H:%M}  equity {equity} USDC  signals {stats.signals}  "
        f"orders {stats.orders_sent}  trades {stats.trades}  "
        f"refused {sum(stats.rejections.values())}"
    )


def _on_stop_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for name in ("SIGINT", "SIGTERM"):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(getattr(os_signal, name), stop.set)
