"""The trader finds a liquidation when it marks the account to market: a fill with no
order of ours changes a position without any stream having to say so (a lockstep
replay follows none). Only a change of positions costs a read of the fills."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from dydx_trader.app.foreign_activity import ForeignActivity
from dydx_trader.domain.side import Side
from dydx_trader.domain.venue import IndexerFill
from kit.clock import T0
from kit.exchange import FakeExchange
from kit.markets import make_market
from kit.trader import kit_settings, started_trader

BTC = make_market(
    "BTC-USD", oracle_price=Decimal(50_000), imf=Decimal("0.05"), atomic_resolution=-10,
    clob_pair_id=0,
)  # fmt: skip


class _CountingExchange(FakeExchange):
    fill_reads = 0

    async def get_fills(self, *args: object, **kwargs: object) -> tuple[IndexerFill, ...]:
        self.fill_reads += 1
        return await super().get_fills(*args, **kwargs)  # type: ignore[arg-type]


async def test_mark_when_a_liquidation_closed_part_of_a_position_then_reported_once(
    tmp_path: Path,
) -> None:
    exchange = _CountingExchange({"BTC-USD": BTC})
    exchange.hold("BTC-USD", Decimal("0.5"))
    found: list[ForeignActivity] = []
    settings = kit_settings(tmp_path / "journal.sqlite3")
    async with started_trader(exchange, settings, on_foreign=found.append) as trader:
        await trader.mark_to_market()
        reads = exchange.fill_reads
        await trader.mark_to_market()  # nothing moved: no read of the fills
        assert exchange.fill_reads == reads
        exchange.positions["BTC-USD"] = Decimal("0.2")
        exchange.usdc += Decimal("0.3") * 47_000
        exchange.fills.append(
            IndexerFill(
                fill_id="liquidated-1", ticker="BTC-USD", side=Side.SELL, liquidity="TAKER",
                fill_type="LIQUIDATED", price=Decimal(47_000), size=Decimal("0.3"),
                fee=Decimal("211.5"), created_at=T0, created_at_height=exchange.height,
                order_id=None,
            )
        )  # fmt: skip

        await trader.mark_to_market()
        await trader.mark_to_market()

    (liquidation,) = found
    assert liquidation.is_liquidation and liquidation.venue_id == "liquidated-1"
    assert liquidation.fill is not None and liquidation.fill.fee == Decimal("211.5")
    assert exchange.fill_reads == reads + 1
