"""What ``dydx-trader size`` shows: the decision's arithmetic, once, with figures
written the same way as every other command, and a footer that says which
order would be placed (IOC, limit or post-only) and at what price bound."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rich.markup import escape
from rich.table import Table

from dydx_trader.adapters.dydx.network import NetworkName
from dydx_trader.app.account_messages import TradeResult
from dydx_trader.app.validation import ValidationResult
from dydx_trader.cli import formatting as fmt
from dydx_trader.cli._common import console
from dydx_trader.domain.decision import Outcome
from dydx_trader.domain.market import MarketSpec
from dydx_trader.domain.order import OrderIntent, TimeInForce

# How each time in force is named, and what its price means.
_ORDER_TYPES = {
    TimeInForce.IOC: ("IOC", "worst price", "immediate-or-cancel: fills now up to the worst "
                      "price, the rest is canceled"),
    TimeInForce.GTT: ("limit", "limit price", "rests on the book until its good-til-block"),
    TimeInForce.POST_ONLY: ("post-only", "limit price", "maker only, rests on the book until "
                            "its good-til-block"),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Preview:
    """What ``size`` found: the flow's decision, the validator's verdict, and the
    market (None when the venue does not list it)."""

    result: TradeResult
    validation: ValidationResult
    network: NetworkName
    address: str
    subaccount_number: int
    spec: MarketSpec | None = None

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


def order_type(intent: OrderIntent) -> str:
    """``IOC``, ``limit`` or ``post-only``, and ``reduce-only`` when it is."""
    name = _ORDER_TYPES[intent.time_in_force][0]
    return f"{name}, reduce-only" if intent.reduce_only else name


def preview_json(preview: Preview) -> dict[str, Any]:
    """The preview as JSON-ready data; decimals as exact plain strings, and the
    arithmetic as the flow wrote it."""
    result, validation = preview.result, preview.validation
    rejection = validation.rejection
    decision = result.decision
    intent = result.intent
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
        "order_type": None if intent is None else order_type(intent),
        "size": None if decision is None else fmt.json_decimal(decision.size),
        "quantums": None if decision is None else decision.quantums,
        "worst_price": None if decision is None else fmt.json_decimal(decision.price),
        "notional": fmt.json_decimal(preview.notional),
        "subticks": None if intent is None else intent.subticks,
        "good_til_block": None if intent is None else intent.good_til_block,
        "error_code": None if decision is None else decision.error_code,
        "message": result.validation if decision is None else decision.message,
        "numbers": {} if decision is None else dict(decision.numbers),
        "arithmetic": [] if decision is None else [list(line) for line in decision.arithmetic],
    }


def arithmetic_rows(preview: Preview) -> list[tuple[str, str]]:
    """The decision's arithmetic as (label, figure) rows: figures re-written the way
    every command writes them, and a figure already shown under the same name
    (``equity`` and ``equity (chain net collateral)``) shown once."""
    decision = preview.result.decision
    if decision is None:
        return []
    spec = preview.spec
    asset = None if spec is None else spec.base_asset
    tick = None if spec is None else spec.tick_size
    rows: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for label, value in decision.arithmetic:
        # "oracle price", "worst price (...)": prices; "notional at price": an amount.
        is_price = "price" in label and "notional" not in label
        figure = fmt.amount_text(value, asset=asset, tick=tick, is_price=is_price)
        key = (label.split(" (", 1)[0], figure)
        if key not in seen:
            seen.add(key)
            rows.append((label, figure))
    return rows


def footer(preview: Preview) -> str | None:
    """``BUY 0.402 ETH-USD, IOC order, worst price 2,483.7 USDC (...)``, or None
    when no order would be built."""
    decision, intent, spec = preview.result.decision, preview.result.intent, preview.spec
    if decision is None or intent is None or decision.side is None:
        return None
    step = None if spec is None else spec.step_size
    tick = None if spec is None else spec.tick_size
    _, price_name, meaning = _ORDER_TYPES[intent.time_in_force]
    return (
        f"{decision.side.value} {fmt.size(decision.size, step)} {decision.market}, "
        f"{order_type(intent)} order, {price_name} {fmt.price(decision.price, tick)} USDC "
        f"({meaning})"
    )


def print_preview(preview: Preview) -> None:
    """The preview as a table and a verdict line (or two, when they differ)."""
    screen = console()
    decision = preview.result.decision
    signal = preview.result.signal
    table = Table(
        title=f"size {signal.action.value} {signal.market}: preview, nothing sent",
        caption=f"{preview.network.value} {preview.address}/{preview.subaccount_number}",
    )
    table.add_column("")
    table.add_column("value", justify="right")
    for label, figure in arithmetic_rows(preview):
        table.add_row(escape(label), escape(figure))
    intent = preview.result.intent
    if decision is not None and decision.outcome is Outcome.ACCEPTED and intent is not None:
        spec = preview.spec
        step = None if spec is None else spec.step_size
        asset = decision.market.split("-", 1)[0]
        size = f"{fmt.size(decision.size, step)} {asset} ({decision.quantums:,} quantums)"
        table.add_row("[bold]size[/bold]", size)
        notional = f"{fmt.usdc(preview.notional)} USDC"
        table.add_row("[bold]notional at the price bound[/bold]", notional)
        table.add_row("[bold]order[/bold]", order_type(intent))
    if table.row_count:
        screen.print(table)
    validation = preview.validation
    order = footer(preview)
    if decision is None:
        screen.print(f"nothing to trade: {escape(preview.result.validation)}", highlight=False)
    elif decision.outcome is Outcome.REFUSED:
        screen.print(f"[red]refused: {escape(decision.reason)}[/red]", highlight=False)
    elif validation.accepted and order is not None:
        screen.print(f"[green]would place: {escape(order)}[/green]", highlight=False)
    elif order is not None:
        screen.print(f"sizing alone gives: {escape(order)}", highlight=False)
    # The validator often names the same cause as the refusal; say it once.
    repeated = (
        decision is not None
        and bool(decision.message)
        and (str(decision.message) in validation.summary)
    )
    if not validation.accepted and not repeated:
        summary = escape(validation.summary)
        screen.print(f"[red]refused by validation: {summary}[/red]", highlight=False)
