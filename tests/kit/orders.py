"""Builders for order intents in tests (no fixed answers: every value is a parameter)."""

from __future__ import annotations

from dydx_trader.domain.order import (
    OrderFlags,
    OrderIntent,
    TimeInForce,
    derive_client_id,
)
from dydx_trader.domain.side import Side

ADDRESS = "dydx1xx4evg0695an5nvhnmuw9wp3umwdpsguyxzhmp"


def short_term_intent(
    signal_id: str = "sig-1",
    *,
    quantums: int = 1_000_000,
    subticks: int = 6_500_000_000,
    side: Side = Side.BUY,
    reduce_only: bool = False,
    good_til_block: int = 110,
    nonce: int = 0,
    subaccount_number: int = 0,
    market: str = "BTC-USD",
) -> OrderIntent:
    return OrderIntent(
        signal_id=signal_id,
        address=ADDRESS,
        subaccount_number=subaccount_number,
        market=market,
        clob_pair_id=0,
        side=side,
        quantums=quantums,
        subticks=subticks,
        time_in_force=TimeInForce.IOC,
        reduce_only=reduce_only,
        order_flags=OrderFlags.SHORT_TERM,
        client_id=derive_client_id(ADDRESS, subaccount_number, signal_id, nonce),
        good_til_block=good_til_block,
    )
