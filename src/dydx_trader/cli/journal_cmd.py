"""``dydx-trader journal`` and ``dydx-trader trading-state``: read the journal, switch the state.

Both use ``--journal PATH``, else the path in the config file
(``$DYDX_TRADER_CONFIG`` or ``./dydx-trader.toml``), else the default under the
user's data directory. Failures are one readable line on stderr and exit code 1.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from dydx_trader.adapters.journal import Journal, TradingStateRecord
from dydx_trader.config import discover_config_path, load_config
from dydx_trader.domain.decision import Decision, Outcome
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


def _fail(message: str) -> NoReturn:
    Console(stderr=True).print(f"[red]error:[/red] {message}", highlight=False, markup=True)
    raise typer.Exit(1)


def _journal_path(explicit: Path | None) -> Path:
    if explicit is not None:
        return explicit
    return load_config(discover_config_path()).journal.resolved_path()


def _decisions_table(decisions: list[Decision]) -> Table:
    table = Table(title="Recent decisions (newest first)")
    for column in ("decided at (UTC)", "signal", "market", "outcome", "reason"):
        table.add_column(column, overflow="fold")
    for decision in decisions:
        colour = "green" if decision.outcome is Outcome.ACCEPTED else "red"
        table.add_row(
            decision.decided_at.strftime("%Y-%m-%d %H:%M:%S"),
            decision.signal_id,
            decision.market,
            f"[{colour}]{decision.outcome.value}[/{colour}]",
            decision.reason,
        )
    return table


def _state_view(record: TradingStateRecord) -> dict[str, str | None]:
    return {
        "state": record.state.value,
        "reason": record.reason,
        "set_by": record.authority.value,
        "since": None if record.at is None else record.at.isoformat(),
    }


def _show_or_set(path: Path, state: StateChoice | None, reason: str) -> TradingStateRecord:
    with Journal.open(path) as opened:
        if state is None:
            return opened.get_trading_state()
        return opened.set_trading_state(
            TradingState(state.value.upper()), reason, Authority.OPERATOR
        )


def register(app: typer.Typer) -> None:
    @app.command("journal")
    def journal(
        limit: Annotated[
            int, typer.Option("--limit", "-n", min=1, max=10_000, help="How many.")
        ] = 20,
        arithmetic: Annotated[
            bool, typer.Option("--arithmetic", help="Show each decision's arithmetic too.")
        ] = False,
        journal_path: JournalOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """List recent decisions and their reasons."""
        try:
            path = _journal_path(journal_path)
            if not path.exists():
                decisions: list[Decision] = []
            else:
                with Journal.open(path) as opened:
                    decisions = opened.recent_decisions(limit)
        except DydxTraderError as error:
            _fail(str(error))
        if as_json:
            typer.echo(json.dumps([d.to_dict() for d in decisions], indent=2))
            return
        console = Console()
        if not decisions:
            console.print(f"No decisions yet in {path}.", highlight=False)
            return
        console.print(_decisions_table(decisions))
        if arithmetic:
            for decision in decisions:
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
        journal_path: JournalOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Show or switch the persisted trading state (active, reducing, halted)."""
        try:
            path = _journal_path(journal_path)
            if state is None and not path.exists():
                record = TradingStateRecord(
                    TradingState.ACTIVE, f"no journal at {path} yet", Authority.OPERATOR, None
                )
            else:
                record = _show_or_set(path, state, reason)
        except DydxTraderError as error:
            _fail(str(error))
        if as_json:
            typer.echo(json.dumps(_state_view(record), indent=2))
            return
        since = "" if record.at is None else f" since {record.at:%Y-%m-%d %H:%M:%S} UTC"
        Console().print(
            f"Trading state: [bold]{record.state.value}[/bold]{since} "
            f"({record.authority.value}: {record.reason})",
            highlight=False,
        )
