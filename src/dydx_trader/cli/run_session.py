"""The session behind ``dydx-trader run``: paper on the devnet in this process, or
live on testnet/mainnet, with the live view or plain lines, until the data ends
or SIGINT/SIGTERM; then the summary and the report in the run's folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live

from dydx_trader.adapters.dydx.network import NetworkProfile, network_profile
from dydx_trader.app.executor import Settlement
from dydx_trader.app.session import SessionStats
from dydx_trader.app.strategy_runner import StrategyAssignment, StrategyRunner
from dydx_trader.bootstrap import Trader, build_trader
from dydx_trader.cli import formatting as fmt
from dydx_trader.cli._common import demo_mnemonic
from dydx_trader.cli.keys_cmd import demo_bot_key
from dydx_trader.cli.run_guard import guarded_run, serve_webhook
from dydx_trader.cli.run_view import live_view, result_line, summary_table, write_report
from dydx_trader.cli.webhook_cmd import listen_url, stop_requested
from dydx_trader.config import Settings
from dydx_trader.domain.errors import DydxTraderError
from dydx_trader.domain.signal import Signal
from dydx_trader.domain.venue import CandleResolution
from dydx_trader.secrets import Secret

log = logging.getLogger(__name__)

# The paper session: 50 ms blocks; the replay speed is chosen so that the
# replayed days take about ``PAPER_WALL_S`` seconds.
PAPER_BLOCK_TIME_S = 0.05
PAPER_WALL_S = 100
PAPER_DAYS = 45
PAPER_FUNDS_USDC = Decimal(10_000)
# Other participants' market orders per market per market-minute (dydx_devnet.background_flow).
PAPER_BACKGROUND_FLOW = 1.0
TICK_S = 0.1


@dataclass(frozen=True, slots=True)
class _Clock:
    """The session's clock (``ports.Clock``): ``now()`` is the chain's block time in
    paper mode (the replay runs ``speed`` times faster than the wall), the wall
    clock live. While blocks come on a wall-clock timer, durations (TTLs,
    cooldown, rate limit) are measured in wall seconds: a market-time duration
    would age every cache within one block."""

    read: Callable[[], datetime]
    speed: float

    def now(self) -> datetime:
        return self.read()

    def monotonic(self) -> float:
        return time.monotonic()


# -- paper ------------------------------------------------------------------------------


async def paper(
    settings: Settings,
    folder: Path,
    days: int,
    speed: float | None,
    seed: int,
    show_live: bool,
    console: Console,
    listener: socket.socket | None,
) -> int:
    """A paper session: the devnet in this process replays the last ``days`` of the
    bundled candles at ``speed`` (None: fitted to about 100 s); returns the exit code."""
    # The CLI is the one place allowed to wire the devnet into the same process.
    from dydx_devnet.replay import load_hourly
    from dydx_devnet.server import Devnet, DevnetConfig
    from dydx_devnet.state import EngineConfig

    strategies = settings.build_strategies()
    markets = tuple(dict.fromkeys(m for _, entry in strategies for m in entry.markets))
    first, last = _data_span(markets, load_hourly)
    total_days = (last - first).days
    days = min(days, total_days - 30)  # keep a month of candles before genesis for warm-up
    speed = speed if speed is not None else days * 86_400 / PAPER_WALL_S
    engine = EngineConfig(
        seed=seed,
        markets=markets,
        block_time_s=PAPER_BLOCK_TIME_S,
        speed=speed,
        warmup_days=total_days - days,
        background_flow=PAPER_BACKGROUND_FLOW,
    )
    folder.mkdir(parents=True, exist_ok=True)
    settings = _paper_settings(settings, folder, speed)
    _announce(
        console,
        f"dydx-trader paper session: {', '.join(markets)}, {days} days of bundled data "
        f"at {speed:,.0f}x, {PAPER_FUNDS_USDC:,} USDC on the devnet demo account",
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
        mnemonic: Secret | None = demo_mnemonic()
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
            _announce(console, f"the demo bot key signs through authenticator {authenticator_id}")
        async with guarded_run(settings, profile, address, mode="paper") as run:
            return run.finished(
                await _session(
                    settings,
                    lambda on_settled: build_trader(
                        settings,
                        profile,
                        address=address,
                        mnemonic=mnemonic,
                        bot_key=bot_key,
                        on_settled=on_settled,
                        # Signals are dated in market time: judge their age on the same clock.
                        clock=clock,
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
                    listener=listener,
                )
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
    in the run's folder, and the ages judged on the block time scaled to it. A
    block here spans ``speed`` times the wall time between blocks, so the oracle's
    age and a signal's allowed age (wall seconds of delay) become ``speed`` times
    as many market seconds."""
    validation = settings.validation.model_copy(
        update={
            "max_age_s": settings.validation.max_age_s * speed,
            # Measured in wall seconds while blocks come on a timer (see _Clock).
            "cooldown_s": settings.validation.cooldown_s / speed,
        }
    )
    # The market data accepts at most an hour-old oracle price.
    oracle_age_s = min(settings.ttl.max_oracle_age_s * speed, 3600.0)
    ttl = settings.ttl.model_copy(update={"max_oracle_age_s": oracle_age_s})
    journal = settings.journal.model_copy(update={"path": folder / "journal.sqlite3"})
    return settings.model_copy(update={"validation": validation, "ttl": ttl, "journal": journal})


