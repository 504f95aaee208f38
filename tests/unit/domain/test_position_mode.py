"""What BUY and SELL mean for a position held, in target and accumulate mode."""

from __future__ import annotations

from decimal import Decimal

import pytest

from dydx_trader.domain.errors import InvalidInput, NothingToTrade
from dydx_trader.domain.position_mode import PositionMode, PositionRule
from dydx_trader.domain.side import Side

TARGET = PositionRule(PositionMode.TARGET)
ACCUMULATE = PositionRule(PositionMode.ACCUMULATE, max_entries_per_market=3)
ENTRY = Decimal(2)


@pytest.mark.parametrize(
    ("rule", "side", "position", "size"),
    [
        (TARGET, Side.BUY, Decimal(0), Decimal(2)),  # flat: open the target
        (TARGET, Side.BUY, Decimal(-3), Decimal(5)),  # short 3: close it, open 2 long
        (TARGET, Side.SELL, Decimal("1.5"), Decimal("3.5")),  # long: close, open 2 short
        (ACCUMULATE, Side.BUY, Decimal(0), Decimal(2)),
        (ACCUMULATE, Side.BUY, Decimal(3), Decimal(2)),  # room for 3 more up to 6
        (ACCUMULATE, Side.BUY, Decimal(5), Decimal(1)),  # only 1 left up to 3 entries
        (ACCUMULATE, Side.SELL, Decimal(5), Decimal(2)),  # against the position: as sized
    ],
)
def test_order_size_when_position_held_then_mode_decides(
    rule: PositionRule, side: Side, position: Decimal, size: Decimal
) -> None:
    assert rule.order_size("ETH-USD", side, position, ENTRY) == size


def test_order_size_when_target_and_already_on_that_side_then_nothing_to_trade() -> None:
    with pytest.raises(NothingToTrade, match="already long 1 ETH-USD"):
        TARGET.order_size("ETH-USD", Side.BUY, Decimal(1), ENTRY)
    with pytest.raises(NothingToTrade, match="already short"):
        TARGET.order_size("ETH-USD", Side.SELL, Decimal(-1), ENTRY)


def test_order_size_when_accumulate_and_entries_full_then_nothing_to_trade() -> None:
    with pytest.raises(NothingToTrade, match="max_entries_per_market"):
        ACCUMULATE.order_size("ETH-USD", Side.SELL, Decimal(-6), ENTRY)


@pytest.mark.parametrize("entries", [0, 101, True])
def test_rule_when_entries_out_of_range_then_refused(entries: int) -> None:
    with pytest.raises(InvalidInput):
        PositionRule(PositionMode.ACCUMULATE, max_entries_per_market=entries)
