"""The chain's CheckTx validation of ``MsgPlaceOrder`` (protocol reference section 3).

Stateless checks live in :mod:`dydx_devnet.validate_basic`; these are the
stateful ones (``PerformStatefulOrderValidation`` then the memclob's
``validateNewOrder``): the clob pair, step and tick multiples, the clob pair's
status, the short-term good-til-block window, cancels, replacement, fill
amounts, reduce-only direction and an IOC that already had a fill; for
stateful orders the good-til-block-time window, an uncommitted cancel,
duplicates, a conditional trigger on a whole tick (12), the equity tier
(untriggered conditional orders count) and, for long-term orders only, the
placement collateral check (the full size filled at the order's own price with
the maker fee, re-valued at the oracle; a conditional order is checked when it
triggers and matches).
Post-only crossing is found by matching (:mod:`dydx_devnet.placement`).
"""

from __future__ import annotations

from v4_proto.dydxprotocol.clob.order_pb2 import Order

from dydx_devnet import codes, validate_basic
from dydx_devnet import orders as o
from dydx_devnet.chain.margin import SUCCESS
from dydx_devnet.codes import TxResult
from dydx_devnet.markets import MarketState
from dydx_devnet.matching import Matcher
from dydx_devnet.settlement import Settlement
from dydx_devnet.state import EngineState
from dydx_devnet.subaccounts import VIOLATES_ISOLATED, risk


