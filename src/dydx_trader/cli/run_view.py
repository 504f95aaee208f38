"""What ``dydx-trader run`` shows: the live view (positions, decisions with their
orders' outcomes, orders and fills), the plain lines, and the closing report's
tables (read from ``summary.json``'s content)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from dydx_trader.app.account_messages import TradeResult
from dydx_trader.app.protection import ProtectionStatus
from dydx_trader.app.session import SessionStats
from dydx_trader.cli import formatting as fmt
from dydx_trader.domain.decision import Outcome
from dydx_trader.domain.trading_state import TradingState
from dydx_trader.report.summary import OpenPosition

# A plain line never wraps on an 80-column terminal.
PLAIN_WIDTH = 79


def result_line(result: TradeResult) -> str:
    """One signal's outcome in one line, for the run's log."""
    signal, decision = result.signal, result.decision
    head = f"signal {signal.id} {signal.action.value} {signal.market} ({signal.strategy})"
    if decision is None:
        return f"{head}: {result.validation}"
    if decision.outcome is Outcome.REFUSED:
        return f"{head}: refused: {decision.reason}"
    state = "not sent" if result.order is None else result.order.state.value
    return f"{head}: {decision.reason} -> {state}"


def protection_cell(protection: ProtectionStatus, market: str) -> str:
    """``stop / take-profit (n live)``: the levels and the protective orders on the chain."""
    levels = protection.levels.get(market)
    live = len(protection.orders.get(market, ()))
    if levels is None:
        return f"- ({live} live)" if live else "-"
    stop, take = fmt.number(levels.stop_loss, 6), fmt.number(levels.take_profit, 6)
    return f"{stop} / {take} ({live} live)"


def plain_line(text: str) -> str:
    """``text`` on one line of at most :data:`PLAIN_WIDTH` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= PLAIN_WIDTH else flat[: PLAIN_WIDTH - 1] + "~"


def progress_line(stats: SessionStats, now: datetime) -> str:
    """The daily status line of a plain session."""
    risk = stats.last_risk
    equity = fmt.usdc(risk.equity if risk else None)
    lev = fmt.leverage(risk.leverage or Decimal(0) if risk else None)
    return plain_line(
        f"{now:%Y-%m-%d %H:%M} equity {equity} lev {lev} signals {stats.signals} "
        f"fills {stats.fills} refused {sum(stats.rejections.values())}"
    )


def live_view(
    stats: SessionStats,
    *,
    chain_time: datetime | None,
    state: TradingState,
    title: str,
    protection: ProtectionStatus | None = None,
) -> Group:
    """One frame of the live view; ``protection`` adds each position's stop-loss /
    take-profit and how many protective orders are live on the chain."""
    risk = stats.last_risk
    header = Table.grid(padding=(0, 2))
    for _ in range(4):
        header.add_column(no_wrap=True)
    header.add_row(
        f"[bold]time[/] {chain_time:%Y-%m-%d %H:%M}" if chain_time else "[bold]time[/] -",
        f"[bold]equity[/] {fmt.usdc(risk.equity if risk else None)}",
        f"[bold]lev[/] {fmt.leverage(risk.leverage or Decimal(0) if risk else None)}",
        f"[bold]margin[/] {fmt.pct(risk.margin_usage or Decimal(0) if risk else None, 1)}",
    )
    liquidated = f" [bold red]liquidations[/] {n}" if (n := len(stats.liquidations)) else ""
    header.add_row(
        f"[bold]state[/] {state.value}",
        f"[bold]signals[/] {stats.signals}",
        f"[bold]orders[/] {stats.orders_sent} [bold]fills[/] {stats.fills}",
        f"[bold]refused[/] {sum(stats.rejections.values())}{liquidated}",
    )

    positions = Table(title="positions", expand=True)
    columns = ["market", "size", "entry", "oracle", "notional", "uPnL", "liq. price"]
    for column in [*columns, "stop / take-profit"] if protection else columns:
        positions.add_column(column, justify="right", no_wrap=True, overflow="ellipsis")
    for position in risk.positions if risk else ():
        protected = () if protection is None else (protection_cell(protection, position.market),)
        positions.add_row(
            position.market,
            fmt.number(position.size),
            fmt.number(position.entry_price, 6),
            fmt.number(position.oracle_price, 6),
            fmt.usdc(position.notional),
            fmt.usdc(position.unrealized_pnl),
            fmt.number(position.liquidation_price, 6),
            *protected,
        )

    decisions = Table(title="decisions", expand=True)
    for column in ("time", "strategy", "decision", "outcome"):
        decisions.add_column(column, no_wrap=True, overflow="ellipsis")
    for line in stats.recent:
        decisions.add_row(
            f"{line.at:%m-%d %H:%M}",
            line.strategy,
            line.text,
            f"{line.state} {line.fill}".strip(),
        )
    orders = Table(title="orders and fills", expand=True, show_header=False)
    orders.add_column("event", no_wrap=True, overflow="ellipsis")
    for event in stats.events:
        orders.add_row(event)
    return Group(Panel(header, title=title), positions, decisions, orders)


