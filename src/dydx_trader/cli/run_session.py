"""The session behind ``dydx-trader run``: paper on the devnet in this process, or
live on testnet/mainnet, with the live view or plain lines, until the data ends
or SIGINT/SIGTERM; then the trader's report in the run's folder.

Paper is a lockstep replay (:mod:`dydx_trader.app.lockstep`) on the devnet's
manual clock, driven over HTTP: every duration is measured in market time, and
the same data, seed and configuration give the same report at any ``--speed``
(a ceiling on market seconds per wall second, never a change in results).
Live keeps real time and the indexer's streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path

from rich.console import Console

from dydx_trader.adapters.devnet_clock import DevnetClock
from dydx_trader.adapters.dydx.network import NetworkProfile, network_profile
from dydx_trader.app.lockstep import LockstepReplay, Step
from dydx_trader.app.market_clock import MarketTimeClock
from dydx_trader.app.metrics import TraderMetrics
from dydx_trader.app.ports import Clock, SystemClock
from dydx_trader.app.session import SessionStats
from dydx_trader.app.strategy_runner import StrategyAssignment, StrategyRunner
from dydx_trader.bootstrap import Trader, build_trader
from dydx_trader.cli._common import demo_mnemonic
from dydx_trader.cli.keys_cmd import demo_bot_key
from dydx_trader.cli.paper_window import WARMUP_DAYS, PaperWindow
from dydx_trader.cli.run_guard import guarded_run
from dydx_trader.cli.run_http import OperatorHttp, operator_http
from dydx_trader.cli.run_report import ReportContext, finish, report_step_s
from dydx_trader.cli.run_view import (
    live_screen,
    live_view,
    pacer,
    plain_line,
    progress_line,
    result_line,
    say,
)
from dydx_trader.cli.webhook_cmd import stop_requested
from dydx_trader.config import Settings
from dydx_trader.domain.signal import Signal
from dydx_trader.domain.venue import CandleResolution
from dydx_trader.secrets import Secret

log = logging.getLogger(__name__)

PAPER_FUNDS_USDC = Decimal(10_000)
# Other participants' market orders per market per market-minute (dydx_devnet.background_flow).
PAPER_BACKGROUND_FLOW = 1.0
TICK_S = 0.1
# A live session marks the account to market this often (seconds).
LIVE_SAMPLE_S = 60
# Candles read at the start of a paper session: the indicators' history.
BACKFILL_CANDLES = 1000


# -- paper ------------------------------------------------------------------------------


async def paper(
    settings: Settings,
    folder: Path,
    window: PaperWindow,
    speed: float | None,
    seed: int,
    show_live: bool,
    console: Console,
    listener: socket.socket,
    hold: bool = False,
) -> int:
    """A paper session: the devnet in this process replays ``window`` of the bundled
    candles in lockstep, at most ``speed`` market seconds per wall second (None: as
    fast as it goes), with the operator's server on ``listener`` (kept up after the
    replay until Ctrl-C with ``hold``); returns the exit code."""
    # The CLI is the one place allowed to wire the devnet into the same process.
    from dydx_devnet.indexer_limits import IndexerLimits
    from dydx_devnet.server import Devnet, DevnetConfig
    from dydx_devnet.state import EngineConfig

    strategies = settings.build_strategies()
    markets = tuple(dict.fromkeys(m for _, entry in strategies for m in entry.markets))
    engine = EngineConfig(
        seed=seed,
        markets=markets,
        clock="manual",
        replay_start=window.start,
        replay_end=window.end,
        warmup_days=WARMUP_DAYS,
        background_flow=PAPER_BACKGROUND_FLOW,
    )
    folder.mkdir(parents=True, exist_ok=True)
    settings = _paper_settings(settings, folder)
    pace = f"at most {speed:,.0f}x" if speed else "as fast as it goes"
    funds = f"{PAPER_FUNDS_USDC:,} USDC"
    _announce(console, f"dydx-trader paper session: {', '.join(markets)}, {funds}")
    _announce(console, f"replay {window.describe()} ({window.days:g} days), {pace}")
    # No request limits counted in wall seconds: a replay puts hours of market time in
    # each, reads a live run spreads over those hours (429s are tested on the devnet).
    config = DevnetConfig(
        indexer_port=0, grpc_port=0, engine=engine, indexer_limits=IndexerLimits(enabled=False)
    )
    async with Devnet(config) as devnet:
        address = devnet.fund_demo(PAPER_FUNDS_USDC)
        profile = network_profile(
            "devnet",
            indexer_url=devnet.indexer_url,
            websocket_url=devnet.websocket_url,
            grpc_address=devnet.grpc_address,
        )
        venue = DevnetClock(devnet.indexer_url)
        try:
            clock = MarketTimeClock((await venue.status()).block_time)
            mnemonic: Secret | None = demo_mnemonic()
            bot_key = None
            if settings.account.authenticator_id is not None:
                # Configured for a bot key: paper trading signs the same way, with the
                # devnet's demo bot key through an authenticator added on this devnet.
                async with _blocks_meanwhile(venue):  # the transaction needs blocks
                    bot_key, authenticator_id = await demo_bot_key(
                        profile, address, settings.account.subaccount_number
                    )
                account = settings.account.model_copy(update={"authenticator_id": authenticator_id})
                settings = settings.model_copy(update={"account": account})
                mnemonic = None
                _announce(
                    console, f"the demo bot key signs through authenticator {authenticator_id}"
                )

            async def build(stats: SessionStats, metrics: TraderMetrics) -> Trader:
                return await build_trader(
                    settings,
                    profile,
                    address=address,
                    mnemonic=mnemonic,
                    bot_key=bot_key,
                    on_settled=stats.on_settled,
                    on_foreign=stats.on_foreign,
                    clock=clock,
                    # A height is good while the market clock stands still; any
                    # block (a market second at least) makes it old.
                    height_max_age_s=0.5,
                    # The replay sweeps the settler after every block; no poll is needed.
                    settle_poll_s=600.0,
                    rng=random.Random(seed),
                    metrics=metrics,
                )

            context = ReportContext(
                settings, folder, "devnet", seed, window, speed, time.monotonic()
            )
            async with guarded_run(settings, profile, address, mode="paper") as run:
                session = _lockstep(
                    settings, build, clock, venue, context, show_live, console, listener, hold
                )
                return run.finished(await session)
        finally:
            await venue.close()


@contextlib.asynccontextmanager
async def _blocks_meanwhile(venue: DevnetClock) -> AsyncIterator[None]:
    """One-second blocks every 50 ms of wall time while the body waits for the chain
    (adding the demo bot key's authenticator, before the replay starts): on a
    manual clock nothing else would make a block."""

    async def produce() -> None:
        while True:
            await venue.advance_blocks(1, 1)
            await asyncio.sleep(0.05)

    task = asyncio.create_task(produce())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def _paper_settings(settings: Settings, folder: Path) -> Settings:
    """The user's settings with a fresh journal in the run's folder. Nothing else
    changes: every duration is measured in market time."""
    journal = settings.journal.model_copy(update={"path": folder / "journal.sqlite3"})
    return settings.model_copy(update={"journal": journal})


async def _lockstep(
    settings: Settings,
    build: Callable[[SessionStats, TraderMetrics], Awaitable[Trader]],
    clock: MarketTimeClock,
    venue: DevnetClock,
    context: ReportContext,
    show_live: bool,
    console: Console,
    listener: socket.socket,
    hold: bool,
) -> int:
    stats = _stats(show_live, console)
    stop = stop_requested()
    step_s = report_step_s(settings)
    async with operator_http(settings, listener, clock, console, mode="paper",
                             session_start=None, step_s=step_s) as http:  # fmt: skip
        trader = await build(stats, http.metrics)
        http.source.trader = trader
        pace = pacer(context.speed)
        await _replay(settings, trader, (clock, venue, pace), stats, stop, show_live, console, http)
        code = finish(trader, stats, context, console, clock)
        if hold:
            await http.hold(stop, console)
        return code


async def _replay(
    settings: Settings,
    trader: Trader,
    timing: tuple[MarketTimeClock, DevnetClock, Callable[[float], Awaitable[None]]],
    stats: SessionStats,
    stop: asyncio.Event,
    show_live: bool,
    console: Console,
    http: OperatorHttp,
) -> None:
    """Start ``trader``, replay the window on ``timing`` (the market clock, the venue's
    clock, the pacer), take webhook signals meanwhile, then stop the trader."""
    clock, venue, pace = timing
    submit = _submitter(trader, stats)
    runner = _runner(settings, trader, submit, clock)
    markets = tuple(dict.fromkeys(market for market, _ in runner.series))
    running = asyncio.Event()
    http.source.driver_running = running.is_set
    await trader.start(follow_streams=False)
    try:
        with live_screen(show_live, console) as screen:

            def on_step(step: Step) -> None:
                stats.on_prices(trader.oracle_prices(markets))
                if step.risk is not None:
                    stats.on_risk(step.at, step.risk)
                status = trader.status()
                if screen is not None:
                    screen.update(live_view(stats, chain_time=step.at, state=status.trading_state,
                                            title="paper trading on the devnet",
                                            protection=status.protection))  # fmt: skip
                elif step.at.hour == 0 and step.at.minute == 0:
                    say(console, progress_line(stats, step.at))

            replay = LockstepReplay(
                trader,
                runner,
                venue,
                clock,
                on_step=on_step,
                pace=pace,
                should_stop=lambda: stop.is_set() or bool(trader.exit_code),
            )
            start = await replay.prepare(BACKFILL_CANDLES)
            await http.take_signals(settings, submit, clock, console)
            running.set()
            await replay.run(start)
    finally:
        running.clear()
        await http.stop_signals()  # no new signals from outside; accepted ones decided
        await trader.stop()  # no new orders; in-flight outcomes settle first


# -- live --------------------------------------------------------------------------------


async def live(
    settings: Settings,
    profile: NetworkProfile,
    address: str,
    signer: tuple[Secret | None, Secret | None],
    folder: Path,
    show_live: bool,
    console: Console,
    listener: socket.socket,
) -> int:
    """A live session on ``profile`` for ``address``, until SIGINT/SIGTERM, with the
    operator's server on ``listener``; returns the exit code. ``signer`` is
    (mnemonic, bot key): exactly one of them signs."""
    mnemonic, bot_key = signer
    network = profile.name.value
    _announce(
        console, f"dydx-trader live on {network}: {address}/{settings.account.subaccount_number}"
    )
    clock = SystemClock()
    context = ReportContext(settings, folder, network, None, None, None, time.monotonic())
    async with (
        guarded_run(settings, profile, address, mode="live") as run,
        operator_http(
            settings,
            listener,
            clock,
            console,
            mode=network,
            session_start=clock.now(),
            step_s=LIVE_SAMPLE_S,
        ) as http,  # fmt: skip
    ):
        stats = _stats(show_live, console)
        trader = await build_trader(
            settings,
            profile,
            address=address,
            mnemonic=mnemonic,
            bot_key=bot_key,
            on_settled=stats.on_settled,
            metrics=http.metrics,
            on_foreign=stats.on_foreign,
        )
        http.source.trader = trader
        submit = _submitter(trader, stats)
        runner = _runner(settings, trader, submit, clock)
        stop = stop_requested()
        await trader.start(candle_series=runner.series)
        try:
            await http.take_signals(settings, submit, clock, console)
            await _live_loop(trader, runner, stats, clock, stop, show_live, console, network)
        finally:
            await http.stop_signals()
            await trader.stop()
        return run.finished(finish(trader, stats, context, console, clock))


async def _live_loop(
    trader: Trader,
    runner: StrategyRunner,
    stats: SessionStats,
    clock: Clock,
    stop: asyncio.Event,
    show_live: bool,
    console: Console,
    network: str,
) -> None:
    """Evaluate closed candles and sample the account, in real time, until stopped."""
    last_sample = 0.0
    with live_screen(show_live, console) as screen:
        while not stop.is_set() and not trader.exit_code:
            await runner.tick()
            now = clock.now()
            if clock.monotonic() - last_sample >= LIVE_SAMPLE_S:
                with contextlib.suppress(Exception):
                    stats.on_risk(now, await trader.mark_to_market())
                    last_sample = clock.monotonic()
            if screen is not None:
                status = trader.status()
                screen.update(live_view(stats, chain_time=now, state=status.trading_state,
                                        title=f"live on {network}",
                                        protection=status.protection))  # fmt: skip
            await asyncio.sleep(TICK_S)


# -- shared -------------------------------------------------------------------------------


def _stats(show_live: bool, console: Console) -> SessionStats:
    stats = SessionStats()
    if not show_live:
        stats.on_line = lambda text: say(console, plain_line(text))
    return stats


def _submitter(trader: Trader, stats: SessionStats) -> Callable[[Signal], Awaitable[None]]:
    """The one way in for every signal, the strategies' and the webhook's."""

    async def submit(signal: Signal) -> None:
        result = await trader.submit(signal)
        log.info("%s", result_line(result))
        stats.on_result(result)

    return submit


def _runner(
    settings: Settings, trader: Trader, submit: Callable[[Signal], Awaitable[None]], clock: Clock
) -> StrategyRunner:
    assignments = [
        StrategyAssignment(strategy, market, CandleResolution(entry.resolution))
        for strategy, entry in settings.build_strategies()
        for market in entry.markets
    ]
    return StrategyRunner(assignments, trader.candles, submit, clock=clock)


def _announce(console: Console, text: str) -> None:
    """Print ``text`` and put it in the run's log."""
    console.print(text, soft_wrap=True, highlight=False)
    log.info("%s", text)
