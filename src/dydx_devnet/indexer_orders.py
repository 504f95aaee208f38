"""How the real indexer shows orders: Postgres rows from blocks, Redis for short-term orders.

* A short-term order lives in Redis (vulcan) while it rests on a node's book:
  REST shows it ``BEST_EFFORT_OPENED`` (``totalFilled "0"``, no heights). It is
  written to Postgres (ender) only by the block holding its first fill; an
  order that never fills is never stored, so once removed it is gone from
  ``/v4/orders`` and ``/v4/orders/{id}`` answers 404 (vulcan's
  ``order-remove-handler`` only *updates* a row).
* A stored order's status is ender's ``dydx_get_order_status``: FILLED when
  fully filled; a stateful order OPEN (a conditional one UNTRIGGERED until its
  trigger); a short-term IOC CANCELED; else the removal (BEST_EFFORT_CANCELED /
  CANCELED) or OPEN.
* WebSocket order messages from vulcan come at once and are sparse: a
  placement (``BEST_EFFORT_OPENED``) and a removal (status, ``removalReason``,
  ``totalOptimisticFilled``), without Postgres fields unless a row exists
  (``websocket-helper.ts``, ``order-remove-handler.ts``). Fills, positions and
  stored orders follow from ender once the block is indexed.
"""

from __future__ import annotations

from typing import Any

from dydx_devnet import orders as o
from dydx_devnet import shapes
from dydx_devnet.markets import MarketState
from dydx_devnet.orders import OrderState

BEST_EFFORT_OPENED = "BEST_EFFORT_OPENED"
# Redis order fields of a vulcan message, in vulcan's order (undefined ones left out).
_VULCAN_KEYS = (
    "id",
    "subaccountId",
    "clientId",
    "clobPairId",
    "side",
    "size",
    "price",
    "type",
    "timeInForce",
    "postOnly",
    "reduceOnly",
    "orderFlags",
    "goodTilBlock",
    "goodTilBlockTime",
    "ticker",
)
_STORED_KEYS = ("createdAtHeight", "updatedAt", "updatedAtHeight")


def is_stored(order: OrderState) -> bool:
    """Whether ender has a Postgres row for this version of ``order``."""
    return order.is_stateful or order.filled > 0


def stored_status(order: OrderState) -> str:
    """The Postgres status of a stored ``order`` (ender's ``dydx_get_order_status``)."""
    if order.filled >= order.quantums:
        return o.FILLED
    if order.is_stateful:
        if order.status in (o.CANCELED, o.FILLED):
            return order.status
        return o.UNTRIGGERED if order.is_untriggered else o.OPEN
    if order.is_ioc:
        return o.CANCELED
    if order.status in (o.BEST_EFFORT_CANCELED, o.CANCELED):
        return order.status
    return o.OPEN


def rest_object(order: OrderState, market: MarketState, *, stored: bool) -> dict[str, Any]:
    """``OrderResponseObject``: the Postgres row, or the Redis-only ``BEST_EFFORT_OPENED``."""
    body = shapes.order_object(order, market)
    if stored:
        body["status"] = stored_status(order)
        return body
    for key in _STORED_KEYS:
        body.pop(key, None)
    body["status"] = BEST_EFFORT_OPENED
    body["totalFilled"] = "0"
    return body


def ender_message(order: OrderState, market: MarketState) -> dict[str, Any]:
    """A stored order in ender's ``v4_subaccounts`` update (full object)."""
    body = shapes.order_object(order, market, ws=True)
    body["status"] = stored_status(order)
    body.pop("removalReason", None)
    return body


def vulcan_placed(order: OrderState, market: MarketState) -> dict[str, Any]:
    """Vulcan's message for a short-term placement: ``BEST_EFFORT_OPENED``, sparse."""
    full = shapes.order_object(order, market, ws=True)
    body = {key: full[key] for key in _VULCAN_KEYS if full.get(key) is not None}
    body["status"] = BEST_EFFORT_OPENED
    body["clientMetadata"] = full["clientMetadata"]
    return body


def vulcan_removed(
    order: OrderState, market: MarketState, stored: OrderState | None
) -> dict[str, Any]:
    """Vulcan's message for a short-term removal: status, reason, optimistic fill.

    ``stored`` is the order's Postgres row as the indexer has it (its heights
    are then included), or ``None``.
    """
    full = shapes.order_object(order, market, ws=True)
    body = {key: full[key] for key in _VULCAN_KEYS if full.get(key) is not None}
    body["totalOptimisticFilled"] = shapes.size(market, order.filled)
    body["status"] = order.status
    body["removalReason"] = order.removal_reason
    if stored is not None:
        row = shapes.order_object(stored, market)
        body.update({key: row[key] for key in _STORED_KEYS})
    body["clientMetadata"] = full["clientMetadata"]
    return body
