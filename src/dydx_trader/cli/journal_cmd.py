"""``dydx-trader journal`` and ``dydx-trader trading-state``: read the journal, switch the state.

Both use ``--journal PATH``, else the path in the config file
(``$DYDX_TRADER_CONFIG`` or ``./dydx-trader.toml``), else the default under the
user's data directory. Both print the journal they resolved and whether a live
trader holds it, so a kill switch never lands in the wrong file unnoticed; a
journal that does not exist is refused, never created (``trading-state
--create`` creates one on purpose). Reading opens the journal read-only: it
never waits for, or blocks, the trader's writes. Failures are one readable
line on stderr and exit code 1.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from dydx_trader.adapters.instance_lock import journal_holders
from dydx_trader.adapters.journal import Journal, TradingStateRecord
from dydx_trader.cli.journal_view import (
    decision_json,
    decisions_table,
    foreign_json,
    foreign_table,
    holder_line,
    holders_json,
    order_json,
    orders_table,
    state_json,
    state_line,
)
from dydx_trader.config import discover_config_path, load_config
from dydx_trader.domain.errors import DydxTraderError
from dydx_trader.domain.trading_state import Authority, TradingState

JournalOption = Annotated[
    Path | None,
    typer.Option("--journal", help="Journal file (default: from the config, else the data dir)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (decimals as strings).")]


class StateChoice(StrEnum):
    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"
    FLATTEN = "flatten"


# ``flatten`` names the action; the state it sets is FLATTENING (then HALTED once flat).
_STATE_OF: dict[StateChoice, TradingState] = {
    StateChoice.ACTIVE: TradingState.ACTIVE,
    StateChoice.REDUCING: TradingState.REDUCING,
    StateChoice.HALTED: TradingState.HALTED,
    StateChoice.FLATTEN: TradingState.FLATTENING,
}


def _fail(message: str) -> NoReturn:
    Console(stderr=True).print(f"[red]error:[/red] {message}", highlight=False, markup=True)
    raise typer.Exit(1)


def _journal_path(explicit: Path | None) -> Path:
    """The journal the command means, made absolute (so the operator sees which one)."""
    path = explicit if explicit is not None else (
        load_config(discover_config_path()).journal.resolved_path()
    )  # fmt: skip
    return path.expanduser().resolve()


def _existing(path: Path) -> Path:
    """``path`` if a journal file is there; else one line and exit 1 (never create it)."""
    if not path.is_file():
        _fail(f"there is no journal at {path}; check --journal or journal.path in the config")
    return path


def _read(path: Path, limit: int, listing: str, in_flight: bool) -> list[Any]:
    with Journal.open(path, read_only=True) as journal:
        if listing == "foreign":
            return list(journal.foreign_activity(limit))
        if listing == "orders":
            return list(journal.order_reports(limit, in_flight_only=in_flight))
        return list(journal.decision_reports(limit))


_JSON: dict[str, Callable[[Any], dict[str, Any]]] = {
    "decisions": decision_json,
    "orders": order_json,
    "foreign": foreign_json,
}


def _show_or_set(path: Path, state: StateChoice | None, reason: str) -> TradingStateRecord:
    if state is None:
        with Journal.open(path, read_only=True) as journal:
            return journal.get_trading_state()
    with Journal.open(path) as journal:
        return journal.set_trading_state(_STATE_OF[state], reason, Authority.OPERATOR, source="cli")


def register(app: typer.Typer) -> None:
    @app.command("journal")
    def journal(
        limit: Annotated[
            int, typer.Option("--limit", "-n", min=1, max=10_000, help="How many.")
        ] = 20,
        arithmetic: Annotated[
            bool, typer.Option("--arithmetic", help="Show each decision's arithmetic too.")
        ] = False,
        orders: Annotated[
            bool,
            typer.Option("--orders", help="Orders: state, filled/size, good-til-block, fills."),
        ] = False,
        in_flight: Annotated[
            bool, typer.Option("--in-flight", help="Only orders whose outcome is still open.")
        ] = False,
        foreign: Annotated[
            bool,
            typer.Option(
                "--foreign",
                help="Orders and fills this trader did not place: another client's, and "
                "liquidation and deleveraging fills.",
            ),
        ] = False,
        journal_path: JournalOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """List recent decisions (with their order's state), orders, or foreign activity."""
        listing = "foreign" if foreign else "orders" if orders or in_flight else "decisions"
        try:
            path = _existing(_journal_path(journal_path))
            rows = _read(path, limit, listing, in_flight)
            holders = journal_holders(path)
        except DydxTraderError as error:
            _fail(str(error))
        if as_json:
            convert = _JSON[listing]
            document = {"journal": str(path), "live_traders": holders_json(holders),
                        listing: [convert(row) for row in rows]}  # fmt: skip
            typer.echo(json.dumps(document, indent=2))
            return
        console = Console()
        console.print(holder_line(path, holders), highlight=False, markup=False)
        if not rows:
            empty = "No orders in flight." if in_flight else f"No {listing} yet."
            if listing == "foreign":
                empty = "No foreign activity: this trader placed everything on the subaccount."
            console.print(empty)
        elif listing == "foreign":
            console.print(foreign_table(rows))
        elif listing == "orders":
            title = "Orders in flight (newest first)" if in_flight else "Orders (newest first)"
            console.print(orders_table(rows, title))
        else:
            console.print(decisions_table(rows))
            if arithmetic:
                for report in rows:
                    decision = report.decision
                    console.print(f"\n[bold]{decision.signal_id}[/bold] {decision.reason}")
                    for label, value in decision.arithmetic:
                        console.print(f"  {label}: {value}", highlight=False, markup=False)

    @app.command("trading-state")
    def trading_state(
        state: Annotated[
            StateChoice | None,
            typer.Argument(
                help="Switch to this state; omit to show the current one.", case_sensitive=False
            ),
        ] = None,
        reason: Annotated[
            str, typer.Option("--reason", help="Why (kept in the journal).")
        ] = "set by the operator from the CLI",
        create: Annotated[
            bool,
            typer.Option("--create", help="Create the journal if it does not exist yet."),
        ] = False,
        journal_path: JournalOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Show or switch the persisted trading state (active, reducing, halted), or
        flatten: close every position with reduce-only IOC orders, then halt."""
        try:
            path = _journal_path(journal_path)
            if not create:
                _existing(path)
            record = _show_or_set(path, state, reason)
            holders = journal_holders(path)
        except DydxTraderError as error:
            _fail(str(error))
        if as_json:
            document: dict[str, Any] = {**state_json(record), "journal": str(path),
                                        "live_traders": holders_json(holders)}  # fmt: skip
            typer.echo(json.dumps(document, indent=2))
            return
        console = Console()
        console.print(holder_line(path, holders), highlight=False, markup=False)
        console.print(state_line(record), highlight=False)
        if state is not None and not holders:
            # Said out loud: a switch written where no trader reads is the wrong-journal slip.
            console.print(
                "note: no running trader uses this journal; the state applies when "
                "`dydx-trader run` starts with it",
                highlight=False,
            )