# -- live --------------------------------------------------------------------------------


async def live(
    settings: Settings,
    profile: NetworkProfile,
    address: str,
    signer: tuple[Secret | None, Secret | None],
    folder: Path,
    show_live: bool,
    console: Console,
    listener: socket.socket | None,
) -> int:
    """A live session on ``profile`` for ``address``, until SIGINT/SIGTERM; returns the
    exit code. ``signer`` is (mnemonic, bot key): exactly one of them signs."""
    mnemonic, bot_key = signer
    network = profile.name.value
    _announce(
        console, f"dydx-trader live on {network}: {address}/{settings.account.subaccount_number}"
    )
    async with guarded_run(settings, profile, address, mode="live") as run:
        return run.finished(
            await _session(
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
                listener=listener,
            )
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
    listener: socket.socket | None,
) -> int:
    stats = SessionStats()
    trader = await build(stats.on_settled)
    assignments = [
        StrategyAssignment(strategy, market, CandleResolution(entry.resolution))
        for strategy, entry in settings.build_strategies()
        for market in entry.markets
    ]

    async def submit(signal: Signal) -> None:
        result = await trader.submit(signal)
        log.info("%s", result_line(result))
        stats.on_result(result)

    runner = StrategyRunner(assignments, trader.candles, submit, clock=clock)
    stop = stop_requested()
    await trader.start(candle_series=runner.series)
    http = None
    last_sample = datetime.min.replace(tzinfo=UTC)
    try:
        if listener is not None:
            http = await serve_webhook(settings, listener, submit, clock=clock.now)
            host, port = listener.getsockname()[:2]
            _announce(console, f"webhook: POST {listen_url(host, port)}")
        with (
            Live(console=console, refresh_per_second=4, transient=False)
            if show_live
            else (contextlib.nullcontext()) as screen
        ):
            last_line = 0.0
            while not stop.is_set() and not finished():
                if trader.exit_code:
                    break
                await runner.tick()
                now = clock.now()
                if now - last_sample >= timedelta(hours=1):
                    last_sample = await _sample(trader, stats, now) or last_sample
                if screen is not None:
                    screen.update(
                        live_view(
                            stats, chain_time=now, state=trader.status().trading_state, title=title
                        )
                    )
                elif asyncio.get_running_loop().time() - last_line > 5:
                    last_line = asyncio.get_running_loop().time()
                    _progress_line(console, stats, now)
                await asyncio.sleep(TICK_S)
    finally:
        if http is not None:
            await http.cleanup()  # no new signals from outside; accepted ones decided
        await trader.stop()  # no new orders; in-flight outcomes settle first
    final = trader.status()
    if final.risk is not None:
        stats.on_risk(clock.now(), final.risk)
    code = trader.exit_code
    console.print(summary_table(stats))
    summary, image = write_report(stats, folder)
    journal = settings.journal.resolved_path()
    console.print(f"journal: dydx-trader journal --journal {journal}", soft_wrap=True)
    console.print(f"summary: {summary}")
    if image is not None:
        console.print(f"equity curve: {image}")
    if code:
        console.print(f"[red]stopped because an actor failed: {final.failure}[/]")
    return code


async def _sample(trader: Trader, stats: SessionStats, now: datetime) -> datetime | None:
    """Record the account's figures (from the BalanceManager) at ``now``."""
    try:
        risk = await trader.sample_risk()
    except DydxTraderError as error:
        log.info("no equity sample at %s: %s", now, error)
        return None
    stats.on_risk(now, risk)
    return now


def _progress_line(console: Console, stats: SessionStats, now: datetime) -> None:
    risk = stats.last_risk
    equity = fmt.usdc(risk.equity if risk else None)
    console.print(
        f"{now:%Y-%m-%d %H:%M}  equity {equity} USDC  signals {stats.signals}  "
        f"orders {stats.orders_sent}  trades {stats.trades}  "
        f"refused {sum(stats.rejections.values())}",
        soft_wrap=True,  # a log line, never wrapped
    )


def _announce(console: Console, text: str) -> None:
    """Print ``text`` and put it in the run's log."""
    console.print(text, soft_wrap=True, highlight=False)
    log.info("%s", text)
