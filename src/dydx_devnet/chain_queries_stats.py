"""``x/stats`` ``UserStats``: an address's taker and maker notional over the last 30 days.

The chain records every matched fill's quote quantums against both sides'
addresses and keeps a 30-day window (``WindowDuration``); fee tiers read it.
The devnet sums the fills of all of the address's subaccounts made within 30
days of the latest block, in quote quantums (``floor(price x size x 10^6)``,
the fill's quote amount).
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal
from typing import Any, Final

import grpc
from v4_proto.dydxprotocol.stats import query_pb2 as stats_query
from v4_proto.dydxprotocol.stats import query_pb2_grpc as stats_grpc
from v4_proto.dydxprotocol.stats.stats_pb2 import UserStats

from dydx_devnet.auth import is_valid_address
from dydx_devnet.node_services import NodeEngine, abort
from dydx_devnet.shapes import iso

WINDOW_MS: Final = 30 * 24 * 3600 * 1000


def fill_quote_quantums(fill: dict[str, Any]) -> int:
    """The quote amount of a REST fill record, quote quantums (rounded down, as filled)."""
    notional = Decimal(fill["price"]) * Decimal(fill["size"]) * 1_000_000
    return int(notional.to_integral_value(ROUND_FLOOR))


def user_stats(engine: NodeEngine, address: str) -> tuple[int, int]:
    """(taker, maker) notional of ``address`` in the 30-day window, quote quantums."""
    with engine.lock:
        state = engine.state
        # ISO strings of one format order as their times do.
        since = iso(max(0, state.block_time_ms - WINDOW_MS))
        taker = maker = 0
        for (owner, _), fills in state.fills.items():
            if owner != address:
                continue
            for fill in fills:
                if fill["createdAt"] < since:
                    continue
                if fill["liquidity"] == "TAKER":
                    taker += fill_quote_quantums(fill)
                else:
                    maker += fill_quote_quantums(fill)
        return taker, maker


class StatsQuery(stats_grpc.QueryServicer):  # type: ignore[misc]
    def __init__(self, engine: NodeEngine) -> None:
        self._engine = engine

    def UserStats(self, request: Any, context: grpc.ServicerContext) -> Any:
        address = str(request.user)
        if not is_valid_address(address):
            return abort(context, grpc.StatusCode.INVALID_ARGUMENT, "invalid address")
        taker, maker = user_stats(self._engine, address)
        return stats_query.QueryUserStatsResponse(
            stats=UserStats(taker_notional=taker, maker_notional=maker)
        )
