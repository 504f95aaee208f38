"""``dydx-trader scan``, ``signal`` and ``serve-webhook``: signals from strategies,
from the command line and from a webhook."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dydx_trader.adapters.candle_source import CandleSource, CsvCandleSource, IndexerCandleSource
from dydx_trader.adapters.webhook import (
    SIGNALS_PATH,
    SignalIntake,
    WebhookSecret,
    create_webhook_app,
)
from dydx_trader.app.validation import SignalValidator, ValidationConfig, ValidationResult
from dydx_trader.config import Settings, discover_config_path, load_config
from dydx_trader.domain.errors import DydxTraderError
from dydx_trader.domain.numbers import to_decimal
from dydx_trader.domain.signal import Signal, SignalSource, SizingHint
from dydx_trader.domain.venue import CandleResolution
from dydx_trader.strategies import build_strategy, default_strategies
from dydx_trader.strategies.base import Strategy
from dydx_trader.strategies.candles import Candles
from dydx_trader.strategies.registry import STRATEGY_NAMES
from dydx_trader.strategies.scan import ScanResult, scan

DEFAULT_HOST = "127.0.0.1"
DEFAULT_HTTP_PORT = 8000


def register(app: typer.Typer) -> None:
    app.command("scan")(scan_command)
    app.command("signal")(signal_command)
    app.command("serve-webhook")(serve_webhook_command)


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Configuration file (default: $DYDX_TRADER_CONFIG or ./dydx-trader.toml if present).",
    ),
]


def _settings(config: Path | None) -> Settings | None:
    """The configuration if a file is given or found, else None (built-in defaults)."""
    path = config or discover_config_path()
    return None if path is None else load_config(path)


def _fail(message: str, code: int = 2) -> typer.Exit:
    Console(stderr=True).print(f"[red]error:[/red] {message}", highlight=False, markup=True)
    return typer.Exit(code)


# -- scan ----------------------------------------------------------------------------------


def scan_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    strategy: Annotated[
        list[str] | None,
        typer.Option(
            "--strategy",
            "-s",
            help=f"Strategy to run (repeatable): {', '.join(STRATEGY_NAMES)}. "
            "Default: all four and their composite.",
        ),
    ] = None,
    candles_dir: Annotated[
        Path | None,
        typer.Option(help="Directory of <TICKER>-<RES>.csv candle files."),
    ] = None,
    indexer_url: Annotated[
        str | None, typer.Option(help="Read candles from this indexer (e.g. http://127.0.0.1:...).")
    ] = None,
    resolution: Annotated[str, typer.Option(help="Candle resolution.")] = "1HOUR",
    limit: Annotated[int, typer.Option(help="Candles per market (newest).", min=2)] = 1000,
    market: Annotated[
        list[str] | None, typer.Option("--market", "-m", help="Only these markets (repeatable).")
    ] = None,
    actionable: Annotated[
        bool,
        typer.Option("--actionable", help="Show only BUY/SELL/CLOSE (no HOLD, no errors)."),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Evaluate strategies over every market's recent candles and print the signals.

    Strategies: --strategy if given, else those of the configuration file (with
    their parameters), else all four and their composite. Candles come from
    --indexer-url, or --candles-dir, or else the market data bundled with the
    devnet.
    """
    try:
        res = CandleResolution(resolution.strip().upper())
    except ValueError:
        choices = ", ".join(r.value for r in CandleResolution)
        raise _fail(f"resolution {resolution!r} is unknown; use one of {choices}") from None
    try:
        strategies = _strategies(strategy or [], config)
        results = asyncio.run(_scan(strategies, candles_dir, indexer_url, res, limit, market))
    except DydxTraderError as exc:
        raise _fail(str(exc)) from None
    if actionable:
        results = [r for r in results if r.signal is not None and r.signal.is_actionable]
    if as_json:
        typer.echo(json.dumps([_result_dict(r) for r in results], indent=2))
    else:
        _print_scan_table(results)


def _strategies(names: Sequence[str], config: Path | None) -> tuple[Strategy, ...]:
    if names:
        return tuple(build_strategy(name) for name in names)
    settings = _settings(config)
    if settings is None:
        return default_strategies()
    # Every market is scanned; the entries' own market lists matter to `run`, not here.
    return tuple(dict.fromkeys(strategy for strategy, _ in settings.build_strategies()))


