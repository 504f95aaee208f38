"""``dydx-trader markets``: the perpetual markets as a perp trader reads them.

Price, funding (the predicted 1-hour rate and its annualised value), open
interest, 24 h volume, market type, margin (base and open-interest-scaled
IMF, max leverage), step and tick. ``--market`` picks markets (repeat it or
separate with commas); ``--sort`` orders by volume, open interest, funding or
leverage (largest first) instead of by ticker. For the configured account
(``[account] address``, on its network) its leverage setting per market is
read from the chain and shown with the most leverage it leaves.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.table import Table

from dydx_trader.adapters.dydx.market_stats import MarketStats
from dydx_trader.adapters.dydx.network import NetworkProfile
from dydx_trader.app.account_terms import AccountTermsCache
from dydx_trader.bootstrap import build_reader
from dydx_trader.cli import formatting as fmt
from dydx_trader.cli._common import (
    console,
    load_settings,
    market_options,
    require_listed,
    resolve_profile,
    run_async,
    same_network,
)
from dydx_trader.cli.options import (
    ConfigOption,
    IndexerOption,
    JsonOption,
    MarketOption,
    NetworkOption,
    TimeoutOption,
)
from dydx_trader.config import Settings
from dydx_trader.domain.account_terms import AccountTerms, leverage_of
from dydx_trader.domain.errors import DydxTraderError, describe
from dydx_trader.domain.market import MarketSpec


class SortKey(StrEnum):
    TICKER = "ticker"
    VOLUME = "volume"
    OI = "oi"
    FUNDING = "funding"
    LEVERAGE = "leverage"


@dataclass(frozen=True, slots=True)
class MarketRow:
    """One market's spec with its stats (stats None when the indexer gave none) and
    the known account's leverage setting in it (custom IMF ppm; None when none is
    set or no account is known)."""

    spec: MarketSpec
    stats: MarketStats | None
    setting_imf_ppm: int | None = None

    @property
    def account_max_leverage(self) -> Decimal | None:
        """The most leverage the account may take here: 1 / max(IMF, its setting)."""
        if self.spec.oracle_price is None:
            return None
        imf = max(self.spec.effective_initial_margin_ppm(), self.setting_imf_ppm or 0)
        return Decimal(1_000_000) / imf

    @property
    def effective_imf(self) -> Decimal | None:
        spec = self.spec
        return None if spec.oracle_price is None else spec.effective_initial_margin_fraction()

    @property
    def max_leverage(self) -> Decimal | None:
        return None if self.spec.oracle_price is None else self.spec.max_leverage()

    @property
    def open_interest_usdc(self) -> Decimal | None:
        return None if self.stats is None else self.stats.open_interest_usdc(self.spec.oracle_price)


_SORTS: Mapping[SortKey, Callable[[MarketRow], Decimal | None]] = {
    SortKey.VOLUME: lambda row: None if row.stats is None else row.stats.volume_24h,
    SortKey.OI: lambda row: row.open_interest_usdc,
    # Funding sorts by size either way: a large negative rate matters as much.
    SortKey.FUNDING: lambda row: (
        None
        if row.stats is None or row.stats.next_funding_rate is None
        else abs(row.stats.next_funding_rate)
    ),
    SortKey.LEVERAGE: lambda row: row.max_leverage,
}


def register(app: typer.Typer) -> None:
    app.command("markets")(markets_command)


def markets_command(
    market: MarketOption = None,
    sort: Annotated[
        SortKey,
        typer.Option(
            "--sort",
            metavar="KEY",
            help="ticker, volume, oi, funding or leverage (largest first).",
        ),
    ] = SortKey.TICKER,
    network: NetworkOption = None,
    indexer_url: IndexerOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    timeout: TimeoutOption = 5.0,
) -> None:
    """Perpetual markets: price, funding, open interest, 24 h volume, type, margin,
    max leverage, step and tick."""

    async def work() -> tuple[str, list[MarketRow], AccountTerms | None]:
        settings = load_settings(config)
        profile = resolve_profile(settings, network, indexer_url)
        account = _known_account(settings, profile)
        async with await build_reader(
            settings, profile, address=account, timeout_s=timeout
        ) as reader:
            _, stats = await asyncio.gather(
                reader.market_data.refresh(), reader.indexer.get_market_stats()
            )
            rows = [
                MarketRow(spec, stats.get(ticker))
                for ticker, spec in reader.market_data.markets().items()
            ]
            chosen = select(rows, market_options(market), sort, profile.name.value)
            terms = await _leverage_settings(reader.terms)
        if terms is not None:
            chosen = [
                dataclasses.replace(row, setting_imf_ppm=terms.custom_imf_ppm.get(row.spec.ticker))
                for row in chosen
            ]
        return profile.name.value, chosen, terms

    network_name, rows, terms = run_async(work, as_json=as_json)
    if as_json:
        typer.echo(json.dumps([market_json(row, terms is not None) for row in rows], indent=2))
    else:
        _print_markets(rows, network_name, terms is not None)


def _known_account(settings: Settings, profile: NetworkProfile) -> str | None:
    """The configured account when the markets are read on its network; None
    otherwise (the markets are shown without an account's settings)."""
    return settings.account.address if same_network(settings, profile.name) else None


async def _leverage_settings(terms: AccountTermsCache | None) -> AccountTerms | None:
    """The account's terms, or None (said on stderr) when the node cannot tell."""
    if terms is None:
        return None
    try:
        return await terms.terms()
    except DydxTraderError as error:
        console(stderr=True).print(
            f"leverage settings of {terms.address} not shown: {describe(error)}",
            highlight=False,
            markup=False,
        )
        return None


def select(
    rows: Sequence[MarketRow], tickers: Sequence[str], sort: SortKey, network: str = "this venue"
) -> list[MarketRow]:
    """``rows`` limited to ``tickers`` (all when empty), in ``sort`` order;
    :class:`InvalidInput` names any ticker the venue does not list."""
    chosen = sorted(rows, key=lambda row: row.spec.ticker)
    if tickers:
        by_ticker = {row.spec.ticker: row for row in chosen}
        require_listed(tickers, list(by_ticker), "no market", f" on {network}", "markets")
        chosen = [by_ticker[t] for t in tickers]
        chosen.sort(key=lambda row: row.spec.ticker)
    key = _SORTS.get(sort)
    if key is not None:
        # Largest first; markets without the figure go last.
        chosen.sort(key=lambda row: (key(row) is None, -(key(row) or Decimal(0))))
    return chosen


def market_json(row: MarketRow, with_account: bool = False) -> dict[str, Any]:
    """One market as JSON-ready data (decimals as plain strings, ratios to 6 places);
    ``with_account``: the known account's leverage setting and maximum too."""
    spec, stats = row.spec, row.stats
    account = {}
    if with_account:
        setting = leverage_of(row.setting_imf_ppm or 0)
        account = {
            "account_leverage_setting": fmt.json_ratio(setting),
            "account_max_leverage": fmt.json_ratio(row.account_max_leverage),
        }
    return {
        "ticker": spec.ticker,
        "status": spec.status.value,
        "market_type": spec.market_type.value,
        "oracle_price": fmt.json_decimal(spec.oracle_price),
        "next_funding_rate_1h": None
        if stats is None
        else fmt.json_decimal(stats.next_funding_rate),
        "funding_rate_annualised": None
        if stats is None
        else fmt.json_ratio(stats.annualised_funding_rate),
        "open_interest": None if stats is None else fmt.json_decimal(stats.open_interest),
        "open_interest_usdc": fmt.json_ratio(row.open_interest_usdc),
        "volume_24h_usdc": None if stats is None else fmt.json_decimal(stats.volume_24h),
        "initial_margin_fraction": fmt.json_decimal(spec.initial_margin_fraction),
        "effective_initial_margin_fraction": fmt.json_ratio(row.effective_imf),
        "maintenance_margin_fraction": fmt.json_decimal(spec.maintenance_margin_fraction),
        "max_leverage": fmt.json_ratio(row.max_leverage),
        "step_size": fmt.json_decimal(spec.step_size),
        "tick_size": fmt.json_decimal(spec.tick_size),
        **account,
    }


def _print_markets(rows: Sequence[MarketRow], network: str, with_account: bool) -> None:
    table = Table(title=f"{len(rows)} perpetual markets on {network}")
    columns: tuple[str, ...] = (
        "Market", "Type", "Status", "Oracle", "Funding 1h", "Funding APR", "Open interest",
        "OI (USDC)", "Volume 24h (USDC)", "IMF base", "IMF eff.", "Max lev.", "Step", "Tick",
    )  # fmt: skip
    if with_account:
        columns += ("Your lev. set", "Your max lev.")
    for column in columns:
        table.add_column(column, justify="left" if column in columns[:3] else "right")
    for row in rows:
        spec, stats = row.spec, row.stats
        account: tuple[str, ...] = ()
        if with_account:
            setting = leverage_of(row.setting_imf_ppm or 0)
            account = (fmt.leverage(setting, 1), fmt.leverage(row.account_max_leverage, 1))
        table.add_row(
            spec.ticker,
            spec.market_type.value,
            spec.status.value,
            fmt.price(spec.oracle_price, spec.tick_size),
            fmt.pct(None if stats is None else stats.next_funding_rate, 4),
            fmt.pct(None if stats is None else stats.annualised_funding_rate),
            fmt.size(None if stats is None else stats.open_interest, spec.step_size),
            fmt.usdc(row.open_interest_usdc),
            fmt.usdc(None if stats is None else stats.volume_24h),
            fmt.pct(spec.initial_margin_fraction),
            fmt.pct(row.effective_imf),
            fmt.leverage(row.max_leverage, 1),
            fmt.plain(spec.step_size),
            fmt.plain(spec.tick_size),
            *account,
        )
    console().print(table)