def summary_tables(summary: Mapping[str, object]) -> list[Table]:
    """The closing report: the session, round trips, per market, per strategy,
    and rejections (from ``summary.json``'s content)."""
    s = _Reader(summary)
    main = Table(title="session report", show_header=False)
    main.add_column("what", style="bold")
    main.add_column("value", justify="right")
    window = f"{s.text('data_start')} -> {s.text('data_end')}"
    rows = [
        ("data", window if s.get("data_start") else "live"),
        ("equity start -> end",
         f"{s.usdc('equity', 'start_usdc')} -> {s.usdc('equity', 'end_usdc')} USDC"),
        ("total return", s.pct("equity", "return")),
        ("PnL total", f"{s.usdc('pnl', 'total_usdc')} USDC"),
        ("  realized (closed, before fees)", f"{s.usdc('pnl', 'realized_usdc')} USDC"),
        ("  unrealized (open positions)", f"{s.usdc('pnl', 'unrealized_usdc')} USDC"),
        ("  funding", f"{s.usdc('pnl', 'funding_usdc')} USDC"),
        ("  fees", f"-{s.usdc('pnl', 'fees_usdc')} USDC"),
        ("max drawdown",
         f"{s.usdc('drawdown', 'max_usdc')} USDC ({s.pct('drawdown', 'max')}) "
         f"{s.text('drawdown', 'from')} -> {s.text('drawdown', 'to')}"),
        ("Sharpe", f"{s.text('sharpe', 'value')} ({s.text('sharpe', 'period')})"),
        ("max leverage / margin usage",
         f"{s.text('equity', 'max_leverage')}x / {s.pct('equity', 'max_margin_usage')}"),
        ("signals / orders / fills",
         f"{s.text('signals')} / {s.text('orders_sent')} / {s.text('fills')}"),
        ("liquidations", _liquidations_text(s)),
        ("round trips (win rate, profit factor)",
         f"{s.text('round_trips', 'count')} ({s.pct('round_trips', 'win_rate')}, "
         f"{s.text('round_trips', 'profit_factor')})"),
        ("  exits by reason", ", ".join(
            f"{reason} {count}"
            for reason, count in s.mapping("round_trips", "exits_by_reason").items()
        ) or "none"),
    ]  # fmt: skip
    for market, change in sorted(s.mapping("buy_and_hold").items()):
        rows.append((f"buy and hold {market}", _pct_text(change)))
    for outcome, count in sorted(s.mapping("order_outcomes").items()):
        rows.append((f"orders {_outcome_name(outcome)}", str(count)))
    for reason, count in sorted(s.mapping("rejections_by_reason").items()):
        rows.append((f"refused: {reason}", str(count)))
    for what, value in rows:
        main.add_row(what, value)
    tables = [main]
    for key, title in (("by_market", "per market"), ("by_strategy", "per strategy")):
        table = _breakdown(s.mapping(key), title)
        if table is not None:
            tables.append(table)
    return tables