class CheckTx:
    """CheckTx for orders; every method returns the rejection or ``None``."""

    def __init__(self, state: EngineState, matcher: Matcher, settlement: Settlement) -> None:
        self._state = state
        self._matcher = matcher
        self._settlement = settlement

    def validate(self, order: Order) -> TxResult | None:
        """The chain's verdict on placing ``order`` now: the rejection, or ``None``."""
        rejected = validate_basic.place_order(order)
        if rejected is not None:
            return rejected
        key = o.order_key(order)
        market = self._state.by_clob.get(key[4])
        if market is None:
            return codes.reject(codes.INVALID_CLOB, f"Clob {key[4]} is not a valid clob")
        spec = market.spec
        if order.subticks % spec.subticks_per_tick:
            return codes.reject(
                codes.INVALID_PLACE_ORDER,
                f"Order subticks {order.subticks} must be a multiple of the ClobPair's "
                f"SubticksPerTick {spec.subticks_per_tick}",
            )
        if order.quantums % spec.step_base_quantums:
            return codes.reject(
                codes.INVALID_PLACE_ORDER,
                f"Order Quantums {order.quantums} must be a multiple of the ClobPair's "
                f"StepBaseQuantums {spec.step_base_quantums}",
            )
        status = clob_pair_status(order, market)
        if status is not None:
            return status
        if key[3] == o.SHORT_TERM:
            return self._validate_short_term(order, key, market)
        return self._validate_stateful(order, key, market)

    def rate_limit(self, order: Order) -> TxResult | None:
        """The ante's block rate limit (before CheckTx proper): ValidateBasic, then for a
        known clob pair the good-til-block window (short-term) and the attempt's count."""
        rejected = validate_basic.place_order(order)
        if rejected is not None:
            return rejected
        key = o.order_key(order)
        if key[4] not in self._state.by_clob:
            return None  # CheckTx refuses it (8); the chain does not count it
        limits = self._state.rate_limits
        if key[3] == o.SHORT_TERM:
            window = self.validate_good_til_block(order.good_til_block)
            if window is not None:
                return window
            return limits.short_term.consume(key[0], self._state.height)
        return limits.stateful.consume(key[0], self._state.height)

    def validate_good_til_block_time(self, good_til_block_time: int) -> TxResult | None:
        """A stateful good-til-block-time must lie in ``(t, t + StatefulOrderTimeWindow]``,
        ``t`` the last block's time (3003 / 3004)."""
        now_s = self._state.block_time_ms // 1000
        if good_til_block_time <= now_s:
            return codes.reject(
                codes.TIME_EXCEEDS_GOOD_TIL_BLOCK_TIME,
                f"GoodTilBlockTime {good_til_block_time} is less than the previous blockTime "
                f"{now_s}",
            )
        end_s = now_s + self._state.config.stateful_order_time_window_s
        if good_til_block_time > end_s:
            return codes.reject(
                codes.GOOD_TIL_BLOCK_TIME_TOO_FAR,
                f"GoodTilBlockTime {good_til_block_time} exceeds the previous blockTime plus "
                f"StatefulOrderTimeWindow {end_s}",
            )
        return None

    def validate_good_til_block(self, good_til_block: int) -> TxResult | None:
        """A short-term good-til-block must lie in ``[h + 1, h + 1 + ShortBlockWindow]``."""
        next_height = self._state.height + 1
        if good_til_block < next_height:
            return codes.reject(
                codes.HEIGHT_EXCEEDS_GOOD_TIL_BLOCK,
                f"GoodTilBlock {good_til_block} is less than the next block height {next_height}",
            )
        limit = next_height + self._state.config.short_block_window
        if good_til_block > limit:
            return codes.reject(
                codes.GOOD_TIL_BLOCK_EXCEEDS_WINDOW,
                f"GoodTilBlock {good_til_block} is greater than ShortBlockWindow {limit}",
            )
        return None

    def _validate_short_term(
        self, order: Order, key: o.OrderKey, market: MarketState
    ) -> TxResult | None:
        """The good-til-block window, then the memclob's ``validateNewOrder``."""
        state = self._state
        window = self.validate_good_til_block(order.good_til_block)
        if window is not None:
            return window
        cancel = state.cancels.get(key)
        if cancel is not None and cancel >= order.good_til_block:
            return codes.reject(
                codes.ORDER_IS_CANCELED,
                f"Order: {key}, Cancellation GoodTilBlock: {cancel}",
            )
        resting = state.orders.get(key)
        resting = resting if resting is not None and resting.resting else None
        for existing in (resting, state.matched_this_block.get(key)):
            if existing is not None:
                rejected = replacement(existing, order)
                if rejected is not None:
                    return rejected
        carried = state.fill_amounts.get(key)
        filled = 0 if carried is None else carried[0]
        if filled >= order.quantums:
            return codes.reject(
                codes.ORDER_FULLY_FILLED,
                f"Order remaining amount is less than `MinOrderBaseQuantums`. Remaining amount: "
                f"{max(0, order.quantums - filled)}. Order: {key}",
            )
        is_buy = order.side == o.SIDE_BUY
        if order.reduce_only:
            position = state.account_or_new(key[0], key[1]).position_quantums(market.ticker)
            if position == 0 or (position > 0) == is_buy:
                return codes.reject(codes.REDUCE_ONLY_WOULD_INCREASE)
        if order.time_in_force == o.TIF_IOC and filled > 0:
            if resting is not None:
                return codes.reject(
                    codes.INVALID_REPLACEMENT,
                    f"Cannot replace partially filled order with IOC order. Size: "
                    f"{order.quantums}, Fill Amount: {filled}.",
                )
            return codes.reject(codes.IMMEDIATE_EXECUTION_ALREADY_FILLED, f"Order: {key}")
        if order.time_in_force == o.TIF_POST_ONLY and self._matcher.crosses(
            market, is_buy, order.subticks
        ):
            return codes.reject(codes.POST_ONLY_WOULD_CROSS, f"order {key}")
        return None

    def _validate_stateful(
        self, order: Order, key: o.OrderKey, market: MarketState
    ) -> TxResult | None:
        if key[3] not in (o.LONG_TERM, o.CONDITIONAL):
            return codes.reject(
                codes.NOT_IMPLEMENTED,
                f"order flags {key[3]}: only short-term, conditional and long-term orders",
            )
        state = self._state
        window = self.validate_good_til_block_time(order.good_til_block_time)
        if window is not None:
            return window
        if key in state.pending_cancels:
            return codes.reject(
                codes.STATEFUL_PREVIOUSLY_CANCELLED,
                "An uncommitted stateful order cancellation with this OrderId already exists",
            )
        pending = any(p.key == key for p in state.pending_stateful)
        if key in state.stateful or pending:
            return codes.reject(codes.STATEFUL_ORDER_ALREADY_EXISTS, f"order {key}")
        spt = market.spec.subticks_per_tick
        if key[3] == o.CONDITIONAL and order.conditional_order_trigger_subticks % spt:
            return codes.reject(
                codes.INVALID_PLACE_ORDER,
                f"Conditional order trigger subticks {order.conditional_order_trigger_subticks} "
                f"must be a multiple of the ClobPair's SubticksPerTick {spt}",
            )
        account = state.account_or_new(key[0], key[1])
        before = risk(account, state.markets)
        limit = 0
        for required, tier_limit in state.equity_tiers:
            if before.net_collateral >= required:
                limit = tier_limit
        open_count = sum(
            1 for s in state.stateful.values() if (s.address, s.subaccount_number) == key[:2]
        ) + sum(1 for p in state.pending_stateful if (p.address, p.subaccount_number) == key[:2])
        if open_count + 1 > limit:
            return codes.reject(
                codes.EQUITY_TIER_LIMIT,
                f"Opening order would exceed equity tier limit of {limit}. Order count: "
                f"{open_count}, total net collateral: {before.net_collateral}",
            )
        if key[3] == o.CONDITIONAL:
            # IsCollateralCheckRequired: a conditional order is collateral-checked only
            # when it triggers and matches, never at placement.
            return None
        verdict = self._settlement.can_fill(
            account,
            market,
            order.side == o.SIDE_BUY,
            order.quantums,
            order.subticks,
            state.fee_ppm(key[0], taker=False),
            match=False,
        )
        if verdict == VIOLATES_ISOLATED:
            return codes.reject(codes.VIOLATES_ISOLATED, f"order ({key})")
        if verdict != SUCCESS:
            return codes.reject(
                codes.STATEFUL_COLLATERALIZATION_FAILED,
                f"PlaceStatefulOrder: order ({key}), result ({verdict})",
            )
        return None


