"""The node's query services that the official ``NodeClient`` calls.

cosmos auth ``Account``; tendermint ``GetLatestBlock``, ``GetNodeInfo`` and
``GetSyncing``; dydx clob ``ClobPair(All)`` and ``EquityTierLimitConfiguration``;
perpetuals ``Perpetual``/``AllPerpetuals``; prices
``MarketPrice``/``AllMarketPrices``; feetiers ``PerpetualFeeParams`` and
``UserFeeTier``.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf.any_pb2 import Any as AnyProto
from v4_proto.cosmos.auth.v1beta1 import query_pb2 as auth_query
from v4_proto.cosmos.auth.v1beta1 import query_pb2_grpc as auth_grpc
from v4_proto.cosmos.auth.v1beta1.auth_pb2 import BaseAccount
from v4_proto.cosmos.base.tendermint.v1beta1 import query_pb2 as tm_query
from v4_proto.cosmos.base.tendermint.v1beta1 import query_pb2_grpc as tm_grpc
from v4_proto.cosmos.crypto.secp256k1.keys_pb2 import PubKey
from v4_proto.dydxprotocol.clob import block_rate_limit_config_pb2, clob_pair_pb2
from v4_proto.dydxprotocol.clob import query_pb2 as clob_query
from v4_proto.dydxprotocol.clob import query_pb2_grpc as clob_grpc
from v4_proto.dydxprotocol.feetiers import params_pb2 as fee_params
from v4_proto.dydxprotocol.feetiers import query_pb2 as fee_query
from v4_proto.dydxprotocol.feetiers import query_pb2_grpc as fee_grpc
from v4_proto.dydxprotocol.perpetuals import perpetual_pb2
from v4_proto.dydxprotocol.perpetuals import query_pb2 as perp_query
from v4_proto.dydxprotocol.perpetuals import query_pb2_grpc as perp_grpc
from v4_proto.dydxprotocol.prices import market_price_pb2
from v4_proto.dydxprotocol.prices import query_pb2 as prices_query
from v4_proto.dydxprotocol.prices import query_pb2_grpc as prices_grpc

from dydx_devnet.auth import is_valid_address
from dydx_devnet.fees import FeeTier
from dydx_devnet.genesis import ISOLATED
from dydx_devnet.markets import MarketState
from dydx_devnet.node_services import (
    APP_NAME,
    APP_VERSION,
    NodeServices,
    abort,
    block_time_datetime,
    serializable_int,
    timestamp,
)

# --- auth ------------------------------------------------------------------


class AuthQuery(auth_grpc.QueryServicer):  # type: ignore[misc]
    def __init__(self, services: NodeServices) -> None:
        self._s = services

    def Account(self, request: Any, context: grpc.ServicerContext) -> Any:
        address = str(request.address)
        if not is_valid_address(address):
            return abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"decoding bech32 failed: invalid address {address!r}",
            )
        snapshot = self._s.accounts.snapshot(address, self._s.engine.height)
        account = self._s.accounts.get(address)
        if snapshot is None or account is None:
            return abort(
                context, grpc.StatusCode.NOT_FOUND, f"account {address} not found: key not found"
            )
        number, sequence = snapshot
        base = BaseAccount(address=address, account_number=number, sequence=sequence)
        if account.public_key is not None:
            packed_key = AnyProto()
            packed_key.Pack(PubKey(key=account.public_key), type_url_prefix="/")
            base.pub_key.CopyFrom(packed_key)
        packed = AnyProto()
        packed.Pack(base, type_url_prefix="/")
        return auth_query.QueryAccountResponse(account=packed)


# --- tendermint ------------------------------------------------------------


class TendermintService(tm_grpc.ServiceServicer):  # type: ignore[misc]
    def __init__(self, services: NodeServices) -> None:
        self._s = services

    def GetLatestBlock(self, request: Any, context: grpc.ServicerContext) -> Any:
        engine = self._s.engine
        response = tm_query.GetLatestBlockResponse()
        moment = timestamp(block_time_datetime(engine.block_time))
        for header in (response.block.header, response.sdk_block.header):
            header.chain_id = engine.chain_id
            header.height = engine.height
            header.time.CopyFrom(moment)
        return response

    def GetNodeInfo(self, request: Any, context: grpc.ServicerContext) -> Any:
        response = tm_query.GetNodeInfoResponse()
        response.default_node_info.network = self._s.engine.chain_id
        response.default_node_info.moniker = "dydx-devnet"
        response.default_node_info.version = APP_VERSION
        response.application_version.name = "dydxprotocol"
        response.application_version.app_name = APP_NAME
        response.application_version.version = APP_VERSION
        return response

    def GetSyncing(self, request: Any, context: grpc.ServicerContext) -> Any:
        return tm_query.GetSyncingResponse(syncing=False)


# --- dydx modules ----------------------------------------------------------


def _clob_pair(market: MarketState) -> Any:
    spec = market.spec
    return clob_pair_pb2.ClobPair(
        id=spec.clob_pair_id,
        perpetual_clob_metadata=clob_pair_pb2.PerpetualClobMetadata(perpetual_id=spec.clob_pair_id),
        step_base_quantums=spec.step_base_quantums,
        subticks_per_tick=spec.subticks_per_tick,
        quantum_conversion_exponent=spec.quantum_conversion_exponent,
        status=_clob_status(spec.status),
    )


def _clob_status(status: str) -> int:
    names = {
        "ACTIVE": clob_pair_pb2.ClobPair.STATUS_ACTIVE,
        "PAUSED": clob_pair_pb2.ClobPair.STATUS_PAUSED,
        "CANCEL_ONLY": clob_pair_pb2.ClobPair.STATUS_CANCEL_ONLY,
        "POST_ONLY": clob_pair_pb2.ClobPair.STATUS_POST_ONLY,
        "INITIALIZING": clob_pair_pb2.ClobPair.STATUS_INITIALIZING,
        "FINAL_SETTLEMENT": clob_pair_pb2.ClobPair.STATUS_FINAL_SETTLEMENT,
    }
    return int(names.get(status, clob_pair_pb2.ClobPair.STATUS_UNSPECIFIED))


class ClobQuery(clob_grpc.QueryServicer):  # type: ignore[misc]
    def __init__(self, services: NodeServices) -> None:
        self._s = services

    def ClobPair(self, request: Any, context: grpc.ServicerContext) -> Any:
        market = self._s.market_by_id(int(request.id))
        if market is None:
            return abort(context, grpc.StatusCode.NOT_FOUND, "not found")
        return clob_query.QueryClobPairResponse(clob_pair=_clob_pair(market))

    def ClobPairAll(self, request: Any, context: grpc.ServicerContext) -> Any:
        return clob_query.QueryClobPairAllResponse(
            clob_pair=[_clob_pair(market) for market in self._s.sorted_markets()]
        )

    def EquityTierLimitConfiguration(self, request: Any, context: grpc.ServicerContext) -> Any:
        return clob_query.QueryEquityTierLimitConfigurationResponse(
            equity_tier_limit_config=self._s.equity_tiers
        )

    def BlockRateLimitConfiguration(self, request: Any, context: grpc.ServicerContext) -> Any:
        """The block rate limits the devnet enforces (``x/clob/rate_limit``)."""
        limits = self._s.engine.block_rate_limits()
        config = {
            name: [
                block_rate_limit_config_pb2.MaxPerNBlocksRateLimit(num_blocks=n, limit=limit)
                for n, limit in pairs
            ]
            for name, pairs in limits.items()
        }
        return clob_query.QueryBlockRateLimitConfigurationResponse(
            block_rate_limit_config=block_rate_limit_config_pb2.BlockRateLimitConfiguration(
                **config
            )
        )

    def Leverage(self, request: Any, context: grpc.ServicerContext) -> Any:
        """The subaccount's leverage settings (chain v9.4+); empty when none are set."""
        return self._s.engine.leverage_settings(str(request.owner), int(request.number))


