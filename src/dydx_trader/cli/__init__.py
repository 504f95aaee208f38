"""The ``dydx-trader`` command line."""

from dydx_trader.cli.app import app, main

__all__ = ["app", "main"]
