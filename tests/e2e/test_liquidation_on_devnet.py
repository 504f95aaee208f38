"""A liquidation on the devnet, as the trader records and reports it: the trader opens a
highly levered BTC position, the test moves BTC's oracle price against it, the chain
liquidates it in block-sized parts, and the trader finds the LIQUIDATED fills (they
have no order of ours) when it marks the account to market: journaled as foreign
activity, counted in the session's fills and PnL, and named in its report."""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal
from pathlib import Path

from e2e_harness import SignalFactory, journal_at, settings_for, start_trader, venue_of
from typer.testing import CliRunner

from dydx_devnet.server import Devnet
from dydx_trader.app.session import SessionStats
from dydx_trader.cli.app import app as cli_app
from dydx_trader.cli.run_report import ReportContext, summary_of
from dydx_trader.cli.run_view import summary_tables
from dydx_trader.domain.order import OrderState
from dydx_trader.domain.signal import HintKind, SizingHint

ALL_IN = SizingHint(HintKind.NOTIONAL_USDC, Decimal(5_000_000))


async def test_liquidation_when_oracle_falls_under_levered_long_then_journaled_and_reported(
    devnet: Devnet, tmp_path: Path, make_signal: SignalFactory
) -> None:
    path = tmp_path / "journal.sqlite3"
    settings = settings_for(
        path, risk={"max_leverage": 30, "max_exposure": 30, "free_collateral_buffer_fraction": 0}
    )
    stats = SessionStats()
    trader = await start_trader(
        devnet, settings, on_settled=stats.on_settled, on_foreign=stats.on_foreign
    )
    venue = venue_of(devnet)
    try:
        opened = await trader.submit(make_signal("BUY", "BTC-USD", sizing=ALL_IN))
        stats.on_result(opened)
        await asyncio.wait_for(trader.wait_settled(), timeout=60)
        assert opened.intent is not None and opened.decision is not None
        at = opened.decision.decided_at
        with journal_at(settings) as journal:
            assert journal.order(opened.intent.client_id).state is OrderState.FILLED
        owner = trader.status().owner.address
        held = (await venue.get_account(owner, 0)).position_size("BTC-USD")
        assert held > 0
        stats.on_risk(at, await trader.mark_to_market())

        # About 26x long (equity 3.8 % of notional): 3.5 % down leaves it below the 1.2 %
        # maintenance margin, still positive.
        assert devnet.engine is not None
        oracle = devnet.engine.markets["BTC-USD"].oracle_price
        devnet.engine.set_oracle_price("BTC-USD", oracle * Decimal("0.965"))
        deadline = time.monotonic() + 60
        while (await venue.get_account(owner, 0)).position_size("BTC-USD") == held:
            assert time.monotonic() < deadline, "the devnet never liquidated the position"
            await devnet.wait_blocks(1)

        stats.on_risk(at, await trader.mark_to_market())
    finally:
        await venue.close()
        await trader.stop()

    with journal_at(settings) as journal:
        records = journal.foreign_activity()
        own_fills = len(journal.fills(opened.intent.client_id))
    liquidated = [r for r in records if r.details.get("type") == "LIQUIDATED"]
    assert liquidated and all(r.kind == "fill" and r.market == "BTC-USD" for r in liquidated)
    assert {r.details["side"] for r in liquidated} == {"SELL"}
    assert [entry.kind for entry in stats.liquidations] == ["LIQUIDATED"] * len(liquidated)

    context = ReportContext(settings, tmp_path / "run", "devnet", None, None, None, 0.0)
    summary = summary_of(stats, context, 0.0)
    report = summary["liquidations"]
    assert isinstance(report, dict)
    assert report["fills"] == len(liquidated) and report["markets"] == ["BTC-USD"]
    assert Decimal(str(report["insurance_fund_usdc"])) != 0
    assert summary["fills"] == own_fills + len(liquidated)
    # The liquidation closed part of the position at a loss: realized, before fees.
    pnl = summary["pnl"]
    assert isinstance(pnl, dict) and Decimal(str(pnl["realized_usdc"])) < 0
    rows = {row[0]: row[1] for row in _rows(summary)}
    assert rows["liquidations"].startswith(f"{len(liquidated)} fills (LIQUIDATED")

    shown = CliRunner().invoke(
        cli_app, ["journal", "--foreign", "--json", "--journal", str(path)]
    )
    assert shown.exit_code == 0, shown.output
    listed = json.loads(shown.output)["foreign"]
    assert {r["venue_id"] for r in listed if r["liquidation"]} == {r.venue_id for r in liquidated}


def _rows(summary: dict[str, object]) -> list[tuple[str, str]]:
    """The closing report's first table as (label, value) rows."""
    table = summary_tables(summary)[0]
    labels, values = (list(column.cells) for column in table.columns)
    return [(str(label), str(value)) for label, value in zip(labels, values, strict=True)]
