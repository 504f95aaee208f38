"""What every command shares: the settings, the endpoints and the address it
talks to, the devnet's demo account and bundled data, and how a failure is
reported. (Its options are in :mod:`dydx_trader.cli.options`.)

Failures are one line and an exit code: 2 for bad input or a missing secret
(fix the command, the config or the environment), 1 for a refusal or a venue
that cannot be read, 130 for Ctrl-C.
With ``--json`` the line is a JSON object on stdout,
``{"error": "...", "code": <exit code>}``, so a script reading the output
always gets JSON.

This is the one module of the trader that imports the devnet's demo account
(its public test keys) and reads the devnet's bundled market data: the
command line may wire the devnet for paper trading, nothing else may.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
from collections.abc import Awaitable, Callable, Iterator, Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import NoReturn, TypeVar

import typer
from rich.console import Console

from dydx_trader.adapters.dydx.address import check_address
from dydx_trader.adapters.dydx.network import NetworkName, NetworkProfile, network_profile
from dydx_trader.config import Settings, discover_config_path, load_config
from dydx_trader.domain.errors import (
    DydxTraderError,
    InvalidInput,
    SecretUnavailable,
    VenueUnavailable,
)
from dydx_trader.secrets import Secret, redact

T = TypeVar("T")

DEVNET_HINT = "is the devnet running? start it with `make devnet` or `dydx-trader devnet`"
BUNDLED_RESOLUTION = "1HOUR"
# Piped output (a file, grep, a log collector) has no width: never wrap it at 80 columns.
PIPED_WIDTH = 200
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
# Markets named one by one in an "unknown market" line, up to this many.
_LISTED = 20

# -- settings, endpoints, account --------------------------------------------------------


def load_settings(config: Path | None) -> Settings:
    """The settings from ``config``, else the discovered file, else the defaults;
    environment overrides applied."""
    return load_config(config or discover_config_path())


def same_network(settings: Settings, network: NetworkName | None) -> bool:
    """True when ``network`` is the config's (its endpoints and address apply)."""
    return network is None or network is settings.network.name


def resolve_profile(
    settings: Settings,
    network: NetworkName | None,
    indexer_url: str | None = None,
    grpc: str | None = None,
) -> NetworkProfile:
    """The endpoints: command-line overrides, then the config's (which apply only
    to the config's network), then the network's own."""
    configured = settings.network
    same = same_network(settings, network)
    return network_profile(
        configured.name if network is None else network,
        indexer_url=indexer_url or (configured.indexer_url if same else None),
        websocket_url=configured.websocket_url if same else None,
        grpc_address=grpc or (configured.grpc_address if same else None),
    )


def resolve_address(settings: Settings, profile: NetworkProfile, address: str | None) -> str:
    """The address to use: the given one, else the config's (on its own network),
    else on the devnet its demo account; checksum verified."""
    chosen = address or (settings.account.address if same_network(settings, profile.name) else None)
    if chosen is None and profile.name is NetworkName.DEVNET:
        chosen = demo_address()
    if chosen is None:
        raise InvalidInput(
            f"--address is required on {profile.name.value} (or set [account] address in config)",
            field="address",
        )
    return check_address(chosen, field="--address" if address else "address")


def resolve_subaccount(settings: Settings, subaccount: int | None) -> int:
    """The subaccount number: the given one, else the config's."""
    return settings.account.subaccount_number if subaccount is None else subaccount


def _demo() -> object:
    return importlib.import_module("dydx_devnet.demo")


def demo_address() -> str:
    """The devnet's funded demo account (a public test key that holds value nowhere)."""
    return str(_demo().DEMO_ADDRESS)  # type: ignore[attr-defined]


def demo_mnemonic() -> Secret:
    """The devnet demo account's public test mnemonic, for paper trading only."""
    return Secret(str(_demo().DEMO_MNEMONIC))  # type: ignore[attr-defined]


def bundled_data() -> Traversable:
    """The folder of market data the devnet ships (``<TICKER>-1HOUR.csv`` files)."""
    return resources.files("dydx_devnet") / "data"


def bundled_markets() -> tuple[str, ...]:
    """The markets with bundled hourly candles, sorted."""
    suffix = f"-{BUNDLED_RESOLUTION}.csv"
    return tuple(
        sorted(
            entry.name.removesuffix(suffix)
            for entry in bundled_data().iterdir()
            if entry.name.endswith(suffix)
        )
    )


def require_bundled(markets: Sequence[str]) -> None:
    """Refuse markets without bundled candles, naming the ones that have data."""
    require_listed(markets, bundled_markets(), "no bundled candles for")


def market_options(values: Sequence[str] | None) -> list[str]:
    """Tickers from ``--market`` values (repeated, or separated by commas), upper
    case, each once, in the order given."""
    tickers = (t.strip().upper() for value in values or () for t in value.split(","))
    return list(dict.fromkeys(t for t in tickers if t))


def require_listed(
    wanted: Sequence[str],
    available: Sequence[str],
    lead: str,
    where: str = "",
    label: str = "markets with data",
) -> None:
    """Refuse any ``wanted`` ticker not in ``available``, in one line: ``lead``, the
    missing ones, ``where``, then the ones that exist (or how many, when many)."""
    missing = [ticker for ticker in wanted if ticker not in available]
    if missing:
        listing = (
            ", ".join(available)
            if len(available) <= _LISTED
            else f"{len(available)} (see `dydx-trader markets`)"
        )
        raise InvalidInput(
            f"{lead} {', '.join(missing)}{where}; {label}: {listing}", field="market"
        )


# -- output and failures -----------------------------------------------------------------


def console(*, stderr: bool = False) -> Console:
    """A console for the terminal, or, when piped, one that never wraps lines."""
    screen = Console(stderr=stderr)
    if screen.is_terminal:
        return screen
    return Console(stderr=stderr, width=PIPED_WIDTH, soft_wrap=True)


def fail(message: str, code: int = 2, *, as_json: bool = False) -> NoReturn:
    """Report ``message`` (one line; JSON on stdout with ``as_json``) and exit ``code``."""
    line = " ".join(redact(message).split())
    if as_json:
        typer.echo(json.dumps({"error": line, "code": code}))
    else:
        typer.echo(f"error: {line}", err=True)
    raise typer.Exit(code)


def error_line(error: DydxTraderError) -> str:
    """The error's line, with the devnet hint when a loopback venue did not answer."""
    text = str(error)
    if isinstance(error, VenueUnavailable) and any(host in text for host in _LOOPBACK):
        return f"{text} ({DEVNET_HINT})"
    return text


@contextlib.contextmanager
def reported(*, as_json: bool = False) -> Iterator[None]:
    """Turn every failure inside into one line and an exit code (see the module)."""
    try:
        yield
    except (typer.Exit, typer.Abort):
        raise
    except (InvalidInput, SecretUnavailable) as error:
        fail(str(error), 2, as_json=as_json)
    except DydxTraderError as error:
        fail(error_line(error), 1, as_json=as_json)
    except KeyboardInterrupt:
        fail("interrupted", 130, as_json=as_json)
    except Exception as error:  # noqa: BLE001 - the CLI never shows a traceback
        fail(f"unexpected error: {type(error).__name__}: {error}", 1, as_json=as_json)


def run_async(work: Callable[[], Awaitable[T]], *, as_json: bool = False) -> T:
    """Run ``work`` on a fresh event loop; failures are reported as by :func:`reported`."""
    with reported(as_json=as_json):
        return asyncio.run(_call(work))


async def _call(work: Callable[[], Awaitable[T]]) -> T:
    return await work()
