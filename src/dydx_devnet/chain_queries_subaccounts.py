"""``x/subaccounts`` gRPC queries from the devnet's chain state, in the chain's shapes.

``Subaccount`` (an unknown subaccount is the empty default, not an error),
``SubaccountAll`` (ordered by subaccount id, paginated as ``query.Paginate``:
key or offset, limit (default 100), count_total, reverse),
``GetWithdrawalAndTransfersBlockedInfo`` (:mod:`dydx_devnet.gating`) and
``CollateralPoolAddress``. Reads take the engine lock; the chain state is
never behind (only the indexer lags).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import grpc
from v4_proto.cosmos.base.query.v1beta1.pagination_pb2 import PageResponse
from v4_proto.dydxprotocol.subaccounts import query_pb2 as sa_query
from v4_proto.dydxprotocol.subaccounts import query_pb2_grpc as sa_grpc
from v4_proto.dydxprotocol.subaccounts.asset_position_pb2 import AssetPosition
from v4_proto.dydxprotocol.subaccounts.perpetual_position_pb2 import PerpetualPosition
from v4_proto.dydxprotocol.subaccounts.subaccount_pb2 import Subaccount as SubaccountProto
from v4_proto.dydxprotocol.subaccounts.subaccount_pb2 import SubaccountId

from dydx_devnet import gating
from dydx_devnet.bank import module_address
from dydx_devnet.genesis import ISOLATED
from dydx_devnet.markets import MarketState
from dydx_devnet.node_services import NodeEngine, abort, serializable_int
from dydx_devnet.subaccounts import Subaccount

DEFAULT_PAGE_LIMIT = 100  # cosmos query.DefaultLimit


def subaccount_proto(account: Subaccount, markets: Mapping[str, MarketState]) -> Any:
    """A devnet subaccount as the chain's ``Subaccount``: USDC as asset 0, positions by
    perpetual id, funding already settled into USDC (funding index 0)."""
    proto = SubaccountProto(
        id=SubaccountId(owner=account.address, number=account.number), margin_enabled=True
    )
    if account.usdc != 0:
        proto.asset_positions.append(
            AssetPosition(asset_id=0, quantums=serializable_int(account.usdc), index=0)
        )
    positions = sorted(
        (markets[ticker].clob_pair_id, position.quantums)
        for ticker, position in account.positions.items()
        if position.quantums != 0
    )
    for perpetual_id, quantums in positions:
        proto.perpetual_positions.append(
            PerpetualPosition(
                perpetual_id=perpetual_id,
                quantums=serializable_int(quantums),
                funding_index=serializable_int(0),
                quote_balance=serializable_int(0),
            )
        )
    return proto


def _page(items: list[Any], request: Any) -> tuple[list[Any], Any]:
    """``query.Paginate`` over ``items`` already in key order; keys are the items' ids."""
    page = request.pagination if request.HasField("pagination") else None
    limit = DEFAULT_PAGE_LIMIT
    start = 0
    count_total = False
    if page is not None:
        if page.key and page.offset:
            raise ValueError("invalid request, either offset or key is expected, got both")
        if page.reverse:
            items = list(reversed(items))
        limit = int(page.limit) or DEFAULT_PAGE_LIMIT
        count_total = bool(page.count_total) and not page.key
        if page.key:
            keys = [item.id.SerializeToString() for item in items]
            start = keys.index(bytes(page.key)) if bytes(page.key) in keys else len(items)
        else:
            start = int(page.offset)
    chunk = items[start : start + limit]
    response = PageResponse()
    if start + limit < len(items):
        response.next_key = items[start + limit].id.SerializeToString()
    if count_total:
        response.total = len(items)
    return chunk, response


class SubaccountsQuery(sa_grpc.QueryServicer):  # type: ignore[misc]
    def __init__(self, engine: NodeEngine) -> None:
        self._engine = engine

    def Subaccount(self, request: Any, context: grpc.ServicerContext) -> Any:
        engine = self._engine
        with engine.lock:
            account = engine.state.subaccounts.get((str(request.owner), int(request.number)))
            if account is None:
                empty = SubaccountProto(id=SubaccountId(owner=request.owner, number=request.number))
                return sa_query.QuerySubaccountResponse(subaccount=empty)
            proto = subaccount_proto(account, engine.markets)
        return sa_query.QuerySubaccountResponse(subaccount=proto)

    def SubaccountAll(self, request: Any, context: grpc.ServicerContext) -> Any:
        engine = self._engine
        with engine.lock:
            accounts = [engine.state.subaccounts[key] for key in sorted(engine.state.subaccounts)]
            protos = [subaccount_proto(account, engine.markets) for account in accounts]
        try:
            chunk, page = _page(protos, request)
        except ValueError as exc:
            return abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        return sa_query.QuerySubaccountAllResponse(subaccount=chunk, pagination=page)

    def GetWithdrawalAndTransfersBlockedInfo(
        self, request: Any, context: grpc.ServicerContext
    ) -> Any:
        engine = self._engine
        with engine.lock:
            pool = gating.perpetual_pool(int(request.perpetual_id), engine.markets)
            seen = engine.state.negative_tnc_seen.get(pool, 0)
            unblocked = gating.unblocked_at(engine.state.negative_tnc_seen, pool)
        return sa_query.QueryGetWithdrawalAndTransfersBlockedInfoResponse(
            negative_tnc_subaccount_seen_at_block=seen,
            chain_outage_seen_at_block=0,
            withdrawals_and_transfers_unblocked_at_block=unblocked,
        )

    def CollateralPoolAddress(self, request: Any, context: grpc.ServicerContext) -> Any:
        perpetual_id = int(request.perpetual_id)
        with self._engine.lock:
            market = next(
                (m for m in self._engine.markets.values() if m.clob_pair_id == perpetual_id),
                None,
            )
        if market is None:
            return abort(
                context, grpc.StatusCode.NOT_FOUND, f"Perpetual id {perpetual_id} not found."
            )
        isolated = market.spec.market_type == ISOLATED
        name = f"subaccounts:{perpetual_id}" if isolated else "subaccounts"
        return sa_query.QueryCollateralPoolAddressResponse(
            collateral_pool_address=module_address(name)
        )
