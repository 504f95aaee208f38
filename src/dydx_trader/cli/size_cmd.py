"""``dydx-trader size``: what the trader would do with a signal, without doing it.

It wires the same :class:`~dydx_trader.bootstrap.Trader` that ``run`` trades
with and asks it to *preview* the signal: the balance, the sizing, the
pre-trade checks and the worst price are computed exactly as for a real
order, but nothing is journaled and nothing is sent.

The trader's journal is a private scratch copy (in a temporary folder) of the
configured journal, so the kill switch's state is honoured while the real
journal file is never opened for writing. The trader is watch-only (built
without a mnemonic): a preview signs nothing, so no secret is ever read. On
the devnet with no address the funded demo account is used; other networks
need ``--address`` (or ``[account] address`` in the config).

Exit codes: 0 the order would be placed (or HOLD: nothing to do), 1 it would
be refused or the venue could not be read, 2 bad input.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from dydx_trader.adapters.dydx.indexer import check_address
from dydx_trader.adapters.dydx.network import NetworkName, NetworkProfile, network_profile
from dydx_trader.app.account_actor import TradeResult
from dydx_trader.app.validation import ValidationResult
from dydx_trader.bootstrap import build_trader
from dydx_trader.config import Settings, discover_config_path, load_config
from dydx_trader.domain.decision import Outcome
from dydx_trader.domain.errors import (
    DydxTraderError,
    InvalidInput,
    VenueUnavailable,
)
from dydx_trader.domain.signal import Signal, SignalSource, SizingHint
from dydx_trader.secrets import install_log_redaction

# The whole preview (connect, read markets and balance, decide) must end within this.
DEFAULT_TIMEOUT_S = 20.0


@dataclass(frozen=True, slots=True)
class Preview:
    """What ``size`` found: the validator's verdict and the flow's decision."""

    result: TradeResult
    validation: ValidationResult
    network: NetworkName
    address: str
    subaccount_number: int

    @property
    def accepted(self) -> bool:
        """True when a submit would send an order (validation passed and sizing accepted)."""
        decision = self.result.decision
        return (
            self.validation.accepted
            and decision is not None
            and decision.outcome is Outcome.ACCEPTED
        )

    @property
    def notional(self) -> Decimal | None:
        """USDC at the worst price (size x price), or None when refused."""
        decision = self.result.decision
        if decision is None or decision.size is None or decision.price is None:
            return None
        return decision.size * decision.price


def register(app: typer.Typer) -> None:
    app.command("size")(size_command)


def size_command(
    action: Annotated[str, typer.Argument(help="BUY, SELL, CLOSE or HOLD.")],
    market: Annotated[str, typer.Argument(help="Market ticker, e.g. ETH-USD.")],
    confidence: Annotated[str, typer.Option(help="Confidence in [0, 1].")] = "1",
    stop: Annotated[str | None, typer.Option(help="Stop-loss price, USDC.")] = None,
    notional: Annotated[
        str | None, typer.Option(help="Sizing hint: position notional in USDC.")
    ] = None,
    fraction: Annotated[
        str | None, typer.Option(help="Sizing hint: fraction of equity in (0, 1].")
    ] = None,
    network: Annotated[
        NetworkName | None,
        typer.Option(
            "--network", help="devnet (local), testnet or mainnet (default: the config's)."
        ),
    ] = None,
    address: Annotated[
        str | None,
        typer.Option(help="dydx1... address (default: the config's; on devnet the demo account)."),
    ] = None,
    subaccount: Annotated[
        int | None,
        typer.Option(
            "--subaccount",
            min=0,
            max=128_000,
            help="Subaccount number (default: the config's, else 0).",
        ),
    ] = None,
    indexer_url: Annotated[
        str | None, typer.Option("--indexer-url", help="Override the indexer REST URL.")
    ] = None,
    grpc: Annotated[
        str | None, typer.Option("--grpc", help="Override the node gRPC address (host:port).")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", help="Config file (default: $DYDX_TRADER_CONFIG or ./dydx-trader.toml)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (decimals as text).")] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.5, max=300, help="Seconds for the whole preview.")
    ] = DEFAULT_TIMEOUT_S,
) -> None:
    """Preview the order a signal would give: size, quantums, worst price, notional,
    or the reason it would be refused. Nothing is journaled or sent."""
    install_log_redaction()
    try:
        signal = _signal(action, market, confidence, stop, notional, fraction)
        settings = load_config(config or discover_config_path())
        preview = asyncio.run(
            _preview(settings, signal, network, address, subaccount, indexer_url, grpc, timeout)
        )
    except InvalidInput as error:
        _fail(str(error), 2)
    except DydxTraderError as error:
        hint = ""
        if isinstance(error, VenueUnavailable) and "127.0.0.1" in error.message:
            hint = " (is the devnet running? start it with `dydx-trader devnet`)"
        _fail(f"{error}{hint}", 1)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except Exception as error:  # noqa: BLE001 - the CLI never shows a traceback
        _fail(f"unexpected error: {type(error).__name__}: {error}", 1)
    if as_json:
        typer.echo(json.dumps(preview_json(preview), indent=2))
    else:
        _print_preview(preview)
    refused = preview.result.decision is not None and not preview.accepted
    if refused or not preview.validation.accepted:
        raise typer.Exit(1)


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _signal(
    action: str,
    market: str,
    confidence: str,
    stop: str | None,
    notional: str | None,
    fraction: str | None,
) -> Signal:
    sizing = SizingHint.from_options(notional, fraction)
    return Signal.create(
        market=market,
        action=action,
        confidence=confidence,
        source=SignalSource.CLI,
        strategy="manual",
        created_at=datetime.now(UTC),
        stop_loss=stop,
        sizing=sizing,
    )


# -- wiring ---------------------------------------------------------------------------


def _profile(
    settings: Settings, network: NetworkName | None, indexer_url: str | None, grpc: str | None
) -> NetworkProfile:
    """Command-line endpoints over the config's (which apply only to the config's network)."""
    configured = settings.network
    same = network is None or network is configured.name
    return network_profile(
        configured.name if network is None else network,
        indexer_url=indexer_url or (configured.indexer_url if same else None),
        websocket_url=configured.websocket_url if same else None,
        grpc_address=grpc or (configured.grpc_address if same else None),
    )


def _account(profile: NetworkProfile, address: str | None) -> str:
    """The address to preview for: the given one, else the devnet's demo account."""
    if address is None and profile.name is NetworkName.DEVNET:
        # The CLI may wire the devnet's demo account; nothing else imports dydx_devnet.
        try:
            address = str(importlib.import_module("dydx_devnet.demo").DEMO_ADDRESS)
        except (ImportError, AttributeError):
            address = None
    if address is None:
        raise InvalidInput(
            f"--address is required on {profile.name.value} (or set [account] address in config)",
            field="address",
        )
    check_address(address)
    return address


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
    profile = _profile(settings, network, indexer_url, grpc)
    same = network is None or network is settings.network.name
    who = _account(profile, address or (settings.account.address if same else None))
    number = settings.account.subaccount_number if subaccount is None else subaccount
    with _scratch_journal(settings.journal.resolved_path()) as scratch:
        scratch_settings = settings.model_copy(
            update={"journal": settings.journal.model_copy(update={"path": scratch})}
        )
        try:
            async with asyncio.timeout(timeout):
                # No mnemonic: a watch-only trader, which previews but cannot sign.
                trader = await build_trader(
                    scratch_settings, profile, address=who, mnemonic=None,
                    subaccount_number=number,
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
    return Preview(result, validation, profile.name, who, number)


@contextlib.contextmanager
def _scratch_journal(source: Path) -> Iterator[Path]:
    """A private copy of the journal at ``source`` (empty if it has none), deleted after.

    The copy is read through SQLite in read-only mode, so the real journal is
    never written, even by the trader's start-up reconciliation.
    """
    with tempfile.TemporaryDirectory(prefix="dydx-trader-size-") as folder:
        target = Path(folder) / "journal.sqlite3"
        if source.is_file():
            _copy_journal(source, target)
        yield target


def _copy_journal(source: Path, target: Path) -> None:
    try:
        reader = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            writer = sqlite3.connect(target)
            try:
                reader.backup(writer)
            finally:
                writer.close()
        finally:
            reader.close()
    except sqlite3.Error:
        # A read-only connection may be refused (e.g. a WAL journal in a read-only
        # folder); a plain file copy is a consistent enough snapshot for a preview.
        target.unlink(missing_ok=True)
        shutil.copyfile(source, target)
        wal = source.with_name(source.name + "-wal")
        if wal.is_file():
            shutil.copyfile(wal, target.with_name(target.name + "-wal"))


# -- output ---------------------------------------------------------------------------


def preview_json(preview: Preview) -> dict[str, Any]:
    """The preview as JSON-ready data; every decimal is a string (exact)."""
    result, validation = preview.result, preview.validation
    rejection = validation.rejection
    decision = result.decision
    intent = result.intent
    notional = preview.notional
    return {
        "network": preview.network.value,
        "address": preview.address,
        "subaccount": preview.subaccount_number,
        "signal": result.signal.to_dict(),
        "would_trade": preview.accepted,
        "validation": {
            "accepted": validation.accepted,
            "rejected_by": None if rejection is None else rejection.rule.value,
            "summary": validation.summary,
        },
        "outcome": None if decision is None else decision.outcome.value,
        "side": None if decision is None or decision.side is None else decision.side.value,
        "size": None if decision is None or decision.size is None else str(decision.size),
        "quantums": None if decision is None else decision.quantums,
        "worst_price": None if decision is None or decision.price is None else str(decision.price),
        "notional": None if notional is None else str(notional),
        "subticks": None if intent is None else intent.subticks,
        "good_til_block": None if intent is None else intent.good_til_block,
        "error_code": None if decision is None else decision.error_code,
        "message": result.validation if decision is None else decision.message,
        "numbers": {} if decision is None else dict(decision.numbers),
        "arithmetic": [] if decision is None else [list(line) for line in decision.arithmetic],
    }


def _print_preview(preview: Preview) -> None:
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)  # piped: do not squeeze the table to 80 columns
    data = preview_json(preview)
    decision = preview.result.decision
    signal = preview.result.signal
    table = Table(
        title=f"size {signal.action.value} {signal.market}: preview, nothing sent",
        caption=f"{preview.network.value} {preview.address}/{preview.subaccount_number}",
    )
    table.add_column("")
    table.add_column("value", justify="right")
    if decision is not None:
        for label, value in decision.arithmetic:
            table.add_row(escape(label), escape(value))
    if data["outcome"] == Outcome.ACCEPTED.value:
        table.add_row("[bold]side[/bold]", str(data["side"]))
        table.add_row("[bold]size[/bold]", f"{data['size']} ({data['quantums']} quantums)")
        table.add_row("[bold]worst price[/bold]", f"{data['worst_price']} USDC")
        table.add_row("[bold]notional at worst price[/bold]", f"{data['notional']} USDC")
    if table.row_count:
        console.print(table)
    validation = preview.validation
    if decision is None:
        console.print(f"nothing to trade: {escape(preview.result.validation)}", highlight=False)
    elif decision.outcome is Outcome.REFUSED:
        console.print(f"[red]refused: {escape(decision.reason)}[/red]", highlight=False)
    elif validation.accepted:
        console.print(f"[green]would place: {escape(decision.reason)}[/green]", highlight=False)
    else:
        console.print(f"sizing alone gives: {escape(decision.reason)}", highlight=False)
    if not validation.accepted:
        summary = escape(validation.summary)
        console.print(f"[red]refused by validation: {summary}[/red]", highlight=False)
