"""The indexer routes of the complete venue, registered beside comlink's core routes.

Transfers (:mod:`dydx_devnet.transfers_api`), the parent-subaccount views
(:mod:`dydx_devnet.parent_api`) and the history routes: PnL, funding, sparklines
(:mod:`dydx_devnet.history_api`).
"""

from __future__ import annotations

from aiohttp import web

from dydx_devnet import history_api, parent_api, transfers_api


def add_routes(app: web.Application) -> None:
    """Register the venue's REST routes on the indexer application."""
    transfers_api.add_routes(app)
    parent_api.add_routes(app)
    history_api.add_routes(app)
