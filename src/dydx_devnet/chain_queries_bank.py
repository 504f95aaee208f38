"""Coins on the devnet's chain: bank balances and the ``x/ratelimit`` withdrawal capacity.

``cosmos.bank`` ``AllBalances`` / ``Balance`` answer the devnet bank
(:mod:`dydx_devnet.bank`). ``x/ratelimit`` limits IBC withdrawals of USDC by
an hourly and a daily limiter (genesis defaults: 1 % of TVL, at least 1M
USDC, per hour; 10 % of TVL, at least 10M USDC, per day); the devnet has no
IBC, so nothing ever draws on it and each capacity is its baseline,
``max(baseline_minimum, TVL x baseline_tvl_ppm)``, TVL being all USDC on the
chain (bank balances and the subaccounts' collateral). Other denoms have no
limiters: an empty list, as on the chain. The devnet has no Ethereum bridge
either: ``x/bridge`` has no delayed completion messages.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

import grpc
from google.protobuf.duration_pb2 import Duration
from v4_proto.cosmos.bank.v1beta1 import query_pb2 as bank_query
from v4_proto.cosmos.bank.v1beta1 import query_pb2_grpc as bank_grpc
from v4_proto.cosmos.base.v1beta1.coin_pb2 import Coin
from v4_proto.dydxprotocol.bridge import query_pb2 as bridge_query
from v4_proto.dydxprotocol.bridge import query_pb2_grpc as bridge_grpc
from v4_proto.dydxprotocol.ratelimit import capacity_pb2, limit_params_pb2
from v4_proto.dydxprotocol.ratelimit import query_pb2 as rate_query
from v4_proto.dydxprotocol.ratelimit import query_pb2_grpc as rate_grpc

from dydx_devnet.auth import is_valid_address
from dydx_devnet.bank import USDC_DENOM, is_valid_denom
from dydx_devnet.node_services import NodeEngine, abort, serializable_int

# (period, baseline minimum in quote quantums, baseline share of TVL in ppm)
USDC_LIMITERS: Final = (
    (timedelta(hours=1), 1_000_000 * 10**6, 10_000),
    (timedelta(days=1), 10_000_000 * 10**6, 100_000),
)


class BankQuery(bank_grpc.QueryServicer):  # type: ignore[misc]
    def __init__(self, engine: NodeEngine) -> None:
        self._engine = engine

    def AllBalances(self, request: Any, context: grpc.ServicerContext) -> Any:
        address = str(request.address)
        if not is_valid_address(address):
            return abort(context, grpc.StatusCode.INVALID_ARGUMENT, "invalid address")
        with self._engine.lock:
            held = self._engine.sending.bank.balances_of(address)
        return bank_query.QueryAllBalancesResponse(
            balances=[Coin(denom=denom, amount=str(amount)) for denom, amount in held]
        )

    def Balance(self, request: Any, context: grpc.ServicerContext) -> Any:
        address, denom = str(request.address), str(request.denom)
        if not is_valid_address(address):
            return abort(context, grpc.StatusCode.INVALID_ARGUMENT, "invalid address")
        if not is_valid_denom(denom):
            return abort(context, grpc.StatusCode.INVALID_ARGUMENT, "invalid denom")
        with self._engine.lock:
            amount = self._engine.sending.bank.balance(address, denom)
        return bank_query.QueryBalanceResponse(balance=Coin(denom=denom, amount=str(amount)))


def _limiter(period: timedelta, minimum: int, ppm: int) -> Any:
    return limit_params_pb2.Limiter(
        period=Duration(seconds=int(period.total_seconds())),
        baseline_minimum=serializable_int(minimum),
        baseline_tvl_ppm=ppm,
    )


class RateLimitQuery(rate_grpc.QueryServicer):  # type: ignore[misc]
    def __init__(self, engine: NodeEngine) -> None:
        self._engine = engine

    def ListLimitParams(self, request: Any, context: grpc.ServicerContext) -> Any:
        params = limit_params_pb2.LimitParams(
            denom=USDC_DENOM, limiters=[_limiter(*limiter) for limiter in USDC_LIMITERS]
        )
        return rate_query.ListLimitParamsResponse(limit_params_list=[params])

    def CapacityByDenom(self, request: Any, context: grpc.ServicerContext) -> Any:
        denom = str(request.denom)
        if not is_valid_denom(denom):
            return abort(context, grpc.StatusCode.INVALID_ARGUMENT, f"invalid denom: {denom}")
        if denom != USDC_DENOM:
            return rate_query.QueryCapacityByDenomResponse()
        with self._engine.lock:
            state = self._engine.state
            collateral = sum(account.usdc for account in state.subaccounts.values())
            tvl = self._engine.sending.bank.supply(USDC_DENOM) + max(0, collateral)
        capacities = [
            capacity_pb2.LimiterCapacity(
                limiter=_limiter(period, minimum, ppm),
                capacity=serializable_int(max(minimum, tvl * ppm // 1_000_000)),
            )
            for period, minimum, ppm in USDC_LIMITERS
        ]
        return rate_query.QueryCapacityByDenomResponse(limiter_capacity_list=capacities)


class BridgeQuery(bridge_grpc.QueryServicer):  # type: ignore[misc]
    def DelayedCompleteBridgeMessages(self, request: Any, context: grpc.ServicerContext) -> Any:
        return bridge_query.QueryDelayedCompleteBridgeMessagesResponse()
