"""Orders in flight are valued as if filled in full at their worst price."""

from __future__ import annotations

from decimal import Decimal

from dydx_trader.domain.account import AccountSnapshot, PerpetualPosition
from dydx_trader.domain.reservation import PendingFill, with_pending_fills
from dydx_trader.domain.side import Side

ACCOUNT = AccountSnapshot(
    "dydx1test",
    0,
    Decimal(1000),
    (PerpetualPosition("ETH-USD", Decimal("0.5"), Decimal(2000)),),
    indexer_equity=Decimal(2000),
    indexer_free_collateral=Decimal(1900),
)


def test_with_no_pending_orders_then_account_unchanged() -> None:
    assert with_pending_fills(ACCOUNT, ()) is ACCOUNT


def test_pending_buy_then_usdc_pays_notional_and_fee_and_position_grows() -> None:
    pending = PendingFill("BTC-USD", Side.BUY, Decimal("0.01"), Decimal(50_000), fee_ppm=500)

    account = with_pending_fills(ACCOUNT, [pending])

    # 0.01 x 50,000 = 500 USDC notional, 5 bps fee = 0.25 USDC.
    assert account.usdc_balance == Decimal(1000) - Decimal(500) - Decimal("0.25")
    assert account.position_size("BTC-USD") == Decimal("0.01")
    assert account.position_size("ETH-USD") == Decimal("0.5")


def test_pending_sell_against_long_then_position_shrinks_and_usdc_receives() -> None:
    pending = PendingFill("ETH-USD", Side.SELL, Decimal("0.5"), Decimal(2100), fee_ppm=0)

    account = with_pending_fills(ACCOUNT, [pending])

    assert account.position("ETH-USD") is None
    assert account.usdc_balance == Decimal(1000) + Decimal(1050)


def test_pending_orders_when_applied_then_indexer_figures_dropped() -> None:
    pending = PendingFill("ETH-USD", Side.BUY, Decimal("0.1"), Decimal(2000), fee_ppm=0)

    account = with_pending_fills(ACCOUNT, [pending, pending])

    assert account.position_size("ETH-USD") == Decimal("0.7")
    assert account.indexer_equity is None and account.indexer_free_collateral is None
