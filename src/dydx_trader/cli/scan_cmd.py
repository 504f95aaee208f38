"""``dydx-trader scan``: the strategies over every market's recent candles.

Candles come from the configured venue by default (the running devnet with no
configuration, else the network's indexer), from the market data bundled with
the devnet with ``--bundled``, or from a folder of CSV files with
``--candles-dir``. Each row shows the signal, the candle it read, the
indicator values behind it and how far the strategy's nearest trigger is.
The newest candle is evaluated as the venue gives it (it may still be forming).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from dydx_trader.adapters.candle_source import CandleSource, CsvCandleSource, IndexerCandleSource
from dydx_trader.bootstrap import build_reader
from dydx_trader.cli import formatting as fmt
from dydx_trader.cli._common import (
    bundled_data,
    console,
    load_settings,
    market_options,
    reported,
    require_listed,
    resolve_profile,
    run_async,
)
from dydx_trader.cli.options import (
    ConfigOption,
    IndexerOption,
    JsonOption,
    MarketOption,
    NetworkOption,
)
from dydx_trader.config import Settings, discover_config_path
from dydx_trader.domain.errors import DydxTraderError, InvalidInput
from dydx_trader.domain.venue import CandleResolution
from dydx_trader.strategies import build_strategy, default_strategies
from dydx_trader.strategies.base import Explanation, Strategy
from dydx_trader.strategies.candles import Candles
from dydx_trader.strategies.registry import STRATEGY_NAMES
from dydx_trader.strategies.scan import ScanResult, scan

# Markets listed one by one in the "not evaluated" line before "and N more".
_SHOWN_SKIPS = 5
_COLOURS = {"BUY": "green", "SELL": "red", "CLOSE": "yellow"}


def register(app: typer.Typer) -> None:
    app.command("scan")(scan_command)


def scan_command(
    strategy: Annotated[
        list[str] | None,
        typer.Option(
            "--strategy",
            "-s",
            metavar="NAME",
            help=f"Strategy to run (repeatable): {', '.join(STRATEGY_NAMES)} "
            "(default: the config's, else all four and their composite).",
        ),
    ] = None,
    market: MarketOption = None,
    actionable: Annotated[
        bool,
        typer.Option(
            "--actionable", metavar="", help="Show only BUY/SELL/CLOSE (no HOLD, no errors)."
        ),
    ] = False,
    bundled: Annotated[
        bool,
        typer.Option("--bundled", metavar="", help="Read the market data bundled with the devnet."),
    ] = False,
    candles_dir: Annotated[
        Path | None,
        typer.Option(
            "--candles-dir", metavar="DIR", help="Read <TICKER>-<RES>.csv files from DIR."
        ),
    ] = None,
    resolution: Annotated[
        str, typer.Option("--resolution", metavar="RES", help="Candle resolution.")
    ] = "1HOUR",
    limit: Annotated[
        int, typer.Option("--limit", metavar="N", min=2, help="Candles per market (newest).")
    ] = 1000,
    network: NetworkOption = None,
    indexer_url: IndexerOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Evaluate strategies over every market's recent candles: signals, indicator
    values and the distance to each strategy's trigger.

    Candles come from the configured venue (the running devnet by default, or
    --network / --indexer-url), or with --bundled from the data the devnet
    ships, or from --candles-dir.
    """
    with reported(as_json=as_json):
        res = _resolution(resolution)
        settings = load_settings(config)
        strategies = _strategies(strategy or [], settings, config)
        if bundled and candles_dir is not None:
            raise InvalidInput("give --bundled or --candles-dir, not both")
    wanted = market_options(market)

    async def work() -> tuple[list[ScanResult], dict[str, Candles]]:
        async with contextlib.AsyncExitStack() as stack:
            if bundled or candles_dir is not None:
                source: CandleSource = CsvCandleSource(candles_dir or bundled_data(), res)
                where = f"{candles_dir}" if candles_dir else "the bundled data"
            else:
                profile = resolve_profile(settings, network, indexer_url)
                reader = await stack.enter_async_context(await build_reader(settings, profile))
                source = IndexerCandleSource(reader.indexer, res)
                where = f"{profile.name.value} ({profile.indexer_url})"
            series, failed = await _load(source, where, wanted, limit)
        return failed + scan(strategies, series, datetime.now(UTC), explain=True), series

    results, series = run_async(work, as_json=as_json)
    if actionable:
        results = [r for r in results if r.signal is not None and r.signal.is_actionable]
    if as_json:
        typer.echo(json.dumps([result_json(r) for r in results], indent=2))
    else:
        _print_scan(results, series, strategies)


