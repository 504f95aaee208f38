"""``dydx-trader size``: what the trader would do with a signal, without doing it.

It wires the same :class:`~dydx_trader.bootstrap.Trader` that ``run`` trades
with and asks it to *preview* the signal: the balance, the sizing, the
pre-trade checks and the worst price are computed exactly as for a real
order, but nothing is journaled and nothing is sent.

The trader's journal is the configured journal opened read-only (an empty
one when there is none yet), so the kill switch's state is honoured while the
journal file is never written or created. The trader is watch-only (built
without a mnemonic): a preview signs nothing, so no secret is ever read. On
the devnet with no address the funded demo account is used; other networks
need ``--address`` (or ``[account] address`` in the config).

Exit codes: 0 the order would be placed (or HOLD: nothing to do), 1 it would
be refused or the venue could not be read, 2 bad input.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import UTC, datetime
from typing import Annotated

import typer

from dydx_trader.adapters.dydx.network import NetworkName, NetworkProfile
from dydx_trader.adapters.journal import Journal
from dydx_trader.bootstrap import build_reader, build_trader
from dydx_trader.cli._common import (
    load_settings,
    reported,
    resolve_address,
    resolve_profile,
    resolve_subaccount,
    run_async,
)
from dydx_trader.cli.options import (
    AddressOption,
    Command,
    ConfigOption,
    GrpcOption,
    IndexerOption,
    JsonOption,
    NetworkOption,
    SubaccountOption,
)
from dydx_trader.cli.signal_cmd import (
    ActionArgument,
    ConfidenceOption,
    FractionOption,
    MarketArgument,
    NotionalOption,
    StopOption,
    TakeProfitOption,
)
from dydx_trader.cli.size_view import Preview, preview_json, print_preview
from dydx_trader.config import Settings
from dydx_trader.domain.errors import InvalidInput, UnknownMarket, VenueUnavailable
from dydx_trader.domain.market import MarketSpec
from dydx_trader.domain.side import Side
from dydx_trader.domain.signal import Signal, SignalSource, SizingHint

# The whole preview (connect, read markets and balance, decide) must end within this.
DEFAULT_TIMEOUT_S = 20.0


def register(app: typer.Typer) -> None:
    app.command("size", cls=Command)(size_command)


def size_command(
    action: ActionArgument,
    market: MarketArgument,
    confidence: ConfidenceOption = "1",
    stop: StopOption = None,
    take_profit: TakeProfitOption = None,
    notional: NotionalOption = None,
    fraction: FractionOption = None,
    network: NetworkOption = None,
    address: AddressOption = None,
    subaccount: SubaccountOption = None,
    indexer_url: IndexerOption = None,
    grpc: GrpcOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", metavar="SECONDS", min=0.5, max=300, help="Seconds for the whole preview."
        ),
    ] = DEFAULT_TIMEOUT_S,
) -> None:
    """Preview the order a signal would give: size, quantums, worst price, notional
    and order type, with its protection (stop-loss, take-profit, the liquidation
    price after the fill, the loss at the stop), or the reason it would be refused.
    Nothing is journaled or sent."""
    with reported(as_json=as_json):
        signal = Signal.create(
            market=market,
            action=action,
            confidence=confidence,
            source=SignalSource.CLI,
            strategy="manual",
            created_at=datetime.now(UTC),
            stop_loss=stop,
            take_profit=take_profit,
            sizing=SizingHint.from_options(notional, fraction),
        )
        settings = load_settings(config)
    preview = run_async(
        lambda: _preview(
            settings, signal, network, address, subaccount, indexer_url, grpc, timeout
        ),
        as_json=as_json,
    )
    if as_json:
        typer.echo(json.dumps(preview_json(preview), indent=2))
    else:
        print_preview(preview)
    refused = preview.result.decision is not None and not preview.accepted
    if refused or not preview.validation.accepted:
        raise typer.Exit(1)


async def _preview(
    settings: Settings,
    signal: Signal,
    network: NetworkName | None,
    address: str | None,
    subaccount: int | None,
    indexer_url: str | None,
    grpc: str | None,
    timeout: float,
) -> Preview:
    profile = resolve_profile(settings, network, indexer_url, grpc)
    who = resolve_address(settings, profile, address)
    number = resolve_subaccount(settings, subaccount)
    # Read-only: the kill switch's state is honoured, nothing is ever written.
    path = settings.journal.resolved_path()
    with Journal.open(path, read_only=True, missing_ok=True) as journal:
        try:
            async with asyncio.timeout(timeout):
                spec = await _market(settings, profile, signal.market, timeout)
                _check_stop_side(signal, spec)
                # No mnemonic: a watch-only trader, which previews but cannot sign.
                trader = await build_trader(
                    settings, profile, address=who, mnemonic=None,
                    subaccount_number=number, journal=journal,
                )  # fmt: skip
                try:
                    await trader.start(follow_streams=False)
                    result = await trader.preview(signal, timeout_s=timeout)
                    # The validator is fresh (no rate or cooldown history): it checks
                    # the signal itself (confidence, market, age) as `run` would.
                    validation = trader.validate(signal)
                finally:
                    await trader.stop()
        except TimeoutError:
            raise VenueUnavailable(
                f"no answer from {profile.name.value} ({profile.indexer_url}, "
                f"{profile.grpc_address}) within {timeout:g} s",
                timeout_s=str(timeout),
            ) from None
    return Preview(result, validation, profile.name, who, number, spec)


async def _market(
    settings: Settings, profile: NetworkProfile, ticker: str, timeout: float
) -> MarketSpec | None:
    """The market's spec from the venue; None when it lists no such market (the
    preview then says so, with the reason)."""
    async with await build_reader(settings, profile, timeout_s=min(timeout, 120)) as reader:
        try:
            return await reader.indexer.get_market(ticker)
        except UnknownMarket:
            return None


def _check_stop_side(signal: Signal, spec: MarketSpec | None) -> None:
    """Refuse a stop on the wrong side of the market's price, as ``signal`` and the
    webhook refuse one on the wrong side of the signal's price."""
    price = None if spec is None else spec.oracle_price
    if signal.stop_loss is None or price is None:
        return
    try:
        dataclasses.replace(signal, reference_price=price)
    except InvalidInput:
        below = signal.side is Side.BUY
        raise InvalidInput(
            f"--stop {signal.stop_loss} is on the wrong side: a {signal.action.value}'s stop-loss "
            f"must be {'below' if below else 'above'} the price ({signal.market} oracle "
            f"{price})",
            field="stop_loss",
            stop_loss=signal.stop_loss,
            price=price,
        ) from None
