"""``dydx-trader run``: the main job."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def run() -> None:
        """Paper-trade on the embedded devnet (the trading loop is being built)."""
        typer.echo(
            "dydx-trader run: the trading loop is not built yet. "
            "Try `dydx-trader --help` for what is available."
        )