async def _scan(
    strategies: tuple[Strategy, ...],
    candles_dir: Path | None,
    indexer_url: str | None,
    resolution: CandleResolution,
    limit: int,
    only: list[str] | None,
) -> list[ScanResult]:
    if indexer_url is not None:
        # Imported here: the official client is heavy and only this path needs it.
        from dydx_trader.adapters.dydx.indexer import IndexerGateway

        source: CandleSource = IndexerCandleSource(IndexerGateway(indexer_url), resolution)
    else:
        source = CsvCandleSource(_candles_directory(candles_dir), resolution)
    tickers = await source.tickers()
    if only:
        wanted = [m.strip().upper() for m in only]
        missing = sorted(set(wanted) - set(tickers))
        if missing:
            raise DydxTraderError(f"no candles for {', '.join(missing)}")
        tickers = wanted
    if not tickers:
        raise DydxTraderError("the candle source has no markets")
    series: dict[str, Candles] = {}
    errors: list[ScanResult] = []
    loaded = await asyncio.gather(
        *(source.candles(t, limit) for t in tickers), return_exceptions=True
    )
    for ticker, outcome in zip(tickers, loaded, strict=True):
        if isinstance(outcome, DydxTraderError):
            errors.append(ScanResult(ticker, "-", None, outcome.message))
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            series[ticker] = outcome
    return errors + scan(strategies, series, datetime.now(UTC))


def _candles_directory(candles_dir: Path | None) -> Traversable:
    if candles_dir is not None:
        return candles_dir
    # The devnet ships the same market data; a CLI module may use it to wire the demo.
    try:
        data = resources.files("dydx_devnet") / "data"
    except ModuleNotFoundError:
        data = None
    if data is None or not data.is_dir():
        raise DydxTraderError("no candles: give --candles-dir DIR or --indexer-url URL")
    return data


def _result_dict(result: ScanResult) -> dict[str, str | None]:
    if result.signal is None:
        return {"market": result.market, "strategy": result.strategy, "error": result.error}
    return result.signal.to_dict()


def _print_scan_table(results: list[ScanResult]) -> None:
    with_notes = any(r.signal is None for r in results)
    table = Table(title="signals")
    columns = ["market", "strategy", "action", "confidence", "price", "candle (UTC)"]
    for column in [*columns, "note"] if with_notes else columns:
        table.add_column(column, justify="right" if column in ("confidence", "price") else "left")
    colours = {"BUY": "green", "SELL": "red", "CLOSE": "yellow"}
    for r in results:
        s = r.signal
        if s is None:
            table.add_row(r.market, r.strategy, "-", "-", "-", "-", f"[red]{r.error}[/red]")
            continue
        colour = colours.get(s.action.value)
        action = f"[{colour}]{s.action.value}[/{colour}]" if colour else s.action.value
        row = [s.market, s.strategy, action, str(s.confidence), str(s.reference_price),
               _candle_time(s)]  # fmt: skip
        table.add_row(*row, *([""] if with_notes else []))
    Console().print(table)


def _candle_time(signal: Signal) -> str:
    # Strategy signal ids end with the newest candle's open time (epoch seconds).
    stamp = signal.id.rsplit(":", 1)[-1]
    if not stamp.isdigit():
        return "-"
    return datetime.fromtimestamp(int(stamp), UTC).strftime("%m-%d %H:%M")


# -- signal --------------------------------------------------------------------------------