def _perpetual(market: MarketState, tiers: dict[tuple[int, int], int]) -> Any:
    spec = market.spec
    tier = spec.liquidity_tier
    key = (tier.initial_margin_ppm, tier.maintenance_fraction_ppm)
    market_type = (
        perpetual_pb2.PERPETUAL_MARKET_TYPE_ISOLATED
        if spec.market_type == ISOLATED
        else perpetual_pb2.PERPETUAL_MARKET_TYPE_CROSS
    )
    open_interest = market.open_interest_bq
    return perpetual_pb2.Perpetual(
        params=perpetual_pb2.PerpetualParams(
            id=spec.clob_pair_id,
            ticker=spec.ticker,
            market_id=spec.clob_pair_id,
            atomic_resolution=spec.atomic_resolution,
            default_funding_ppm=0,
            liquidity_tier=tiers.setdefault(key, len(tiers)),
            market_type=market_type,
        ),
        funding_index=serializable_int(0),
        open_interest=serializable_int(open_interest),
    )


class PerpetualsQuery(perp_grpc.QueryServicer):  # type: ignore[misc]
    def __init__(self, services: NodeServices) -> None:
        self._s = services
        self._tiers: dict[tuple[int, int], int] = {}

    def Perpetual(self, request: Any, context: grpc.ServicerContext) -> Any:
        market = self._s.market_by_id(int(request.id))
        if market is None:
            return abort(
                context, grpc.StatusCode.NOT_FOUND, f"Perpetual id {request.id} not found."
            )
        return perp_query.QueryPerpetualResponse(perpetual=_perpetual(market, self._tiers))

    def AllPerpetuals(self, request: Any, context: grpc.ServicerContext) -> Any:
        return perp_query.QueryAllPerpetualsResponse(
            perpetual=[_perpetual(market, self._tiers) for market in self._s.sorted_markets()]
        )


