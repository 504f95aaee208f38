"""What ``dydx-trader run`` refuses, asks or warns about before anything starts.

Each check is one line: nothing is bound, started, created or journaled when
one refuses.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable

import typer
from rich.console import Console
from rich.markup import escape

from dydx_trader.config import DEMO_MARKETS, DEMO_STRATEGY_NAMES, Settings
from dydx_trader.domain.errors import InvalidInput
from dydx_trader.domain.sizing_policy import PolicyKind


def check_speed(speed: float | None) -> float | None:
    """``--speed``: None (fit the replay to about 100 s) or a finite positive number."""
    if speed is not None and not (math.isfinite(speed) and speed > 0):
        raise InvalidInput(
            f"--speed is {speed:g}: it must be a positive number of market seconds per "
            "wall second (leave it out to fit the replay to about 100 s)",
            field="speed",
        )
    return speed


def check_fixed_risk_stops(settings: Settings) -> None:
    """Fixed-risk sizing sizes from each signal's stop: refuse strategies that emit none."""
    if settings.sizing.kind is not PolicyKind.FIXED_RISK:
        return
    stopless = sorted(
        {strategy.name for strategy, _ in settings.build_strategies() if not strategy.emits_stops}
    )
    if stopless:
        raise InvalidInput(
            f"sizing.kind = fixed_risk sizes each trade from its stop, but {', '.join(stopless)} "
            "emit no stop: set params.stop_atr (e.g. 2) on each, or choose another sizing.kind",
            field="sizing.kind",
        )


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def confirm_mainnet(
    confirmed: bool, address: str, *, interactive: Callable[[], bool] = _stdin_is_terminal
) -> None:
    """A mainnet run trades real money: it needs ``--yes-mainnet``, or a "y" typed
    at the terminal; anything else refuses."""
    if confirmed:
        return
    if interactive():
        answer = typer.confirm(
            f"Trade with real money on mainnet as {address}?", default=False, err=True
        )
        if answer:
            return
        raise InvalidInput("mainnet run not confirmed; nothing was started", field="yes_mainnet")
    raise InvalidInput(
        "a mainnet run trades real money: add --yes-mainnet to confirm "
        "(or start it from a terminal to be asked)",
        field="yes_mainnet",
    )


def warn_demo_strategies(settings: Settings, screen: Console) -> None:
    """Say so when a live run would trade the paper demo's default strategies."""
    if settings.uses_demo_strategies:
        text = (
            f"warning: the strategies are the paper demo's defaults "
            f"({' and '.join(DEMO_STRATEGY_NAMES)} on {', '.join(DEMO_MARKETS)}); "
            "configure [[strategies]] for real money"
        )
        screen.print(f"[yellow]{escape(text)}[/]", highlight=False, soft_wrap=True)
