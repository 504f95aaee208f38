"""The end of ``dydx-trader run``: the trader's report on screen and in the run's
folder (``summary.json``, ``equity.csv``, ``trades.csv``, ``equity.png``), the
command that opens the journal, and a loud warning when a live session stops
with positions open.

``summary.json`` is byte-identical for the same data, seed and configuration,
apart from its ``wall`` object: the only wall-clock figures (elapsed seconds,
the speed ceiling).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from rich.console import Console

from dydx_trader.adapters.report_files import (
    write_chart,
    write_equity_csv,
    write_summary,
    write_trades_csv,
)
from dydx_trader.app.ports import Clock
from dydx_trader.app.session import SessionStats
from dydx_trader.bootstrap import Trader
from dydx_trader.cli.paper_window import PaperWindow
from dydx_trader.cli.run_view import open_positions_table, summary_tables
from dydx_trader.config import Settings
from dydx_trader.domain.venue import CandleResolution
from dydx_trader.report.summary import SessionFacts, build_summary


@dataclass(frozen=True, slots=True)
class ReportContext:
    """What the report says about the session besides what happened: its folder,
    network, seed and window (paper), speed ceiling, and when it began (wall
    ``time.monotonic()``, for the ``wall`` object only)."""

    settings: Settings
    folder: Path
    network: str
    seed: int | None
    window: PaperWindow | None
    speed: float | None
    wall_start: float

    @property
    def paper(self) -> bool:
        return self.window is not None


def config_hash(settings: Settings) -> str:
    """SHA-256 (first 16 hex digits) of the configuration that decides what is
    traded: everything but the journal's path and the webhook's address."""
    data = settings.model_dump(mode="json", exclude={"journal", "http"})
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def summary_of(stats: SessionStats, context: ReportContext, wall_s: float) -> dict[str, object]:
    """``summary.json``'s content."""
    step_s = report_step_s(context.settings)
    prices = {
        market: (first, stats.last_prices[market])
        for market, first in sorted(stats.first_prices.items())
        if market in stats.last_prices
    }
    facts = SessionFacts(
        samples=stats.equity_curve,
        fills=stats.fill_rows,
        positions=stats.open_positions(),
        prices=prices,
        step_s=step_s,
        orders_sent=stats.orders_sent,
        order_outcomes=stats.order_outcomes,
        rejections=stats.rejections,
        signals=stats.signals_by_strategy,
        accepted=stats.accepted_by_strategy,
        refused=stats.refused_by_strategy,
        liquidations=stats.liquidations,
    )
    report = build_summary(facts)
    window = context.window
    pnl = report["pnl"]
    equity = report["equity"]
    assert isinstance(pnl, dict) and isinstance(equity, dict)
    return {
        "version": package_version(),
        "network": context.network,
        "seed": context.seed,
        "config_hash": config_hash(context.settings),
        "data_start": None if window is None else f"{window.start:%Y-%m-%dT%H:%M:%SZ}",
        "data_end": None if window is None else f"{window.end:%Y-%m-%dT%H:%M:%SZ}",
        "markets": sorted({m for entry in context.settings.strategies for m in entry.markets}),
        "strategies": [entry.name for entry in context.settings.strategies],
        "signals": stats.signals,
        "trades": stats.trades,
        # The flat figures earlier versions wrote, kept for scripts that read them.
        "pnl_usdc": pnl["total_usdc"],
        "fees_usdc": pnl["fees_usdc"],
        "max_leverage": equity["max_leverage"],
        "max_margin_usage": equity["max_margin_usage"],
        **report,
        "wall": {"elapsed_s": round(wall_s, 1), "speed": context.speed},
    }


def finish(
    trader: Trader, stats: SessionStats, context: ReportContext, console: Console, clock: Clock
) -> int:
    """Show and write the report; returns the session's exit code."""
    final = trader.status()
    if final.risk is not None and not context.paper:
        stats.on_risk(clock.now(), final.risk)  # live: the venue's figures at the stop
    summary = summary_of(stats, context, time.monotonic() - context.wall_start)
    folder = context.folder
    folder.mkdir(parents=True, exist_ok=True)
    for table in summary_tables(summary):
        console.print(table)
    positions = stats.open_positions()
    if positions:
        console.print(open_positions_table(positions))
        if not context.paper:
            console.print(
                f"[bold red]WARNING: the session stopped with {len(positions)} position(s) "
                "open; they stay open on the venue and keep their risk.[/]"
            )
    path = write_summary(folder, summary)
    write_equity_csv(folder, stats.equity_curve)
    write_trades_csv(folder, stats.fill_rows)
    title = "dydx-trader paper session" if context.paper else f"dydx-trader on {context.network}"
    image = write_chart(folder, stats.equity_curve, stats.fill_rows, title)
    journal = context.settings.journal.resolved_path()
    _line(console, f"journal: dydx-trader journal --journal {journal}")
    _line(console, f"report: {path}, equity.csv, trades.csv")
    if image is not None:
        _line(console, f"equity curve: {image}")
    code = trader.exit_code
    if code:
        console.print(f"[red]stopped because an actor failed: {final.failure}[/]")
    return code


def _line(console: Console, text: str) -> None:
    console.print(text, soft_wrap=True, highlight=False, markup=False)


def report_step_s(settings: Settings) -> int:
    """The period of a paper session's samples (the strategies' shortest candle), seconds."""
    return min(
        (CandleResolution(entry.resolution).seconds for entry in settings.strategies),
        default=3600,
    )


def package_version() -> str:
    try:
        return version("dydx-trader")
    except PackageNotFoundError:
        return "unknown"
