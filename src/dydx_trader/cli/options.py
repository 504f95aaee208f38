"""The options every command shares, with plain metavars (``--network NETWORK``,
not ``<str>``), and a command class whose arguments read ``ACTION MARKET``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperArgument, TyperCommand

from dydx_trader.adapters.dydx.network import NetworkName


class _PlainArgument(TyperArgument):
    """A positional argument shown as ``ACTION`` in help (typer writes ``{action} <str>``)."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        return self.display_name_raw.upper()

    def _rich_display_name(self) -> str:
        return self.display_name_raw.upper()


class Command(TyperCommand):
    """Typer's command with plain argument names in its help (``app.command(cls=Command)``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if type(param) is TyperArgument:
                param.__class__ = _PlainArgument


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        metavar="FILE",
        help="Config file (default: $DYDX_TRADER_CONFIG, else ./dydx-trader.toml if present).",
    ),
]
NetworkOption = Annotated[
    NetworkName | None,
    typer.Option(
        "--network",
        metavar="NETWORK",
        help="devnet (local), testnet or mainnet (default: the config's, else devnet).",
    ),
]
AddressOption = Annotated[
    str | None,
    typer.Option(
        "--address",
        metavar="ADDRESS",
        help="dydx1... address (default: the config's; on devnet the funded demo account).",
    ),
]
SubaccountOption = Annotated[
    int | None,
    typer.Option(
        "--subaccount",
        metavar="N",
        min=0,
        max=128_000,
        help="Subaccount number (default: the config's, else 0).",
    ),
]
MarketOption = Annotated[
    list[str] | None,
    typer.Option(
        "--market",
        "-m",
        metavar="TICKER",
        help="Only these markets (repeat, or separate with commas).",
    ),
]
IndexerOption = Annotated[
    str | None,
    typer.Option("--indexer-url", metavar="URL", help="Override the indexer REST URL."),
]
GrpcOption = Annotated[
    str | None,
    typer.Option("--grpc", metavar="HOST:PORT", help="Override the node gRPC address."),
]
TimeoutOption = Annotated[
    float,
    typer.Option("--timeout", metavar="SECONDS", min=0.1, max=120, help="Seconds per venue call."),
]
JsonOption = Annotated[
    bool,
    typer.Option("--json", metavar="", help="Print JSON (decimals as strings), errors too."),
]
