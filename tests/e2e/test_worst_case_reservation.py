"""Orders in flight hold their worst case on the devnet: a CLOSE that never lands
cannot let the next BUY past the caps (reliability review F1), and a
volatility-target policy sizes from the market's ATR."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from e2e_harness import settings_for, start_trader

from dydx_devnet.server import Devnet
from dydx_trader.adapters.dydx.indexer import IndexerGateway
from dydx_trader.domain.decision import Outcome
from dydx_trader.domain.margin import assess
from dydx_trader.domain.order import OrderState
from dydx_trader.domain.signal import Signal

SignalFactory = Callable[..., Signal]


async def test_close_lost_then_buy_elsewhere_when_caps_1x_then_venue_stays_within_1x(
    devnet: Devnet, venue: IndexerGateway, tmp_path: Path, make_signal: SignalFactory
) -> None:
    settings = settings_for(
        tmp_path / "journal.sqlite3",
        risk={"max_leverage": 1, "max_exposure": 1},
        sizing={"kind": "equity_fraction", "equity_fraction": "0.9", "scale_by_confidence": False},
    )
    trader = await start_trader(devnet, settings)
    try:
        bought = await trader.submit(make_signal("BUY", "BTC-USD"))
        await trader.wait_settled()
        assert bought.order is not None
        devnet.faults.fail_next_broadcasts(1)  # the CLOSE never reaches the chain...
        closed = await trader.submit(make_signal("CLOSE", "BTC-USD"))
        assert closed.order is not None
        assert closed.order.state is OrderState.IN_FLIGHT_UNKNOWN
        # ...and the next signal comes before anyone knows.
        second = await trader.submit(make_signal("BUY", "ETH-USD"))
        await trader.wait_settled()
    finally:
        await trader.stop()

    assert second.decision is not None
    assert second.decision.outcome is Outcome.REFUSED or second.decision.bound_by == "max exposure"
    account = await venue.get_account(trader.status().owner.address, 0)
    risk = assess(account, await venue.get_markets())
    assert account.position_size("BTC-USD") > 0  # the CLOSE did not happen
    gross = sum((abs(p.notional) for p in risk.positions), Decimal(0))
    # The fee and the price moves between decision and fill stay well under 1 %.
    assert gross <= risk.equity * Decimal("1.01")


async def test_volatility_target_when_configured_then_trades_sized_by_the_atr(
    devnet: Devnet, venue: IndexerGateway, tmp_path: Path, make_signal: SignalFactory
) -> None:
    settings = settings_for(
        tmp_path / "journal.sqlite3",
        sizing={"kind": "volatility_target", "risk_fraction": "0.01", "atr_multiple": "2"},
    )
    trader = await start_trader(devnet, settings)
    try:
        result = await trader.submit(make_signal("BUY", "ETH-USD"))
        await trader.wait_settled()
    finally:
        await trader.stop()

    decision = result.decision
    assert decision is not None and decision.outcome is Outcome.ACCEPTED, decision
    labels = dict(decision.arithmetic)
    assert "ATR x multiple" in labels and "policy: risk fraction of equity" in labels
    account = await venue.get_account(trader.status().owner.address, 0)
    assert account.position_size("ETH-USD") == decision.size
