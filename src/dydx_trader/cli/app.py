"""The Typer application; each command group lives in its own module and
registers itself through ``register(app)``."""

from __future__ import annotations

import importlib
import logging

import typer

# The official client warns, when first imported, about the "http://" node URL of
# its own built-in LOCAL profile: noise for our users, who never use that profile.
logging.getLogger("dydx_v4_client.network").setLevel(logging.ERROR)

app = typer.Typer(
    name="dydx-trader",
    help="Turn trading signals into safely sized orders on dYdX v4 perpetuals.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold secrets
)

# One module per command group, in the order they appear in --help.
_COMMAND_MODULES = (
    "dydx_trader.cli.run_cmd",
    "dydx_trader.cli.devnet_cmd",
    "dydx_trader.cli.account_cmd",
    "dydx_trader.cli.signal_cmd",
    "dydx_trader.cli.size_cmd",
    "dydx_trader.cli.journal_cmd",
    "dydx_trader.cli.keys_cmd",
)


def _register_commands() -> None:
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(app)


_register_commands()


def main() -> None:
    """Console-script entry point."""
    app()