def replacement(existing: o.OrderState, new: Order) -> TxResult | None:
    """The memclob's ``validateReplacement``: code 20 unless ``new`` ranks higher
    (later good-til-block, or the same and a larger order hash) and keeps the
    side, time in force and reduce-only flag."""
    old_gtb = existing.good_til_block or 0
    if (old_gtb, existing.order_hash) >= (new.good_til_block, o.order_hash(new)):
        return codes.reject(
            codes.INVALID_REPLACEMENT,
            "New order cannot reduce the GoodTilBlock or GoodTilBlockTime of existing order",
        )
    for name, old, now in (
        ("Side", existing.is_buy, new.side == o.SIDE_BUY),
        ("TimeInForce", existing.time_in_force, new.time_in_force),
        ("ReduceOnly field", existing.reduce_only, new.reduce_only),
    ):
        if old != now:
            return codes.reject(
                codes.INVALID_REPLACEMENT,
                f"New order cannot change the {name} of the existing order",
            )
    return None


def clob_pair_status(order: Order, market: MarketState) -> TxResult | None:
    """``validateOrderAgainstClobPairStatus``: code 34 when the status forbids the order.

    INITIALIZING takes only short-term post-only orders on the correct side of
    the oracle (bids at or below it, asks at or above). PAUSED, CANCEL_ONLY and
    POST_ONLY are not statuses the chain supports for a live pair: refused.
    """
    status = market.spec.status
    if status == "ACTIVE":
        return None
    key = o.order_key(order)
    if status == "INITIALIZING":
        oracle = market.oracle_subticks()
        is_buy = order.side == o.SIDE_BUY
        if key[3] != o.SHORT_TERM:
            problem = "must not be stateful"
        elif order.time_in_force != o.TIF_POST_ONLY:
            problem = "must be post-only"
        elif (order.subticks > oracle) if is_buy else (order.subticks < oracle):
            problem = (
                f"subticks {order.subticks} must be on the "
                f"{'bid' if is_buy else 'ask'} side of oracle price subticks {oracle}"
            )
        else:
            return None
        return codes.reject(
            codes.CONFLICTS_WITH_CLOB_PAIR_STATUS,
            f"Order {key} {problem} for clob pair with status STATUS_{status}",
        )
    return codes.reject(
        codes.CONFLICTS_WITH_CLOB_PAIR_STATUS,
        f"Order {key} disallowed, trading is disabled for clob pair with status STATUS_{status}",
    )
