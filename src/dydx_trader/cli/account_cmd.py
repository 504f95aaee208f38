"""``dydx-trader balance`` and ``dydx-trader markets``: read-only views of the venue.

Both work with no configuration against the local devnet (its funded demo
account), and against testnet/mainnet with ``--network`` and ``--address``.
Every failure is one readable line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import asyncio
import importlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from dydx_trader.adapters.dydx.indexer import IndexerGateway, check_address
from dydx_trader.adapters.dydx.network import NetworkName, NetworkProfile, network_profile
from dydx_trader.adapters.dydx.node import NodeGateway
from dydx_trader.adapters.dydx.retry import RetryPolicy
from dydx_trader.app.balance import BalanceManager, BalanceSnapshot
from dydx_trader.app.market_data import MarketDataManager
from dydx_trader.config import discover_config_path, load_config
from dydx_trader.domain.errors import DydxTraderError, InvalidInput
from dydx_trader.domain.market import MarketSpec

T = TypeVar("T")

NetworkOption = Annotated[
    NetworkName | None,
    typer.Option("--network", help="devnet (local), testnet or mainnet [default: from config]."),
]
IndexerOption = Annotated[
    str | None, typer.Option("--indexer-url", help="Override the indexer REST URL.")
]
GrpcOption = Annotated[
    str | None, typer.Option("--grpc", help="Override the node gRPC address (host:port).")
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="Config file [default: $DYDX_TRADER_CONFIG or ./dydx-trader.toml]."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (decimals as strings).")]
TimeoutOption = Annotated[
    float, typer.Option("--timeout", min=0.1, max=120, help="Seconds per venue call.")
]


@dataclass(frozen=True, slots=True)
class _Target:
    """What to read: endpoints, subaccount and freshness limits."""

    profile: NetworkProfile
    address: str | None
    subaccount_number: int
    balance_ttl_s: float = 5.0
    max_indexer_lag_blocks: int = 10


def register(app: typer.Typer) -> None:
    @app.command()
    def balance(
        network: NetworkOption = None,
        address: Annotated[
            str | None,
            typer.Option(
                "--address",
                help="dydx1... address [default: from config; on devnet the funded demo account].",
            ),
        ] = None,
        subaccount: Annotated[
            int | None,
            typer.Option("--subaccount", min=0, max=128_000, help="[default: from config, 0]"),
        ] = None,
        indexer_url: IndexerOption = None,
        grpc: GrpcOption = None,
        config: ConfigOption = None,
        as_json: JsonOption = False,
        timeout: TimeoutOption = 5.0,
    ) -> None:
        """Equity, free collateral, leverage and positions of the configured subaccount."""

        async def work() -> tuple[BalanceSnapshot, Mapping[str, MarketSpec]]:
            target = _target(config, network, indexer_url, grpc, address, subaccount)
            who = target.address or _demo_address(target.profile)
            check_address(who)
            return await _read_balance(target, who, timeout)

        snapshot, markets = _run(work, network)
        if as_json:
            typer.echo(json.dumps(balance_json(snapshot, markets), indent=2))
        else:
            _print_balance(snapshot, markets)

    @app.command()
    def markets(
        network: NetworkOption = None,
        indexer_url: IndexerOption = None,
        config: ConfigOption = None,
        as_json: JsonOption = False,
        timeout: TimeoutOption = 5.0,
    ) -> None:
        """Perpetual markets with price, IMF (base and effective), max leverage, steps, ticks."""

        async def work() -> Mapping[str, MarketSpec]:
            target = _target(config, network, indexer_url, None, None, None)
            return await _indexer(target.profile, timeout).get_markets()

        listing = _run(work, network)
        if as_json:
            typer.echo(json.dumps(markets_json(listing), indent=2))
        else:
            _print_markets(listing)


# -- wiring ---------------------------------------------------------------------------


def _target(
    config: Path | None,
    network: NetworkName | None,
    indexer_url: str | None,
    grpc: str | None,
    address: str | None,
    subaccount: int | None,
) -> _Target:
    """Command-line options over the config file over the defaults.

    ``--network`` picks that network's own endpoints: the config's endpoint
    overrides apply only to the config's network.
    """
    settings = load_config(config or discover_config_path())
    configured = settings.network
    same_network = network is None or network is configured.name
    profile = network_profile(
        configured.name if network is None else network,
        indexer_url=indexer_url or (configured.indexer_url if same_network else None),
        websocket_url=configured.websocket_url if same_network else None,
        grpc_address=grpc or (configured.grpc_address if same_network else None),
    )
    return _Target(
        profile=profile,
        address=address or (settings.account.address if same_network else None),
        subaccount_number=settings.account.subaccount_number if subaccount is None else subaccount,
        balance_ttl_s=settings.ttl.balance_ttl_s,
        max_indexer_lag_blocks=settings.ttl.max_indexer_lag_blocks,
    )


def _retry(timeout: float) -> RetryPolicy:
    return RetryPolicy(max_attempts=2, max_total_s=timeout * 2, base_delay_s=0.2, max_delay_s=1.0)


def _indexer(profile: NetworkProfile, timeout: float) -> IndexerGateway:
    return IndexerGateway(profile.indexer_url, timeout_s=timeout, retry=_retry(timeout))


async def _read_balance(
    target: _Target, address: str, timeout: float
) -> tuple[BalanceSnapshot, Mapping[str, MarketSpec]]:
    indexer = _indexer(target.profile, timeout)
    async with await NodeGateway.connect(
        target.profile, timeout_s=timeout, retry=_retry(timeout)
    ) as node:
        market_data = MarketDataManager(indexer)
        await market_data.refresh()
        manager = BalanceManager(
            indexer,
            node,
            market_data,
            address=address,
            subaccount_number=target.subaccount_number,
            ttl_s=target.balance_ttl_s,
            max_indexer_lag_blocks=target.max_indexer_lag_blocks,
            fetch_timeout_s=timeout * 4,
        )
        snapshot = await manager.get_snapshot()
        return snapshot, market_data.markets()


def _demo_address(profile: NetworkProfile) -> str:
    """The devnet's funded demo account; other networks need ``--address``."""
    if profile.name is not NetworkName.DEVNET:
        raise InvalidInput(
            f"--address is required on {profile.name.value} (or set [account] address in config)"
        )
    # The CLI may wire the devnet's demo account; nothing else imports dydx_devnet.
    for module_name in ("dydx_devnet.demo", "dydx_devnet.server"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        value = getattr(module, "DEMO_ADDRESS", None)
        if isinstance(value, str):
            return value
    raise InvalidInput("the devnet has no demo account; pass --address")


def _run(work: Callable[[], Awaitable[T]], network: NetworkName | None) -> T:
    """Run ``work``; any failure is one line on stderr and exit code 1 (2 for bad input)."""
    try:
        return asyncio.run(_as_coroutine(work))
    except InvalidInput as error:
        _fail(str(error), 2)
    except DydxTraderError as error:
        hint = ""
        if network in (None, NetworkName.DEVNET) and "127.0.0.1" in error.message:
            hint = " (is the devnet running? start it with `make devnet`)"
        _fail(f"{error}{hint}", 1)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except Exception as error:  # noqa: BLE001 - the CLI never shows a traceback
        _fail(f"unexpected error: {type(error).__name__}: {error}", 1)


async def _as_coroutine(work: Callable[[], Awaitable[T]]) -> T:
    return await work()


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


# -- figures --------------------------------------------------------------------------


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def balance_json(snapshot: BalanceSnapshot, markets: Mapping[str, MarketSpec]) -> dict[str, Any]:
    """The balance as JSON-ready data; every decimal is a string (exact)."""
    risk = snapshot.risk
    return {
        "address": snapshot.account.address,
        "subaccount": snapshot.account.subaccount_number,
        "equity": _text(risk.equity),
        "indexer_equity": _text(snapshot.indexer_equity),
        "usdc_balance": _text(snapshot.usdc_balance),
        "free_collateral": _text(snapshot.free_collateral),
        "free_collateral_local": _text(snapshot.local_free_collateral),
        "free_collateral_indexer": _text(snapshot.indexer_free_collateral),
        "initial_margin": _text(risk.initial_margin),
        "maintenance_margin": _text(risk.maintenance_margin),
        "margin_usage": _text(risk.margin_usage),
        "leverage": _text(risk.leverage),
        "indexer_height": snapshot.account.latest_processed_block_height,
        "chain_height": snapshot.chain_height,
        "positions": [
            {
                "market": p.market,
                "size": _text(p.size),
                "entry_price": _text(p.entry_price),
                "oracle_price": _text(p.oracle_price),
                "notional": _text(p.notional),
                "unrealized_pnl": _text(p.unrealized_pnl),
                "effective_imf": _text(p.effective_imf),
                "max_leverage": _text(p.max_leverage),
                "liquidation_price": _text(p.liquidation_price),
                "liquidation_distance_pct": _text(p.liquidation_distance_pct),
            }
            for p in risk.positions
        ],
    }


def _effective_imf(spec: MarketSpec) -> Decimal | None:
    return None if spec.oracle_price is None else spec.effective_initial_margin_fraction()


def markets_json(markets: Mapping[str, MarketSpec]) -> list[dict[str, Any]]:
    """Markets as JSON-ready data, by ticker; decimals as strings."""
    rows = []
    for ticker in sorted(markets):
        spec = markets[ticker]
        effective = _effective_imf(spec)
        rows.append(
            {
                "ticker": ticker,
                "status": spec.status.value,
                "market_type": spec.market_type.value,
                "oracle_price": _text(spec.oracle_price),
                "initial_margin_fraction": _text(spec.initial_margin_fraction),
                "effective_initial_margin_fraction": _text(effective),
                "maintenance_margin_fraction": _text(spec.maintenance_margin_fraction),
                "max_leverage": _text(None if effective is None else spec.max_leverage()),
                "step_size": _text(spec.step_size),
                "tick_size": _text(spec.tick_size),
            }
        )
    return rows


# -- tables ---------------------------------------------------------------------------


def _usd(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _num(value: Decimal | None, places: int | None = None) -> str:
    if value is None:
        return "-"
    if places is not None:
        return f"{value:,.{places}f}"
    return f"{value.normalize():f}"


def _pct(value: Decimal | None) -> str:
    return "-" if value is None else f"{value * 100:.2f} %"


def _console() -> Console:
    console = Console()
    # Piped output (logs, files) has no width; do not squeeze the tables to 80 columns.
    return console if console.is_terminal else Console(width=200)


def _print_balance(snapshot: BalanceSnapshot, markets: Mapping[str, MarketSpec]) -> None:
    console = _console()
    risk = snapshot.risk
    summary = Table(title=f"{snapshot.account.address} / {snapshot.account.subaccount_number}")
    summary.add_column("")
    summary.add_column("USDC / value", justify="right")
    summary.add_row("Equity", _usd(risk.equity))
    summary.add_row("USDC balance", _usd(snapshot.usdc_balance))
    summary.add_row("Free collateral (used for sizing)", _usd(snapshot.free_collateral))
    summary.add_row("Free collateral, local (OI-scaled IMF)", _usd(snapshot.local_free_collateral))
    summary.add_row("Free collateral, indexer", _usd(snapshot.indexer_free_collateral))
    summary.add_row("Margin usage", _pct(risk.margin_usage))
    summary.add_row("Account leverage", "-" if risk.leverage is None else f"{risk.leverage:.2f}x")
    summary.add_row(
        "Indexer / chain height",
        f"{snapshot.account.latest_processed_block_height} / {snapshot.chain_height}",
    )
    console.print(summary)
    if not risk.positions:
        console.print("No open positions.")
        return
    table = Table(title="Positions")
    for column in (
        "Market", "Size", "Entry", "Oracle", "Notional", "Unrealized PnL",
        "Max lev.", "Liq. price", "Liq. distance",
    ):  # fmt: skip
        table.add_column(column, justify="left" if column == "Market" else "right")
    for p in risk.positions:
        table.add_row(
            p.market,
            _num(p.size),
            _num(p.entry_price, 4),
            _num(p.oracle_price),
            _usd(p.notional),
            _usd(p.unrealized_pnl),
            f"{p.max_leverage:.1f}x",
            _num(p.liquidation_price, 4),
            "-" if p.liquidation_distance_pct is None else f"{p.liquidation_distance_pct:.2f} %",
        )
    console.print(table)


def _print_markets(markets: Mapping[str, MarketSpec]) -> None:
    table = Table(title=f"{len(markets)} perpetual markets")
    for column in (
        "Market", "Status", "Oracle", "IMF base", "IMF eff.", "Max lev.", "Step", "Tick",
    ):  # fmt: skip
        table.add_column(column, justify="left" if column in ("Market", "Status") else "right")
    for row in markets_json(markets):
        effective = row["effective_initial_margin_fraction"]
        table.add_row(
            row["ticker"],
            row["status"],
            row["oracle_price"] or "-",
            _pct(Decimal(row["initial_margin_fraction"])),
            "-" if effective is None else _pct(Decimal(effective)),
            "-" if row["max_leverage"] is None else f"{Decimal(row['max_leverage']):.1f}x",
            row["step_size"],
            row["tick_size"],
        )
    _console().print(table)
