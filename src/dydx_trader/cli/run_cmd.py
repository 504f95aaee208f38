"""``dydx-trader run``: the main job.

With no configuration it paper-trades: it starts the devnet in this process,
funds the demo subaccount, replays the bundled market data faster than real
time, trades with the configured (default) strategies through exactly the code
that trades live, shows what happens, and ends with a summary and an
equity-curve image in the run's folder when the data ends.

With ``--network testnet`` or ``mainnet`` (or ``[network] name`` in the
config) it trades live until SIGINT/SIGTERM: no new orders, wait for in-flight
outcomes, close the journal. Every run logs to ``<run dir>/run.log``.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from dydx_trader.adapters.dydx.network import NetworkName
from dydx_trader.adapters.webhook import SECRET_ENV_VAR, WebhookSecret
from dydx_trader.cli import run_session
from dydx_trader.cli._common import (
    console,
    load_settings,
    reported,
    require_bundled,
    resolve_address,
    resolve_profile,
)
from dydx_trader.cli.logs import add_log_file, remove_log_file
from dydx_trader.cli.options import (
    AddressOption,
    ConfigOption,
    NetworkOption,
)
from dydx_trader.cli.paper_window import choose, help_text, parse_moment
from dydx_trader.cli.run_checks import (
    check_fixed_risk_stops,
    check_speed,
    confirm_mainnet,
    warn_demo_strategies,
)
from dydx_trader.cli.webhook_cmd import HttpPortOption, bind_listener
from dydx_trader.config import Settings
from dydx_trader.domain.errors import InvalidInput
from dydx_trader.secrets import install_log_redaction, load_bot_key, load_mnemonic


def register(app: typer.Typer) -> None:
    app.command("run")(run_command)


def run_command(
    network: NetworkOption = None,
    config: ConfigOption = None,
    address: AddressOption = None,
    days: Annotated[
        int | None,
        typer.Option("--days", metavar="N", min=1, max=366, help=help_text()),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--from", metavar="DATE", help="Paper: first candle close, e.g. 2025-03-01 (UTC)."
        ),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option("--to", metavar="DATE", help="Paper: last candle close (UTC)."),
    ] = None,
    speed: Annotated[
        float | None,
        typer.Option(
            "--speed",
            metavar="X",
            help="Paper: at most X market seconds per wall second (default: as fast as it "
            "goes). Results never depend on it.",
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", metavar="N", help="Paper: devnet seed (prices, book).")
    ] = 1,
    run_dir: Annotated[
        Path | None,
        typer.Option(
            "--run-dir",
            metavar="DIR",
            help="Folder for the log, the report and (paper) the journal "
            "(default: runs/<UTC time>).",
        ),
    ] = None,
    http_port: HttpPortOption = None,
    live: Annotated[
        bool | None,
        typer.Option(
            "--live/--plain", help="Live view, or plain lines (default: live on a terminal)."
        ),
    ] = None,
    yes_mainnet: Annotated[
        bool,
        typer.Option(
            "--yes-mainnet", metavar="", help="Confirm a mainnet run (real money) without asking."
        ),
    ] = False,
    hold: Annotated[
        bool,
        typer.Option(
            "--hold",
            help="Paper: keep the dashboard up after the replay ends, until Ctrl-C.",
        ),
    ] = False,
) -> None:
    """Trade: paper on the embedded devnet by default, or live on testnet/mainnet.

    The network is --network, else the config's [network] name
    ($DYDX_TRADER_NETWORK__NAME), else devnet. Live runs until Ctrl-C or SIGTERM;
    a mainnet run needs --yes-mainnet or a confirmation typed at the terminal.
    """
    install_log_redaction()
    screen = console()
    with reported():
        settings = load_settings(config)
        if http_port is not None:
            http = settings.http.model_copy(update={"port": http_port})
            settings = settings.model_copy(update={"http": http})
        name = network or settings.network.name
        check_speed(speed)
        check_fixed_risk_stops(settings)
        folder = run_dir or Path("runs") / datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        show_live = screen.is_terminal if live is None else live
        if name is NetworkName.DEVNET:
            markets = _strategy_markets(settings)
            require_bundled(markets)
            window = choose(
                markets,
                days=days,
                start=None if start is None else parse_moment(start),
                end=None if end is None else parse_moment(end),
            )

            def session(listener: socket.socket) -> Coroutine[Any, Any, int]:
                return run_session.paper(
                    settings, folder, window, speed, seed, show_live, screen, listener, hold
                )
        else:
            profile = resolve_profile(settings, name)
            who = resolve_address(settings, profile, address)
            if name is NetworkName.MAINNET:
                confirm_mainnet(yes_mainnet, who)
            warn_demo_strategies(settings, screen)
            # With a bot key the owner's mnemonic stays off this host.
            bot_key = None if settings.account.authenticator_id is None else load_bot_key()
            mnemonic = load_mnemonic() if bot_key is None else None

            def session(listener: socket.socket) -> Coroutine[Any, Any, int]:
                return run_session.live(
                    settings, profile, who, (mnemonic, bot_key), folder, show_live, screen, listener
                )

        # Bound before anything starts: a port in use is one line, and nothing ran.
        listener = _bind_http(settings, paper=name is NetworkName.DEVNET, console=screen)
    log_file = add_log_file(folder / "run.log")
    try:
        with reported():
            code = asyncio.run(session(listener))
    finally:
        remove_log_file(log_file)
        listener.close()
    raise typer.Exit(code)


def _strategy_markets(settings: Settings) -> tuple[str, ...]:
    return tuple(dict.fromkeys(m for entry in settings.strategies for m in entry.markets))


def _bind_http(settings: Settings, *, paper: bool, console: Console) -> socket.socket:
    """The operator server's listening socket (dashboard, metrics, health, webhook).

    A port in use is refused in one line, except in a paper session without a
    webhook: nothing outside points at that port, so another one is taken (and
    printed with the dashboard's URL)."""
    webhook = bool(os.environ.get(SECRET_ENV_VAR))
    if webhook:
        WebhookSecret.from_environ(os.environ)  # a bad secret is refused before binding
    try:
        return bind_listener(settings.http.host, settings.http.port)
    except InvalidInput as taken:
        if webhook or not paper or "already in use" not in str(taken):
            raise
    console.print(f"port {settings.http.port} is in use; the dashboard takes a free port",
                  soft_wrap=True, highlight=False, markup=False)  # fmt: skip
    return bind_listener(settings.http.host, 0)
