"""The Typer application; each command group lives in its own module and
registers itself through ``register(app)``.

Options that apply to every command come before it:
``dydx-trader -v run``, ``dydx-trader --log-level DEBUG balance``.
"""

from __future__ import annotations

import importlib
import logging
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

from dydx_trader.cli._common import fail
from dydx_trader.cli.logs import LOG_LEVEL_ENV, configure_logging, resolve_level
from dydx_trader.domain.errors import InvalidInput

# The official client warns, when first imported, about the "http://" node URL of
# its own built-in LOCAL profile: noise for our users, who never use that profile.
logging.getLogger("dydx_v4_client.network").setLevel(logging.ERROR)

app = typer.Typer(
    name="dydx-trader",
    help="Turn trading signals into safely sized orders on dYdX v4 perpetuals.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold secrets
    # Plain help: no box drawing, and bracketed text in help is shown as written.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# One module per command group, in the order they appear in --help.
_COMMAND_MODULES = (
    "dydx_trader.cli.run_cmd",
    "dydx_trader.cli.devnet_cmd",
    "dydx_trader.cli.account_cmd",
    "dydx_trader.cli.markets_cmd",
    "dydx_trader.cli.signal_cmd",
    "dydx_trader.cli.scan_cmd",
    "dydx_trader.cli.webhook_cmd",
    "dydx_trader.cli.size_cmd",
    "dydx_trader.cli.journal_cmd",
    "dydx_trader.cli.keys_cmd",
)


def package_version() -> str:
    """The installed version of dydx-trader."""
    try:
        return version("dydx-trader")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"dydx-trader {package_version()}")
        raise typer.Exit(0)


@app.callback()
def _options(
    _version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            metavar="",
            is_eager=True,
            callback=_print_version,
            help="Print the version and exit.",
        ),
    ] = False,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose",
            "-v",
            count=True,
            metavar="",
            show_default=False,
            help="More log lines: -v INFO, -vv DEBUG.",
        ),
    ] = 0,
    quiet: Annotated[
        int,
        typer.Option(
            "--quiet", "-q", count=True, metavar="", show_default=False, help="Log errors only."
        ),
    ] = 0,
    log_level: Annotated[
        str | None,
        typer.Option(
            "--log-level",
            metavar="LEVEL",
            help=f"DEBUG, INFO, WARNING, ERROR or CRITICAL (default: ${LOG_LEVEL_ENV}, "
            "else WARNING). Log lines go to stderr, with UTC timestamps.",
        ),
    ] = None,
) -> None:
    """Turn trading signals into safely sized orders on dYdX v4 perpetuals."""
    try:
        configure_logging(resolve_level(log_level, verbose, quiet))
    except InvalidInput as error:
        fail(str(error), 2)


def _register_commands() -> None:
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(app)


_register_commands()


def main() -> None:
    """Console-script entry point."""
    app()
