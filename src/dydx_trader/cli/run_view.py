"""What ``dydx-trader run`` shows: the live view, the closing summary and the
equity-curve image."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from rich.console import Group
from rich.panel import Panel
from rich.table import Table

from dydx_trader.app.account_actor import TradeResult
from dydx_trader.app.session import SessionStats
from dydx_trader.cli import formatting as fmt
from dydx_trader.domain.decision import Outcome
from dydx_trader.domain.trading_state import TradingState


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


def live_view(
    stats: SessionStats, *, chain_time: datetime | None, state: TradingState, title: str
) -> Group:
    """One frame of the live view."""
    risk = stats.last_risk
    header = Table.grid(padding=(0, 3))
    for _ in range(4):
        header.add_column()
    header.add_row(
        f"[bold]time[/] {chain_time:%Y-%m-%d %H:%M}" if chain_time else "[bold]time[/] -",
        f"[bold]equity[/] {fmt.usdc(risk.equity if risk else None)} USDC",
        f"[bold]leverage[/] {fmt.leverage(risk.leverage or Decimal(0) if risk else None)}",
        f"[bold]margin usage[/] {fmt.pct(risk.margin_usage or Decimal(0) if risk else None, 1)}",
    )
    header.add_row(
        f"[bold]state[/] {state.value}",
        f"[bold]signals[/] {stats.signals}",
        f"[bold]orders[/] {stats.orders_sent}  [bold]trades[/] {stats.trades}",
        f"[bold]refused[/] {sum(stats.rejections.values())}",
    )

    positions = Table(title="positions", expand=True)
    for column in ("market", "size", "entry", "oracle", "notional", "uPnL", "liq. price"):
        positions.add_column(column, justify="right")
    for position in risk.positions if risk else ():
        positions.add_row(
            position.market,
            fmt.number(position.size),
            fmt.price(position.entry_price),
            fmt.price(position.oracle_price),
            fmt.usdc(position.notional),
            fmt.usdc(position.unrealized_pnl),
            fmt.price(position.liquidation_price),
        )

    decisions = Table(title="signals and decisions", expand=True, show_header=False)
    decisions.add_column("line", overflow="ellipsis", no_wrap=True)
    for line in stats.recent:
        decisions.add_row(line)
    return Group(Panel(header, title=title), positions, decisions)


def summary_table(stats: SessionStats) -> Table:
    """The closing summary as a table."""
    table = Table(title="session summary", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    start = stats.equity_curve[0].equity if stats.equity_curve else Decimal(0)
    end = stats.equity_curve[-1].equity if stats.equity_curve else Decimal(0)
    table.add_row("signals", str(stats.signals))
    table.add_row("orders sent", str(stats.orders_sent))
    table.add_row("trades (orders with fills)", str(stats.trades))
    table.add_row("volume", f"{fmt.usdc(stats.volume)} USDC")
    table.add_row("equity start -> end", f"{fmt.usdc(start)} -> {fmt.usdc(end)} USDC")
    table.add_row("PnL (after fees)", f"{fmt.usdc(stats.pnl)} USDC")
    table.add_row("fees paid", f"{fmt.usdc(stats.fees)} USDC")
    table.add_row("max leverage reached", fmt.leverage(stats.max_leverage))
    table.add_row("max margin usage reached", fmt.pct(stats.max_margin_usage, 1))
    for outcome, count in sorted(stats.order_outcomes.items()):
        table.add_row(f"orders {outcome}", str(count))
    for reason, count in stats.rejections.most_common():
        table.add_row(f"refused: {reason}", str(count))
    return table


def summary_dict(stats: SessionStats) -> dict[str, object]:
    """The summary as JSON-ready values (decimals as strings)."""
    return {
        "signals": stats.signals,
        "orders_sent": stats.orders_sent,
        "trades": stats.trades,
        "fills": stats.fills,
        "volume_usdc": fmt.json_decimal(stats.volume),
        "pnl_usdc": fmt.json_decimal(stats.pnl),
        "fees_usdc": fmt.json_decimal(stats.fees),
        "max_leverage": fmt.json_ratio(stats.max_leverage),
        "max_margin_usage": fmt.json_ratio(stats.max_margin_usage),
        "order_outcomes": dict(stats.order_outcomes),
        "rejections_by_reason": dict(stats.rejections),
    }


def write_report(stats: SessionStats, folder: Path) -> tuple[Path, Path | None]:
    """Write ``summary.json`` and ``equity.png`` into ``folder``; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    summary = folder / "summary.json"
    summary.write_text(json.dumps(summary_dict(stats), indent=2) + "\n")
    if len(stats.equity_curve) < 2:
        return summary, None
    import matplotlib

    matplotlib.use("Agg")  # no display: write the file only
    import matplotlib.pyplot as plt

    times = [point.at for point in stats.equity_curve]
    # Plotting needs floats; the curve itself stays Decimal in summary.json.
    equity = [float(point.equity) for point in stats.equity_curve]
    leverage = [float(point.leverage) for point in stats.equity_curve]
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(10, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    top.plot(times, equity, color="tab:blue")
    top.set_ylabel("equity (USDC)")
    top.set_title("dydx-trader paper session: equity")
    top.grid(alpha=0.3)
    bottom.plot(times, leverage, color="tab:orange")
    bottom.set_ylabel("leverage (x)")
    bottom.grid(alpha=0.3)
    figure.autofmt_xdate()
    figure.tight_layout()
    image = folder / "equity.png"
    figure.savefig(image, dpi=100)
    plt.close(figure)
    return summary, image
