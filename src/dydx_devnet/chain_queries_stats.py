"""``x/stats`` ``UserStats``: an address's taker and maker notional over the last 30 days.

The chain records every matched fill's quote quantums against both sides'
addresses and keeps a 30-day window (``WindowDuration``); the fee tiers read
it. The devnet keeps the same figures for its fee tiers
(:class:`~dydx_devnet.fees.FeeSchedule`) and answers them here.
"""

from __future__ import annotations

from typing import Any

import grpc
from v4_proto.dydxprotocol.stats import query_pb2 as stats_query
from v4_proto.dydxprotocol.stats import query_pb2_grpc as stats_grpc
from v4_proto.dydxprotocol.stats.stats_pb2 import UserStats

from dydx_devnet.auth import is_valid_address
from dydx_devnet.node_services import NodeEngine, abort


class StatsQuery(stats_grpc.QueryServicer):  # type: ignore[misc]
    def __init__(self, engine: NodeEngine) -> None:
        self._engine = engine

    def UserStats(self, request: Any, context: grpc.ServicerContext) -> Any:
        address = str(request.user)
        if not is_valid_address(address):
            return abort(context, grpc.StatusCode.INVALID_ARGUMENT, "invalid address")
        engine = self._engine
        with engine.lock:
            maker, taker = engine.state.fees.user_volume(address, engine.state.block_time_ms)
        return stats_query.QueryUserStatsResponse(
            stats=UserStats(taker_notional=taker, maker_notional=maker)
        )