def _resolution(text: str) -> CandleResolution:
    try:
        return CandleResolution(text.strip().upper())
    except ValueError:
        choices = ", ".join(r.value for r in CandleResolution)
        raise InvalidInput(f"resolution {text[:20]!r} is unknown; use one of {choices}") from None


def _strategies(names: Sequence[str], settings: Settings, config: Path | None) -> list[Strategy]:
    if names:
        return [build_strategy(name) for name in names]
    if config is None and discover_config_path() is None:
        return list(default_strategies())
    # Every market is scanned; the entries' own market lists matter to `run`, not here.
    return list(dict.fromkeys(strategy for strategy, _ in settings.build_strategies()))


async def _load(
    source: CandleSource, where: str, wanted: list[str], limit: int
) -> tuple[dict[str, Candles], list[ScanResult]]:
    """Each market's candles, and a result naming each market whose candles could
    not be read; an unknown market is one line naming the markets that exist."""
    tickers = await source.tickers()
    if wanted:
        require_listed(wanted, tickers, "no candles for", f" in {where}")
        tickers = wanted
    if not tickers:
        raise InvalidInput(f"{where} has no markets to scan")
    loaded = await asyncio.gather(
        *(source.candles(t, limit) for t in tickers), return_exceptions=True
    )
    series: dict[str, Candles] = {}
    failed: list[ScanResult] = []
    for ticker, outcome in zip(tickers, loaded, strict=True):
        if isinstance(outcome, DydxTraderError):
            failed.append(ScanResult(ticker, "-", None, outcome.message))
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            series[ticker] = outcome
    return series, failed


def result_json(result: ScanResult) -> dict[str, object]:
    """One result as JSON: the signal (and its explanation), or the error."""
    if result.signal is None:
        return {"market": result.market, "strategy": result.strategy, "error": result.error}
    row: dict[str, object] = dict(result.signal.to_dict())
    if result.explanation is not None:
        row["explain"] = result.explanation.as_dict()
    return row


def _indicators(explanation: Explanation | None) -> str:
    if explanation is None:
        return "-"
    return "  ".join(f"{name} {fmt.number(value, 6)}" for name, value in explanation.values)


def _trigger(explanation: Explanation | None) -> str:
    if explanation is None:
        return "-"
    e = explanation
    if e.distance == 0:
        return f"{e.trigger.value} now ({e.condition})"
    distance = fmt.number(e.distance, 3)
    amount = f"{distance}%" if e.unit == "%" else f"{distance} {e.unit}"
    return f"{e.trigger.value} {amount} away ({e.condition})"


def _print_scan(
    results: list[ScanResult], series: dict[str, Candles], strategies: Sequence[Strategy]
) -> None:
    screen = console()
    rows = [r for r in results if r.signal is not None]
    if rows:
        table = Table(title="signals")
        for column in ("market", "strategy", "action", "confidence", "price",
                       "candle opened (UTC)", "indicators", "nearest trigger"):  # fmt: skip
            numeric = column in ("confidence", "price")
            table.add_column(column, justify="right" if numeric else "left")
        for r in rows:
            s = r.signal
            assert s is not None
            colour = _COLOURS.get(s.action.value)
            action = f"[{colour}]{s.action.value}[/{colour}]" if colour else s.action.value
            table.add_row(
                s.market, s.strategy, action, fmt.plain(s.confidence),
                fmt.number(s.reference_price), f"{series[s.market].last_started_at:%Y-%m-%d %H:%M}",
                escape(_indicators(r.explanation)), escape(_trigger(r.explanation)),
            )  # fmt: skip
        screen.print(table)
    if not any(r.signal is not None and r.signal.is_actionable for r in results):
        screen.print(
            f"no actionable signals ({_count(len(series), 'market')} x "
            f"{_count(len(strategies), 'strategy')})",
            highlight=False,
        )
    skipped = {r.market: r.error for r in results if r.signal is None}
    if skipped:
        shown = "; ".join(f"{m}: {e}" for m, e in list(skipped.items())[:_SHOWN_SKIPS])
        more = len(skipped) - _SHOWN_SKIPS
        tail = f"; and {more} more" if more > 0 else ""
        screen.print(f"not evaluated ({len(skipped)}): {escape(shown)}{tail}", highlight=False)


def _count(number: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{number} {noun if number == 1 else plural}"