def signal_command(
    action: Annotated[str, typer.Argument(help="BUY, SELL, CLOSE or HOLD.")],
    market: Annotated[str, typer.Argument(help="Market ticker, e.g. BTC-USD.")],
    confidence: Annotated[str, typer.Option(help="Confidence in [0, 1].")] = "1",
    price: Annotated[str | None, typer.Option(help="Reference price, USDC.")] = None,
    stop: Annotated[str | None, typer.Option(help="Stop-loss price, USDC.")] = None,
    take_profit: Annotated[str | None, typer.Option(help="Take-profit price, USDC.")] = None,
    notional: Annotated[
        str | None, typer.Option(help="Sizing hint: position notional in USDC.")
    ] = None,
    fraction: Annotated[
        str | None, typer.Option(help="Sizing hint: fraction of equity in (0, 1].")
    ] = None,
    signal_id: Annotated[
        str | None, typer.Option("--id", help="Signal id (default: a fresh uuid).")
    ] = None,
    strategy: Annotated[str, typer.Option(help="Strategy name recorded.")] = "manual",
    min_confidence: Annotated[
        str | None,
        typer.Option(help="Confidence threshold (default: the configuration's, else 0.6)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    config: ConfigOption = None,
) -> None:
    """Build a signal by hand, validate it and print the verdict.

    For now this only validates and prints; the trading loop will act on
    such signals once it is built. The venue is not consulted, so the
    market_active rule is skipped. Exit code 0: accepted, 1: rejected,
    2: invalid input.
    """
    try:
        sizing = SizingHint.from_options(notional, fraction)
        signal = Signal.create(
            id=signal_id,
            market=market,
            action=action,
            confidence=confidence,
            source=SignalSource.CLI,
            strategy=strategy,
            created_at=datetime.now(UTC),
            reference_price=price,
            stop_loss=stop,
            take_profit=take_profit,
            sizing=sizing,
        )
        settings = _settings(config)
        limits = ValidationConfig() if settings is None else settings.validation_config()
        if min_confidence is not None:
            limits = replace(limits, min_confidence=to_decimal("min-confidence", min_confidence))
    except DydxTraderError as exc:
        raise _fail(str(exc)) from None
    result = SignalValidator(limits, markets=None).validate(signal)
    if as_json:
        typer.echo(json.dumps(_verdict_dict(result), indent=2))
    else:
        _print_verdict(result)
    if not result.accepted:
        raise typer.Exit(1)


def _verdict_dict(result: ValidationResult) -> dict[str, object]:
    rejection = result.rejection
    return {
        "signal": result.signal.to_dict(),
        "accepted": result.accepted,
        "actionable": result.actionable,
        "rejected_by": None if rejection is None else rejection.rule.value,
        "reason": None if rejection is None else rejection.reason,
        "skipped_rules": [rule.value for rule in result.skipped],
    }


def _print_verdict(result: ValidationResult) -> None:
    console = Console()
    table = Table(show_header=False, title="signal")
    for key, value in result.signal.to_dict().items():
        if value is not None:
            table.add_row(key, value)
    console.print(table)
    colour = "green" if result.accepted else "red"
    console.print(f"[{colour}]{result.summary}[/{colour}]", highlight=False)
    if result.skipped:
        console.print(f"skipped (no venue consulted): {', '.join(r.value for r in result.skipped)}")


# -- serve-webhook ---------------------------------------------------------------------------


def serve_webhook_command(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default: config, else 127.0.0.1).")
    ] = None,
    http_port: Annotated[
        int | None,
        typer.Option(help="Port to listen on (default: config, else 8000).", min=1, max=65535),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Run the webhook intake alone and print every accepted signal.

    Listens for POST /webhook/signals; the shared secret comes from
    DYDX_TRADER_WEBHOOK_SECRET. Use it to try an alert template: each
    accepted signal is printed with the validator's verdict (the venue is
    not consulted). Nothing is traded.
    """
    try:
        secret = WebhookSecret.from_environ(os.environ)
        settings = _settings(config)
    except DydxTraderError as exc:
        raise _fail(exc.message) from None
    if settings is not None:
        host = host or settings.http.host
        http_port = http_port or settings.http.port
        limits = settings.validation_config()
    else:
        limits = ValidationConfig()
    host = host or DEFAULT_HOST
    http_port = http_port or DEFAULT_HTTP_PORT
    validator = SignalValidator(limits, markets=None)

    async def print_signal(signal: Signal) -> None:
        verdict = validator.validate(signal)
        typer.echo(json.dumps(_verdict_dict(verdict)))
        sys.stdout.flush()

    from aiohttp import web

    app = create_webhook_app(SignalIntake(secret, print_signal))
    typer.echo(f"webhook intake on http://{host}:{http_port}{SIGNALS_PATH} (Ctrl-C stops)")
    web.run_app(app, host=host, port=http_port, print=None)
