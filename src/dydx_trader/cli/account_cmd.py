"""``dydx-trader balance``: a read-only view of one subaccount.

It works with no configuration against the local devnet (its funded demo
account), and against testnet/mainnet with ``--network`` and ``--address``.
The views are built by the composition root (:func:`dydx_trader.bootstrap.build_reader`);
every failure is one readable line and a non-zero exit code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import typer
from rich.table import Table

from dydx_trader.app.balance_snapshot import BalanceSnapshot
from dydx_trader.bootstrap import build_reader
from dydx_trader.cli import formatting as fmt
from dydx_trader.cli._common import (
    console,
    load_settings,
    resolve_address,
    resolve_profile,
    run_async,
)
from dydx_trader.cli.options import (
    AddressOption,
    ConfigOption,
    GrpcOption,
    IndexerOption,
    JsonOption,
    NetworkOption,
    SubaccountOption,
    TimeoutOption,
)
from dydx_trader.domain.account_terms import AccountTerms
from dydx_trader.domain.market import MarketSpec


def register(app: typer.Typer) -> None:
    app.command("balance")(balance_command)


def balance_command(
    network: NetworkOption = None,
    address: AddressOption = None,
    subaccount: SubaccountOption = None,
    indexer_url: IndexerOption = None,
    grpc: GrpcOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    timeout: TimeoutOption = 5.0,
) -> None:
    """Equity, free collateral, leverage, fee tier and leverage settings, and positions
    of the configured subaccount."""

    async def work() -> tuple[BalanceSnapshot, Mapping[str, MarketSpec]]:
        settings = load_settings(config)
        profile = resolve_profile(settings, network, indexer_url, grpc)
        who = resolve_address(settings, profile, address)
        async with await build_reader(
            settings, profile, address=who, subaccount_number=subaccount, timeout_s=timeout
        ) as reader:
            assert reader.balance is not None  # built with an address
            await reader.market_data.refresh()
            return await reader.balance.get_snapshot(), reader.market_data.markets()

    snapshot, markets = run_async(work, as_json=as_json)
    if as_json:
        typer.echo(json.dumps(balance_json(snapshot), indent=2))
    else:
        _print_balance(snapshot, markets)


def balance_json(snapshot: BalanceSnapshot) -> dict[str, Any]:
    """The balance as JSON-ready data: decimals as exact plain strings, ratios to
    six places."""
    risk = snapshot.risk
    terms = snapshot.terms
    money = fmt.json_decimal
    tier = terms.fee_tier
    return {
        "address": snapshot.account.address,
        "subaccount": snapshot.account.subaccount_number,
        "equity": money(risk.equity),
        "indexer_equity": money(snapshot.indexer_equity),
        "usdc_balance": money(snapshot.usdc_balance),
        "free_collateral": money(snapshot.free_collateral),
        "free_collateral_local": money(snapshot.local_free_collateral),
        "free_collateral_indexer": money(snapshot.indexer_free_collateral),
        "initial_margin": money(risk.initial_margin),
        "maintenance_margin": money(risk.maintenance_margin),
        "margin_usage": fmt.json_ratio(risk.margin_usage),
        "leverage": fmt.json_ratio(risk.leverage),
        "indexer_height": snapshot.account.latest_processed_block_height,
        "chain_height": snapshot.chain_height,
        "fee_tier": {
            "name": tier.name,
            "taker_fee_ppm": tier.taker_fee_ppm,
            "maker_fee_ppm": tier.maker_fee_ppm,
            "source": tier.source,
        },
        "leverage_settings": {
            ticker: {"custom_imf_ppm": ppm, "leverage": fmt.json_ratio(terms.leverage(ticker))}
            for ticker, ppm in sorted(terms.custom_imf_ppm.items())
        },
        "positions": [
            {
                "market": p.market,
                "size": money(p.size),
                "entry_price": money(p.entry_price),
                "oracle_price": money(p.oracle_price),
                "notional": money(p.notional),
                "unrealized_pnl": money(p.unrealized_pnl),
                "effective_imf": fmt.json_ratio(p.effective_imf),
                "max_leverage": fmt.json_ratio(p.max_leverage),
                "leverage_setting": fmt.json_ratio(terms.leverage(p.market)),
                "liquidation_price": money(p.liquidation_price),
                "liquidation_distance_pct": fmt.json_ratio(p.liquidation_distance_pct),
            }
            for p in risk.positions
        ],
    }


def leverage_settings_text(terms: AccountTerms) -> str:
    """``ETH-USD 2x, SOL-USD 5x`` or ``none (each market's own maximum)``."""
    settings = sorted(terms.custom_imf_ppm)
    if not settings:
        return "none (each market's own maximum)"
    return ", ".join(f"{ticker} {fmt.leverage(terms.leverage(ticker), 1)}" for ticker in settings)


def _print_balance(snapshot: BalanceSnapshot, markets: Mapping[str, MarketSpec]) -> None:
    screen = console()
    risk = snapshot.risk
    summary = Table(title=f"{snapshot.account.address} / {snapshot.account.subaccount_number}")
    summary.add_column("")
    summary.add_column("USDC / value", justify="right")
    summary.add_row("Equity", fmt.usdc(risk.equity))
    summary.add_row("USDC balance", fmt.usdc(snapshot.usdc_balance))
    summary.add_row("Free collateral (used for sizing)", fmt.usdc(snapshot.free_collateral))
    summary.add_row(
        "Free collateral, local (OI-scaled IMF)", fmt.usdc(snapshot.local_free_collateral)
    )
    summary.add_row("Free collateral, indexer", fmt.usdc(snapshot.indexer_free_collateral))
    summary.add_row("Margin usage", fmt.pct(risk.margin_usage))
    summary.add_row("Account leverage", fmt.leverage(risk.leverage))
    summary.add_row(
        "Indexer / chain height",
        f"{snapshot.account.latest_processed_block_height} / {snapshot.chain_height}",
    )
    summary.add_row("Fee tier", snapshot.terms.fee_tier.describe())
    summary.add_row("Leverage set on the chain", leverage_settings_text(snapshot.terms))
    screen.print(summary)
    if not risk.positions:
        screen.print("No open positions.")
        return
    table = Table(title="Positions")
    for column in (
        "Market", "Size", "Entry", "Oracle", "Notional", "Unrealized PnL",
        "Max lev.", "Liq. price", "Liq. distance",
    ):  # fmt: skip
        table.add_column(column, justify="left" if column == "Market" else "right")
    for p in risk.positions:
        spec = markets.get(p.market)
        tick = None if spec is None else spec.tick_size
        distance = p.liquidation_distance_pct
        table.add_row(
            p.market,
            fmt.size(p.size, None if spec is None else spec.step_size),
            fmt.price(p.entry_price, tick),
            fmt.price(p.oracle_price, tick),
            fmt.usdc(p.notional),
            fmt.usdc(p.unrealized_pnl),
            fmt.leverage(p.max_leverage, 1),
            fmt.price(p.liquidation_price, tick),
            fmt.pct(None if distance is None else distance / Decimal(100)),
        )
    screen.print(table)