def _market_price(market: MarketState) -> Any:
    return market_price_pb2.MarketPrice(
        id=market.clob_pair_id, exponent=market.price_exponent, price=market.price_value
    )


class PricesQuery(prices_grpc.QueryServicer):  # type: ignore[misc]
    def __init__(self, services: NodeServices) -> None:
        self._s = services

    def MarketPrice(self, request: Any, context: grpc.ServicerContext) -> Any:
        market = self._s.market_by_id(int(request.id))
        if market is None:
            return abort(context, grpc.StatusCode.NOT_FOUND, f"market price {request.id}")
        return prices_query.QueryMarketPriceResponse(market_price=_market_price(market))

    def AllMarketPrices(self, request: Any, context: grpc.ServicerContext) -> Any:
        return prices_query.QueryAllMarketPricesResponse(
            market_prices=[_market_price(market) for market in self._s.sorted_markets()]
        )


class FeeTiersQuery(fee_grpc.QueryServicer):  # type: ignore[misc]
    def __init__(self, services: NodeServices) -> None:
        self._s = services

    def PerpetualFeeParams(self, request: Any, context: grpc.ServicerContext) -> Any:
        return fee_query.QueryPerpetualFeeParamsResponse(
            params=fee_params.PerpetualFeeParams(
                tiers=[_fee_tier(tier) for tier in self._s.engine.fee_tiers()]
            )
        )

    def UserFeeTier(self, request: Any, context: grpc.ServicerContext) -> Any:
        if not is_valid_address(str(request.user)):
            return abort(context, grpc.StatusCode.INVALID_ARGUMENT, "invalid bech32 address")
        index, tier = self._s.engine.user_fee_tier(str(request.user))
        return fee_query.QueryUserFeeTierResponse(index=index, tier=_fee_tier(tier))


def _fee_tier(tier: FeeTier) -> Any:
    return fee_params.PerpetualFeeTier(
        name=tier.name,
        absolute_volume_requirement=tier.absolute_volume_requirement,
        total_volume_share_requirement_ppm=tier.total_volume_share_requirement_ppm,
        maker_volume_share_requirement_ppm=tier.maker_volume_share_requirement_ppm,
        maker_fee_ppm=tier.maker_fee_ppm,
        taker_fee_ppm=tier.taker_fee_ppm,
    )
