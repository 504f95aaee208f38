"""``dydx-trader signal``: build a signal by hand and see what the validator says."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from dydx_trader.app.validation import SignalValidator, ValidationResult
from dydx_trader.cli._common import (
    console,
    load_settings,
    reported,
)
from dydx_trader.cli.options import (
    Command,
    ConfigOption,
    JsonOption,
)
from dydx_trader.domain.numbers import to_decimal
from dydx_trader.domain.signal import Signal, SignalSource, SizingHint

ActionArgument = Annotated[str, typer.Argument(help="BUY, SELL, CLOSE or HOLD.")]
MarketArgument = Annotated[str, typer.Argument(help="Market ticker, e.g. BTC-USD.")]
ConfidenceOption = Annotated[
    str, typer.Option("--confidence", metavar="X", help="Confidence in [0, 1].")
]
StopOption = Annotated[
    str | None,
    typer.Option(
        "--stop",
        metavar="PRICE",
        help="Stop-loss price, USDC: below the price for BUY, above for SELL. "
        "Fixed-risk sizing measures to it; a running trader with [protection] enabled "
        "places it on the chain once the entry fills.",
    ),
]
TakeProfitOption = Annotated[
    str | None,
    typer.Option(
        "--take-profit",
        metavar="PRICE",
        help="Take-profit price, USDC: above the price for BUY, below for SELL "
        "(placed with the stop-loss by a protecting trader).",
    ),
]
NotionalOption = Annotated[
    str | None,
    typer.Option("--notional", metavar="USDC", help="Sizing hint: position notional in USDC."),
]
FractionOption = Annotated[
    str | None,
    typer.Option("--fraction", metavar="F", help="Sizing hint: fraction of equity in (0, 1]."),
]


def register(app: typer.Typer) -> None:
    app.command("signal", cls=Command)(signal_command)


def signal_command(
    action: ActionArgument,
    market: MarketArgument,
    confidence: ConfidenceOption = "1",
    price: Annotated[
        str | None, typer.Option("--price", metavar="PRICE", help="Reference price, USDC.")
    ] = None,
    stop: StopOption = None,
    take_profit: TakeProfitOption = None,
    notional: NotionalOption = None,
    fraction: FractionOption = None,
    signal_id: Annotated[
        str | None, typer.Option("--id", metavar="ID", help="Signal id (default: a fresh uuid).")
    ] = None,
    strategy: Annotated[
        str, typer.Option("--strategy", metavar="NAME", help="Strategy name recorded.")
    ] = "manual",
    min_confidence: Annotated[
        str | None,
        typer.Option(
            "--min-confidence",
            metavar="X",
            help="Confidence threshold (default: the configuration's, else 0.6).",
        ),
    ] = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Build a signal by hand, validate it and print the verdict.

    Nothing is traded and the venue is not consulted (so the market_active
    rule is skipped): use `size` to preview the order a signal would give, and
    the webhook of a running `run` to trade one. Exit code 0: accepted,
    1: rejected, 2: invalid input.
    """
    with reported(as_json=as_json):
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
            sizing=SizingHint.from_options(notional, fraction),
        )
        limits = load_settings(config).validation_config()
        if min_confidence is not None:
            limits = replace(limits, min_confidence=to_decimal("min-confidence", min_confidence))
    result = SignalValidator(limits, markets=None).validate(signal)
    if as_json:
        typer.echo(json.dumps(verdict_json(result), indent=2))
    else:
        _print_verdict(result)
    if not result.accepted:
        raise typer.Exit(1)


def verdict_json(result: ValidationResult) -> dict[str, object]:
    """The validator's verdict as JSON-ready data."""
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
    screen = console()
    table = Table(show_header=False, title="signal")
    for key, value in result.signal.to_dict().items():
        if value is not None:
            table.add_row(key, value)
    screen.print(table)
    colour = "green" if result.accepted else "red"
    screen.print(f"[{colour}]{result.summary}[/{colour}]", highlight=False)
    if result.skipped:
        screen.print(f"skipped (no venue consulted): {', '.join(r.value for r in result.skipped)}")