def open_positions_table(positions: Sequence[OpenPosition]) -> Table:
    table = Table(title="positions still open")
    for column in ("market", "size", "entry", "oracle", "uPnL"):
        table.add_column(column, justify="right")
    for p in positions:
        table.add_row(
            p.market,
            fmt.number(p.size),
            fmt.number(p.entry_price, 6),
            fmt.number(p.oracle_price, 6),
            fmt.usdc(p.unrealized_pnl),
        )
    return table


def _breakdown(rows: Mapping[str, object], title: str) -> Table | None:
    if not rows:
        return None
    table = Table(title=title)
    columns = ("fills", "round_trips", "win_rate", "realized_pnl_usdc", "fees_usdc")
    extra = ("signals", "accepted", "refused") if title == "per strategy" else ()
    table.add_column("name")
    for column in (*extra, *columns):
        table.add_column(column.replace("_usdc", "").replace("_", " "), justify="right")
    for name, row in sorted(rows.items()):
        values = row if isinstance(row, Mapping) else {}
        cells = []
        for column in (*extra, *columns):
            value = values.get(column)
            if column == "win_rate":
                cells.append(_pct_text(value))
            elif column.endswith("_usdc"):
                cells.append(fmt.usdc(Decimal(str(value))) if value is not None else "-")
            else:
                cells.append("-" if value is None else str(value))
        table.add_row(name, *cells)
    return table


def _liquidations_text(s: _Reader) -> str:
    """``none``, or ``2 fills (LIQUIDATED 2) in BTC-USD, 7,000.00 USDC traded,
    12.50 USDC to the insurance fund``."""
    count = s.get("liquidations", "fills")
    if not count:
        return "none"
    kinds = ", ".join(f"{kind} {n}" for kind, n in s.mapping("liquidations", "by_type").items())
    markets = s.get("liquidations", "markets")
    where = ", ".join(str(m) for m in markets) if isinstance(markets, list) else "-"
    return (
        f"{count} fills ({kinds}) in {where}, {s.usdc('liquidations', 'volume_usdc')} USDC "
        f"traded, {s.usdc('liquidations', 'insurance_fund_usdc')} USDC to the insurance fund"
    )


def _outcome_name(state: str) -> str:
    # "BEST_EFFORT_CANCELED" is chain jargon for an IOC that did not fill.
    return "not filled (IOC canceled)" if state == "BEST_EFFORT_CANCELED" else state


def _pct_text(value: object) -> str:
    return "-" if value is None else fmt.pct(Decimal(str(value)))


class _Reader:
    """Typed reads of the summary's nested values."""

    def __init__(self, summary: Mapping[str, object]) -> None:
        self._summary = summary

    def get(self, *path: str) -> object:
        value: object = self._summary
        for key in path:
            value = value.get(key) if isinstance(value, Mapping) else None
        return value

    def text(self, *path: str) -> str:
        value = self.get(*path)
        return "-" if value is None else str(value)

    def usdc(self, *path: str) -> str:
        value = self.get(*path)
        return "-" if value is None else fmt.usdc(Decimal(str(value)))

    def pct(self, *path: str) -> str:
        return _pct_text(self.get(*path))

    def mapping(self, *path: str) -> Mapping[str, object]:
        value = self.get(*path)
        return value if isinstance(value, Mapping) else {}


def live_screen(
    show_live: bool, console: Console
) -> contextlib.AbstractContextManager[Live | None]:
    """The live view's screen (refreshed four times a second), or nothing with
    ``--plain``."""
    if show_live:
        return Live(console=console, refresh_per_second=4, transient=False)
    return contextlib.nullcontext()


def pacer(speed: float | None) -> Callable[[float], Awaitable[None]]:
    """Waits so that ``market_s`` market seconds take at least ``market_s / speed``
    wall seconds (``--speed``); with no speed it only yields to the event loop."""
    began = time.monotonic()

    async def pace(market_s: float) -> None:
        wait = 0.0 if not speed else market_s / speed - (time.monotonic() - began)
        await asyncio.sleep(max(0.0, wait))

    return pace


def say(console: Console, text: str) -> None:
    """One plain line on the terminal, as given (no markup, never wrapped)."""
    console.print(text, soft_wrap=True, highlight=False, markup=False)
